"""Study 8791 claims and checks: verdicts from constructed evaluation records, and any subset of models, k
and seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kexue_repro.common.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, ledger_rows, validate_ledger
from kexue_repro.vae.claims import ClaimsConfig, build_claims, headline_metrics, read_anchors, t_interval

ANCHORS = Path(__file__).resolve().parents[1] / "data" / "anchors" / "vae_burda2016_table1.csv"
EVIDENCE = {name: f"tables/{name}.csv" for name in ("bounds", "summary", "comparisons", "exact")}


def _record(k_train: int, seed: int, means: dict[int, float], n_images: int = 50) -> dict:
    rng = np.random.default_rng([k_train, seed])
    image_effect = np.random.default_rng(99).normal(0, 20, n_images)  # the same test images for every model
    per_image = {
        str(k): (m + image_effect + rng.normal(0, 0.05, n_images)).tolist() for k, m in means.items()
    }
    return {
        "k_train": k_train,
        "train_seed": seed,
        "schedule": "constant",
        "epochs": 8,
        "batch_size": 100,
        "n_eval": n_images,
        "per_image": per_image,
        "bounds": {
            k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "sem": 0.1} for k, v in per_image.items()
        },
        "pixel_marginal": {"mean": -200.0, "std": 30.0, "sem": 4.0},
        "active_units": 20 + k_train % 7,
        "active_threshold": 0.01,
        "latent": 50,
    }


def _burda_like(k_train: int, seed: int, k_evals=(1, 5, 50, 500, 5000)) -> dict:
    """L_k rising with k; at L_5000 IWAE-50 > IWAE-5 > VAE; IWAE-50 has the lowest L_1."""
    final = {1: -137.0, 5: -134.0, 50: -131.0}[k_train] + 0.3 * seed
    first = {1: -142.0, 5: -144.0, 50: -160.0}[k_train] + 0.3 * seed
    return _record(k_train, seed, {k: first + (final - first) * np.log(k) / np.log(5000) for k in k_evals})


def _exact(ks=(1, 5, 50, 500, 5000)) -> pd.DataFrame:
    gaps = {1: 3.08, 5: 0.95, 50: 0.14, 500: 0.015, 5000: 0.001}
    return pd.DataFrame(
        {
            "k": list(ks),
            "n_points": 1000,
            "repeats": 10,
            "bound_mean": [-50.0 - gaps[k] for k in ks],
            "log_px_mean": -50.0,
            "gap_mean": [gaps[k] for k in ks],
            "gap_sem": [0.03, 0.015, 0.005, 0.002, 0.002][: len(ks)],
            "gap_k1_closed_form": 3.0685,
            "gap_large_k_closed_form": [8.3789 / k for k in ks],
        }
    )


def _rows(evals, exact=None, scale="smoke", passes=None) -> dict[str, dict]:
    """The ledger rows by claim id. ``passes``: the runs trained with Burda's schedule of that many passes
    (else a constant schedule)."""
    if passes is not None:
        for e in evals:
            e["schedule"], e["epochs"] = "burda", sum(3**i for i in range(passes))
    claims, _ = build_claims(
        evals,
        _exact() if exact is None else exact,
        read_anchors(ANCHORS),
        ClaimsConfig(confidence=0.95),
        scale=scale,
        evidence=EVIDENCE,
    )
    assert all(c.code.startswith("src/kexue_repro/vae/claims.py:") for c in claims)
    rows = ledger_rows(claims, 0.05)
    validate_ledger(rows, "test")
    return {r["claim_id"]: r for r in rows}


def _verdicts(evals, exact=None, scale="smoke", passes=None) -> dict[str, str]:
    return {k: r["verdict"] for k, r in _rows(evals, exact, scale, passes).items()}


ORDERINGS = (
    "b.l5000_above.iwae50_vs_iwae5",
    "b.l5000_above.iwae5_vs_vae",
    "c.elbo_below.iwae50_vs_iwae5",
    "c.elbo_below.iwae50_vs_vae",
)
CHECKS = (
    "sanity.runs_beat_pixel_baseline",
    "a.bound_rises_with_k_eval",
    "d.exact_elbo_gap_equals_kl",
    "d.exact_gap_shrinks_to_zero",
)


def test_burda_like_results_reproduce_each_ordering_and_pass_the_checks():
    rows = _rows([_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)])
    assert {k: r["verdict"] for k, r in rows.items()} == {
        **dict.fromkeys(ORDERINGS, REPRODUCED),
        "e.table1_k1": INCONCLUSIVE,
        "e.table1_k5": INCONCLUSIVE,
        "e.table1_k50": INCONCLUSIVE,
        **dict.fromkeys(CHECKS, REPRODUCED),
    }
    assert {k for k, r in rows.items() if r["kind"] == "check"} == set(CHECKS)
    for claim_id in ORDERINGS:  # paired t over the 3 seeds, Holm over the 4 claims that have a p-value
        assert "paired differences over 3 seeds" in rows[claim_id]["test"]
        assert rows[claim_id]["p_adjusted"] >= rows[claim_id]["p_value"]
    assert rows["e.table1_k5"]["to_decide"].startswith("needs the full-scale run")
    assert rows["e.table1_k5"]["p_value"] is None and rows["e.table1_k5"]["no_p_reason"]


def test_orderings_are_paired_t_tests_over_seeds():
    evals = [_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)]
    bounds = {(e["k_train"], e["train_seed"]): e["bounds"] for e in evals}
    diffs = [bounds[50, s]["5000"]["mean"] - bounds[5, s]["5000"]["mean"] for s in (0, 1, 2)]
    row = _rows(evals)["b.l5000_above.iwae50_vs_iwae5"]
    assert row["ours"] == pytest.approx(np.mean(diffs), abs=1e-6)
    assert row["p_value"] == pytest.approx(stats.ttest_1samp(diffs, 0).pvalue, rel=1e-5)


def test_reversed_order_is_not_reproduced_one_pair_at_a_time():
    evals = [_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)]
    for e in evals:
        if e["k_train"] == 50:  # IWAE-50 clearly worse than IWAE-5 at L_5000, and best at L_1
            e["bounds"]["5000"]["mean"] -= 10 + e["train_seed"]
            e["bounds"]["1"]["mean"] += 30 + e["train_seed"]
    verdicts = _verdicts(evals)
    assert verdicts["b.l5000_above.iwae50_vs_iwae5"] == NOT_REPRODUCED
    assert verdicts["b.l5000_above.iwae5_vs_vae"] == REPRODUCED  # the other pair is its own claim
    assert verdicts["c.elbo_below.iwae50_vs_iwae5"] == NOT_REPRODUCED
    assert verdicts["c.elbo_below.iwae50_vs_vae"] == NOT_REPRODUCED


def test_a_failed_run_makes_the_claims_on_its_model_inconclusive():
    evals = [_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)]
    for e in evals:
        if (e["k_train"], e["train_seed"]) == (5, 1):
            e["pixel_marginal"]["mean"] = e["bounds"]["5000"]["mean"] + 1  # the run did not learn
    rows = _rows(evals)
    assert rows["sanity.runs_beat_pixel_baseline"]["verdict"] == NOT_REPRODUCED
    for claim_id in (
        "b.l5000_above.iwae50_vs_iwae5",
        "b.l5000_above.iwae5_vs_vae",
        "c.elbo_below.iwae50_vs_iwae5",
    ):
        assert rows[claim_id]["verdict"] == INCONCLUSIVE, claim_id
        assert rows[claim_id]["to_decide"].startswith("run failed: IWAE-5 seed 1"), claim_id
    assert rows["c.elbo_below.iwae50_vs_vae"]["verdict"] == REPRODUCED  # no IWAE-5 run in it


def test_a_falling_bound_fails_the_check():
    evals = [_burda_like(1, 0)]
    evals[0]["per_image"]["5000"] = (np.asarray(evals[0]["per_image"]["500"]) - 1).tolist()
    assert _verdicts(evals)["a.bound_rises_with_k_eval"] == NOT_REPRODUCED


def test_exact_checks_fail_on_a_growing_gap_and_on_a_wrong_kl():
    exact = _exact()
    exact.loc[exact["k"] == 500, "gap_mean"] = 0.2  # above the k=50 gap: it grew
    assert _verdicts([_burda_like(1, 0)], exact=exact)["d.exact_gap_shrinks_to_zero"] == NOT_REPRODUCED
    exact = _exact()
    exact.loc[exact["k"] == 5000, "gap_mean"] = 0.05  # stuck far above the 1/k rate (0.0017)
    assert _verdicts([_burda_like(1, 0)], exact=exact)["d.exact_gap_shrinks_to_zero"] == NOT_REPRODUCED
    exact = _exact()
    exact.loc[exact["k"] == 1, "gap_mean"] = 3.3  # 7 standard errors off the closed-form KL
    row = _rows([_burda_like(1, 0)], exact=exact)["d.exact_elbo_gap_equals_kl"]
    assert row["verdict"] == NOT_REPRODUCED and row["p_value"] < 1e-6


def test_subsets_give_inconclusive_where_inputs_are_missing():
    tiny = [_burda_like(k, s, k_evals=(1, 5, 50)) for k in (1, 5) for s in (0, 1)]
    rows = _rows(tiny, exact=_exact((1, 5, 50)))
    assert rows["a.bound_rises_with_k_eval"]["verdict"] == REPRODUCED
    assert rows["b.l5000_above.iwae5_vs_vae"]["to_decide"] == "needs 5000 in vae.evaluate.k"
    assert rows["c.elbo_below.iwae50_vs_vae"]["to_decide"] == "needs k_train [50] in vae.runs.k_train"
    for claim_id in ("b.l5000_above.iwae50_vs_iwae5", "c.elbo_below.iwae50_vs_iwae5"):
        assert rows[claim_id]["verdict"] == INCONCLUSIVE, claim_id
    one_seed = _rows([_burda_like(k, 0) for k in (1, 5, 50)])
    assert one_seed["b.l5000_above.iwae5_vs_vae"]["verdict"] == INCONCLUSIVE
    assert one_seed["b.l5000_above.iwae5_vs_vae"]["to_decide"] == "needs at least 2 seeds; has 1"


def test_table1_claims_need_full_scale_and_the_reference_schedule():
    evals = [_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)]
    for e in evals:  # single runs scattered around the Table 1 values (IWAE-50 1.1 nats short, sd 0.1)
        e["bounds"]["5000"]["mean"] = {1: -86.7, 5: -85.6, 50: -85.9}[e["k_train"]] + 0.1 * (
            e["train_seed"] - 1
        )
    assert _verdicts(evals, scale="full")["e.table1_k1"] == INCONCLUSIVE  # a constant schedule
    assert _verdicts(evals, scale="full", passes=5)["e.table1_k1"] == INCONCLUSIVE
    rows = _rows(evals, scale="full", passes=8)
    assert rows["e.table1_k1"]["verdict"] == REPRODUCED  # inside the prediction interval for one run
    assert rows["e.table1_k5"]["verdict"] == REPRODUCED
    assert rows["e.table1_k50"]["verdict"] == NOT_REPRODUCED  # 1.1 nats short, sd 0.1
    assert "prediction interval for a single run from 3 seeds" in rows["e.table1_k50"]["test"]


def test_anchors_are_the_table1_one_layer_values():
    anchors = read_anchors(ANCHORS)
    assert {k: value for k, (value, _) in anchors.items()} == {1: -86.76, 5: -85.54, 50: -84.78}


def test_metrics_are_flat_numbers():
    metrics = headline_metrics([_burda_like(k, s) for k in (1, 5) for s in (0, 1)], _exact())
    assert all(isinstance(v, float) for v in metrics.values())
    assert {"k1_L1", "k5_L5000", "k1_active_units", "exact_gap_k5000", "pixel_marginal_loglik"} <= set(
        metrics
    )


def test_t_interval():
    assert t_interval([1.0], 0.95) is None
    interval = t_interval([1.0, 2.0, 3.0], 0.95)
    assert interval.mean == 2.0 and interval.low == pytest.approx(2 - 4.302653 / 3**0.5, rel=1e-6)
