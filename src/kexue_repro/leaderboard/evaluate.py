"""The tables of study 8783: official scores, means per rule, ranks, Kendall tau, the human row's rank.

Every value carries what rounding of the printed cells allows: the official score's bound (how far from the
reported overall rounding alone can put a recomputation) and each mean's interval (its value with every cell
at the bottom, and at the top, of its rounding interval). The step has no settings: both follow from the
number of decimals the sources print.

python -m kexue_repro.leaderboard.evaluate --table CSV --tables-dir DIR
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from itertools import combinations
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from scipy.stats import kendalltau

from kexue_repro.common.atomic import write_csv
from kexue_repro.common.cli import run, step_parser
from kexue_repro.leaderboard.data import (
    BENCHMARK_COLUMNS,
    HALF_UNIT,
    VERIFIED,
    load_long_table,
    wide_tables,
)
from kexue_repro.leaderboard.model import (
    MEANS,
    OFFICIAL_TASKS,
    RULES,
    has_task,
    official_score,
    rounding_interval,
    rule_average,
    task_score,
)

ROW_FIELDS = ["benchmark", "row", "snapshot", "model", "quality", "quality_class", "is_human"]
OFFICIAL_FIELDS = [
    *ROW_FIELDS,
    "source",
    "reported_overall",
    "recomputed",
    "diff",
    "abs_diff",
    "rounding_bound",
    "within_rounding",
    "note",
]
MEANS_FIELDS = [*ROW_FIELDS, "rule", "mean", "value", "low", "high", "n_columns", "columns", "note"]
RANKS_FIELDS = ["benchmark", "rule", "mean", "rank", "row", "is_human", "value", "low", "high", "n_columns"]
KENDALL_FIELDS = [
    "benchmark",
    "comparison",
    "rule_a",
    "mean_a",
    "rule_b",
    "mean_b",
    "n_rows",
    "tau",
]
HUMAN_FIELDS = [
    "benchmark",
    "rule",
    "mean",
    "human_row",
    "human_value",
    "human_rank",
    "n_ranked",
    "n_models_above",
    "models_above",
]

# Inputs have at most two decimals: rounding a difference to 9 decimals removes float noise
# (87.1 - 87.05 is not exactly 0.05) without changing any comparison that matters.
_DIFF_DECIMALS = 9
_ORDER = {name: i for i, name in enumerate((*RULES, *MEANS))}


def _sorted(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Sort rows deterministically, rules and means in their study order rather than alphabetically."""

    def key(column: pd.Series) -> pd.Series:
        return (
            column.map(_ORDER)
            if column.name in ("rule", "mean", "rule_a", "mean_a", "rule_b", "mean_b")
            else column
        )

    return frame.sort_values(list(by), key=key, kind="mergesort").reset_index(drop=True)


def read_table(path: str | os.PathLike, required: Sequence[str]) -> pd.DataFrame:
    """Read one of this study's CSV tables; a missing column or bad file raises a one-line ValueError."""
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


def _row_half_units(row: pd.Series, benchmark: str) -> dict[str, float]:
    return {c: float(row[c + HALF_UNIT]) for c in BENCHMARK_COLUMNS[benchmark]}


def _row_fields(benchmark: str, label: str, row: pd.Series) -> dict[str, object]:
    return {"benchmark": benchmark, "row": label, **{f: row[f] for f in ROW_FIELDS[2:]}}


def _with_implied_score(note: str, row: pd.Series, benchmark: str) -> str:
    """For a row lacking exactly one official task, add the score its reported overall implies for it."""
    scores = _row_scores(row, benchmark)
    tasks = OFFICIAL_TASKS[benchmark]
    absent = [t for t in tasks if not has_task(scores, t)]
    if len(absent) != 1:
        return note
    implied = len(tasks) * row["reported_overall"] - sum(
        task_score(scores, t) for t in tasks if t not in absent
    )
    return f"{note}; the reported overall implies {absent[0]} = {implied:.1f}"


