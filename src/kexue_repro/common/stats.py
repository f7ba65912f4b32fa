"""Intervals over seeds for the tables and plots that describe measured numbers (claims are decided by
common.inference)."""

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
