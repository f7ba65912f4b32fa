"""Training of study 8757: a run killed after a checkpoint resumes to exactly the weights of an unbroken run."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kexue_repro.gan import train

SPEC = dict(
    dataset="ring",
    seed=3,
    steps=12,
    batch_size=32,
    lr=1e-3,
    betas=(0.0, 0.9),
    n_dis=2,
    gp_lambda=10.0,
    gran_eps=1e-8,
    latent=2,
    gen_hidden=8,
    gen_depth=1,
    critic_hidden=8,
    critic_depth=2,
    checkpoint_every=5,
    modes=8,
    radius=2.0,
    std=0.02,
    digits_sha256="",
    device_type="cpu",
)


def states(gen: torch.nn.Module, critic: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"g.{k}": v for k, v in gen.state_dict().items()} | {
        f"d.{k}": v for k, v in critic.state_dict().items()
    }


@pytest.mark.parametrize("method", ["gn", "sn", "gp"])
def test_resume_after_kill_equals_an_unbroken_run(tmp_path, monkeypatch, method):
    config = train.TrainConfig(method=method, **SPEC)
    cpu = torch.device("cpu")
    unbroken = states(*train.train(config, None, cpu, tmp_path / "a.ckpt")[:2])

    real_step, calls = train.training_step, []

    def dying_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt("killed")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train, "training_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        train.train(config, None, cpu, tmp_path / "b.ckpt")
    assert torch.load(tmp_path / "b.ckpt", weights_only=True)["progress"]["step"] == 5
    monkeypatch.setattr(train, "training_step", real_step)
    # Settings that leave the weights alone do not discard the checkpoint.
    later = dataclasses.replace(config, checkpoint_every=4)
    gen, critic, losses = train.train(later, None, cpu, tmp_path / "b.ckpt")
    resumed = states(gen, critic)
    assert resumed.keys() == unbroken.keys()
    for key in unbroken:
        assert torch.equal(resumed[key], unbroken[key]), key
    assert set(losses) == {"final_loss_d", "final_loss_g"}  # what the seed determines: no timings


def test_config_rejects_unknown_method_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown method"):
        train.TrainConfig(method="wgan", **SPEC)
    with pytest.raises(ValueError, match=">= 1"):
        train.TrainConfig(method="gn", **(SPEC | {"steps": 0}))