def official_table(wides: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Each row's official score recomputed from its cells, beside its reported overall score.

    rounding_bound: the largest |recomputed - reported| rounding alone explains: the official score of
    cells off by their half-units moves by at most their mean half-unit (the score is their mean), and the
    printed overall is off by at most its own half-unit. One-decimal cells and overall: 0.05 + 0.05 = 0.1.
    """
    records = []
    for benchmark, wide in wides.items():
        for label, row in wide.iterrows():
            scores = _row_scores(row, benchmark)
            result = official_score(scores, benchmark)
            low, high = rounding_interval(
                scores, _row_half_units(row, benchmark), OFFICIAL_TASKS[benchmark], "AM"
            )
            cells = max(high - result.value, result.value - low)
            bound = round(cells + row["overall_half_unit"], _DIFF_DECIMALS)
            diff = round(result.value - row["reported_overall"], _DIFF_DECIMALS)
            note = result.note
            if note.startswith("missing"):
                note = _with_implied_score(note, row, benchmark)
            records.append(
                {
                    **_row_fields(benchmark, label, row),
                    "source": row["source"],
                    "reported_overall": row["reported_overall"],
                    "recomputed": result.value,
                    "diff": diff,
                    "abs_diff": abs(diff),
                    "rounding_bound": bound,
                    "within_rounding": None if math.isnan(diff) else bool(abs(diff) <= bound),
                    "note": note,
                }
            )
    return _sorted(pd.DataFrame.from_records(records, columns=OFFICIAL_FIELDS), ["benchmark", "row"])


def means_table(wides: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """AM, GM and HM of every row (all quality classes) under every task-set rule, with the interval
    [low, high] the mean spans when every printed cell may be off by its rounding."""
    records = []
    for benchmark, wide in wides.items():
        for label, row in wide.iterrows():
            scores, half_units = _row_scores(row, benchmark), _row_half_units(row, benchmark)
            for rule in RULES:
                for mean in MEANS:
                    result = rule_average(scores, benchmark, rule, mean, bool(row["is_human"]))
                    low, high = rounding_interval(scores, half_units, result.columns, mean)
                    records.append(
                        {
                            **_row_fields(benchmark, label, row),
                            "rule": rule,
                            "mean": mean,
                            "value": result.value,
                            "low": low,
                            "high": high,
                            "n_columns": len(result.columns),
                            "columns": ";".join(result.columns),
                            "note": result.note,
                        }
                    )
    return _sorted(
        pd.DataFrame.from_records(records, columns=MEANS_FIELDS), ["benchmark", "rule", "mean", "row"]
    )


def rank_table(means: pd.DataFrame) -> pd.DataFrame:
    """Rank per (benchmark, rule, mean) of the verified rows with a defined value; 1 = best, ties share
    the best rank of the tie."""
    ranked = means[(means["quality_class"] == VERIFIED) & means["value"].notna()].copy()
    groups = ranked.groupby(["benchmark", "rule", "mean"])["value"]
    ranked["rank"] = groups.rank(method="min", ascending=False).astype(int)
    return _sorted(ranked[RANKS_FIELDS], ["benchmark", "rule", "mean", "rank", "row"])


def _comparisons() -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    within = [("within_rule", (rule, a), (rule, b)) for rule in RULES for a, b in combinations(MEANS, 2)]
    across = [("across_rules", (a, mean), (b, mean)) for mean in MEANS for a, b in combinations(RULES, 2)]
    return within + across


def _tau(x: pd.Series, y: pd.Series) -> float:
    if len(x) < 2 or x.nunique() < 2 or y.nunique() < 2:
        return math.nan
    return float(kendalltau(x.to_numpy(), y.to_numpy()).statistic)


def kendall_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """Kendall tau-b between two rankings, over the rows ranked under both: AM/GM/HM within a rule, and
    each mean across rules. A description of the published rows, without scipy's p-value: that p-value
    tests whether two rankings are independent, for rows sampled from a population of models; these rows
    are the leaderboard itself, not a sample, and "independent" is not what anyone claims."""
    records = []
    for benchmark, part in ranks.groupby("benchmark", sort=True):
        rank_of = {key: group.set_index("row")["rank"] for key, group in part.groupby(["rule", "mean"])}
        empty = pd.Series(dtype=float)
        for comparison, a, b in _comparisons():
            x, y = rank_of.get(a, empty), rank_of.get(b, empty)
            common = x.index.intersection(y.index).sort_values()
            tau = _tau(x[common], y[common])
            records.append(
                {
                    "benchmark": benchmark,
                    "comparison": comparison,
                    "rule_a": a[0],
                    "mean_a": a[1],
                    "rule_b": b[0],
                    "mean_b": b[1],
                    "n_rows": len(common),
                    "tau": tau,
                }
            )
    return pd.DataFrame.from_records(records, columns=KENDALL_FIELDS)


def _human_row(group: pd.DataFrame, benchmark: str) -> pd.Series | None:
    humans = group[group["is_human"]]
    if len(humans) > 1:
        raise ValueError(f"{benchmark}: several human rows: {sorted(humans['row'])}")
    return None if humans.empty else humans.iloc[0]


def human_rank_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """The human row's rank and the rows above it, per (benchmark, rule, mean); empty where unranked."""
    records = []
    for benchmark in sorted(ranks["benchmark"].unique()):
        for rule in RULES:
            for mean in MEANS:
                group = ranks[
                    (ranks["benchmark"] == benchmark) & (ranks["rule"] == rule) & (ranks["mean"] == mean)
                ]
                human = _human_row(group, benchmark)
                above = [] if human is None else sorted(group.loc[group["value"] > human["value"], "row"])
                records.append(
                    {
                        "benchmark": benchmark,
                        "rule": rule,
                        "mean": mean,
                        "human_row": None if human is None else human["row"],
                        "human_value": math.nan if human is None else human["value"],
                        "human_rank": math.nan if human is None else human["rank"],
                        "n_ranked": len(group),
                        "n_models_above": math.nan if human is None else len(above),
                        "models_above": "; ".join(above),
                    }
                )
    return pd.DataFrame.from_records(records, columns=HUMAN_FIELDS)


# Enough digits that rows differing in the 2nd decimal of a task never tie after a CSV round trip.
FLOAT_FORMAT = "%.10g"
TABLES = ("official_scores", "means", "ranks", "kendall_tau", "human_rank")


def write_tables(table: str | os.PathLike, tables_dir: Path) -> None:
    wides = wide_tables(load_long_table(table))
    means = means_table(wides)
    ranks = rank_table(means)
    frames = {
        "official_scores": official_table(wides),
        "means": means,
        "ranks": ranks,
        "kendall_tau": kendall_table(ranks),
        "human_rank": human_rank_table(ranks),
    }
    for name in TABLES:
        write_csv(tables_dir / f"{name}.csv", frames[name], float_format=FLOAT_FORMAT)


def _main(args: argparse.Namespace) -> None:
    write_tables(args.table, Path(args.tables_dir))


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.leaderboard.evaluate", __doc__)
    parser.add_argument("--table", required=True, help="the long leaderboard CSV")
    parser.add_argument("--tables-dir", required=True, help=f"gets {', '.join(f'{t}.csv' for t in TABLES)}")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
