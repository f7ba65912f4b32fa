"""8770's MAE identity: Norm(A * E[M]) = A exactly; the mean over masks of Norm(A * M) is not A."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kexue_repro.transformer.mae import (
    draw_masks,
    exact_mean,
    identity_error,
    mae_identity,
    main,
    monte_carlo,
    random_attention,
    renormalise,
)


def test_random_attention_is_row_stochastic():
    attention = random_attention(6, 2.0, np.random.default_rng(0))
    assert attention.dtype == np.float64 and (attention > 0).all()
    assert np.allclose(attention.sum(axis=1), 1, atol=1e-15)


def test_expected_mask_gives_back_a_to_rounding():
    rng = np.random.default_rng(1)
    for keep in (0.1, 0.25, 0.9):
        assert identity_error(random_attention(10, 3.0, rng), keep) < 1e-15


def test_masks_keep_a_column_and_zeroed_columns_vanish():
    masks = draw_masks(5, 0.05, 2000, np.random.default_rng(0))
    assert masks.any(axis=1).all()
    attention = random_attention(5, 1.0, np.random.default_rng(2))
    masked = renormalise(attention * masks[0])
    assert np.allclose(masked[:, ~masks[0]], 0) and np.allclose(masked.sum(axis=1), 1)


def test_mean_of_masked_attention_is_not_a_and_monte_carlo_finds_the_exact_mean():
    rng = np.random.default_rng(3)
    attention = random_attention(6, 2.0, rng)
    exact = exact_mean(attention, 0.3)
    assert np.allclose(exact.sum(axis=1), 1) and np.abs(exact - attention).max() > 0.05
    rows = monte_carlo(attention, 0.3, [200, 20000], rng, exact)
    assert [row["samples"] for row in rows] == [200, 20000]
    last = rows[-1]
    assert last["max_abs_to_exact"] < 5 * last["max_std_error"]  # converges to the exact mean ...
    assert last["max_z"] > 20  # ... which is many standard errors away from A


def test_uniform_attention_is_a_fixed_point():
    """With equal weights, Norm(A * M) averages back to A exactly: the gap needs unequal weights."""
    attention = np.full((4, 4), 0.25)
    assert np.abs(exact_mean(attention, 0.5) - attention).max() < 1e-15


def test_mae_cli(tmp_path):
    out = tmp_path / "mae.json"
    settings = {"n": 5, "keep_prob": 0.25, "logit_std": 2, "samples": [100, 1000], "seed": 0}
    assert main(["--settings", json.dumps(settings), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["identity_max_abs_error"] < 1e-15 and record["exact_max_abs_gap"] > 0.01
    assert [row["samples"] for row in record["monte_carlo"]] == [100, 1000]
    with pytest.raises(ValueError, match="keep probability"):
        mae_identity(5, 1.5, 2.0, [10], 0)
