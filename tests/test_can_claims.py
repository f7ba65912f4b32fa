"""Verdict logic of study 8728's claims, called directly on small fixed inputs, against scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from kexue_repro.can import claims
from kexue_repro.can.evaluate import bits
from kexue_repro.can.tables import Paired, gain_table, trained_table
from kexue_repro.common.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, write_claims

ANCHORS = pd.read_csv("data/anchors/can.csv")
ALPHA = 0.05
COMMON = {"alpha": ALPHA, "evidence": "x"}


def pair(task: str, classes: int, variant: str, seed: int, fixed: int, broken: int, n: int = 200) -> Paired:
    """A run whose CAN turns ``fixed`` wrong examples right and ``broken`` right ones wrong."""
    before = np.zeros(n, bool)
    before[: n // 2] = True
    after = before.copy()
    after[n // 2 : n // 2 + fixed] = True
    after[:broken] = False
    return Paired(task, classes, variant, seed, before, after)


def trained(pairs, failed=()) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"task": p.task, "num_classes": p.num_classes, "variant": p.variant, "seed": p.seed, "n": 200}
            | {"accuracy_before": 50.0, "accuracy_trivial": 30.0, "p_binomial": 0.001}
            | {"trained": (p.variant, p.seed) not in failed}
            for p in pairs
        ]
    )


def value(judged, p_adjusted=None):
    return judged.judgement.verdict(ALPHA, p_adjusted)


def test_the_gain_is_one_stratified_mcnemar_per_task_pooled_over_variants_and_seeds():
    pairs = [pair("tnews", 15, v, s, 6 + s, 1) for v in ("vanilla", "other") for s in (0, 1, 2)]
    (claim,) = claims.gain(pairs, trained(pairs), scale="smoke", **COMMON)
    fixed, broken = sum(6 + s for s in (0, 1, 2)) * 2, 6
    assert claim.claim_id == "a.gain.tnews" and claim.kind == "claim" and claim.section
    assert claim.judgement.p_value == pytest.approx(mcnemar([[0, fixed], [broken, 0]], exact=True).pvalue)
    assert value(claim) == REPRODUCED
    assert claim.ours == pytest.approx(100 * (fixed - broken) / (6 * 200))  # points
    assert claim.interval[0] < claim.ours < claim.interval[1]
    worse = [pair("tnews", 15, "vanilla", s, 0, 10) for s in (0, 1, 2)]
    (against,) = claims.tuned_gain(worse, trained(worse), scale="smoke", **COMMON)
    assert against.claim_id == "b.tuned_gain.tnews" and value(against) == NOT_REPRODUCED
    assert "tuned on dev" in against.statement and "report half" in against.criterion
    few = [pair("tnews", 15, "vanilla", s, 1, 0) for s in (0, 1)]
    (unsure,) = claims.gain(few, trained(few), scale="smoke", **COMMON)
    assert value(unsure) == INCONCLUSIVE and "runs of 200 examples" in unsure.judgement.to_decide


def test_runs_that_did_not_train_decide_nothing():
    pairs = [pair("tnews", 15, "vanilla", s, 20, 0) for s in (0, 1, 2)]
    gate = trained(pairs, failed={("vanilla", 0), ("vanilla", 1), ("vanilla", 2)})
    (claim,) = claims.gain(pairs, gate, scale="smoke", **COMMON)
    assert value(claim) == INCONCLUSIVE and claim.judgement.to_decide.startswith("run failed: vanilla/seed0")
    partly = trained(pairs, failed={("vanilla", 2)})
    (kept,) = claims.gain(pairs, partly, scale="smoke", **COMMON)
    assert kept.seeds == [0, 1] and "excluded, did not train: vanilla/seed2" in kept.metric
    (check,) = claims.runs_trained(partly, ALPHA, "smoke", "x")
    assert check.kind == "check" and check.claim_id == "h.runs_trained.tnews"
    assert value(check) == NOT_REPRODUCED and check.ours == 2


def test_the_gate_is_an_exact_binomial_test_against_the_majority_class():
    def record(seed, right):
        return {"task": "t", "num_classes": 2, "variant": "v", "seed": seed, "accuracy_trivial": 0.6} | {
            "settings": {"post": {"correct_before": bits(np.arange(100) < right)}}
        }

    gate = trained_table([record(0, 72), record(1, 61)], ALPHA)
    assert list(gate["trained"]) == [True, False]
    assert gate["p_binomial"][0] == pytest.approx(stats.binomtest(72, 100, 0.6, alternative="greater").pvalue)


def test_the_per_variant_table_is_descriptive_mcnemar():
    pairs = [pair("tnews", 15, v, s, 5, 2) for v in ("vanilla", "other") for s in (0, 1)]
    table = gain_table(pairs, ALPHA).set_index("variant")
    assert list(table.index) == ["other", "vanilla"]
    assert table.loc["vanilla", "wrong_to_right"] == 10 and table.loc["vanilla", "right_to_wrong"] == 4
    assert table.loc["vanilla", "p_descriptive"] == pytest.approx(
        mcnemar([[0, 10], [4, 0]], exact=True).pvalue
    )
    assert table.loc["vanilla", "gain"] == pytest.approx(100 * 3 / 200)
    none = gain_table([pair("tnews", 15, "vanilla", 0, 0, 0)], ALPHA)
    assert math.isnan(none["p_descriptive"][0]) and math.isnan(none["low"][0])


def test_the_class_trend_is_kendalls_tau_over_tasks_with_models_pooled():
    tasks = [("afqmc", 2), ("ocnli", 3), ("tnews", 15), ("csl", 20), ("iflytek", 119)]
    pairs = [
        pair(f"{task}@{model}", classes, "vanilla", seed, rank + seed, 0)
        for rank, (task, classes) in enumerate(tasks)
        for model in ("BERT-base", "RoBERTa-wwm-ext")
        for seed in (0, 1)
    ]
    claim = claims.gain_grows_with_classes(
        pairs, trained(pairs), anchor_model="BERT-base", scale="full", **COMMON
    )
    assert claim.ours == pytest.approx(1.0) and claim.judgement.p_value == pytest.approx(
        stats.kendalltau(range(5), range(5)).pvalue
    )
    assert value(claim) == REPRODUCED and "over 5 tasks" in claim.judgement.test
    falling = [
        pair(f"{task}@BERT-base", classes, "vanilla", seed, 10 - rank + seed, 0)
        for rank, (task, classes) in enumerate(tasks)
        for seed in (0, 1)
    ]
    claim = claims.gain_grows_with_classes(
        falling, trained(falling), anchor_model="BERT-base", scale="full", **COMMON
    )
    assert value(claim) == NOT_REPRODUCED
    assert claims.tasks_needed(0.05) == 5 and claims.tasks_needed(0.01) == 6


def test_the_class_trend_at_smoke_says_the_unit_and_the_tasks_needed():
    pairs = [pair("sentiment", 2, "vanilla", s, 3, 1) for s in (0, 1)]
    claim = claims.gain_grows_with_classes(
        pairs, trained(pairs), anchor_model="BERT-base", scale="smoke", **COMMON
    )
    assert value(claim) == INCONCLUSIVE and claim.ours is None and claim.judgement.no_p_reason
    assert (
        "the unit is tasks" in claim.judgement.to_decide and "fewer than 5 tasks" in claim.judgement.to_decide
    )


def subset_rows(task: str, counts: list[tuple[int, int, int, int]], variant: str = "vanilla") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"task": task, "num_classes": 119, "variant": variant, "setting": "post", "seed": s, "k_used": 3}
            | {"tau": 0.9, "accuracy_confident": 100 * a / b, "n_confident": b, "gain": 0.1 * (s + 3)}
            | {"accuracy_unconfident": 100 * c / d, "n_unconfident": d, "n": b + d}
            for s, (a, b, c, d) in enumerate(counts)
        ]
    )


SUBSET = {"setting": "post", "baseline_variant": "vanilla"} | COMMON


def test_the_subset_claim_counts_examples_per_seed():
    counts = [(130, 200, 20, 100), (126, 200, 25, 100), (140, 210, 18, 90)]
    runs = subset_rows("iflytek", counts)
    (claim,) = claims.subset_accuracy(runs, trained_rows(runs), scale="smoke", **SUBSET)
    assert claim.claim_id == "d.subset_accuracy.iflytek" and value(claim) == REPRODUCED
    assert claim.judgement.p_value == pytest.approx(claims.stratified_proportions(counts, ALPHA).p_value)
    assert claim.ours == pytest.approx(100 * (396 / 610 - 63 / 290))  # points


def trained_rows(runs: pd.DataFrame, failed=()) -> pd.DataFrame:
    rows = runs.drop_duplicates(["task", "variant", "seed"])
    return trained(
        [Paired(r.task, r.num_classes, r.variant, r.seed, None, None) for r in rows.itertuples()], failed
    )


SU = {
    "anchors_source": "data/anchors/can.csv",
    "baseline_variant": "vanilla",
    "anchor_model": "BERT-base",
} | COMMON


def test_su_numbers_are_compared_only_at_full_scale_and_say_so():
    runs = subset_rows("sentiment", [(130, 200, 20, 100)] * 3)
    for function in (claims.su_gain, claims.su_gain_beyond_noise):
        ledger = function(runs, trained_rows(runs), ANCHORS, scale="smoke", **SU)
        assert len(ledger) == 4 and {value(c) for c in ledger} == {INCONCLUSIVE}
        assert all("needs the full-scale run" in c.judgement.to_decide for c in ledger)
    ledger = claims.subset_accuracy_anchor(runs, trained_rows(runs), ANCHORS, anchor_model="BERT-base", scale="smoke",
                                           **SUBSET)  # fmt: skip
    assert [c.claim_id for c in ledger] == [
        f"g.subset_accuracy_anchor.{t}.bert-base.{s}" for t in ("iflytek", "tnews") for s in ("confident", "unconfident")
    ]  # fmt: skip
    assert {value(c) for c in ledger} == {INCONCLUSIVE}


def test_su_gains_at_full_scale_use_single_run_prediction_intervals():
    assert claims.su_anchor_gain(ANCHORS, "iflytek", "BERT-base") == pytest.approx(0.46)
    assert claims.su_anchor_gain(ANCHORS, "tnews", "RoBERTa-wwm-ext") == pytest.approx(-0.06)
    gains = {"iflytek@BERT-base": [0.3, 0.5, 0.7], "iflytek@RoBERTa-wwm-ext": [-1.21, -1.2, -1.19]}
    gains |= {"tnews@BERT-base": [0.0, 0.1, 0.2], "tnews@RoBERTa-wwm-ext": [2.0, 2.2, 2.4]}
    runs = pd.DataFrame(
        [{"task": t, "num_classes": 2, "variant": "vanilla", "seed": s, "gain": g}
         for t, values in gains.items() for s, g in enumerate(values)]
    )  # fmt: skip
    near = {c.claim_id: c for c in claims.su_gain(runs, trained_rows(runs), ANCHORS, scale="full", **SU)}
    assert value(near["e.su_gain.iflytek.bert-base"]) == REPRODUCED  # +0.46 inside 0.5 +- 0.99
    far = near["e.su_gain.iflytek.roberta-wwm-ext"]  # +0.31 against -1.2 +- 0.05
    reference = 2 * stats.t.sf(abs(0.31 + 1.2) / (0.01 * math.sqrt(1 + 1 / 3)), 2)
    assert far.judgement.p_value == pytest.approx(reference) and value(far) == NOT_REPRODUCED
    noise = {
        c.claim_id: c
        for c in claims.su_gain_beyond_noise(runs, trained_rows(runs), ANCHORS, scale="full", **SU)
    }
    # one run's noise under no effect is 0 +- t sd sqrt(1 + 1/3): +-0.05 for IFLYTEK/RoBERTa (sd 0.01), so
    # Su's +0.31 lies outside it; +-0.99 for IFLYTEK/BERT-base (sd 0.2), so his +0.46 lies inside
    assert value(noise["f.su_gain_beyond_noise.iflytek.roberta-wwm-ext"]) == REPRODUCED
    assert value(noise["f.su_gain_beyond_noise.iflytek.bert-base"]) == INCONCLUSIVE
    assert value(noise["f.su_gain_beyond_noise.tnews.bert-base"]) == INCONCLUSIVE
    failed = trained_rows(runs, failed={("vanilla", 0), ("vanilla", 1)})
    ledger = claims.su_gain(runs, failed, ANCHORS, scale="full", **SU)
    assert all(c.judgement.to_decide.startswith("run failed") for c in ledger)


def test_su_gain_without_anchor_rows_names_the_anchors_file():
    runs = subset_rows("iflytek", [(130, 200, 20, 100)] * 2)
    broken = ANCHORS[ANCHORS["experiment"] != "can:none"]
    with pytest.raises(ValueError, match="data/anchors/can.csv: no can:none/can:CAN acc rows for iflytek"):
        claims.su_gain(runs, trained_rows(runs), broken, scale="full", **SU)


def test_a_full_scale_ledger_is_valid_with_model_qualified_tasks(tmp_path):
    counts = [(130, 200, 20, 100), (126, 200, 25, 100), (140, 210, 18, 90)]
    runs = pd.concat([subset_rows("iflytek@BERT-base", counts), subset_rows("tnews@RoBERTa-wwm-ext", counts)])
    gate = trained_rows(runs)
    pairs = [
        pair(t, 119, "vanilla", s, 4, 1)
        for t in ("iflytek@BERT-base", "tnews@RoBERTa-wwm-ext")
        for s in (0, 1)
    ]
    ledger = claims.gain(pairs, trained(pairs), scale="full", **COMMON)
    ledger += claims.subset_accuracy(runs, gate, scale="full", **SUBSET)
    ledger += claims.subset_accuracy_anchor(
        runs, gate, ANCHORS, anchor_model="BERT-base", scale="full", **SUBSET
    )
    ledger += claims.su_gain(runs, gate, ANCHORS, scale="full", **SU)
    ledger += claims.runs_trained(gate, ALPHA, "full", "x")
    write_claims(tmp_path / "claims.json", ledger, ALPHA)  # ids, kinds and fields pass the schema
    ids = {c.claim_id for c in ledger}
    assert {"a.gain.iflytek.bert-base", "d.subset_accuracy.tnews.roberta-wwm-ext"} <= ids
    anchor = next(c for c in ledger if c.claim_id == "g.subset_accuracy_anchor.iflytek.bert-base.confident")
    assert anchor.judgement.p_value is not None  # IFLYTEK from BERT-base ran: compared with the post's 63
    missing = next(c for c in ledger if c.claim_id == "e.su_gain.iflytek.roberta-wwm-ext")
    assert "needs the full-scale run" in missing.judgement.to_decide  # no IFLYTEK run from RoBERTa
