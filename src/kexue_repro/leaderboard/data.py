"""The leaderboard table: load and validate the long CSV (one metric cell a record), pivot it wide.

A leaderboard *row* is one (benchmark, snapshot, model): the same model name appears on several
snapshots (e.g. GLUE "ERNIE" in a 2021 overall-only quote and a 2022-23 partial copy), so the model
name alone is not a key.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

BENCHMARK_COLUMNS: dict[str, tuple[str, ...]] = {
    "GLUE": ("CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI-m", "MNLI-mm", "QNLI", "RTE", "WNLI", "AX"),
    "SuperGLUE": ("BoolQ", "CB", "COPA", "MultiRC", "ReCoRD", "RTE", "WiC", "WSC", "AX-b", "AX-g"),
}
DIAGNOSTIC_COLUMNS: dict[str, tuple[str, ...]] = {"GLUE": ("AX",), "SuperGLUE": ("AX-b", "AX-g")}
OVERALL_TASK = "OVERALL"
FIELDS = (
    "benchmark",
    "snapshot",
    "model",
    "team",
    "task",
    "metric",
    "value_raw",
    "task_score_mean_of_metrics",
    "reported_overall",
    "quality",
    "source",
)
OPTIONAL_FIELDS = ("team",)
HUMAN_MARKER = "Human"

VERIFIED = "verified"
LOW_CONFIDENCE = "low-confidence"
OVERALL_ONLY = "overall-only"
_EXACT_FLAGS = {"partial,low-confidence": LOW_CONFIDENCE, "overall-only": OVERALL_ONLY}

# value_raw is printed with at most two decimals; its mean must match task_score_mean_of_metrics.
_MEAN_TOLERANCE = 1e-6
# Suffix of the wide table's columns that hold each task score's rounding bound (see half_unit).
HALF_UNIT = " half_unit"


def quality_class(flag: str) -> str | None:
    """The class a raw quality flag belongs to: every 'verified...' flag is verified; None if unknown."""
    if flag.startswith(VERIFIED):
        return VERIFIED
    return _EXACT_FLAGS.get(flag)


def row_label(model: str, snapshot: str) -> str:
    return f"{model} @ {snapshot}"


def main_columns(benchmark: str) -> tuple[str, ...]:
    """The benchmark's columns without its diagnostics (GLUE: CoLA..WNLI; SuperGLUE: the 8 tasks)."""
    return tuple(c for c in BENCHMARK_COLUMNS[benchmark] if c not in DIAGNOSTIC_COLUMNS[benchmark])


def half_unit(printed: str) -> float:
    """Half a unit in the last decimal printed: how far the unrounded value may lie from ``printed``
    ("89.2" -> 0.05, "77" -> 0.5). Only the number of decimals printed decides it."""
    text = printed.strip()
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


def _fail(path: Path, line: int, field: str, problem: str) -> ValueError:
    return ValueError(f"{path}: line {line}: field {field!r}: {problem}")


