"""The CLUE studies' tables from the run records, their dev predictions and the update-size measurements:
runs, the summary per task and variant, paired effects, the tiny model's update sizes per step and the
step-size toy's drifts. Accuracies are in percent (the anchors' unit).
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

import kexue_repro.data.clue_records as clue_records
from kexue_repro.common.stats import t_interval


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_")


def read_runs(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per run record: task, variant, seed, best epoch and accuracy (no timings: they are not in the
    records)."""
    rows, seen = [], {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            run = json.load(fh)
        try:
            key = (run["task"], run["variant"], int(run["seed"]))
            row = {"task": key[0], "variant": key[1], "seed": key[2]}
            row |= {"best_epoch": run["best_epoch"], "accuracy": 100 * float(run["best_dev_accuracy"])}
        except KeyError as err:
            raise KeyError(f"{path}: run record lacks {err}") from None
        if key in seen:
            raise ValueError(f"{path} and {seen[key]} both hold task/variant/seed {key}")
        seen[key] = path
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(["task", "variant", "seed"], kind="mergesort").reset_index(drop=True)


def read_correct(
    run_paths: Sequence[str | os.PathLike],
    probs_paths: Sequence[str | os.PathLike],
    dev_paths: Sequence[str | os.PathLike],
) -> tuple[dict[tuple[str, str, int], np.ndarray], dict[tuple[str, str, int], str]]:
    """Per (task, variant, seed): which dev examples the run's best epoch got right (its saved probabilities'
    argmax against the dev labels, in dev order), and the dev file. ``probs_paths`` pair with ``run_paths``;
    each run record names its dev file, which must be one of ``dev_paths``."""
    if len(run_paths) != len(probs_paths):
        raise ValueError(f"{len(run_paths)} run records but {len(probs_paths)} probability files")
    labels = {os.path.normpath(d): np.array([r.label for r in clue_records.read_jsonl(d)]) for d in dev_paths}
    correct, dev_of = {}, {}
    for run_path, probs_path in zip(run_paths, probs_paths):
        with open(run_path, encoding="utf-8") as fh:
            run = json.load(fh)
        dev = os.path.normpath(run["dev"])
        if dev not in labels:
            raise ValueError(f"{run_path}: its dev file {run['dev']} is not among --dev")
        probs = clue_records.read_probabilities(probs_path)
        if probs.shape[0] != len(labels[dev]):
            raise ValueError(
                f"{probs_path}: {probs.shape[0]} rows for the {len(labels[dev])} records of {dev}"
            )
        right = probs.argmax(axis=1) == labels[dev]
        if not math.isclose(float(right.mean()), float(run["best_dev_accuracy"]), abs_tol=1e-12):
            raise ValueError(
                f"{probs_path}: accuracy {right.mean():.6f} is not the run's {run['best_dev_accuracy']}"
            )
        key = (run["task"], run["variant"], int(run["seed"]))
        correct[key], dev_of[key] = right, dev
    return correct, dev_of


def majority_share(dev_paths: Sequence[str | os.PathLike]) -> dict[str, float]:
    """Per dev file: the share of its most frequent label (the best a constant prediction scores)."""
    out = {}
    for path in dev_paths:
        counts = np.bincount([r.label for r in clue_records.read_jsonl(path)])
        out[os.path.normpath(path)] = float(counts.max() / counts.sum())
    return out


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
    """Per seed and step of the tiny-model measurement: update norm ratios and the shares moved."""
    rows = []
    for r in records:
        m = r["model"]
        for step in range(m["steps"]):
            rows.append(
                {"seed": r["seed"], "step": step + 1, "ratio_f": m["ratio_f"][step]}
                | {"ratio_incre": m["ratio_incre"][step]}
                | {f"moved_{name}": m["runs"][name]["moved_share"][step] for name in m["runs"]}
                | {
                    "dropped_f": m["runs"]["childtuning-f"]["dropped"][step],
                    "dropped_moved_f": m["runs"]["childtuning-f"]["dropped_moved"][step],
                    "moved_outside_mask_incre": m["runs"]["incre-drop"]["moved_outside_mask"][step],
                }
            )
    return pd.DataFrame(rows)


def toy_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per seed and stream of the step-size toy: the drifts and F's over vanilla's, also over sqrt(p)."""
    rows = []
    for r in records:
        toy = r["toy"]
        for row, ratio in enumerate(toy["drift_ratio_f"]):
            rows.append(
                {
                    "seed": r["seed"],
                    "stream": row,
                    "steps": toy["steps"],
                    "burn_in_steps": toy["burn_in_steps"],
                }
                | {f"drift_{name}": values[row] for name, values in toy["drift"].items()}
                | {"drift_ratio_f": ratio, "over_sqrt_p": ratio / r["sqrt_p"]}
            )
    return pd.DataFrame(rows)
