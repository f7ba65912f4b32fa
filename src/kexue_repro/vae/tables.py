"""The VAE study's tables, from the evaluation records: bounds per run, their summary over seeds, active
units, and paired (same seed) differences between models."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kexue_repro.common.stats import Interval, t_interval

BOUND_FIELDS = ["k_train", "seed", "k_eval", "n_eval", "mean", "std", "sem", "epochs", "schedule"]
SUMMARY_FIELDS = ["k_train", "k_eval", "n_seeds", "mean", "ci_low", "ci_high", "min", "max"]
ACTIVE_FIELDS = ["k_train", "seed", "active_units", "latent", "active_threshold"]
COMPARISON_FIELDS = ["comparison", "k_eval", "n_seeds", "seeds", "differences", "mean", "ci_low", "ci_high"]


def read_evals(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    records, seen = [], {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
        record["path"] = str(path)
        key = (record["k_train"], record["train_seed"])
        if key in seen:
            raise ValueError(f"{path} and {seen[key]} both evaluate k_train={key[0]}, seed={key[1]}")
        seen[key] = path
        records.append(record)
    return records


def bounds_table(evals: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        {"k_train": e["k_train"], "seed": e["train_seed"], "k_eval": int(k), "n_eval": e["n_eval"]}
        | summary
        | {"epochs": e["epochs"], "schedule": e["schedule"]}
        for e in evals
        for k, summary in e["bounds"].items()
    ]
    frame = pd.DataFrame(rows, columns=BOUND_FIELDS)
    return frame.sort_values(["k_train", "seed", "k_eval"], kind="mergesort").reset_index(drop=True)


def summary_table(bounds: pd.DataFrame, confidence: float) -> pd.DataFrame:
    rows = []
    for (k_train, k_eval), group in bounds.groupby(["k_train", "k_eval"], sort=True):
        interval = t_interval(group["mean"], confidence)
        rows.append(
            {
                "k_train": k_train,
                "k_eval": k_eval,
                "n_seeds": len(group),
                "mean": group["mean"].mean(),
                "ci_low": interval.low if interval else math.nan,
                "ci_high": interval.high if interval else math.nan,
                "min": group["mean"].min(),
                "max": group["mean"].max(),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_FIELDS)


def active_units_table(evals: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        {"k_train": e["k_train"], "seed": e["train_seed"]} | {f: e[f] for f in ACTIVE_FIELDS[2:]}
        for e in evals
    ]
    return pd.DataFrame(rows, columns=ACTIVE_FIELDS).sort_values(["k_train", "seed"], kind="mergesort")


def paired_values(bounds: pd.DataFrame, k_a: int, k_b: int, k_eval: int) -> tuple[list[int], list[float]]:
    """The seeds both models have at ``k_eval`` and, per seed, L_{k_eval} of model k_a minus that of k_b."""
    by_seed = {
        k: bounds[(bounds["k_train"] == k) & (bounds["k_eval"] == k_eval)].set_index("seed")["mean"]
        for k in (k_a, k_b)
    }
    seeds = sorted(int(s) for s in set(by_seed[k_a].index) & set(by_seed[k_b].index))
    return seeds, [float(by_seed[k_a][s] - by_seed[k_b][s]) for s in seeds]


def paired_difference(
    bounds: pd.DataFrame, k_a: int, k_b: int, k_eval: int, confidence: float
) -> tuple[dict[str, Any], Interval | None]:
    """L_{k_eval} of the model trained with k_a minus that of k_b, per seed both have, and its t-interval."""
    seeds, differences = paired_values(bounds, k_a, k_b, k_eval)
    interval = t_interval(differences, confidence)
    row = {
        "comparison": f"k{k_a}-k{k_b}",
        "k_eval": k_eval,
        "n_seeds": len(seeds),
        "seeds": " ".join(str(s) for s in seeds),
        "differences": " ".join(f"{d:.4f}" for d in differences),
        "mean": float(np.mean(differences)) if differences else math.nan,
        "ci_low": interval.low if interval else math.nan,
        "ci_high": interval.high if interval else math.nan,
    }
    return row, interval
