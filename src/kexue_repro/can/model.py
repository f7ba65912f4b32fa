"""CAN, classification with alternating normalization (kexue.fm/archives/8728, arXiv 2109.13449).

A prediction is unconfident when the entropy of its renormalised top-k probabilities, divided by log k,
reaches the threshold tau. Each unconfident row is corrected by stacking it under the confident rows and
alternating, for a number of iterations: Y <- Y^alpha; divide every column by its mean; multiply by the
prior; renormalise every row.

Two modes:
- ``per_sample`` (the post): each unconfident row j is corrected separately against the ORIGINAL
  confident rows. Written as the post's loop this costs a pass over the (n+1) x m matrix per row and per
  iteration. The confident rows after t iterations are C^(alpha^t) scaled by a per-column vector d_t and
  renormalised row-wise (row scalings cancel in the next row normalisation), so every row j needs only
  its own d_t, and the column sums of all rows j at once are two matrix products.
- ``batch``: all unconfident rows are stacked under the confident rows and corrected together.

Options of the official code: ``confusion="any_k"`` calls a row unconfident if u_k >= tau for any k in
2..m (instead of k alone), and ``reference="stratified"`` uses at most max(5m, 1000) confident rows,
sampled per predicted class in proportion to its count (seeded), instead of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONFUSION_RULES = ("topk", "any_k")
REFERENCES = ("all", "stratified")
MODES = ("per_sample", "batch")
# Rows j corrected per block in per-sample mode: bounds the n_reference x block matrices in memory.
BLOCK = 1024


@dataclass(frozen=True)
class CanResult:
    probs: np.ndarray  # corrected probabilities; confident rows unchanged
    unconfident: np.ndarray  # boolean mask of the rows that were corrected
    reference: np.ndarray  # indices of the confident rows used as reference


def topk_uncertainty(probs: np.ndarray, k: int) -> np.ndarray:
    """Entropy of each row's top-k probabilities (renormalised), divided by log k: in [0, 1]."""
    if not 2 <= k <= probs.shape[1]:
        raise ValueError(f"k={k} must lie in 2..{probs.shape[1]} (the number of classes)")
    top = np.sort(probs, axis=1)[:, -k:]
    top = top / top.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(top > 0, top * np.log(top), 0.0).sum(axis=1)
    return entropy / np.log(k)


def unconfident_rows(probs: np.ndarray, k: int, tau: float, confusion: str = "topk") -> np.ndarray:
    """Rows with u_k >= tau (the post), or with u_k' >= tau for any k' in 2..m (the official code)."""
    if confusion == "topk":
        return topk_uncertainty(probs, k) >= tau
    if confusion == "any_k":
        return np.any([topk_uncertainty(probs, kk) >= tau for kk in range(2, probs.shape[1] + 1)], axis=0)
    raise ValueError(f"confusion rule {confusion!r} is not one of {CONFUSION_RULES}")


def stratified_reference(confident: np.ndarray, probs: np.ndarray, seed: int) -> np.ndarray:
    """At most max(5m, 1000) of the confident row indices, drawn per predicted class in proportion."""
    m = probs.shape[1]
    limit = max(5 * m, 1000)
    if len(confident) <= limit:
        return confident
    rng = np.random.default_rng(seed)
    predicted = probs[confident].argmax(axis=1)
    labels, counts = np.unique(predicted, return_counts=True)
    quota = limit * counts / len(confident)
    takes = np.floor(quota).astype(int)
    # Largest remainders first, so the quotas add up to exactly the limit.
    takes[np.argsort(takes - quota, kind="stable")[: limit - takes.sum()]] += 1
    chosen = [
        rng.choice(confident[predicted == label], size=take, replace=False)
        for label, take in zip(labels, takes)
    ]
    return np.sort(np.concatenate(chosen))


