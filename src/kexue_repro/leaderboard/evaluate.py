"""Tables and the plot of study 8783: official scores, means under each rule, ranks, Kendall tau, human rank."""

from __future__ import annotations

import math
import os
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.leaderboard.data import BENCHMARK_COLUMNS, VERIFIED
from kexue_repro.leaderboard.model import MEANS, OFFICIAL_TASKS, RULES, official_score, rule_average

ROW_FIELDS = ["benchmark", "row", "snapshot", "model", "quality", "quality_class", "is_human"]
OFFICIAL_FIELDS = [*ROW_FIELDS, "source", "reported_overall", "recomputed", "diff", "abs_diff",
                   "within_tolerance", "note"]
MEANS_FIELDS = [*ROW_FIELDS, "rule", "mean", "value", "n_columns", "columns", "note"]
RANKS_FIELDS = ["benchmark", "rule", "mean", "rank", "row", "is_human", "value", "n_columns"]
KENDALL_FIELDS = ["benchmark", "comparison", "rule_a", "mean_a", "rule_b", "mean_b", "n_rows", "tau", "p_value"]
HUMAN_FIELDS = ["benchmark", "rule", "mean", "human_row", "human_value", "human_rank", "n_ranked",
                "n_models_above", "models_above"]

# Inputs have at most two decimals: rounding a difference to 9 decimals removes float noise
# (87.1 - 87.05 is not exactly 0.05) without changing any comparison that matters.
_DIFF_DECIMALS = 9
_ORDER = {name: i for i, name in enumerate((*RULES, *MEANS))}


def _sorted(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Sort rows deterministically, rules and means in their study order rather than alphabetically."""
    def key(column: pd.Series) -> pd.Series:
        return column.map(_ORDER) if column.name in ("rule", "mean", "rule_a", "mean_a", "rule_b", "mean_b") else column
    return frame.sort_values(list(by), key=key, kind="mergesort").reset_index(drop=True)


def read_table(path: str | os.PathLike, required: Sequence[str]) -> pd.DataFrame:
    """Read one of this study's CSV tables; a missing column or unparsable file raises a one-line ValueError."""
    try:
        frame = pd.read_csv(path)
    except ValueError as err:
        raise ValueError(f"{path}: {' '.join(str(err).split())}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column {missing[0]!r}")
    return frame


def _row_scores(row: pd.Series, benchmark: str) -> dict[str, float]:
    return {c: float(row[c]) for c in BENCHMARK_COLUMNS[benchmark]}


def _implied_note(row: pd.Series, benchmark: str, missing_note: str) -> str:
    """For a row lacking one official task, the score the reported overall implies for it."""
    scores = _row_scores(row, benchmark)
    tasks = OFFICIAL_TASKS[benchmark]
    known = [t for t in tasks if not math.isnan(official_score({**scores}, benchmark).value)
             or all(not math.isnan(scores.get(p, math.nan)) for p in (t,))]
    absent = [t for t in tasks if t not in known]
    if len(absent) != 1:
        return missing_note
    implied = len(tasks) * row["reported_overall"] - sum(scores[t] for t in known)
    return f"{missing_note} (the reported overall implies {absent[0]} = {implied:.1f})"


def official_table(wides: Mapping[str, pd.DataFrame], tolerance: float) -> pd.DataFrame:
    """Each row's official score recomputed from its cells, beside its reported overall score."""
    records = []
    for benchmark, wide in wides.items():
        for label, row in wide.iterrows():
            result = official_score(_row_scores(row, benchmark), benchmark)
            diff = round(result.value - row["reported_overall"], _DIFF_DECIMALS)
            note = result.note
            if note.startswith("missing"):
                note = _implied_note(row, benchmark, note)
            records.append({**row[ROW_FIELDS[2:]].to_dict(), "benchmark": benchmark, "row": label,
                            "source": row["source"], "reported_overall": row["reported_overall"],
                            "recomputed": result.value, "diff": diff, "abs_diff": abs(diff),
                            "within_tolerance": bool(abs(diff) <= tolerance) if not math.isnan(diff) else None,
                            "note": note})
    return _sorted(pd.DataFrame.from_records(records, columns=OFFICIAL_FIELDS), ["benchmark", "row"])
