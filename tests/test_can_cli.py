"""The steps of study 8728 (python -m kexue_repro.can.<step>): bad inputs and settings give one line and exit 1;
apply -> sweep -> claims on a synthetic task runs end to end as separate processes and writes a valid ledger."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from can_fixtures import (
    APPLY,
    CLAIMS,
    POST,
    SEEDS,
    SWEEP,
    TASK,
    VARIANTS,
    apply_args,
    sweep_args,
    synthetic_task,
)

from kexue_repro.can.apply import main
from kexue_repro.can.sweep import main as sweep_main
from kexue_repro.common.claims import read_claims


def cli(step: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"kexue_repro.can.{step}", *argv], capture_output=True, text=True, timeout=120
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


@pytest.mark.parametrize(
    "cut, message",
    [
        (0, "not a .npy array of dev probabilities (No data left in file"),
        (40, "not a .npy array of dev probabilities (EOF: reading array header"),
        (-1, "not a .npy array of dev probabilities (Failed to read all data"),
    ],
)
def test_an_empty_or_truncated_probabilities_file_is_one_line_naming_it(task, tmp_path, capsys, cut, message):
    path = task["runs"] / "vanilla" / "seed0.npy"
    path.write_bytes(path.read_bytes()[:cut])
    assert main(apply_args(task, "vanilla", 0, tmp_path / "out.json")) == 1
    assert sweep_main(sweep_args(task, tmp_path / "sweep.json")) == 1
    for err in capsys.readouterr().err.splitlines():
        assert err.startswith(f"error: {path}: {message}")
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "sweep.json").exists()


def test_an_npz_archive_under_the_npy_name_is_refused(task, tmp_path, capsys):
    path = task["runs"] / "vanilla" / "seed0.npy"
    probs = np.load(path)
    with open(path, "wb") as fh:
        np.savez(fh, probs=probs)
    assert main(apply_args(task, "vanilla", 0, tmp_path / "out.json")) == 1
    assert (
        capsys.readouterr().err == f"error: {path}: not a .npy array of dev probabilities (an .npz archive)\n"
    )


def test_a_run_record_that_is_not_json_names_the_file(task, tmp_path, capsys):
    record = task["runs"] / "vanilla" / "seed0.json"
    record.write_text('{"seed": 0,')
    assert main(apply_args(task, "vanilla", 0, tmp_path / "out.json")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {record}: not JSON")


@pytest.mark.parametrize(
    "settings, message",
    [
        (APPLY | {"alpha": 1.0}, "can.apply: unknown setting 'alpha'"),
        (
            {k: v for k, v in APPLY.items() if k != "reference_seed"},
            "can.apply: missing setting 'reference_seed'",
        ),
        (APPLY | {"settings": {"post": POST | {"mode": "loop"}}}, "setting post: 'loop' is not one of"),
        (APPLY | {"settings": {"post": POST | {"k": 3.5}}}, "setting post: need integers k >= 2"),
        (
            APPLY | {"settings": {"post": POST | {"tau": 0.5, "temperature": 2}}},
            "unknown setting 'temperature'",
        ),
        (APPLY | {"settings": {}}, "can.apply.settings: no setting"),
    ],
)
def test_bad_settings_give_one_line(task, tmp_path, capsys, settings, message):
    assert main(apply_args(task, "vanilla", 0, tmp_path / "out.json", settings)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_the_sweep_refuses_a_setting_it_was_not_given(task, tmp_path, capsys):
    settings = SWEEP | {"setting": "official"}
    assert sweep_main(sweep_args(task, tmp_path / "sweep.json", settings)) == 1
    assert capsys.readouterr().err == (
        "error: can.sweep.setting: 'official' is not one of the settings ['post']\n"
    )


def test_bad_input_through_a_process_is_one_line_and_exit_1(task, tmp_path):
    path = task["runs"] / "other" / "seed2.npy"
    path.write_bytes(b"not an array")
    proc = cli("apply", *apply_args(task, "other", 2, tmp_path / "out.json"))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {path}")


def test_steps_end_to_end_write_tables_plots_and_a_valid_ledger(tmp_path):
    paths = synthetic_task(tmp_path / "in")
    applied = [str(tmp_path / f"apply_{variant}_{seed}.json") for variant in VARIANTS for seed in SEEDS]
    for path, (variant, seed) in zip(applied, [(v, s) for v in VARIANTS for s in SEEDS]):
        argv = apply_args(paths, variant, seed, path)
        # One run through a process, the rest in this one (each process spends a second importing).
        assert (cli("apply", *argv).returncode if path == applied[0] else main(argv)) == 0
    proc = cli("sweep", *sweep_args(paths, tmp_path / "sweep.json"))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    proc = cli(
        "claims", "--settings", json.dumps(CLAIMS), "--applied", *applied, "--sweeps", str(tmp_path / "sweep.json"),
        "--anchors", "data/anchors/can.csv", "--tables-dir", str(out / "tables"), "--plots-dir", str(out / "plots"),
        "--scale", "smoke", "--claims-out", str(out / "claims.json"), "--metrics-out", str(out / "metrics.json"),
        "--numbers-out", str(out / "numbers.json"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ledger = {c["claim_id"]: c for c in read_claims(out / "claims.json")}
    functions = {"a": "gain", "b": "tuned_gain", "c": "gain_grows_with_classes", "d": "subset_accuracy"}
    functions |= {
        "e": "su_gain",
        "f": "su_gain_beyond_noise",
        "g": "subset_accuracy_anchor",
        "h": "runs_trained",
    }
    for claim_id, row in ledger.items():
        assert row["code"] == f"src/kexue_repro/can/claims.py:{functions[claim_id[0]]}"
    # One gain claim per task (variants pooled); Su's numbers are rows that only the full scale decides.
    expected = {
        f"a.gain.{TASK}",
        f"b.tuned_gain.{TASK}",
        "c.gain_grows_with_classes",
        f"d.subset_accuracy.{TASK}",
    }
    expected |= {f"{k}.{t}.{m}" for k in ("e.su_gain", "f.su_gain_beyond_noise") for t in ("iflytek", "tnews")
                 for m in ("bert-base", "roberta-wwm-ext")}  # fmt: skip
    expected |= {f"g.subset_accuracy_anchor.{t}.bert-base.{s}" for t in ("iflytek", "tnews")
                 for s in ("confident", "unconfident")}  # fmt: skip
    assert set(ledger) == expected | {f"h.runs_trained.{TASK}"}
    assert ledger[f"h.runs_trained.{TASK}"]["kind"] == "check"
    assert ledger["c.gain_grows_with_classes"]["verdict"] == "inconclusive"
    for claim_id in expected - {"c.gain_grows_with_classes"}:
        row = ledger[claim_id]
        assert row["kind"] == "claim" and (row["p_value"] is None) == (claim_id[0] in "efg"), claim_id
    assert ledger["e.su_gain.iflytek.bert-base"]["to_decide"].startswith("needs the full-scale run")
    runs = pd.read_csv(out / "tables" / "runs.csv")
    assert len(runs) == len(VARIANTS) * len(SEEDS) * 2 and set(runs["setting"]) == {"post", "official"}
    sweep = pd.read_csv(out / "tables" / "sweep.csv")
    assert len(sweep) == len(VARIANTS) * len(SEEDS) and (sweep["n_tune"] + sweep["n_report"] == 300).all()
    gate = pd.read_csv(out / "tables" / "trained.csv")
    assert len(gate) == len(VARIANTS) * len(SEEDS) and gate["trained"].all()
    assert (out / "plots" / "gains.png").stat().st_size > 0 and (out / "plots" / "subsets.png").exists()
    numbers = json.loads((out / "numbers.json").read_text())
    gains = pd.read_csv(out / "tables" / "gains.csv").set_index("variant")
    assert numbers[f"{TASK}_vanilla_gain"] == pytest.approx(gains.loc["vanilla", "gain"], abs=1e-6)
    # The DVC metrics: the claims by verdict (reproduced/not reproduced/inconclusive), then the headline number.
    claims = [row["verdict"] for row in ledger.values() if row["kind"] == "claim"]
    counts = "/".join(str(claims.count(v)) for v in ("reproduced", "not reproduced", "inconclusive"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == {"can": counts, "can_gain": pytest.approx(gains["gain"].mean(), abs=1e-6)}


def test_the_claims_refuse_a_setting_the_apply_records_do_not_hold(tmp_path):
    paths = synthetic_task(tmp_path / "in", n_dev=60)
    assert main(apply_args(paths, "vanilla", 0, tmp_path / "apply.json")) == 0
    assert sweep_main(sweep_args(paths, tmp_path / "sweep.json")) == 0
    proc = cli(
        "claims", "--settings", json.dumps(CLAIMS | {"setting": "batch"}), "--applied", str(tmp_path / "apply.json"),
        "--sweeps", str(tmp_path / "sweep.json"), "--anchors", "data/anchors/can.csv", "--tables-dir",
        str(tmp_path / "t"), "--plots-dir", str(tmp_path / "p"), "--scale", "smoke", "--claims-out",
        str(tmp_path / "claims.json"), "--metrics-out", str(tmp_path / "metrics.json"), "--numbers-out",
        str(tmp_path / "numbers.json"),
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stderr == (
        "error: can.claims.setting: 'batch', but the apply records hold ['official', 'post']\n"
    )
