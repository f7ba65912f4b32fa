"""Scoring rules: the official leaderboard scores, AM/GM/HM over a task set, and the three task-set rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import gmean, hmean

from kexue_repro.leaderboard.data import BENCHMARK_COLUMNS, main_columns

MEANS = ("AM", "GM", "HM")
RULES = ("official", "all_columns", "mixed")

# A merged task scores the mean of its parts: GLUE counts MNLI once, as mean(MNLI-m, MNLI-mm).
MERGED_TASKS: dict[str, tuple[str, ...]] = {"MNLI": ("MNLI-m", "MNLI-mm")}
OFFICIAL_TASKS: dict[str, tuple[str, ...]] = {
    "GLUE": ("CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI"),
    "SuperGLUE": main_columns("SuperGLUE"),
}
_MEAN_FUNCTIONS = {"AM": np.mean, "GM": gmean, "HM": hmean}


@dataclass(frozen=True)
class Average:
    """A mean over named task columns; ``value`` is NaN when undefined, and ``note`` says why."""

    value: float
    columns: tuple[str, ...]
    note: str = ""


def _present(scores: Mapping[str, float], column: str) -> bool:
    value = scores.get(column)
    return value is not None and not math.isnan(value)


def _parts(column: str) -> tuple[str, ...]:
    return MERGED_TASKS.get(column, (column,))


def has_task(scores: Mapping[str, float], column: str) -> bool:
    return all(_present(scores, part) for part in _parts(column))


def task_score(scores: Mapping[str, float], column: str) -> float:
    return float(np.mean([scores[part] for part in _parts(column)]))


def average(scores: Mapping[str, float], columns: Sequence[str], mean: str) -> Average:
    """``mean`` (AM, GM or HM) of the task scores named by ``columns``.

    NaN with a reason when a column is missing from ``scores`` (or NaN there), or, for GM and HM,
    when a score is not positive.
    """
    columns = tuple(columns)
    needed = [part for column in columns for part in _parts(column)]
    missing = [part for part in needed if not _present(scores, part)]
    if len(missing) == len(needed):
        return Average(math.nan, columns, "no per-task scores")
    if missing:
        return Average(math.nan, columns, "missing " + ", ".join(missing))
    values = [task_score(scores, column) for column in columns]
    if mean != "AM":
        non_positive = [f"{c}={v:g}" for c, v in zip(columns, values) if v <= 0]
        if non_positive:
            return Average(math.nan, columns, f"{mean} undefined: {', '.join(non_positive)} <= 0")
    return Average(float(_MEAN_FUNCTIONS[mean](values)), columns)


def rounding_interval(
    scores: Mapping[str, float], half_units: Mapping[str, float], columns: Sequence[str], mean: str
) -> tuple[float, float]:
    """The values ``mean`` over ``columns`` can take when each printed cell may be off by its half-unit.

    AM, GM and HM increase in every argument, so the ends are the mean of every cell at the bottom, and at
    the top, of its rounding interval: exact, not a linearisation. (NaN, NaN) where the mean is undefined;
    a lower end with a cell that could be 0 or less is 0, the limit of GM and HM there.
    """
    if math.isnan(average(scores, columns, mean).value):
        return math.nan, math.nan
    ends = []
    for sign in (-1, 1):
        shifted = {c: scores[c] + sign * half_units[c] for c in scores if _present(scores, c)}
        ends.append(average(shifted, columns, mean).value)
    low, high = ends
    return (0.0 if math.isnan(low) else low), high


def official_score(scores: Mapping[str, float], benchmark: str) -> Average:
    """GLUE: mean of 9 tasks (MNLI merged, AX excluded); SuperGLUE: mean of 8 tasks (AX-b, AX-g excluded)."""
    return average(scores, OFFICIAL_TASKS[benchmark], "AM")


def rule_columns(
    benchmark: str, rule: str, mean: str, is_human: bool, present: Sequence[str]
) -> tuple[str, ...]:
    """The task columns a row is averaged over under ``rule``.

    official: the official task set. all_columns: every benchmark column the row has (``present``).
    mixed: the paper's rule as Su reconstructed it -- AM over the main columns (GLUE: CoLA..WNLI with
    MNLI-m/-mm separate; SuperGLUE: the 8 tasks); GM/HM over every column including the diagnostics,
    except the GLUE human row, which has no AX and was averaged over the 10 main columns.
    """
    if rule == "official":
        return OFFICIAL_TASKS[benchmark]
    if rule == "all_columns":
        return tuple(c for c in BENCHMARK_COLUMNS[benchmark] if c in present)
    if rule != "mixed":
        raise ValueError(f"unknown rule {rule!r}; known: {RULES}")
    if mean == "AM" or (benchmark == "GLUE" and is_human):
        return main_columns(benchmark)
    return BENCHMARK_COLUMNS[benchmark]


def rule_average(
    scores: Mapping[str, float], benchmark: str, rule: str, mean: str, is_human: bool
) -> Average:
    present = [c for c in BENCHMARK_COLUMNS[benchmark] if _present(scores, c)]
    result = average(scores, rule_columns(benchmark, rule, mean, is_human, present), mean)
    lacking = [c for c in BENCHMARK_COLUMNS[benchmark] if c not in present]
    if rule == "all_columns" and present and lacking:
        # The crux of the study: this row is averaged over a different column set than a complete row.
        note = "; ".join(filter(None, [result.note, "row lacks " + ", ".join(lacking)]))
        return Average(result.value, result.columns, note)
    return result
