"""Study 8791: the VAE, its importance weights and the k-sample bound L_k."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal

from kexue_repro.vae.model import VAE, importance_bound, log_mean_exp


def _model(seed: int = 0, pixel_means: torch.Tensor | None = None) -> VAE:
    torch.manual_seed(seed)
    return VAE(784, 20, 5, pixel_means)


def _image(seed: int = 1) -> torch.Tensor:
    return torch.bernoulli(torch.full((1, 784), 0.2), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("offset", [-1e4, 0.0, 1e4])
def test_log_mean_exp_is_stable_for_huge_and_tiny_log_weights(offset):
    log_w = torch.tensor([[offset], [offset + math.log(3.0)]], dtype=torch.float64)
    assert log_mean_exp(log_w).item() == pytest.approx(offset + math.log(2.0), abs=1e-9)


def test_log_mean_exp_keeps_one_dominant_weight():
    log_w = torch.tensor([[-1e30], [1000.0], [-1e4]], dtype=torch.float64)
    assert log_mean_exp(log_w).item() == pytest.approx(1000.0 - math.log(3.0))


def test_importance_bound_does_not_depend_on_the_chunk_size():
    log_w = torch.randn(37, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 30

    def drawer():
        drawn = 0

        def draw(n: int) -> torch.Tensor:
            nonlocal drawn
            drawn += n
            return log_w[drawn - n : drawn]

        return draw

    expected = log_mean_exp(log_w)
    for chunk in (1, 5, 36, 37, 100):
        torch.testing.assert_close(importance_bound(drawer(), 37, chunk), expected, rtol=0, atol=1e-12)


def test_log_weights_match_an_independent_computation():
    model, x = _model(), _image()
    log_w = model.log_weights(x, 3, torch.Generator().manual_seed(7))
    mean, log_std = model.encode(x)
    eps = torch.randn((3, *mean.shape), generator=torch.Generator().manual_seed(7))
    z = mean + log_std.exp() * eps
    q = Normal(mean, log_std.exp())
    expected = (
        Bernoulli(logits=model.decoder(z)).log_prob(x).sum(-1)
        + Normal(0.0, 1.0).log_prob(z).sum(-1)
        - q.log_prob(z).sum(-1)
    )
    torch.testing.assert_close(log_w, expected, rtol=1e-5, atol=1e-3)


def test_l1_is_the_elbo():
    """E[L_1] = E_q[log p(x|z)] - KL(q(z|x) || p(z)), with the KL in closed form."""
    model, x = _model(), _image()
    n = 20000
    with torch.no_grad():
        log_w = model.log_weights(x, n, torch.Generator().manual_seed(3))
        l1 = importance_bound(lambda m: log_w[:m], 1, 1)
        mean, log_std = model.encode(x)
        eps = torch.randn((n, *mean.shape), generator=torch.Generator().manual_seed(3))
        z = mean + log_std.exp() * eps
        reconstruction = Bernoulli(logits=model.decoder(z)).log_prob(x).sum(-1).mean()
        kl = 0.5 * (mean.square() + (2 * log_std).exp() - 1 - 2 * log_std).sum()
    torch.testing.assert_close(l1, log_w[:1].squeeze(0))
    assert log_w.mean().item() == pytest.approx((reconstruction - kl).item(), abs=0.05)


def test_bound_rises_with_k_in_expectation():
    model, x = _model(), _image()
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        # 2000 independent estimates of L_k for one image, averaged, per k.
        estimates = [
            log_mean_exp(model.log_weights(x.expand(2000, -1), k, generator)) for k in (1, 3, 10, 30)
        ]
    means = [e.mean().item() for e in estimates]
    sems = [e.std().item() / 2000**0.5 for e in estimates]
    z_scores = [(b - a) / math.hypot(sa, sb) for a, b, sa, sb in zip(means, means[1:], sems, sems[1:])]
    assert min(z_scores) > 4, (means, z_scores)  # each step far beyond the noise: the ordering is no luck


def test_decoder_bias_starts_at_the_pixel_log_odds():
    means = torch.linspace(0.01, 0.99, 784)
    bias = _model(pixel_means=means).decoder[-1].bias.detach()
    torch.testing.assert_close(bias, torch.log(means / (1 - means)), rtol=1e-5, atol=1e-5)


def test_objective_is_the_mean_bound_and_differentiable():
    model, x = _model(), _image().repeat(3, 1)
    objective = model.objective(x, 4, torch.Generator().manual_seed(0))
    expected = log_mean_exp(model.log_weights(x, 4, torch.Generator().manual_seed(0))).mean()
    torch.testing.assert_close(objective, expected)
    objective.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
