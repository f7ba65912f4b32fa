"""The CLUE studies' tables from the run records and the update-size measurements: runs, the summary per
task and variant, paired effects and the update sizes per step. Accuracies are in percent (the anchors' unit).
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Sequence

import pandas as pd

from kexue_repro.common.stats import t_interval


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_")


def read_runs(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per run record: task, variant, seed, best epoch and accuracy, throughput."""
    rows, seen = [], {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            run = json.load(fh)
        try:
            key = (run["task"], run["variant"], int(run["seed"]))
            row = {"task": key[0], "variant": key[1], "seed": key[2]}
            row |= {"best_epoch": run["best_epoch"], "accuracy": 100 * float(run["best_dev_accuracy"])}
            row |= {
                "seconds_per_epoch": run["seconds_per_epoch"],
                "sequences_per_second": run["sequences_per_second"],
            }
        except KeyError as err:
            raise KeyError(f"{path}: run record lacks {err}") from None
        if key in seen:
            raise ValueError(f"{path} and {seen[key]} both hold task/variant/seed {key}")
        seen[key] = path
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(["task", "variant", "seed"], kind="mergesort").reset_index(drop=True)


def summary_table(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    rows = []
    for (task, variant), group in runs.groupby(["task", "variant"], sort=True):
        interval = t_interval(group["accuracy"], confidence)
        rows.append(
            {"task": task, "variant": variant, "n_seeds": len(group), "mean": group["accuracy"].mean()}
            | {
                "ci_low": interval.low if interval else math.nan,
                "ci_high": interval.high if interval else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=["task", "variant", "n_seeds", "mean", "ci_low", "ci_high"])


def paired_effect(runs: pd.DataFrame, task: str, variant: str, baseline: str) -> pd.Series:
    """Per seed both have: variant accuracy minus baseline accuracy (points)."""
    sub = runs[runs["task"] == task]
    a = sub[sub["variant"] == variant].set_index("seed")["accuracy"]
    b = sub[sub["variant"] == baseline].set_index("seed")["accuracy"]
    both = pd.concat({"a": a, "b": b}, axis=1, join="inner").sort_index()
    return both["a"] - both["b"]


def read_update_sizes(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    if len({r["p"] for r in records}) > 1:
        raise ValueError(f"update-size files {list(map(str, paths))} were measured at different p")
    return records


def update_size_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for r in records:
        for step in range(r["steps"]):
            rows.append(
                {"seed": r["seed"], "step": step + 1, "ratio_f": r["ratio_f"][step]}
                | {"ratio_incre": r["ratio_incre"][step]}
                | {
                    f"moved_{m}": r["runs"][m]["moved_share"][step]
                    for m in ("vanilla", "childtuning-f", "incre-drop")
                }
            )
    return pd.DataFrame(rows)
