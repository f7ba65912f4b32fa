"""What CAN does to one run's dev predictions, and the hyperparameter sweep on two halves of dev.

The sweep splits dev into two halves stratified by gold label (a seeded permutation within each class,
rows dealt alternately), the same halves for every run of a task. CAN runs on each half separately, so the
report half's probabilities (reference rows included) and its labels never touch the tuning half: tau,
alpha and iterations are chosen by accuracy on the tuning half, then applied to the report half once.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from typing import Sequence

import numpy as np

from kexue_repro.can.model import CONFUSION_RULES, MODES, REFERENCES, alternate_normalize

SETTING_FIELDS = ("name", "k", "tau", "alpha", "iterations", "mode", "confusion", "reference")
SPLIT_METHOD = "stratified by gold label: seeded permutation within each class, rows dealt alternately"


@dataclass(frozen=True)
class Setting:
    name: str
    k: int
    tau: float
    alpha: float
    iterations: int
    mode: str
    confusion: str
    reference: str

    @classmethod
    def parse(cls, fields: Sequence[str]) -> Setting:
        """From the command line's NAME K TAU ALPHA ITERATIONS MODE CONFUSION REFERENCE."""
        name, k, tau, alpha, iterations, mode, confusion, reference = fields
        try:
            setting = cls(name, int(k), float(tau), float(alpha), int(iterations), mode, confusion, reference)
        except ValueError:
            raise ValueError(f"setting {' '.join(fields)}: K and ITERATIONS must be integers") from None
        for value, allowed in ((mode, MODES), (confusion, CONFUSION_RULES), (reference, REFERENCES)):
            if value not in allowed:
                raise ValueError(f"setting {name}: {value!r} is not one of {allowed}")
        if setting.k < 2 or not 0 < setting.tau <= 1 or setting.alpha <= 0 or setting.iterations < 1:
            raise ValueError(f"setting {name}: need k >= 2, 0 < tau <= 1, alpha > 0 and iterations >= 1")
        return setting

    def as_dict(self) -> dict:
        return asdict(self)


def outcome(
    probs: np.ndarray, labels: np.ndarray, prior: np.ndarray, setting: Setting, reference_seed: int
) -> dict:
    """Accuracy before and after CAN, the confident and unconfident subsets, and the changed predictions.

    k is capped at the number of classes (a 2-class task uses k = 2). Subset accuracies are of the
    predictions before CAN; an empty subset has accuracy None.
    """
    k = min(setting.k, probs.shape[1])
    result = alternate_normalize(
        probs,
        prior,
        k=k,
        tau=setting.tau,
        alpha=setting.alpha,
        iterations=setting.iterations,
        mode=setting.mode,
        confusion=setting.confusion,
        reference=setting.reference,
        seed=reference_seed,
    )
    before, after = probs.argmax(axis=1), result.probs.argmax(axis=1)
    right_before, right_after = before == labels, after == labels
    changed = before != after
    unconfident = result.unconfident

    def share(mask: np.ndarray, right: np.ndarray) -> float | None:
        return float(right[mask].mean()) if mask.any() else None

    return {
        "k_used": k,
        "n": len(labels),
        "accuracy_before": float(right_before.mean()),
        "accuracy_after": float(right_after.mean()),
        "gain": float(right_after.mean() - right_before.mean()),
        "n_confident": int((~unconfident).sum()),
        "n_unconfident": int(unconfident.sum()),
        "n_reference": len(result.reference),
        "accuracy_confident": share(~unconfident, right_before),
        "accuracy_unconfident": share(unconfident, right_before),
        "accuracy_unconfident_after": share(unconfident, right_after),
        "n_changed": int(changed.sum()),
        "wrong_to_right": int((changed & ~right_before & right_after).sum()),
        "right_to_wrong": int((changed & right_before & ~right_after).sum()),
        "wrong_to_wrong": int((changed & ~right_before & ~right_after).sum()),
    }


def split_halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(tune, report) row indices, each sorted; per class the halves differ by at most one row."""
    rng = np.random.default_rng(seed)
    dealt = np.concatenate([rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)])
    return np.sort(dealt[0::2]), np.sort(dealt[1::2])


def grid_settings(base: Setting, taus, alphas, iterations) -> list[Setting]:
    """Every (tau, alpha, iterations), in that nesting order; k, mode, confusion and reference of ``base``."""
    return [
        replace(base, name=f"tau={t:g} alpha={a:g} iterations={i}", tau=t, alpha=a, iterations=i)
        for t, a, i in itertools.product(taus, alphas, iterations)
    ]


def sweep(
    runs: Sequence[tuple[str, int, np.ndarray]],
    labels: np.ndarray,
    prior: np.ndarray,
    base: Setting,
    grid: Sequence[Setting],
    halves: tuple[np.ndarray, np.ndarray],
    reference_seed: int,
) -> dict:
    """Per variant, the grid setting with the best mean tuning-half accuracy over its seeds (the first in
    grid order among equals), and every run's report-half accuracy before, after that setting and after
    ``base`` (the untuned defaults). ``halves`` are the (tune, report) row indices."""
    tune, report = halves
    variants: dict[str, dict] = {}
    for variant in dict.fromkeys(v for v, _, _ in runs):
        mine = [(seed, probs) for v, seed, probs in runs if v == variant]
        scores = np.array(
            [
                [outcome(p[tune], labels[tune], prior, s, reference_seed)["accuracy_after"] for _, p in mine]
                for s in grid
            ]
        )
        best = int(np.argmax(scores.mean(axis=1)))
        chosen = grid[best]
        rows = []
        for seed, probs in mine:
            held_out = (probs[report], labels[report], prior)
            tuned = outcome(*held_out, chosen, reference_seed)
            default = outcome(*held_out, base, reference_seed)
            rows.append(
                {"seed": seed, "accuracy_before": tuned["accuracy_before"]}
                | {"accuracy_tuned": tuned["accuracy_after"], "gain_tuned": tuned["gain"]}
                | {"accuracy_default": default["accuracy_after"], "gain_default": default["gain"]}
                | {"n_changed_tuned": tuned["n_changed"], "n_unconfident_tuned": tuned["n_unconfident"]}
            )
        variants[variant] = {
            "chosen": {"tau": chosen.tau, "alpha": chosen.alpha, "iterations": chosen.iterations},
            "tune_accuracy": float(scores[best].mean()),
            "tune_accuracy_before": float(
                np.mean([(p[tune].argmax(1) == labels[tune]).mean() for _, p in mine])
            ),
            "grid": [
                {"tau": s.tau, "alpha": s.alpha, "iterations": s.iterations, "tune_accuracy": float(m)}
                for s, m in zip(grid, scores.mean(axis=1))
            ],
            "runs": rows,
        }
    return {
        "split": {"n_tune": len(tune), "n_report": len(report)},
        "base": base.as_dict(),
        "variants": variants,
    }