def _number(path: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, line, field, f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise _fail(path, line, field, f"not a finite number: {text!r}")
    return value


def _parse_record(path: Path, line: int, record: dict[str | None, Any]) -> dict[str, Any]:
    if None in record:
        raise _fail(
            path, line, FIELDS[-1], f"{len(record[None])} field(s) more than the header's {len(FIELDS)}"
        )
    for field in FIELDS:
        if record[field] is None:
            raise _fail(path, line, field, "missing (the line has fewer fields than the header)")
        if field not in OPTIONAL_FIELDS and not record[field].strip():
            raise _fail(path, line, field, "empty")
    benchmark, task = record["benchmark"], record["task"]
    if benchmark not in BENCHMARK_COLUMNS:
        raise _fail(
            path, line, "benchmark", f"unknown benchmark {benchmark!r}; known: {sorted(BENCHMARK_COLUMNS)}"
        )
    if task != OVERALL_TASK and task not in BENCHMARK_COLUMNS[benchmark]:
        raise _fail(path, line, "task", f"unknown {benchmark} task {task!r}")
    klass = quality_class(record["quality"])
    if klass is None:
        raise _fail(path, line, "quality", f"unknown quality flag {record['quality']!r}")
    score = _number(path, line, "task_score_mean_of_metrics", record["task_score_mean_of_metrics"])
    printed = [_number(path, line, "value_raw", part) for part in record["value_raw"].split("/")]
    printed_mean = sum(printed) / len(printed)
    if abs(printed_mean - score) > _MEAN_TOLERANCE:
        raise _fail(
            path,
            line,
            "task_score_mean_of_metrics",
            f"{score:g} is not the mean {printed_mean:g} of value_raw {record['value_raw']!r}",
        )
    reported = _number(path, line, "reported_overall", record["reported_overall"])
    if task == OVERALL_TASK and abs(score - reported) > _MEAN_TOLERANCE:
        raise _fail(path, line, "reported_overall", f"{reported:g} differs from the OVERALL cell {score:g}")
    parts = record["value_raw"].split("/")
    return {
        **{f: record[f] for f in FIELDS},
        "task_score_mean_of_metrics": score,
        # The task score is the mean of its printed metrics, so it is off by at most their mean half-unit.
        "half_unit": sum(half_unit(part) for part in parts) / len(parts),
        "reported_overall": reported,
        "overall_half_unit": half_unit(record["reported_overall"]),
        "quality_class": klass,
        "line": line,
        "row": row_label(record["model"], record["snapshot"]),
    }


def _check_rows(path: Path, records: list[dict[str, Any]]) -> None:
    """Within a row: no task twice, and one quality flag and one reported overall score."""
    first_of_row: dict[tuple[str, str], dict[str, Any]] = {}
    seen_tasks: set[tuple[str, str, str]] = set()
    for rec in records:
        key = (rec["benchmark"], rec["row"])
        task_key = (*key, rec["task"])
        if task_key in seen_tasks:
            raise _fail(
                path,
                rec["line"],
                "task",
                f"task {rec['task']!r} repeated for {rec['benchmark']} row {rec['row']!r}",
            )
        seen_tasks.add(task_key)
        first = first_of_row.setdefault(key, rec)
        for field in ("quality", "reported_overall"):
            if rec[field] != first[field]:
                raise _fail(
                    path,
                    rec["line"],
                    field,
                    f"{rec[field]!r} differs from {first[field]!r} on line {first['line']} of the same row",
                )


def load_long_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate the long table; a bad record raises ValueError naming file, line and field."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [f for f in FIELDS if f not in header]
        if missing:
            raise _fail(path, 1, missing[0], "missing from the header")
        records = [_parse_record(path, reader.line_num, rec) for rec in reader]
    if not records:
        raise ValueError(f"{path}: no records")
    _check_rows(path, records)
    return pd.DataFrame.from_records(records)


def wide_table(long: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """One row per leaderboard entry of ``benchmark``, indexed by its label and sorted by it.

    Columns: benchmark, snapshot, model, quality (raw flag), quality_class, source (each distinct source
    of its cells, in file order), reported_overall, overall_half_unit (half a unit in the last decimal the
    overall score is printed with), is_human, then the benchmark's task columns (NaN where the row has no
    cell), then for each task column ``<task> half_unit``: how far rounding of the printed metrics may have
    moved its score (NaN where the row has no cell).
    """
    part = long[long["benchmark"] == benchmark]
    meta = part.groupby("row", sort=True).agg(
        benchmark=("benchmark", "first"),
        snapshot=("snapshot", "first"),
        model=("model", "first"),
        quality=("quality", "first"),
        quality_class=("quality_class", "first"),
        source=("source", lambda s: " | ".join(dict.fromkeys(s))),
        reported_overall=("reported_overall", "first"),
        overall_half_unit=("overall_half_unit", "first"),
    )
    meta["is_human"] = meta["model"].str.contains(HUMAN_MARKER, regex=False)
    tasks = part[part["task"] != OVERALL_TASK]
    columns = list(BENCHMARK_COLUMNS[benchmark])
    cells = tasks.pivot(index="row", columns="task", values="task_score_mean_of_metrics")
    halves = tasks.pivot(index="row", columns="task", values="half_unit").reindex(columns=columns)
    return meta.join(cells.reindex(columns=columns)).join(halves.add_suffix(HALF_UNIT))


def wide_tables(long: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {b: wide_table(long, b) for b in sorted(set(long["benchmark"]))}
