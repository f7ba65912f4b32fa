"""Verdict logic of study 8728's claims, called directly on small tables."""

from __future__ import annotations

import pandas as pd
import pytest

from kexue_repro.can import claims
from kexue_repro.common.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

ANCHORS = pd.read_csv("data/anchors/can.csv")


def per_seed(task: str, classes: int, variant: str, gains: list[float], **extra) -> list[dict]:
    return [
        {"task": task, "num_classes": classes, "variant": variant, "seed": seed, "gain": g} | extra
        for seed, g in enumerate(gains)
    ]


def intervals(rows: list[dict]) -> pd.DataFrame:
    return claims.gain_intervals(pd.DataFrame(rows), "gain", 0.95)


@pytest.mark.parametrize(
    "gains, expected",
    [
        ([0.4, 0.5, 0.6], REPRODUCED),
        ([-0.4, -0.5, -0.6], NOT_REPRODUCED),
        ([0.5, -0.4, 0.1], INCONCLUSIVE),  # the interval covers 0
        ([0.5], INCONCLUSIVE),  # one seed: no interval
    ],
)
def test_gain_verdict_follows_the_paired_interval(gains, expected):
    table = intervals(per_seed("tnews", 15, "vanilla", gains))
    (claim,) = claims.gain(table, 0.95, "smoke", "x")
    assert claim.verdict == expected and claim.claim_id == "a.gain.tnews.vanilla"
    assert claim.code == "src/kexue_repro/can/claims.py:gain"
    assert (claim.interval is None) == (len(gains) == 1)
    if claim.interval:
        assert claim.interval[0] <= claim.ours <= claim.interval[1]
    (tuned,) = claims.tuned_gain(table, 0.95, "smoke", "x")
    assert tuned.claim_id == "b.tuned_gain.tnews.vanilla" and tuned.code.endswith(":tuned_gain")
    assert (tuned.verdict, tuned.ours, tuned.interval) == (claim.verdict, claim.ours, claim.interval)
    assert "tuned on one half of dev" in tuned.statement and "post's defaults" in claim.statement


def test_class_trend_needs_three_tasks_and_says_why_at_smoke():
    gains = intervals(per_seed("sentiment", 2, "vanilla", [0.1, 0.2]))
    claim = claims.gain_grows_with_classes(gains, 0.95, "smoke", "x")
    assert claim.verdict == INCONCLUSIVE and claim.ours is None
    assert "only 1 task(s)" in claim.metric and "2-class sentiment" in claim.metric


@pytest.mark.parametrize("sign, expected", [(1, REPRODUCED), (-1, NOT_REPRODUCED), (0, INCONCLUSIVE)])
def test_class_trend_is_kendalls_tau_against_the_number_of_classes(sign, expected):
    tasks = [("afqmc", 2), ("ocnli", 3), ("tnews", 15), ("csl", 20), ("iflytek", 119)]
    rows = []
    for rank, (task, classes) in enumerate(tasks):
        # sign 0: gains unrelated to C (tau-b 0)
        mean = sign * rank if sign else [0.2, -0.1, 0.3, -0.2, 0.0][rank]
        rows += per_seed(task, classes, "vanilla", [mean - 0.1, mean + 0.1])
    claim = claims.gain_grows_with_classes(intervals(rows), 0.95, "full", "x")
    assert claim.verdict == expected
    if sign:
        assert claim.ours == pytest.approx(sign * 1.0)


def subset_rows(task: str, confident: list[float], unconfident: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"task": task, "variant": "vanilla", "setting": "post", "seed": s, "k_used": 3, "tau": 0.9}
            | {"accuracy_confident": c, "accuracy_unconfident": u, "n_unconfident": 10, "n": 100}
            for s, (c, u) in enumerate(zip(confident, unconfident))
        ]
    )


SUBSET = {"setting": "post", "baseline_variant": "vanilla", "anchor_model": "BERT-base", "confidence": 0.95}
SUBSET |= {"subset_tolerance": 5.0, "evidence": "x"}
SU = {"baseline_variant": "vanilla", "anchor_model": "BERT-base", "confidence": 0.95, "anchor_tolerance": 0.5}
SU |= {"anchors_source": "data/anchors/can.csv", "evidence": "x"}


