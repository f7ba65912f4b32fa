"""Intervals over seeds, the one way every study states the spread of a measured number."""

from __future__ import annotations

import math
from typing import Iterable, NamedTuple

import numpy as np
from scipy import stats


class Interval(NamedTuple):
    mean: float
    low: float
    high: float

    def rounded(self) -> tuple[float, float]:
        return (round(self.low, 6), round(self.high, 6))


def t_interval(values: Iterable[float], confidence: float) -> Interval | None:
    """Mean and two-sided Student-t interval; None with fewer than two values (no spread to judge by)."""
    v = np.asarray(list(values), dtype=float)
    if len(v) < 2:
        return None
    half = stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return Interval(float(v.mean()), float(v.mean() - half), float(v.mean() + half))


def describe(interval: Interval | None, spec: str = "+.4g") -> str:
    """'mean [low, high]' for a claim's metric text, or why there is no interval."""
    if interval is None:
        return "n/a (fewer than 2 seeds)"
    return f"{interval.mean:{spec}} [{interval.low:{spec}}, {interval.high:{spec}}]"


def claim_interval(interval: Interval | None) -> tuple[float, float] | None:
    """The (low, high) a claim records, rounded to 6 decimals; None without an interval."""
    return None if interval is None else interval.rounded()
