"""The exact check: a linear-Gaussian latent model, whose log p(x) is closed-form, estimated with L_k.

z ~ N(0, I), x | z ~ N(W z + b, s^2 I), so x ~ N(b, W W^T + s^2 I) and the posterior p(z | x) is Gaussian
with a covariance that does not depend on x. The proposal is that posterior with its covariance scaled
by a fixed factor (an imperfect but fixed encoder): the gap log p(x) - L_k is then the same for every x,
equals KL(q || p(z|x)) at k = 1, and must shrink monotonically to 0 as k grows. L_k is computed by the
same ``importance_bound`` that evaluates the VAE.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kexue_repro.common.atomic import write_csv
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.runtime import set_threads
from kexue_repro.common.settings import build
from kexue_repro.vae.model import importance_bound

EXACT_FIELDS = [
    "k",
    "n_points",
    "repeats",
    "bound_mean",
    "log_px_mean",
    "gap_mean",
    "gap_sem",
    "gap_k1_closed_form",
    "gap_large_k_closed_form",
]
_LOG_2PI = math.log(2 * math.pi)
# Independent torch streams derived from the seed: the model, the points, then one per k.
_MODEL_STREAM, _POINTS_STREAM, _SAMPLES_STREAM = 0, 1, 2


def _generator(seed: int, *stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, *stream]).generate_state(1)[0]))


@dataclass(frozen=True)
class LinearGaussian:
    weight: Tensor  # [dim_x, dim_z]
    bias: Tensor  # [dim_x]
    noise_std: float

    @classmethod
    def random(cls, dim_x: int, dim_z: int, noise_std: float, generator: torch.Generator) -> LinearGaussian:
        weight = torch.randn(dim_x, dim_z, generator=generator, dtype=torch.float64)
        return cls(weight, torch.randn(dim_x, generator=generator, dtype=torch.float64), noise_std)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        z = torch.randn(n, self.weight.shape[1], generator=generator, dtype=torch.float64)
        noise = torch.randn(n, self.weight.shape[0], generator=generator, dtype=torch.float64)
        return z @ self.weight.T + self.bias + self.noise_std * noise

    def log_marginal(self, x: Tensor) -> Tensor:
        """Closed-form log p(x) = log N(x; b, W W^T + s^2 I)."""
        covariance = self.weight @ self.weight.T + self.noise_std**2 * torch.eye(
            len(self.bias), dtype=x.dtype
        )
        return torch.distributions.MultivariateNormal(self.bias, covariance).log_prob(x)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean [n, dim_z] and covariance [dim_z, dim_z] of p(z | x)."""
        precision = (
            torch.eye(self.weight.shape[1], dtype=x.dtype) + self.weight.T @ self.weight / self.noise_std**2
        )
        covariance = torch.linalg.inv(precision)
        mean = (x - self.bias) @ self.weight @ covariance / self.noise_std**2
        return mean, covariance

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x, z) = log p(z) + log p(x | z) for z of shape [..., n, dim_z] and x of shape [n, dim_x]."""
        dim_x, dim_z = self.weight.shape
        residual = (x - self.bias - z @ self.weight.T) / self.noise_std
        log_prior = -0.5 * (z.square().sum(-1) + dim_z * _LOG_2PI)
        log_likelihood = -0.5 * (residual.square().sum(-1) + dim_x * _LOG_2PI) - dim_x * math.log(
            self.noise_std
        )
        return log_prior + log_likelihood


@dataclass(frozen=True)
class ScaledPosterior:
    """The proposal q(z | x) = N(posterior mean, scale * posterior covariance)."""

    model: LinearGaussian
    scale: float

    def log_weights(self, x: Tensor, n: int, generator: torch.Generator) -> Tensor:
        """log p(x, z) - log q(z | x) for n samples z ~ q(z | x) per point: shape [n, points]."""
        mean, covariance = self.model.posterior(x)
        cholesky = torch.linalg.cholesky(self.scale * covariance)
        # float32 normals, cast: five times faster than float64 ones, and log q is computed on the same values.
        eps = torch.randn((n, *mean.shape), generator=generator).to(mean.dtype)
        z = mean + eps @ cholesky.T
        log_q = -0.5 * (eps.square().sum(-1) + mean.shape[-1] * _LOG_2PI) - cholesky.diagonal().log().sum()
        return self.model.log_joint(x, z) - log_q

    def large_k_gap(self, k: int) -> float:
        """Var(w) / (2 k E[w]^2), the gap's leading term for large k (delta method; infinite for c <= 1/2).

        Per dimension, E_q[(p/q)^2] = c / sqrt(2c - 1) for a proposal variance c times the target's.
        """
        dim_z = self.model.weight.shape[1]
        if self.scale <= 0.5:
            return math.inf
        return ((self.scale / math.sqrt(2 * self.scale - 1)) ** dim_z - 1) / (2 * k)

    def kl_to_posterior(self) -> float:
        """KL(q || p(z|x)) = d/2 (c - 1 - log c): the gap at k = 1, for every x."""
        dim_z = self.model.weight.shape[1]
        return 0.5 * dim_z * (self.scale - 1 - math.log(self.scale))


@dataclass(frozen=True)
class ExactConfig:
    """The ``vae.exact`` settings."""

    k: tuple[int, ...]
    dim_x: int
    dim_z: int
    n_points: int
    noise_std: float  # s in x|z ~ N(Wz+b, s^2 I)
    proposal_scale: float  # the proposal's covariance is this times the posterior's
    repeats: int  # estimates per point for k < k_max (capped)
    chunk: int
    seed: int


def gap_table(config: ExactConfig) -> pd.DataFrame:
    """Per k: L_k and log p(x) averaged over the points, and the gap with its standard error over points.

    Each point's L_k is the mean of min(repeats, k_max / k) independent estimates: small k get more
    repeats (they are cheap), so that the differences between neighbouring k stand above the noise,
    while no k costs more samples than the largest.
    """
    k_values, n_points, repeats, chunk, seed = (
        config.k,
        config.n_points,
        config.repeats,
        config.chunk,
        config.seed,
    )
    dim_x, dim_z, noise_std, proposal_scale = (
        config.dim_x,
        config.dim_z,
        config.noise_std,
        config.proposal_scale,
    )
    if min(dim_x, dim_z, n_points, repeats, chunk, *k_values) < 1 or noise_std <= 0 or proposal_scale <= 0:
        raise ValueError("vae.exact: sizes, repeats, chunk and k must be >= 1; scales must be > 0")
    model = LinearGaussian.random(dim_x, dim_z, noise_std, _generator(seed, _MODEL_STREAM))
    proposal = ScaledPosterior(model, proposal_scale)
    x = model.sample(n_points, _generator(seed, _POINTS_STREAM))
    log_px = model.log_marginal(x)
    rows = []
    for k in k_values:
        generator = _generator(seed, _SAMPLES_STREAM, k)
        k_repeats = max(1, min(repeats, max(k_values) // k))
        points_per_batch = max(1, chunk // k)
        bound = torch.cat(
            [
                importance_bound(lambda n: proposal.log_weights(xb, n, generator), k, chunk)
                for xb in x.repeat(k_repeats, 1).split(points_per_batch)
            ]
        )
        bound = bound.reshape(k_repeats, n_points).mean(0)
        gap = log_px - bound
        rows.append(
            {
                "k": k,
                "n_points": n_points,
                "repeats": k_repeats,
                "bound_mean": bound.mean().item(),
                "log_px_mean": log_px.mean().item(),
                "gap_mean": gap.mean().item(),
                "gap_sem": gap.std().item() / math.sqrt(n_points) if n_points > 1 else math.nan,
                "gap_k1_closed_form": proposal.kl_to_posterior(),
                "gap_large_k_closed_form": proposal.large_k_gap(k),
            }
        )
    return pd.DataFrame(rows, columns=EXACT_FIELDS)


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    table = gap_table(build(ExactConfig, args.settings, "vae.exact"))
    write_csv(args.out, table, float_format="%.10g")
    print(table.to_string(index=False))


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.vae.exact", __doc__, "vae.exact")
    add_compute_arguments(parser, device=False)
    parser.add_argument("--out", required=True, help="the gap table (.csv)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
