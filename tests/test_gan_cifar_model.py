"""Full scale of study 8757 on CPU: the official CNN's shapes and sizes, the EMA of G, GN training steps, the FID/IS
machinery with a small random feature network, resume, and the train-cifar command."""

from __future__ import annotations

import copy
import json
import sys

import numpy as np
import pytest
import torch
from torch import nn

from kexue_repro.common.runtime import seed_everything
from kexue_repro.gan import cifar_train, evaluate
from kexue_repro.gan.cnn import CNNDiscriminator, CNNGenerator
from kexue_repro.gan.image_metrics import FID_EXTRA_HINT, ImageMetrics, RandomFeatures, make_extractor

CPU = torch.device("cpu")
SPEC = dict(
    seed=0, steps=4, batch_size_d=2, batch_size_g=2, lr_d=2e-4, lr_g=2e-4, betas=(0.0, 0.9), n_dis=1, latent=128,
    ema_decay=0.9999, lr_decay_start=4, eval_every=1, n_eval=8, n_real=16, is_splits=2, features="random",
    inception_weights="", checkpoint_every=1, data_sha256="test", device_type="cpu",
)  # fmt: skip

# basiclab/GNGAN-PyTorch models/dcgan.py (dcgan.32): (layer, in, out, kernel) in order.
OFFICIAL_G = [("linear", 128, 4 * 4 * 512, None), ("bn", 512), ("convT", 512, 256, 4), ("bn", 256),
              ("convT", 256, 128, 4), ("bn", 128), ("convT", 128, 64, 4), ("bn", 64), ("convT", 64, 3, 3)]  # fmt: skip
OFFICIAL_D = [("conv", 3, 64, 3), ("conv", 64, 128, 4), ("conv", 128, 128, 3), ("conv", 128, 256, 4),
              ("conv", 256, 256, 3), ("conv", 256, 512, 4), ("conv", 512, 512, 3), ("linear", 4 * 4 * 512, 1, None)]  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One thread, as the pipeline runs torch jobs (two threads on a shared 2-core machine oversubscribe it)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def official_count(layers) -> int:
    total = 0
    for kind, *sizes in layers:
        if kind == "bn":
            total += 2 * sizes[0]  # weight and bias (running statistics are buffers)
        else:
            fan_in, fan_out, kernel = sizes
            total += fan_in * fan_out * (kernel or 1) ** 2 + fan_out
    return total


def test_official_cnn_shapes_layers_and_parameter_counts():
    gen, critic = CNNGenerator(128), CNNDiscriminator()
    assert count_parameters(gen) == official_count(OFFICIAL_G) == 3_813_379
    assert count_parameters(critic) == official_count(OFFICIAL_D) == 5_860_865
    images = gen(torch.randn(3, 128))
    assert images.shape == (3, 3, 32, 32) and images.abs().max() <= 1
    assert critic(images).shape == (3,)
    convs = [m for m in critic.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [(3, 1, 1), (4, 2, 1)] * 3 + [
        (3, 1, 1)
    ]
    assert {m.negative_slope for m in critic.modules() if isinstance(m, nn.LeakyReLU)} == {0.1}
    weights = [m for m in gen.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose2d))]
    assert all(float(m.bias.detach().abs().max()) == 0 for m in weights)
    assert abs(float(weights[0].weight.detach().std()) - 0.02) < 1e-3


