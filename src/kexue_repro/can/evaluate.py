"""What CAN does to one run's dev predictions under a setting, and the settings the apply and sweep steps read.

A setting (``can.apply.settings.<name>`` in params.yaml) fixes k, tau, alpha, iterations, the mode, the
confusion rule and the reference rows of ``kexue_repro.can.model.alternate_normalize``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from kexue_repro.can.model import CONFUSION_RULES, MODES, REFERENCES, alternate_normalize
from kexue_repro.common.settings import build


@dataclass(frozen=True)
class Setting:
    """One named CAN setting (``can.apply.settings.<name>``)."""

    name: str
    k: int  # top-k of the uncertainty, capped at the number of classes
    tau: float  # u >= tau is unconfident
    alpha: float
    iterations: int
    mode: str  # one of model.MODES
    confusion: str  # one of model.CONFUSION_RULES
    reference: str  # one of model.REFERENCES

    def __post_init__(self) -> None:
        # YAML's 1 and 1.0 both mean alpha 1: the records hold floats either way.
        for field in ("tau", "alpha"):
            object.__setattr__(self, field, float(getattr(self, field)))
        for value, allowed in (
            (self.mode, MODES),
            (self.confusion, CONFUSION_RULES),
            (self.reference, REFERENCES),
        ):
            if value not in allowed:
                raise ValueError(f"setting {self.name}: {value!r} is not one of {allowed}")
        if (
            not isinstance(self.k, int)
            or not isinstance(self.iterations, int)
            or self.k < 2
            or not 0 < self.tau <= 1
            or self.alpha <= 0
            or self.iterations < 1
        ):
            raise ValueError(
                f"setting {self.name}: need integers k >= 2 and iterations >= 1, 0 < tau <= 1 and alpha > 0"
            )

    def as_dict(self) -> dict:
        return asdict(self)


def named_settings(settings: Mapping[str, Any], where: str) -> dict[str, Setting]:
    """Each ``name: {k, tau, ...}`` of a settings block as a Setting of that name."""
    return {
        name: s if isinstance(s, Setting) else build(Setting, s, f"{where}.{name}", name=name)
        for name, s in settings.items()
    }


@dataclass(frozen=True)
class CanConfig:
    """The ``can.apply`` settings: the named settings each run gets, and how its probabilities are read.
    The sweep reads them too (``sweep.SweepConfig``)."""

    settings: dict[str, Setting]  # by name; built from the JSON's plain objects
    reference_seed: int  # draws the stratified reference rows
    row_sum_tolerance: float  # a probability row must sum to 1 within this

    def __post_init__(self) -> None:
        if not self.settings:
            raise ValueError("can.apply.settings: no setting")
        object.__setattr__(self, "settings", named_settings(self.settings, "can.apply.settings"))


def bits(mask: np.ndarray) -> str:
    """A boolean vector as a string of 0s and 1s (per-example correctness in the JSON records)."""
    return "".join("1" if x else "0" for x in np.asarray(mask, bool))


def from_bits(text: str) -> np.ndarray:
    """The boolean vector of a ``bits`` string."""
    if set(text) - {"0", "1"}:
        raise ValueError(f"not a string of 0s and 1s: {text[:20]!r}...")
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) == ord("1")


def trivial_accuracy(labels: np.ndarray, prior: np.ndarray) -> float:
    """Dev accuracy of the trivial classifier that always answers the training set's most frequent class
    (the first among equals): what a run that did not train scores."""
    return float((labels == int(np.argmax(prior))).mean())


def outcome(
    probs: np.ndarray, labels: np.ndarray, prior: np.ndarray, setting: Setting, reference_seed: int
) -> dict:
    """Accuracy before and after CAN, the confident and unconfident subsets, the changed predictions, and
    each example's correctness before and after (``bits`` strings, in dev order).

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
        "correct_before": bits(right_before),
        "correct_after": bits(right_after),
    }
