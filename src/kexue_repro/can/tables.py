"""The tables of study 8728 (CAN) from the apply and sweep records: one row per run and setting, one per swept
run, and the gain intervals over seeds. Accuracies and gains are in percent (the anchors' unit)."""

from __future__ import annotations

import json
import math
import os
from typing import Sequence

import pandas as pd

from kexue_repro.common.stats import t_interval

FLOAT_FORMAT = "%.8g"
PERCENT = ("accuracy_before", "accuracy_after", "gain", "accuracy_confident", "accuracy_unconfident")
PERCENT += ("accuracy_unconfident_after",)
COUNTS = ("n", "n_confident", "n_unconfident", "n_reference", "n_changed")
COUNTS += ("wrong_to_right", "right_to_wrong", "wrong_to_wrong")


def read_json(paths: Sequence[str | os.PathLike]) -> list[dict]:
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    return records


def percent(value: float | None) -> float:
    return math.nan if value is None else 100 * value


def runs_table(applied: list[dict]) -> pd.DataFrame:
    """One row per (task, variant, seed, setting)."""
    rows, seen = [], set()
    for record in applied:
        key = (record["task"], record["variant"], record["seed"])
        if key in seen:
            raise ValueError(f"two apply records for task/variant/seed {key}")
        seen.add(key)
        for name, result in record["settings"].items():
            row = {"task": key[0], "num_classes": record["num_classes"], "variant": key[1], "seed": key[2]}
            row |= {"model": record.get("model"), "setting": name}
            row |= {f: result["setting"][f] for f in ("tau", "alpha", "iterations", "mode", "confusion")}
            row |= {"reference": result["setting"]["reference"], "k_used": result["k_used"]}
            row |= {f: percent(result[f]) for f in PERCENT} | {f: result[f] for f in COUNTS}
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(
        ["num_classes", "task", "variant", "setting", "seed"], kind="mergesort"
    ).reset_index(drop=True)


def sweep_table(sweeps: list[dict]) -> pd.DataFrame:
    """One row per (task, variant, seed): the chosen setting and the report half before/after."""
    rows = []
    for record in sweeps:
        split = record["split"]
        for variant, result in record["variants"].items():
            for run in result["runs"]:
                rows.append(
                    {"task": record["task"], "num_classes": record["num_classes"], "variant": variant}
                    | {"seed": run["seed"], **result["chosen"], "n_tune": split["n_tune"]}
                    | {"n_report": split["n_report"], "tune_accuracy": 100 * result["tune_accuracy"]}
                    | {"tune_accuracy_before": 100 * result["tune_accuracy_before"]}
                    | {k: 100 * run[k] for k in ("accuracy_before", "accuracy_tuned", "gain_tuned")}
                    | {k: 100 * run[k] for k in ("accuracy_default", "gain_default")}
                )
    return pd.DataFrame(rows)


def gain_intervals(frame: pd.DataFrame, gain: str, confidence: float) -> pd.DataFrame:
    """Per (task, variant): seeds, mean gain and its t-interval (NaN with fewer than two seeds)."""
    rows = []
    for (classes, task, variant), group in frame.groupby(["num_classes", "task", "variant"], sort=True):
        interval = t_interval(group[gain], confidence)
        rows.append(
            {"task": task, "num_classes": classes, "variant": variant, "n_seeds": len(group)}
            | {"seeds": " ".join(str(s) for s in sorted(group["seed"])), "gain": group[gain].mean()}
            | {"low": interval.low if interval else math.nan, "high": interval.high if interval else math.nan}
        )
    return pd.DataFrame(
        rows, columns=["task", "num_classes", "variant", "n_seeds", "seeds", "gain", "low", "high"]
    )
