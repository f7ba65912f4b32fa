"""Sample quality (ring: modes, high-quality share, energy distance; digits: Frechet distance in a
classifier's feature space) and probes of a trained critic's D^ (gradient norms, values, discontinuity)."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from kexue_repro.gan import data
from kexue_repro.gan.model import DigitClassifier, wrapped_critic


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """2 E|X-Y| - E|X-X'| - E|Y-Y'| with U-statistics for the within-sample terms (unbiased; ~0 if X ~ Y)."""
    x, y = x.double(), y.double()
    n, m = len(x), len(y)
    within_x = torch.cdist(x, x).sum() / (n * (n - 1))
    within_y = torch.cdist(y, y).sum() / (m * (m - 1))
    return float(2 * torch.cdist(x, y).mean() - within_x - within_y)


def ring_metrics(
    samples: torch.Tensor, real: torch.Tensor, centers: torch.Tensor, std: float, mode_share: float
) -> dict[str, float]:
    """A sample is high-quality within 3 std of a mode; a mode is covered when >= mode_share of samples are."""
    distance = torch.cdist(samples.double(), centers.double())
    near = distance <= 3 * std
    per_mode = near.double().mean(dim=0)
    return {
        "modes_covered": int((per_mode >= mode_share).sum()),
        "modes_total": len(centers),
        "high_quality_share": float(near.any(dim=1).double().mean()),
        "energy_distance": energy_distance(samples, real),
    }


def frechet_distance(classifier: DigitClassifier, fake: torch.Tensor, real: torch.Tensor) -> float:
    """Frechet distance between flat [-1, 1] image sets in the classifier's penultimate-layer features."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(
        feature=classifier.features.eval(), normalize=True, input_img_size=data.IMAGE_SHAPE
    )
    with torch.no_grad():
        fid.update(data.to_unit_images(real), real=True)
        fid.update(data.to_unit_images(fake), real=False)
        return float(fid.compute())


def d_hat_and_gradient(
    critic: nn.Module, method: str, gran_eps: float, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """D^(x) and ||grad_x D^(x)|| per point (D^ of one point depends on that point only)."""
    x = x.detach().clone().requires_grad_(True)
    value = wrapped_critic(method, gran_eps)(critic, x)
    (grad,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), grad.flatten(1).norm(dim=1)


def summary(values: torch.Tensor) -> dict[str, float]:
    return {"max": float(values.max()), "mean": float(values.mean())}


def probe_points(
    critic: nn.Module, method: str, gran_eps: float, points: dict[str, torch.Tensor]
) -> dict[str, Any]:
    """max and mean of ||grad D^|| and |D^| on each named set of points."""
    out = {}
    for name, x in points.items():
        value, grad_norm = d_hat_and_gradient(critic, method, gran_eps, x)
        out[name] = {"grad_norm": summary(grad_norm), "abs_value": summary(value.abs())}
    return out


def discontinuity(
    critic: nn.Module,
    method: str,
    gran_eps: float,
    anchors: torch.Tensor,
    scales: Sequence[float],
    rng: torch.Generator,
) -> list[dict[str, float]]:
    """For y = x + s u (u a random unit direction, s in scales): the share of pairs with
    |D^(x) - D^(y)| > ||x - y|| and the worst ratio |D^(x) - D^(y)| / ||x - y||, all in float64."""
    critic = critic.double()
    x = anchors.double()
    d_hat = wrapped_critic(method, gran_eps)

    def value(points: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            return d_hat(critic, points.detach().clone().requires_grad_(True)).detach()

    base = value(x)
    rows = []
    for scale in scales:
        direction = torch.randn(x.shape, generator=rng, dtype=torch.float64)
        direction = direction / direction.flatten(1).norm(dim=1).reshape(-1, *[1] * (x.dim() - 1))
        y = x + scale * direction
        ratio = (value(y) - base).abs() / (y - x).flatten(1).norm(dim=1)
        rows.append(
            {
                "scale": float(scale),
                "pairs": len(x),
                "share_above_1": float((ratio > 1).double().mean()),
                "worst_ratio": float(ratio.max()),
            }
        )
    return rows
