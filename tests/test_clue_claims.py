"""The claims step on fabricated runs and predictions (per-example effects, equivalence where a post says "no
significant change", the training-sanity gate, anchors and Su's single runs at full scale only, Su's Adam
argument), and the update-size measurement on the tiny BERT."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clue_tiny import make_model, make_task
from scipy import stats

from kexue_repro.clue import claims, tables, update_size
from kexue_repro.common.claims import read_claims
from kexue_repro.data.clue import split_task

ANCHORS = "data/anchors/clue_finetune.csv"
N_DEV = 400
SETTINGS = {"baseline": "vanilla", "anchor_model": "BERT-base", "confidence": 0.95, "no_change_margin": 0.5}
SETTINGS |= {"sqrt_p_margin": 0.5}


def write_dev(folder, task, n=N_DEV):
    path = folder / f"{task}_dev.jsonl"
    path.write_text("".join(json.dumps({"text": "x", "label": i % 2}) + "\n" for i in range(n)))
    return str(path)


def write_run(folder, task, variant, seed, right, dev):
    """A run record and its probabilities: example i predicted right where ``right[i]`` (labels alternate)."""
    stem = f"{folder}/{task}_{variant.replace(':', '_').replace('.', '_')}_{seed}"
    labels = np.arange(len(right)) % 2
    predicted = np.where(right, labels, 1 - labels)
    probs = np.where(predicted[:, None] == np.arange(2), 0.8, 0.2)
    np.save(f"{stem}.npy", probs)
    record = {"task": task, "variant": variant, "seed": seed, "best_epoch": 2}
    record |= {"best_dev_accuracy": float(np.mean(right)), "n_dev": len(right), "dev": dev}
    Path(f"{stem}.json").write_text(json.dumps(record))
    return f"{stem}.json", f"{stem}.npy"


def changed(right, gain=0, lose=0, offset=0):
    """``right`` with ``gain`` wrong examples made right and ``lose`` right ones made wrong."""
    out = right.copy()
    wrong, good = np.flatnonzero(~right), np.flatnonzero(right)
    out[wrong[offset : offset + gain]] = True
    out[good[offset : offset + lose]] = False
    return out


def update_record(folder, seed, ratios, dropped_moved=900, outside=0, p=0.2):
    """An update-size record: the toy's drift ratios, the tiny model's counts."""
    steps = 3
    runs = {m: {"update_norm": [1.0] * steps, "moved_share": [p] * steps} for m in update_size.RUNS}
    runs["childtuning-f"] |= {
        "dropped": [800] * steps,
        "dropped_moved": [0, dropped_moved // 2, dropped_moved // 2],
    }
    runs["incre-drop"] |= {"moved_outside_mask": [outside, 0, 0]}
    model = {"steps": steps, "runs": runs, "ratio_f": [0.5] * steps, "ratio_incre": [1.0] * steps}
    model |= {"dropped_f": 1600, "dropped_moved_f": dropped_moved, "moved_outside_mask_incre": outside}
    model |= {"moved_share_incre": p}
    toy = {
        "steps": 5000,
        "burn_in_steps": 1000,
        "horizon_steps": 1000.0,
        "entries": 64,
        "repeats": len(ratios),
    }
    toy |= {"mean_sd": 1.0, "noise_sd": 1.0, "drift_ratio_f": list(ratios)}
    toy |= {"drift": {"vanilla": [-1.0] * len(ratios), "childtuning-f": [-r for r in ratios]}}
    path = folder / f"update_{seed}.json"
    path.write_text(json.dumps({"p": p, "sqrt_p": math.sqrt(p), "seed": seed, "toy": toy, "model": model}))
    return str(path)


@pytest.fixture
def fabricated(tmp_path):
    """IFLYTEK, 4 seeds: grad drop right on 40 more examples a seed, update dropout trades 6 for 6, DropToken
    (Su: helps IFLYTEK) loses 40, the MLM correction (Su: no change) moves one example at most."""
    dev = write_dev(tmp_path, "iflytek")
    rng = np.random.default_rng(0)
    files = []
    for seed in range(4):
        base = rng.random(N_DEV) < 0.7
        variants = {
            "vanilla": base,
            "childtuning-f:p=0.2": changed(base, gain=40),
            "incre-drop:p=0.2": changed(base, gain=6, lose=6),
            "droptoken:r=0.10": changed(base, lose=40),
            "mlm-correction": changed(base, gain=[0, 1, 0, 1][seed], lose=[0, 0, 1, 1][seed], offset=3),
        }
        files += [write_run(tmp_path, "iflytek", v, seed, right, dev) for v, right in variants.items()]
    updates = [
        update_record(tmp_path, s, [math.sqrt(0.2) * (1 + d) for d in (0.01, -0.01, 0.0)]) for s in range(3)
    ]
    return [r for r, _ in files], [p for _, p in files], [dev], updates


def claims_argv(tmp_path, runs, probs, dev, updates, scale="smoke", settings=SETTINGS):
    argv = ["--settings", json.dumps(settings), "--runs", *runs, "--probs", *probs, "--dev", *dev]
    argv += ["--update-size", *updates, "--anchors", ANCHORS, "--tables-dir", str(tmp_path / "tables")]
    argv += ["--plots-dir", str(tmp_path / "plots"), "--scale", scale]
    return [
        *argv,
        "--claims-out",
        str(tmp_path / "claims.json"),
        "--metrics-out",
        str(tmp_path / "metrics.json"),
        "--numbers-out",
        str(tmp_path / "numbers.json"),
    ]


def run_claims(tmp_path, fabricated, scale="smoke"):
    assert claims.main(claims_argv(tmp_path, *fabricated, scale)) == 0
    return {c["claim_id"]: c for c in read_claims(tmp_path / "claims.json")}


def test_effects_per_example_and_no_change_by_equivalence(tmp_path, fabricated):
    ledger = run_claims(tmp_path, fabricated)
    helps = ledger["effect.iflytek.childtuning-f_p_0.2"]
    assert helps["verdict"] == "reproduced" and helps["kind"] == "claim" and helps["section"]
    assert helps["ours"] == pytest.approx(10.0) and helps["seeds"] == [0, 1, 2, 3]  # points
    assert "160 right only by a, 0 only by b" in helps["test"]
    assert helps["anchor"] == pytest.approx(60.56 - 60.06)  # Su's grad drop minus vanilla on IFLYTEK
    assert ledger["effect.iflytek.incre-drop_p_0.2"]["verdict"] == "inconclusive"
    assert ledger["effect.iflytek.droptoken_r_0.10"]["verdict"] == "not reproduced"  # Su: helps IFLYTEK
    # Su: "no significant change" -> TOST on the per-seed differences (0, +0.25, -0.25, 0 points).
    same = ledger["no_change.iflytek.mlm-correction"]
    assert "effect.iflytek.mlm-correction" not in ledger and same["test"].startswith("TOST")
    tost = stats.ttest_1samp([0, 0.25, -0.25, 0], -0.5, alternative="greater").pvalue
    assert same["p_value"] == pytest.approx(tost, rel=1e-5) and same["verdict"] == "reproduced"
    assert (
        ledger["sanity.runs_trained"]["kind"] == "check"
        and ledger["sanity.runs_trained"]["verdict"] == "reproduced"
    )
    assert {ledger[f"anchor.{t}"]["verdict"] for t in claims.ANCHOR_TABLES} == {"inconclusive"}
    assert "full-scale run" in ledger["anchor.vanilla"]["to_decide"]
    assert ledger["single_run.childtuning-f_p_0.2"]["verdict"] == "inconclusive"
    assert ledger["adam.grad_drop_scales_update_by_sqrt_p"]["verdict"] == "reproduced"
    assert ledger["adam.update_dropout_moves_only_kept"]["kind"] == "check"
    effects = pd.read_csv(tmp_path / "tables" / "effects.csv").set_index("variant")
    assert effects.loc["childtuning-f:p=0.2", "mean"] == pytest.approx(10.0)  # points
    # the table's interval is the claim's, in points, for both tests (McNemar's and TOST's)
    for variant, claim_id in [("childtuning-f:p=0.2", "effect.iflytek.childtuning-f_p_0.2"),
                              ("mlm-correction", "no_change.iflytek.mlm-correction")]:  # fmt: skip
        interval = effects.loc[variant, ["ci_low", "ci_high"]].tolist()
        assert interval == pytest.approx(ledger[claim_id]["interval"], rel=1e-6)
    runs = pd.read_csv(tmp_path / "tables" / "runs.csv")
    assert len(runs) == 20 and "seconds_per_epoch" not in runs
    assert (tmp_path / "plots" / "effects.png").stat().st_size > 0
    assert (tmp_path / "plots" / "update_size.png").stat().st_size > 0
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["iflytek.childtuning-f_p_0.2.effect"] == pytest.approx(10.0)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) == {"clue", "ctd_gain"} and re.fullmatch(r"\d+/\d+/\d+", metrics["clue"])
    assert not any(v.startswith("childtuning-d:") for v in effects.index) and metrics["ctd_gain"] is None
    for claim_id, row in ledger.items():  # each claim's one home is named after it
        kind, name = claim_id.split(".")[:2]
        function = kind if kind in ("effect", "no_change", "anchor", "single_run") else name
        assert row["code"] == f"src/kexue_repro/clue/claims.py:{function}"


def test_claims_on_runs_that_did_not_learn_are_inconclusive(tmp_path):
    dev = write_dev(tmp_path, "tnews", 200)
    chance = np.arange(200) % 4 != 0  # 75% right on balanced labels would pass; make seed 0 at chance:
    files = []
    for seed in range(3):
        base = np.arange(200) % 2 == 0 if seed == 0 else chance  # 50%: what a constant prediction scores
        files += [write_run(tmp_path, "tnews", "vanilla", seed, base, dev)]
        files += [write_run(tmp_path, "tnews", "droptoken:r=0.10", seed, changed(chance, gain=20), dev)]
    updates = [update_record(tmp_path, 0, [0.45, 0.44])]
    assert (
        claims.main(claims_argv(tmp_path, [r for r, _ in files], [p for _, p in files], [dev], updates)) == 0
    )
    ledger = {c["claim_id"]: c for c in read_claims(tmp_path / "claims.json")}
    assert ledger["sanity.runs_trained"]["verdict"] == "not reproduced"
    no_change = ledger["no_change.tnews.droptoken_r_0.10"]  # DropToken off IFLYTEK: Su sees no clear change
    assert no_change["verdict"] == "inconclusive" and no_change["to_decide"].startswith(
        "run failed: vanilla seed 0"
    )


def test_anchors_at_full_scale_are_single_run_prediction_intervals():
    runs = pd.DataFrame(
        {"task": ["iflytek"] * 6 + ["ocnli"] * 3, "seed": [0, 1, 2] * 3}
        | {"variant": ["vanilla"] * 3 + ["childtuning-f:p=0.2"] * 3 + ["vanilla"] * 3}
        | {"accuracy": [60.0, 60.3, 59.8, 63.5, 63.4, 63.6, 74.0, 74.4, 74.9]}
    )
    anchors = pd.read_csv(ANCHORS)
    comparisons = claims.anchor_comparisons(runs, anchors, "BERT-base")
    full = {c.claim_id: c for c in claims.anchor(comparisons, anchors, "BERT-base", 0.05, "full", "a.csv")}
    vanilla = full["anchor.vanilla.iflytek.vanilla"]  # Su's 60.06 inside 60.03 +- t sd sqrt(1 + 1/3)
    values = np.array([60.0, 60.3, 59.8])
    t = abs(60.06 - values.mean()) / (values.std(ddof=1) * math.sqrt(1 + 1 / 3))
    assert vanilla.judgement.p_value == pytest.approx(2 * stats.t.sf(t, 2))
    assert vanilla.judgement.verdict(0.05) == "reproduced"
    assert full["anchor.grad-drop.iflytek.childtuning-f_p_0.2"].judgement.verdict(0.05) == "not reproduced"
    # OCNLI's official dev value is a mean of 5 runs: the interval of such a mean, sd sqrt(1/5 + 1/3).
    official = full["anchor.clue-baseline.ocnli.vanilla"].judgement
    ocnli = np.array([74.0, 74.4, 74.9])
    t = abs(74.5 - ocnli.mean()) / (ocnli.std(ddof=1) * math.sqrt(1 / 5 + 1 / 3))
    assert official.p_value == pytest.approx(2 * stats.t.sf(t, 2)) and "mean of 5 runs" in official.test
    assert all(r["experiment"] != "droptoken:r=0.00" for r in comparisons), "Su's vanilla run: compared once"
    assert "add it to clue.runs.variants" in full["anchor.droptoken"].judgement.to_decide  # no DropToken run
    smoke = claims.anchor(comparisons, anchors, "BERT-base", 0.05, "smoke", "a.csv")
    assert [c.claim_id for c in smoke] == [f"anchor.{t}" for t in claims.ANCHOR_TABLES]
    assert all(
        c.judgement.verdict(0.05) == "inconclusive" and "full-scale" in c.judgement.to_decide for c in smoke
    )


def test_su_single_run_differences_against_one_runs_noise_at_full_scale():
    runs = pd.DataFrame(
        {"task": ["iflytek@BERT-base"] * 6, "seed": [0, 1, 2] * 2}
        | {"variant": ["vanilla"] * 3 + ["incre-drop:p=0.2"] * 3}
        | {"accuracy": [60.0, 60.3, 59.8, 60.1, 60.2, 59.9]}
    )
    correct = {(t, v, s): np.ones(10, bool) for t, v, s in zip(runs["task"], runs["variant"], runs["seed"])}
    found = claims.effects(runs, correct, pd.read_csv(ANCHORS), "vanilla", "BERT-base", [], 0.05)
    full = claims.single_run(found, ["vanilla", "incre-drop:p=0.2"], pd.read_csv(ANCHORS), "BERT-base", 0.05,
                             "full", "e.csv")  # fmt: skip
    assert [c.claim_id for c in full] == ["single_run.iflytek_bert-base.incre-drop_p_0.2"]
    diffs = np.array([0.1, -0.1, 0.1])
    t = abs(-0.07) / (diffs.std(ddof=1) * math.sqrt(1 + 1 / 3))  # Su: 59.99 - 60.06
    assert full[0].judgement.p_value == pytest.approx(2 * stats.t.sf(t, 2))
    assert full[0].judgement.verdict(0.05) == "inconclusive"
    assert (
        claims.expectation("incre-drop:p=0.2", "iflytek@RoBERTa-wwm-ext", "RoBERTa-wwm-ext").direction
        == "no change"
    )


def test_adam_argument_verdicts(tmp_path):
    def verdicts(ratios, dropped_moved=900, outside=0):
        records = tables.read_update_sizes([update_record(tmp_path, 0, ratios, dropped_moved, outside)])
        return [
            claims.grad_drop_scales_update_by_sqrt_p(
                records, 0.5, 0.05, "smoke", "toy.csv"
            ).judgement.verdict(0.05),
            claims.momentum_moves_dropped_entries(records, "smoke", "u.csv").judgement.verdict(0.05),
            claims.update_dropout_moves_only_kept(records, "smoke", "u.csv").judgement.verdict(0.05),
        ]

    root = math.sqrt(0.2)
    assert verdicts([root * 1.01, root * 0.99, root]) == ["reproduced"] * 3
    # The step unchanged (ratio 1, what unbiased gradients alone predict); nothing dropped moved; a leak.
    assert verdicts([1.01, 0.99, 1.0], dropped_moved=0, outside=3) == ["not reproduced"] * 3
    assert verdicts([root, 1.0])[0] == "inconclusive", "two streams, one at each prediction"


def test_errors_name_what_is_wrong(tmp_path, fabricated, capsys):
    runs, probs, dev, updates = fabricated
    assert claims.main(claims_argv(tmp_path, [runs[0], runs[0]], [probs[0], probs[0]], dev, updates)) == 1
    assert "both hold task/variant/seed" in capsys.readouterr().err
    assert claims.main(claims_argv(tmp_path, [runs[1]], [probs[1]], dev, updates)) == 1
    assert "clue.claims: baseline 'vanilla': no run of that variant" in capsys.readouterr().err
    assert claims.main(claims_argv(tmp_path, runs, probs[::-1], dev, updates)) == 1
    assert "is not the run's" in capsys.readouterr().err, "probabilities paired with another run"
    assert (
        claims.main(claims_argv(tmp_path, runs, probs, dev, updates, settings=SETTINGS | {"confidnce": 0.9}))
        == 1
    )
    assert capsys.readouterr().err.startswith("error: clue.claims: unknown setting 'confidnce'")


def test_runs_of_several_models_meet_their_own_anchors():
    anchors = pd.read_csv(ANCHORS)
    assert split_task("tnews@RoBERTa-wwm-ext", "BERT-base") == ("tnews", "RoBERTa-wwm-ext")
    assert claims.anchor_task("cluewsc2020@RoBERTa-wwm-ext") == "WSC"
    # Su's TNEWS grad-drop effect: RoBERTa 57.91 - 58.06, BERT 56.97 - 56.8.
    assert (
        claims.su_effect(anchors, "tnews@RoBERTa-wwm-ext", "childtuning-f:p=0.2", "RoBERTa-wwm-ext") == -0.15
    )
    assert claims.su_effect(anchors, "tnews@BERT-base", "childtuning-f:p=0.2", "BERT-base") == 0.17
    runs = pd.DataFrame({"task": ["tnews@BERT-base"] * 2 + ["tnews@RoBERTa-wwm-ext"] * 2, "seed": [0, 1] * 2}
                        | {"variant": ["vanilla"] * 4, "accuracy": [56.8, 56.6, 58.0, 58.2]})  # fmt: skip
    rows = pd.DataFrame(claims.anchor_comparisons(runs, anchors, "BERT-base"))
    vanilla = rows[rows["table"] == "vanilla"].set_index("task")
    assert (
        vanilla.loc["tnews@BERT-base", "anchor"] == 56.8
        and vanilla.loc["tnews@RoBERTa-wwm-ext", "anchor"] == 58.06
    )


def test_update_size_on_the_tiny_model(tmp_path):
    """Which entries move: under gradient dropout none of the dropped entries moves at step 1 (the momentum
    is empty), then some do; update dropout moves nothing outside its mask. The step size: over 3 horizons
    of beta2 0.999 the toy's drift ratio is sqrt(p) (measured: 0.996 and 1.003 sqrt(p); over 5 horizons of
    beta2 0.99, whose second moment averages fewer kept gradients, 0.979 and 0.992)."""
    task = make_task(tmp_path / "task")
    model = make_model(tmp_path / "tiny")
    out = tmp_path / "update.json"
    settings = {"maxlen": 32, "batch_size": 16, "steps": 4, "p": 0.25, "lr": 1e-4, "betas": [0.9, 0.999]}
    settings |= {"eps": 1e-8, "weight_decay": 0}
    settings |= {"toy": {"horizons": 3, "burn_in_horizons": 1, "entries": 256, "repeats": 2, "mean_sd": 1.0,
                         "noise_sd": 1.0}}  # fmt: skip
    argv = [
        "--settings",
        json.dumps(settings),
        "--seed",
        "0",
        "--model",
        str(model),
        "--train",
        str(task["train"]),
    ]
    argv += ["--meta", str(task["meta"]), "--threads", "1", "--device", "cpu", "--out", str(out)]
    assert update_size.main(argv) == 0
    result = json.loads(out.read_text())
    f = result["model"]["runs"]["childtuning-f"]
    assert f["dropped_moved"][0] == 0 and all(moved > 0 for moved in f["dropped_moved"][1:])
    assert result["model"]["moved_outside_mask_incre"] == 0
    assert all(abs(m - 0.25) < 0.02 for m in result["model"]["runs"]["incre-drop"]["moved_share"])
    assert result["toy"]["steps"] == 3000 and result["toy"]["burn_in_steps"] == 1000
    for ratio in result["toy"]["drift_ratio_f"]:
        assert ratio / 0.5 == pytest.approx(1.0, abs=0.02)


def test_the_headline_is_childtuning_d_effect_averaged_over_tasks():
    effects = pd.DataFrame({"variant": ["childtuning-d:p=0.3", "childtuning-d:p=0.3", "childtuning-f:p=0.2"],
                            "mean": [1.0, 2.0, 9.0]})  # fmt: skip
    assert claims.headline(effects) == {"ctd_gain": 1.5}