def alternate_normalize(
    probs: np.ndarray,
    prior: np.ndarray,
    *,
    k: int = 3,
    tau: float = 0.9,
    alpha: float = 1.0,
    iterations: int = 1,
    mode: str = "per_sample",
    confusion: str = "topk",
    reference: str = "all",
    seed: int = 0,
) -> CanResult:
    """CAN on an n x m matrix of predicted probabilities with the class prior (e.g. training frequencies)."""
    probs = np.asarray(probs, dtype=np.float64)
    prior = np.asarray(prior, dtype=np.float64)
    if probs.ndim != 2 or prior.shape != (probs.shape[1],):
        raise ValueError(f"probabilities {probs.shape} and prior {prior.shape} disagree on the classes")
    if iterations < 1 or alpha <= 0:
        raise ValueError(f"iterations ({iterations}) must be >= 1 and alpha ({alpha}) > 0")
    unconfident = unconfident_rows(probs, k, tau, confusion)
    confident = np.flatnonzero(~unconfident)
    if reference == "stratified":
        confident = stratified_reference(confident, probs, seed)
    elif reference != "all":
        raise ValueError(f"reference {reference!r} is not one of {REFERENCES}")
    out = probs.copy()
    rows = np.flatnonzero(unconfident)
    if len(rows):
        if mode == "per_sample":
            correct = _per_sample
        elif mode == "batch":
            correct = _batch
        else:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        out[rows] = correct(probs[confident], probs[rows], prior, alpha, iterations)
    return CanResult(probs=out, unconfident=unconfident, reference=confident)


def _batch(reference: np.ndarray, rows: np.ndarray, prior: np.ndarray, alpha: float, iterations: int):
    y = np.concatenate([reference, rows])
    for _ in range(iterations):
        y = y**alpha
        y = y / y.mean(axis=0, keepdims=True) * prior
        y = y / y.sum(axis=1, keepdims=True)
    return y[len(reference) :]


def _per_sample(reference: np.ndarray, rows: np.ndarray, prior: np.ndarray, alpha: float, iterations: int):
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        y = np.concatenate(
            [
                _per_sample_block(reference, rows[start : start + BLOCK], prior, alpha, iterations)
                for start in range(0, len(rows), BLOCK)
            ]
        )
    # Far out (alpha^iterations in the hundreds) the factorised column sums can overflow where the post's
    # loop, which renormalises every iteration, stays finite: such rows are redone one at a time as it does.
    for j in np.flatnonzero(~np.isfinite(y).all(axis=1)):
        y[j] = _batch(reference, rows[j : j + 1], prior, alpha, iterations)[0]
    return y


def _per_sample_block(
    reference: np.ndarray, rows: np.ndarray, prior: np.ndarray, alpha: float, iterations: int
) -> np.ndarray:
    """Rows j of the block each corrected against the same reference rows, as if one at a time.

    Invariant before iteration t (0-based): reference row i of row j's matrix is
    base_i * d_j / (base_i . d_j) with base = reference^(alpha^t), except at t = 0 where it is the
    reference itself (not renormalised). ``d`` may be rescaled per j freely, and from t = 1 on every row of
    ``base`` too: every use is normalised. Both are kept at a maximum of 1, which delays underflow.
    """
    n = len(reference) + 1
    base = reference
    d = np.ones_like(rows)
    y = rows
    for t in range(iterations):
        powered = base**alpha
        if t == 0:
            column_sums = np.broadcast_to(powered.sum(axis=0), rows.shape)
        else:
            z = base @ d.T  # reference rows x block: each row's normaliser under each j's scaling
            column_sums = (z ** (-alpha)).T @ powered * d**alpha
        y_powered = y**alpha
        scale = prior / ((column_sums + y_powered) / n)
        y = y_powered * scale
        y = y / y.sum(axis=1, keepdims=True)
        d = d**alpha * scale
        d = d / d.max(axis=1, keepdims=True)
        base = powered / powered.max(axis=1, keepdims=True)
    return y
