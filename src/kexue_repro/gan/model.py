"""Generators, critics, the digit classifier, and the critic wrappers D -> D^ of every method.

Each wrapper is a function of a critic network and a batch x (which must require grad); it returns D^(x)
of shape (N,). The gradient inside the wrappers is taken with create_graph=True, so D^ can itself be
differentiated (double backprop), in the D step and in the G step, as in the official GN-GAN code.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

METHODS = ("gn", "gran", "su", "gp", "sn", "ns")
METHOD_NAMES = {
    "gn": "GN-GAN: D/(|grad D| + |D|)",
    "gran": "GraN-GAN: piecewise gradient normalization",
    "su": "Su's variant: <grad D/|grad D|, x>",
    "gp": "WGAN-GP: gradient penalty",
    "sn": "spectral normalization",
    "ns": "plain GAN (non-saturating loss)",
}
LEAKY_SLOPE = 0.2


def mlp(sizes: list[int], final: nn.Module | None = None) -> nn.Sequential:
    """Linear layers with LeakyReLU between them (piecewise linear: the Hessian is 0 almost everywhere)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(LEAKY_SLOPE))
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)


class Critic(nn.Module):
    """D: R^d -> R, an MLP with LeakyReLU; spectral normalization on every linear layer when asked."""

    def __init__(self, dim: int, hidden: int, depth: int, spectral: bool = False) -> None:
        super().__init__()
        self.net = mlp([dim] + [hidden] * depth + [1])
        if spectral:
            for i, layer in enumerate(self.net):
                if isinstance(layer, nn.Linear):
                    self.net[i] = spectral_norm(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class Generator(nn.Module):
    """G: N(0, I_latent) -> R^d, an MLP; tanh output for images in [-1, 1]."""

    def __init__(self, latent: int, hidden: int, depth: int, dim: int, bounded: bool) -> None:
        super().__init__()
        self.latent = latent
        self.net = mlp([latent] + [hidden] * depth + [dim], nn.Tanh() if bounded else None)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        device = next(self.parameters()).device
        return self(torch.randn(n, self.latent, generator=generator).to(device))


class DigitClassifier(nn.Module):
    """Digit classifier whose ``features`` module (penultimate layer) defines the Frechet distance's space.

    ``features`` takes (N, 1, 28, 28) images in [0, 1] and returns (N, feature_dim).
    """

    def __init__(self, hidden: int, feature_dim: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, feature_dim), nn.ReLU()
        )
        self.head = nn.Linear(feature_dim, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def critic_and_gradient(critic: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """D(x) of shape (N,) and grad_x D(x) of shape (N, d), the latter differentiable (create_graph=True)."""
    d = critic(x)
    (g,) = torch.autograd.grad(d.sum(), x, create_graph=True)
    return d, g.flatten(1)


def gradient_normalized(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GN: D^ = D / (||grad D|| + |D|)."""
    d, g = critic_and_gradient(critic, x)
    return d / (g.norm(dim=1) + d.abs())


def gradient_normalized_gran(critic: nn.Module, x: torch.Tensor, eps: float) -> torch.Tensor:
    """GraN: D^ = D ||grad D|| / (||grad D||^2 + eps)."""
    d, g = critic_and_gradient(critic, x)
    norm = g.norm(dim=1)
    return d * norm / (norm**2 + eps)


def su_variant(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Su's variant: D^ = <grad D / ||grad D||, x> (unit gradient inside every linear region)."""
    _, g = critic_and_gradient(critic, x)
    return (g / g.norm(dim=1, keepdim=True) * x.flatten(1)).sum(dim=1)


def wrapped_critic(method: str, gran_eps: float) -> Callable[[nn.Module, torch.Tensor], torch.Tensor]:
    """The D^ a method trains with; the baselines (gp, sn, ns) use the raw critic."""
    if method == "gn":
        return gradient_normalized
    if method == "gran":
        return lambda critic, x: gradient_normalized_gran(critic, x, gran_eps)
    if method == "su":
        return su_variant
    if method in ("gp", "sn", "ns"):
        return lambda critic, x: critic(x)
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """WGAN-GP's E[(||grad D(x~)|| - 1)^2] at x~ = a real + (1-a) fake, a ~ U(0, 1) per sample."""
    shape = (len(real),) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=generator).to(real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    _, g = critic_and_gradient(critic, mixed)
    return ((g.norm(dim=1) - 1) ** 2).mean()