def tiny_images(n: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


def floats(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


@pytest.fixture(scope="module")
def two_steps():
    """Two GN training steps with EMA decay 0.6; G's floating state before and after each, D before."""
    config = cifar_train.CifarConfig(**SPEC | {"ema_decay": 0.6, "steps": 2})
    rng = seed_everything(0)
    nets = cifar_train.build_nets(config, CPU)
    critic_before = floats(nets.critic)
    real = cifar_train.RealImages(tiny_images(), rng)
    history, losses = [floats(nets.gen)], []
    for _ in range(2):
        losses.append(cifar_train.training_step(config, nets, real, rng, CPU))
        history.append(floats(nets.gen))
    return {"nets": nets, "history": history, "losses": losses, "critic_before": critic_before, "real": real}


def test_ema_equals_the_closed_form_after_a_few_steps(two_steps):
    """EMA_k = d^k w_0 + (1-d) sum_i d^(k-i) w_i over G's parameters and floating buffers after each step."""
    decay, history = 0.6, two_steps["history"]
    ema = floats(two_steps["nets"].ema.module)
    k = len(history) - 1
    for name in history[0]:
        expected = decay**k * history[0][name] + sum(
            (1 - decay) * decay ** (k - i) * history[i][name] for i in range(1, k + 1)
        )
        torch.testing.assert_close(ema[name], expected, rtol=1e-5, atol=1e-6, msg=name)
    assert not torch.equal(history[-1]["linear.weight"], history[0]["linear.weight"])
    assert not torch.equal(ema["main.0.running_mean"], history[-1]["main.0.running_mean"])


def test_gn_training_steps_move_both_networks_and_keep_the_critic_bounded(two_steps):
    nets = two_steps["nets"]
    assert np.isfinite(two_steps["losses"]).all()
    assert any(not torch.equal(two_steps["critic_before"][k], v) for k, v in floats(nets.critic).items())
    assert all(p.requires_grad for p in nets.critic.parameters())  # unfrozen after the G step
    rng = torch.Generator().manual_seed(5)
    points = {"real": two_steps["real"].draw(2).double(), "fake": nets.gen.sample(2, rng).detach().double()}
    probes = evaluate.probe_points(copy.deepcopy(nets.critic).double(), "gn", 0.0, points)
    for stats in probes.values():
        assert stats["grad_norm"]["max"] <= 1 + 1e-9 and stats["abs_value"]["max"] <= 1


def test_real_images_are_shuffled_epochs_scaled_and_flipped():
    images = tiny_images(8)
    real = cifar_train.RealImages(images, torch.Generator().manual_seed(1))
    batch = torch.cat([real.draw(4), real.draw(4)])
    assert batch.min() >= -1 and batch.max() <= 1
    as_uint8 = ((batch + 1) * 127.5).round().to(torch.uint8)
    # Each image of the epoch appears once, flipped or not.
    seen = [
        next(i for i in range(8) if torch.equal(x, images[i]) or torch.equal(x, images[i].flip(-1)))
        for x in as_uint8
    ]
    assert sorted(seen) == list(range(8))


def test_fid_is_zero_for_the_real_set_itself_and_positive_for_noise():
    images = tiny_images(64)
    metrics = ImageMetrics(RandomFeatures(0), cifar_train.uint8_batches(images, 16), 2, CPU)
    same = metrics.score(cifar_train.uint8_batches(images, 16), is_seed=0)
    noise = metrics.score(cifar_train.uint8_batches(torch.full_like(images, 128), 16), is_seed=0)
    assert abs(same["fid"]) < 1e-2 and noise["fid"] > 1.0
    assert (same["n_real"], same["n_fake"]) == (64, 64)
    again = metrics.score(cifar_train.uint8_batches(images, 16), is_seed=0)
    assert again["is_mean"] == same["is_mean"] and same["is_mean"] >= 1
    assert again["fid"] == same["fid"]  # the real statistics survive the reset between generated sets


def test_inception_without_the_fid_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # as on a machine without the extra
    with pytest.raises(OSError, match="optional extra 'fid'") as err:
        make_extractor("inception", "/weights/weights-inception-2015-12-05-6726825d.pth", 0)
    assert FID_EXTRA_HINT in str(err.value) and "\n" not in str(err.value)


def test_resume_after_kill_equals_an_unbroken_run(tmp_path, monkeypatch):
    config = cifar_train.CifarConfig(**SPEC | {"steps": 2})
    images = tiny_images(16)
    metrics = ImageMetrics(RandomFeatures(0), cifar_train.uint8_batches(images, 8), 2, CPU)

    def run(checkpoint):
        nets, curve, _ = cifar_train.train(config, images, metrics, CPU, checkpoint)
        return nets.ema.module.state_dict(), curve

    unbroken_ema, unbroken_curve = run(tmp_path / "a.ckpt")
    real_step, calls = cifar_train.training_step, []

    def dying_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(cifar_train, "training_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b.ckpt")
    monkeypatch.setattr(cifar_train, "training_step", real_step)
    resumed_ema, resumed_curve = run(tmp_path / "b.ckpt")
    assert [row["step"] for row in unbroken_curve] == [
        1,
        2,
    ]  # the resumed run keeps step 1 from the checkpoint
    assert resumed_curve == unbroken_curve
    for name, value in unbroken_ema.items():
        assert torch.equal(resumed_ema[name], value), name


def test_train_cifar_command_writes_model_and_curve(tmp_path):
    npz = tmp_path / "cifar10.npz"
    images = tiny_images(16).numpy()
    np.savez(npz, train_images=images, train_labels=np.zeros(16, np.int64), test_images=images[:4],
             test_labels=np.zeros(4, np.int64), label_names=np.array(["a"] * 10))  # fmt: skip
    settings = {
        key: value for key, value in SPEC.items() if key not in ("seed", "data_sha256", "device_type")
    }
    settings |= {"steps": 1, "batch_size_d": 4, "batch_size_g": 4, "lr_decay_start": 1, "n_real": 12}
    args = ["--settings", json.dumps(settings), "--data", npz, "--seed", 0, "--threads", 1, "--device", "cpu",
            "--checkpoint", tmp_path / "c.ckpt", "--out", tmp_path / "m.pt", "--metrics-out", tmp_path / "r.json"]  # fmt: skip
    assert cifar_train.main([*map(str, args)]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert [row["step"] for row in record["curve"]] == [1] and record["curve"][0]["n_real"] == 12
    assert record["fid_ema"] == record["curve"][-1]["fid_ema"] and record["config"]["betas"] == [0.0, 0.9]
    assert (tmp_path / "m.pt").exists() and not (tmp_path / "c.ckpt").exists()