def subset_accuracy(runs: pd.DataFrame, scale: str):
    return claims.subset_accuracy(runs, ANCHORS, scale=scale, **SUBSET)


def su_gain(gains: pd.DataFrame):
    return claims.su_gain(gains, ANCHORS, scale="full", **SU)


def test_subset_claim_compares_with_the_posts_values_at_full_scale_only():
    runs = subset_rows("iflytek", [62.0, 63.5, 64.0], [21.0, 24.0, 22.5])
    (full,) = subset_accuracy(runs, "full")
    assert full.verdict == REPRODUCED and "63 / unconfident 22" in full.anchor
    far = subset_rows("iflytek", [80.0, 81.0, 82.0], [21.0, 24.0, 22.5])  # 18 points above the post's 63
    assert subset_accuracy(far, "full")[0].verdict == NOT_REPRODUCED
    assert subset_accuracy(far, "smoke")[0].verdict == REPRODUCED
    mixed = subset_rows("sentiment", [70.0, 50.0, 66.0], [60.0, 65.0, 55.0])
    assert subset_accuracy(mixed, "smoke")[0].verdict == INCONCLUSIVE


def test_su_gains_come_from_the_anchor_table():
    assert claims.su_anchor_gain(ANCHORS, "iflytek", "BERT-base") == pytest.approx(0.46)
    assert claims.su_anchor_gain(ANCHORS, "tnews", "RoBERTa-wwm-ext") == pytest.approx(-0.06)
    rows = per_seed("iflytek", 119, "vanilla", [0.3, 0.5, 0.7]) + per_seed(
        "tnews", 15, "vanilla", [2.0, 2.2, 2.4]
    )
    verdicts = {c.claim_id: c.verdict for c in su_gain(intervals(rows))}
    assert verdicts == {"e.su_gain.iflytek": REPRODUCED, "e.su_gain.tnews": NOT_REPRODUCED}
    only_one = per_seed("iflytek", 119, "vanilla", [0.4])
    assert {c.verdict for c in su_gain(intervals(only_one))} == {INCONCLUSIVE}


def test_runs_of_several_models_meet_their_own_models_anchors():
    # Full scale runs two models; run tasks are <task>@<model> (as clue.smk names them).
    rows = per_seed("iflytek@BERT-base", 119, "vanilla", [0.3, 0.5, 0.7]) + per_seed(
        "iflytek@RoBERTa-wwm-ext", 119, "vanilla", [-1.3, -1.2, -1.1]
    )
    ledger = {c.claim_id: c for c in su_gain(intervals(rows))}
    assert set(ledger) == {"e.su_gain.iflytek@BERT-base", "e.su_gain.iflytek@RoBERTa-wwm-ext"}
    assert ledger["e.su_gain.iflytek@BERT-base"].anchor == pytest.approx(0.46)
    assert ledger["e.su_gain.iflytek@RoBERTa-wwm-ext"].anchor == pytest.approx(0.31)
    assert (
        ledger["e.su_gain.iflytek@RoBERTa-wwm-ext"].verdict == NOT_REPRODUCED
    )  # +0.31 outside [-1.95, -0.45]
    runs = subset_rows("iflytek@BERT-base", [62.0, 63.5, 64.0], [21.0, 24.0, 22.5])
    (subset,) = subset_accuracy(runs, "full")
    assert subset.verdict == REPRODUCED and "63 / unconfident 22" in subset.anchor


def test_su_gain_without_anchor_rows_names_the_anchors_file():
    rows = per_seed("iflytek", 119, "vanilla", [0.3, 0.5, 0.7])
    with pytest.raises(ValueError, match="data/anchors/can.csv: no can:none/can:CAN acc rows for iflytek"):
        claims.su_gain(intervals(rows), ANCHORS.iloc[:0], scale="full", **SU)
