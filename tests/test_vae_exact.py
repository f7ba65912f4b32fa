"""Study 8791: the exact check on a linear-Gaussian model with closed-form log p(x)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import multivariate_normal, norm

from kexue_repro.vae.exact import ExactConfig, LinearGaussian, ScaledPosterior, gap_table


def _model(dim_x: int, dim_z: int, seed: int = 0) -> LinearGaussian:
    return LinearGaussian.random(dim_x, dim_z, 0.7, torch.Generator().manual_seed(seed))


def test_closed_form_log_marginal_matches_scipy():
    model = _model(6, 3)
    x = model.sample(5, torch.Generator().manual_seed(1))
    covariance = (model.weight @ model.weight.T).numpy() + 0.49 * np.eye(6)
    expected = multivariate_normal(model.bias.numpy(), covariance).logpdf(x.numpy())
    np.testing.assert_allclose(model.log_marginal(x).numpy(), expected, rtol=1e-10)


def test_closed_form_log_marginal_matches_numerical_integration():
    """Brute force for a one-dimensional latent: log of the integral of p(x | z) p(z) dz."""
    model = _model(3, 1)
    x = model.sample(1, torch.Generator().manual_seed(2))[0]
    w, b, s = model.weight[:, 0].numpy(), model.bias.numpy(), model.noise_std

    def joint(z: float) -> float:
        return math.exp(norm.logpdf(x.numpy(), w * z + b, s).sum() + norm.logpdf(z))

    value, _ = integrate.quad(joint, -12, 12, epsabs=0, epsrel=1e-12, limit=200)
    assert model.log_marginal(x[None]).item() == pytest.approx(math.log(value), abs=1e-8)


def test_exact_posterior_makes_every_weight_equal_to_p_x():
    """With the true posterior as proposal (scale 1), log w = log p(x) for every sample: L_k is exact."""
    model = _model(5, 4)
    x = model.sample(3, torch.Generator().manual_seed(3))
    log_w = ScaledPosterior(model, 1.0).log_weights(x, 50, torch.Generator().manual_seed(4))
    torch.testing.assert_close(log_w, model.log_marginal(x).expand(50, -1), rtol=0, atol=1e-9)


def test_gap_shrinks_monotonically_and_is_below_0_01_at_k_5000():
    table = gap_table(ExactConfig((1, 5, 50, 500, 5000), 20, 20, 300, 1.0, 2.0, 10, 20000, seed=0))
    gaps = table["gap_mean"].tolist()
    assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps
    assert abs(gaps[-1]) < 0.01
    # At k = 1 the gap is KL(q || p(z|x)) = d/2 (c - 1 - log c), here 10 (1 - log 2).
    assert table["gap_k1_closed_form"].iloc[0] == pytest.approx(10 * (1 - math.log(2)))
    assert abs(gaps[0] - table["gap_k1_closed_form"].iloc[0]) < 3 * table["gap_sem"].iloc[0]


def test_same_seed_same_table_other_seed_other_table():
    first, second, other = (
        gap_table(ExactConfig((1, 7), 4, 3, 20, 0.5, 1.5, 2, 64, seed)) for seed in (5, 5, 6)
    )
    assert first.equals(second)
    assert not first.equals(other)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="exact"):
        gap_table(ExactConfig((0, 5), 4, 3, 20, 0.5, 1.5, 2, 64, seed=0))
