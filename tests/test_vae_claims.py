"""Study 8791 claims: verdicts from constructed evaluation records, and any subset of models, k and seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kexue_repro.common.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
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
        }
    )


def _verdicts(evals, exact=None, scale="smoke", passes=None) -> dict[str, str]:
    """``passes``: the runs trained with Burda's schedule of that many passes (else a constant schedule)."""
    if passes is not None:
        for e in evals:
            e["schedule"], e["epochs"] = "burda", sum(3**i for i in range(passes))
    claims, _ = build_claims(
        evals,
        _exact() if exact is None else exact,
        read_anchors(ANCHORS),
        ClaimsConfig(confidence=0.95, exact_threshold=0.01, anchor_tolerance=0.5),
        scale=scale,
        evidence=EVIDENCE,
    )
    assert all(c.code.startswith("src/kexue_repro/vae/claims.py:") for c in claims)
    return {c.claim_id: c.verdict for c in claims}


def test_burda_like_results_reproduce_a_to_d():
    verdicts = _verdicts([_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)])
    assert verdicts == {
        "a.bound_rises_with_k_eval": REPRODUCED,
        "b.l5000_iwae50_above_iwae5_above_vae": REPRODUCED,
        "c.iwae50_lowest_elbo": REPRODUCED,
        "d.exact_gap_shrinks_to_zero": REPRODUCED,
        "d.exact_elbo_gap_equals_kl": REPRODUCED,
        "e.table1_k1": INCONCLUSIVE,
        "e.table1_k5": INCONCLUSIVE,
        "e.table1_k50": INCONCLUSIVE,
    }


def test_reversed_order_is_not_reproduced():
    evals = [_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)]
    for e in evals:
        if e["k_train"] == 50:  # make IWAE-50 clearly worse than IWAE-5 at L_5000, and best at L_1
            e["bounds"]["5000"]["mean"] -= 10
            e["bounds"]["1"]["mean"] += 30
    verdicts = _verdicts(evals)
    assert verdicts["b.l5000_iwae50_above_iwae5_above_vae"] == NOT_REPRODUCED
    assert verdicts["c.iwae50_lowest_elbo"] == NOT_REPRODUCED


def test_a_falling_bound_is_not_reproduced():
    evals = [_burda_like(1, 0)]
    evals[0]["per_image"]["5000"] = (np.asarray(evals[0]["per_image"]["500"]) - 1).tolist()
    assert _verdicts(evals)["a.bound_rises_with_k_eval"] == NOT_REPRODUCED


def test_subsets_give_inconclusive_where_inputs_are_missing():
    tiny = [_burda_like(k, s, k_evals=(1, 5, 50)) for k in (1, 5) for s in (0, 1)]
    verdicts = _verdicts(tiny, exact=_exact((1, 5, 50)))
    assert verdicts["a.bound_rises_with_k_eval"] == REPRODUCED
    for claim_id in (
        "b.l5000_iwae50_above_iwae5_above_vae",
        "c.iwae50_lowest_elbo",
        "d.exact_gap_shrinks_to_zero",
    ):
        assert verdicts[claim_id] == INCONCLUSIVE, claim_id
    one_seed = [_burda_like(k, 0) for k in (1, 5, 50)]
    assert _verdicts(one_seed)["b.l5000_iwae50_above_iwae5_above_vae"] == INCONCLUSIVE


def test_table1_claims_need_full_scale_and_the_reference_schedule():
    evals = [_burda_like(k, s) for k in (1, 5, 50) for s in (0, 1, 2)]
    for e in evals:  # put every model near its Table 1 value
        e["bounds"]["5000"]["mean"] = {1: -86.7, 5: -85.6, 50: -85.9}[e["k_train"]]
    assert _verdicts(evals, scale="full")["e.table1_k1"] == INCONCLUSIVE  # a constant schedule
    assert _verdicts(evals, scale="full", passes=5)["e.table1_k1"] == INCONCLUSIVE
    verdicts = _verdicts(evals, scale="full", passes=8)
    assert verdicts["e.table1_k1"] == REPRODUCED
    assert verdicts["e.table1_k5"] == REPRODUCED
    assert verdicts["e.table1_k50"] == NOT_REPRODUCED  # 1.1 nats short of -84.78


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
