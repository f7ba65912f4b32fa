"""Command line of study 8757: a tiny chain digits -> classifier -> train -> samples, probe -> claims writes a valid
ledger; each step reads its settings block (kexue_repro.gan.plan for the per-dataset ones)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kexue_repro.common.claims import read_claims
from kexue_repro.gan import claims, classifier, cost, data, plan, probe, samples, train

CONFIG = {
    "gan": {
        "train": {
            "lr": 1e-3, "betas": [0.0, 0.9], "n_dis": 1, "gp_lambda": 10, "gran_eps": 1e-8, "checkpoint_every": 2,
            "ring": {"modes": 8, "radius": 2, "std": 0.02, "steps": 3, "batch_size": 16, "latent": 2,
                     "gen_hidden": 8, "gen_depth": 1, "critic_hidden": 8, "critic_depth": 1},
            "mnist": {"steps": 3, "batch_size": 16, "latent": 2, "gen_hidden": 8, "gen_depth": 1,
                      "critic_hidden": 8, "critic_depth": 1},
        },
        "samples": {"ring": {"n_eval": 100, "n_show": 4, "mode_share": 0.02}, "mnist": {"n_eval": 100, "n_show": 4}},
        "probe": {"scales": [1e-2, 1e-4], "seed": 0, "ring": {"points": 20, "pairs": 50},
                  "mnist": {"points": 20, "pairs": 50}},
        "cost": {"methods": ["gn", "gp", "ns"], "rounds": 3, "steps_per_timing": 1, "warmup_steps": 1, "seed": 0},
    }
}  # fmt: skip
CLAIMS = json.dumps({"confidence": 0.95, "tolerance": 1e-6,
                     "gate": {"ring_min_modes": 1, "mnist_baseline": "mean_image"}})  # fmt: skip


def settings(step: str, dataset: str) -> str:
    """The settings a job of ``dataset`` reads, as the JSON the workflow writes to its settings file."""
    return json.dumps(plan.dataset_settings(CONFIG, step, dataset))


def test_a_dataset_reads_the_shared_keys_and_its_own_block_only():
    ring = json.loads(settings("train", "ring"))
    assert ring["lr"] == 1e-3 and ring["modes"] == 8 and "mnist" not in ring and "ring" not in ring
    changed = json.loads(json.dumps(CONFIG))
    changed["gan"]["train"]["mnist"]["steps"] = 99
    assert json.dumps(plan.dataset_settings(changed, "train", "ring")) == settings("train", "ring")
    assert json.dumps(plan.dataset_settings(changed, "train", "mnist")) != settings("train", "mnist")
    assert json.loads(settings("probe", "mnist")) == {
        "scales": [1e-2, 1e-4],
        "seed": 0,
        "points": 20,
        "pairs": 50,
    }


def test_tiny_chain_writes_a_valid_ledger(tmp_path, capsys):
    digits = str(tmp_path / "digits.npz")
    assert data.main(["--settings", '{"n_test": 200, "split_seed": 0}', "--out", digits]) == 0
    clf = ["--out", str(tmp_path / "clf.pt"), "--metrics-out", str(tmp_path / "clf.json")]
    clf_settings = '{"hidden": 16, "feature_dim": 8, "steps": 5, "batch_size": 32, "lr": 1e-3, "seed": 0}'
    assert classifier.main(["--settings", clf_settings, "--digits", digits, "--threads", "1", *clf]) == 0
    runs, models = [], {"ring": [], "mnist": []}
    for dataset, methods in (("ring", ("gn", "su", "gp", "ns")), ("mnist", ("gn", "gp", "ns"))):
        for method in methods:
            for seed in (0, 1):
                stem = tmp_path / f"{dataset}_{method}_{seed}"
                argv = ["--settings", settings("train", dataset), "--dataset", dataset, "--method", method]
                argv += ["--seed", str(seed), "--threads", "1", "--device", "cpu"]
                if dataset == "mnist":
                    argv += ["--digits", digits]
                argv += [
                    "--checkpoint",
                    f"{stem}.ckpt",
                    "--out",
                    f"{stem}.pt",
                    "--metrics-out",
                    f"{stem}.json",
                ]
                assert train.main(argv) == 0
                assert not (tmp_path / f"{stem}.ckpt").exists()
                runs.append(f"{stem}.json")
                models[dataset].append(f"{stem}.pt")
    probes, scored = [], []
    for dataset, paths in models.items():
        out = tmp_path / f"probe_{dataset}.json"
        argv = ["--settings", settings("probe", dataset), "--models", *paths, "--digits", digits]
        assert probe.main([*argv, "--threads", "1", "--out", str(out)]) == 0
        probes.append(str(out))
        out = tmp_path / f"samples_{dataset}.json"
        argv = ["--settings", settings("samples", dataset), "--models", *paths, "--digits", digits]
        argv += ["--classifier", str(tmp_path / "clf.pt"), "--out", str(out)]
        assert samples.main(argv) == 0
        scored.append(str(out))
    timed = str(tmp_path / "cost.json")
    argv = ["--settings", json.dumps(plan.cost_settings(CONFIG)), "--digits", digits, "--out", timed]
    assert cost.main(argv) == 0
    argv = ["--settings", CLAIMS, "--runs", *runs, "--samples", *scored, "--probes", *probes, "--cost", timed]
    argv += ["--classifier-metrics", str(tmp_path / "clf.json"), "--anchors", "data/anchors/gan.csv"]
    argv += ["--tables-dir", str(tmp_path / "tables"), "--plots-dir", str(tmp_path / "plots")]
    argv += ["--scale", "full", "--claims-out", str(tmp_path / "claims.json")]
    argv += ["--metrics-out", str(tmp_path / "metrics.json"), "--numbers-out", str(tmp_path / "numbers.json")]
    assert claims.main(argv) == 0
    ledger = {row["claim_id"]: row for row in read_claims(tmp_path / "claims.json")}
    assert ledger["a.gn_gradient_and_value_bounded"]["verdict"] == "reproduced"
    assert ledger["a.gn_gradient_and_value_bounded"]["kind"] == "check"
    assert len(ledger) == 17 and sum(row["kind"] == "check" for row in ledger.values()) == 5
    assert ledger["d.gn_costs_more_than_gp.ring"]["holm_family"] == "cost"
    assert {"gate.runs_trained.ring", "c.su_variant_covers_fewer_modes"} <= set(ledger)
    assert all(Path(row["evidence"]).is_file() for row in ledger.values())
    assert {row["scale"] for row in ledger.values()} == {"smoke"}  # (a)-(e) come from the smoke experiments
    assert "timing rounds" in ledger["d.gn_costs_more_than_gp.ring"]["test"]
    assert (
        ledger["d.gn_costs_more_than_gp.ring"]["code"] == "src/kexue_repro/gan/claims.py:gn_costs_more_than"
    )
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert all(isinstance(v, (int, float)) for v in numbers.values())
    assert not any("seconds" in name for name in numbers)  # timings stay out of the headline numbers
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    fd = numbers["mnist_gn_frechet_distance"] - numbers["mnist_gp_frechet_distance"]
    assert metrics["gan"].count("/") == 2 and metrics["gn_gp_fd"] == pytest.approx(fd, abs=1e-4)
    for name in ("runs", "summary", "cost", "probes", "discontinuity"):
        assert (tmp_path / "tables" / f"{name}.csv").is_file()
    record = json.loads((tmp_path / "ring_gn_0.json").read_text())
    assert not {"seconds_per_step", "peak_rss_growth_mib", "saved_for_backward_mib"} & set(record)
    for name in ("ring_samples", "mnist_samples", "discontinuity"):
        assert (tmp_path / "plots" / f"{name}.png").is_file()


def test_errors_are_one_line(tmp_path, capsys):
    argv = ["--settings", settings("train", "mnist"), "--dataset", "mnist", "--method", "gn", "--seed", "0"]
    argv += ["--checkpoint", str(tmp_path / "c"), "--out", str(tmp_path / "m.pt"), "--metrics-out", str(tmp_path / "m.json")]  # fmt: skip
    assert train.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--digits" in err and "\n" not in err
    argv = ["--settings", settings("train", "ring"), "--dataset", "mnist", "--method", "gn", "--seed", "0"]
    argv += ["--digits", "x", "--checkpoint", "c", "--out", "m", "--metrics-out", "j"]
    assert train.main(argv) == 1
    assert "No such file" in capsys.readouterr().err
    assert probe.main(["--settings", settings("probe", "ring"), "--models", str(tmp_path / "none.pt"),
                       "--threads", "1", "--out", str(tmp_path / "p.json")]) == 1  # fmt: skip
    unknown = json.dumps(json.loads(settings("probe", "ring")) | {"points_per_mode": 3})
    assert probe.main(["--settings", unknown, "--models", "m.pt", "--out", str(tmp_path / "p.json")]) == 1
    assert "gan.probe: unknown setting 'points_per_mode'" in capsys.readouterr().err


def test_ring_keys_belong_to_the_ring():
    mnist = json.loads(settings("train", "mnist"))
    fixed = dict(method="gn", seed=0, digits_sha256="", device_type="cpu")
    with pytest.raises(ValueError, match="the ring's"):
        train.TrainConfig(dataset="ring", **mnist, **fixed)
    with pytest.raises(ValueError, match="the ring's"):
        train.TrainConfig(dataset="mnist", **mnist, modes=8, **fixed)


@pytest.mark.parametrize("kind", ["empty", "truncated", "foreign"])
def test_a_broken_digits_file_is_one_line_naming_it(tmp_path, kind):
    arrays = {name: np.zeros((4, 784) if "images" in name else 4, np.float32) for name in data.DIGIT_ARRAYS}
    data.write_npz(tmp_path / "whole.npz", arrays)
    whole = (tmp_path / "whole.npz").read_bytes()
    path = tmp_path / "digits.npz"
    if kind == "foreign":
        data.write_npz(path, {"images": arrays["train_images"]})
    else:
        path.write_bytes(b"" if kind == "empty" else whole[: len(whole) // 2])
    data.load_digits.cache_clear()
    assert data.load_digits(tmp_path / "whole.npz")[0]["test_labels"].shape == (4,)
    with pytest.raises(ValueError) as err:
        data.load_digits(path)
    assert str(err.value).startswith(f"{path}: not a digits file") and "\n" not in str(err.value)
