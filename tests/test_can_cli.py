"""Command line of study 8728: bad inputs give one line and exit 1; synthetic -> apply -> sweep -> claims runs
end to end as separate processes and writes a valid ledger."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from can_fixtures import SEEDS, TASK, VARIANTS, apply_args, sweep_args, synthetic_task

from kexue_repro.can.__main__ import main
from kexue_repro.common.claims import read_claims


def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kexue_repro.can", *argv], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def task(tmp_path):
    return synthetic_task(tmp_path / "in", n_dev=120)


def broken_probabilities(kind: str, probs: np.ndarray) -> np.ndarray:
    probs = probs.copy()
    if kind == "nan":
        probs[5, 1] = np.nan
    elif kind == "negative":
        probs[5, :2] = [-0.1, probs[5, 0] + probs[5, 1] + 0.1]
    elif kind == "row sum":
        probs[7] *= 1.01
    elif kind == "rows":
        probs = probs[:-1]
    elif kind == "classes":
        probs = np.hstack([probs, np.zeros((len(probs), 1))])
    elif kind == "empty":
        probs = np.zeros((0, probs.shape[1]))
    return probs


@pytest.mark.parametrize(
    "kind, message",
    [
        ("nan", "row 5 holds a NaN"),
        ("negative", "row 5 holds a NaN, infinite or negative"),
        ("row sum", "row 7 sums to"),
        ("rows", "shape (119, 6), expected (120, 6)"),
        ("classes", "shape (120, 7), expected (120, 6)"),
        ("empty", "shape (0, 6)"),
    ],
)
def test_bad_probabilities_give_one_line_naming_the_file(task, tmp_path, capsys, kind, message):
    path = task["runs"] / "vanilla" / "seed0.npy"
    np.save(path, broken_probabilities(kind, np.load(path)))
    assert main(apply_args(task, "vanilla", 0, tmp_path / "out.json")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ") and message in err
    assert not (tmp_path / "out.json").exists()


def test_labels_out_of_range_and_bad_meta_name_the_file(task, tmp_path, capsys):
    dev = task["task"] / "dev.jsonl"
    lines = dev.read_text().splitlines()
    lines[3] = json.dumps({"text": "x", "text_pair": None, "label": 6})
    dev.write_text("\n".join(lines) + "\n")
    assert main(apply_args(task, "vanilla", 0, tmp_path / "out.json")) == 1
    assert capsys.readouterr().err == f"error: {dev}: record 4 has label 6 >= num_labels 6\n"
    meta = task["task"] / "meta.json"
    meta.write_text(json.dumps({"task": TASK}))
    assert main(apply_args(task, "vanilla", 0, tmp_path / "out.json")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{meta}: no integer 'num_labels'" in err


def test_a_run_record_of_another_seed_is_refused(task, tmp_path, capsys):
    argv = apply_args(task, "vanilla", 0, tmp_path / "out.json")
    argv[argv.index("--run-record") + 1] = str(task["runs"] / "vanilla" / "seed1.json")
    assert main(argv) == 1
    assert "'seed' is 1, expected 0" in capsys.readouterr().err


def test_bad_input_through_a_process_is_one_line_and_exit_1(task, tmp_path):
    path = task["runs"] / "other" / "seed2.npy"
    path.write_bytes(b"not an array")
    proc = cli(*apply_args(task, "other", 2, tmp_path / "out.json"))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {path}")


def test_cli_end_to_end_writes_tables_plots_and_a_valid_ledger(tmp_path):
    root = tmp_path / "in"
    fake = ["synthetic", "--task", TASK, "--num-classes", "6", "--n-train", "400", "--n-dev", "300"]
    fake += ["--variants", *VARIANTS, "--seeds", *map(str, SEEDS), "--concentration", "0.5", "--boost", "3"]
    fake += [
        "--hit-rate",
        "0.6",
        "--seed",
        "0",
        "--task-dir",
        str(root / "task"),
        "--runs-dir",
        str(root / "runs"),
    ]
    assert cli(*fake).returncode == 0
    paths = {"task": root / "task", "runs": root / "runs" / TASK}
    applied = [str(tmp_path / f"apply_{variant}_{seed}.json") for variant in VARIANTS for seed in SEEDS]
    for path, (variant, seed) in zip(applied, [(v, s) for v in VARIANTS for s in SEEDS]):
        argv = apply_args(paths, variant, seed, path)
        # One run through a process, the rest in this one (each process spends seconds importing torch).
        assert (cli(*argv).returncode if path == applied[0] else main(argv)) == 0
    proc = cli(*sweep_args(paths, tmp_path / "sweep.json"))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    proc = cli(
        "claims", "--applied", *applied, "--sweeps", str(tmp_path / "sweep.json"), "--anchors",
        "data/anchors/can.csv", "--setting", "post", "--baseline-variant", "vanilla", "--anchor-model",
        "BERT-base", "--confidence", "0.95", "--subset-tolerance", "5", "--anchor-tolerance", "0.5",
        "--tables-dir", str(out / "tables"), "--plots-dir", str(out / "plots"), "--scale", "smoke",
        "--claims-out", str(out / "claims.json"), "--metrics-out", str(out / "metrics.json"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ledger = {c["claim_id"]: c for c in read_claims(out / "claims.json")}
    expected = {f"{kind}.{TASK}.{v}" for kind in ("a.gain", "b.tuned_gain") for v in VARIANTS}
    expected |= {"c.gain_grows_with_classes", f"d.subset_accuracy.{TASK}"}
    assert set(ledger) == expected  # smoke: no comparison with Su's full-scale gains
    assert ledger["c.gain_grows_with_classes"]["verdict"] == "inconclusive"
    runs = pd.read_csv(out / "tables" / "runs.csv")
    assert len(runs) == len(VARIANTS) * len(SEEDS) * 2 and set(runs["setting"]) == {"post", "official"}
    sweep = pd.read_csv(out / "tables" / "sweep.csv")
    assert len(sweep) == len(VARIANTS) * len(SEEDS) and (sweep["n_tune"] + sweep["n_report"] == 300).all()
    assert (out / "plots" / "gains.png").stat().st_size > 0 and (out / "plots" / "subsets.png").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    gains = pd.read_csv(out / "tables" / "gains.csv").set_index("variant")
    assert metrics[f"{TASK}_vanilla_gain"] == pytest.approx(gains.loc["vanilla", "gain"], abs=1e-6)
