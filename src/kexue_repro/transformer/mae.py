"""8770's MAE identity: dropping tokens is zeroing their attention columns and renormalising the rows.

With a column mask M (each column kept with probability p), the masked attention is Norm(A * M). Its
dropout-style inference counterpart uses the expected mask: Norm(A * E[M]) = Norm(p A) = A exactly, so
MAE's encoder at inference (all tokens, no mask) is consistent. The mean over masks of Norm(A * M) is
not A: the renormalisation is not linear in M. Masks that drop every column are excluded (MAE always
keeps some tokens), in the Monte-Carlo draws and in the exact enumeration alike.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build

EXACT_MAX_N = 16  # enumerate all 2^n masks up to this size


@dataclass(frozen=True)
class MaeConfig:
    """The ``transformer.mae`` settings."""

    n: int  # tokens (A is n x n)
    keep_prob: float
    logit_std: float  # std of the Gaussian attention logits
    samples: tuple[int, ...]  # Monte-Carlo mask counts
    seed: int


def random_attention(n: int, logit_std: float, rng: np.random.Generator) -> np.ndarray:
    """A random row-stochastic n x n matrix: the softmax of Gaussian logits (float64)."""
    logits = rng.normal(0.0, logit_std, (n, n))
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def renormalise(weights: np.ndarray) -> np.ndarray:
    """Rows divided by their sums (the last axis); works on stacks of matrices."""
    return weights / weights.sum(axis=-1, keepdims=True)


def identity_error(attention: np.ndarray, keep_prob: float) -> float:
    """max |Norm(A * E[M]) - A| with E[M] = p on every column."""
    return float(np.abs(renormalise(attention * keep_prob) - attention).max())


def draw_masks(n: int, keep_prob: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` Bernoulli(p) column masks of length n, each keeping at least one column."""
    masks = rng.random((count, n)) < keep_prob
    empty = ~masks.any(axis=1)
    while empty.any():
        masks[empty] = rng.random((int(empty.sum()), n)) < keep_prob
        empty = ~masks.any(axis=1)
    return masks


def monte_carlo(
    attention: np.ndarray,
    keep_prob: float,
    samples: Sequence[int],
    rng: np.random.Generator,
    exact: np.ndarray | None = None,
    chunk: int = 10_000,
) -> list[dict[str, float | None]]:
    """Mean of Norm(A * M) over the first N masks of one stream, for each N in ``samples``: its largest
    and mean |gap| to A, the largest |gap| in units of the entry's Monte-Carlo standard error, and its
    largest distance to the exact mean when that is given."""
    n, total, rows = len(attention), 0, []
    sums, squares = np.zeros_like(attention), np.zeros_like(attention)
    for target in sorted(samples):
        while total < target:
            masks = draw_masks(n, keep_prob, min(chunk, target - total), rng)
            masked = renormalise(attention[None] * masks[:, None, :])
            sums += masked.sum(axis=0)
            squares += (masked**2).sum(axis=0)
            total += len(masks)
        mean = sums / total
        std_error = np.sqrt(np.maximum(squares / total - mean**2, 0.0) / max(total - 1, 1))
        gap = np.abs(mean - attention)
        z = np.divide(gap, std_error, out=np.zeros_like(gap), where=std_error > 0)
        rows.append(
            {"samples": total, "max_abs_gap": float(gap.max()), "mean_abs_gap": float(gap.mean())}
            | {"max_z": float(z.max()), "max_std_error": float(std_error.max())}
            | {"max_abs_to_exact": None if exact is None else float(np.abs(mean - exact).max())}
        )
    return rows


def exact_mean(attention: np.ndarray, keep_prob: float) -> np.ndarray:
    """E[Norm(A * M) | M keeps a column], summed over all 2^n - 1 masks."""
    n = len(attention)
    if n > EXACT_MAX_N:
        raise ValueError(f"n = {n}: exact enumeration is limited to n <= {EXACT_MAX_N}")
    masks = np.array(list(itertools.product((False, True), repeat=n))[1:])
    kept = masks.sum(axis=1)
    probs = keep_prob**kept * (1 - keep_prob) ** (n - kept)
    masked = renormalise(attention[None] * masks[:, None, :])
    return np.tensordot(probs / probs.sum(), masked, axes=1)


def mae_identity(
    n: int, keep_prob: float, logit_std: float, samples: Sequence[int], seed: int
) -> dict[str, Any]:
    if n < 2 or not 0 < keep_prob < 1 or logit_std < 0 or min(samples) < 2:
        raise ValueError(
            "need n >= 2, keep probability in (0, 1), logit std >= 0 and every sample count >= 2"
        )
    rng = np.random.default_rng(seed)
    attention = random_attention(n, logit_std, rng)
    exact = exact_mean(attention, keep_prob) if n <= EXACT_MAX_N else None
    return {
        "n": n,
        "keep_prob": keep_prob,
        "logit_std": logit_std,
        "seed": seed,
        "identity_max_abs_error": identity_error(attention, keep_prob),
        "exact_max_abs_gap": None if exact is None else float(np.abs(exact - attention).max()),
        "monte_carlo": monte_carlo(attention, keep_prob, samples, rng, exact),
    }


def _main(args: argparse.Namespace) -> None:
    config = build(MaeConfig, args.settings, "transformer.mae")
    record = mae_identity(config.n, config.keep_prob, config.logit_std, config.samples, config.seed)
    write_json(args.out, record)
    print(
        f"identity error {record['identity_max_abs_error']:.3g}; Monte-Carlo gap "
        f"{record['monte_carlo'][-1]['max_abs_gap']:.4g} after {record['monte_carlo'][-1]['samples']} masks"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.transformer.mae", __doc__, "transformer.mae")
    parser.add_argument("--out", required=True, help="the result to write (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
