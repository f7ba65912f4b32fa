"""Critic wrappers of study 8757 against closed forms: GN, GraN, Su's variant, gradient penalty, spectral norm."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kexue_repro.gan.model import (
    Critic,
    critic_and_gradient,
    gradient_normalized,
    gradient_normalized_gran,
    gradient_penalty,
    su_variant,
    wrapped_critic,
)


class LinearCritic(nn.Module):
    """D(x) = <w, x> + b: the gradient is w everywhere."""

    def __init__(self, w: list[float], b: float) -> None:
        super().__init__()
        self.linear = nn.Linear(len(w), 1).double()
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([w], dtype=torch.float64))
            self.linear.bias.fill_(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).squeeze(-1)


def random_critic(dim: int = 5, seed: int = 0) -> Critic:
    torch.manual_seed(seed)
    return Critic(dim, hidden=32, depth=2).double()


def test_gn_gradient_is_bounded_and_matches_the_closed_form_at_1000_points():
    critic = random_critic()
    x = (
        3 * torch.randn(1000, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ).requires_grad_()
    d_hat = gradient_normalized(critic, x)
    (grad,) = torch.autograd.grad(d_hat.sum(), x)
    d, g = critic_and_gradient(critic, x)
    norm = g.norm(dim=1, keepdim=True)
    closed_form = g * norm / (norm + d.abs().unsqueeze(1)) ** 2
    assert grad.norm(dim=1).max() <= 1 + 1e-6
    assert d_hat.abs().max() <= 1
    torch.testing.assert_close(grad.norm(dim=1), closed_form.norm(dim=1).detach(), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(grad, closed_form.detach(), rtol=1e-9, atol=1e-12)


def test_wrappers_on_a_linear_critic_match_hand_computation():
    critic = LinearCritic([3.0, 4.0], 1.0)  # ||w|| = 5
    x = torch.tensor([[1.0, 1.0], [-2.0, 0.0]], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([8.0, -5.0], dtype=torch.float64)
    torch.testing.assert_close(gradient_normalized(critic, x), d / (5 + d.abs()))
    torch.testing.assert_close(gradient_normalized_gran(critic, x, 1.0), d * 5 / (25 + 1))
    torch.testing.assert_close(su_variant(critic, x), (x * torch.tensor([0.6, 0.8])).sum(1).detach())
    torch.testing.assert_close(wrapped_critic("gp", 1e-8)(critic, x), d)
    with pytest.raises(ValueError, match="unknown method"):
        wrapped_critic("wgan", 1e-8)


def test_gradient_penalty_of_a_linear_critic_is_norm_minus_one_squared():
    critic = LinearCritic([3.0, 4.0], -2.0)
    real = torch.randn(16, 2, dtype=torch.float64)
    fake = torch.randn(16, 2, dtype=torch.float64)
    penalty = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0))
    assert math.isclose(float(penalty.detach()), (5 - 1) ** 2, rel_tol=1e-12)


def test_spectral_norm_brings_each_layers_largest_singular_value_to_one():
    torch.manual_seed(0)
    critic = Critic(8, hidden=16, depth=2, spectral=True)
    x = torch.randn(4, 8)
    for _ in range(100):  # each training-mode forward runs one power iteration
        critic(x)
    critic.eval()
    layers = [m for m in critic.net if isinstance(m, nn.Linear)]
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
        assert abs(float(sigma) - 1) < 1e-3
