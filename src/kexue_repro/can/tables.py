"""The tables of study 8728 (CAN) from the apply and sweep records: one row per run and setting, one per swept
run, one per run with its training gate, and the gains per task and variant. Accuracies and gains are in
percent (the anchors' unit).

A gain is a per-example contrast on the same dev examples: each fine-tuning run scores every example before and
after CAN. The gains tables give, per task and variant, the pooled accuracy difference over the variant's seeds
with the stratified exact McNemar test of common.inference.paired_predictions (each seed a stratum) and its
interval; that p-value is descriptive (unadjusted, no claim): the claims pool every variant of a task.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from kexue_repro.can.evaluate import from_bits
from kexue_repro.common.inference import Judgement, paired_predictions

FLOAT_FORMAT = "%.8g"
PERCENT = ("accuracy_before", "accuracy_after", "gain", "accuracy_confident", "accuracy_unconfident")
PERCENT += ("accuracy_unconfident_after",)
COUNTS = ("n", "n_confident", "n_unconfident", "n_reference", "n_changed")
COUNTS += ("wrong_to_right", "right_to_wrong", "wrong_to_wrong")
GAIN_COLUMNS = ["task", "num_classes", "variant", "n_seeds", "seeds", "n_examples", "wrong_to_right"]
GAIN_COLUMNS += ["right_to_wrong", "gain", "low", "high", "p_descriptive"]


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


def trained_table(applied: list[dict], alpha: float) -> pd.DataFrame:
    """The training gate, one row per run: its dev accuracy before CAN against the trivial classifier's (the
    training majority class), by scipy's exact one-sided binomial test over the dev examples; a run trained if
    p < alpha. Runs that did not train decide no claim."""
    rows = []
    for record in applied:
        right = from_bits(next(iter(record["settings"].values()))["correct_before"])
        trivial = record["accuracy_trivial"]
        p = stats.binomtest(int(right.sum()), len(right), trivial, alternative="greater").pvalue
        rows.append(
            {"task": record["task"], "num_classes": record["num_classes"], "variant": record["variant"]}
            | {"seed": record["seed"], "n": len(right), "accuracy_before": 100 * float(right.mean())}
            | {"accuracy_trivial": 100 * trivial, "p_binomial": float(p), "trained": bool(p < alpha)}
        )
    return pd.DataFrame(rows).sort_values(["num_classes", "task", "variant", "seed"]).reset_index(drop=True)


@dataclass(frozen=True)
class Paired:
    """One run's per-example correctness before and after CAN (on all of dev, or on the report half)."""

    task: str
    num_classes: int
    variant: str
    seed: int
    before: np.ndarray
    after: np.ndarray

    @property
    def gain(self) -> float:
        """Accuracy after - before, points."""
        return 100 * float(self.after.mean() - self.before.mean())


def applied_pairs(applied: list[dict], setting: str) -> list[Paired]:
    """Each run's correctness before and after the named apply setting."""
    return [
        Paired(
            r["task"],
            r["num_classes"],
            r["variant"],
            r["seed"],
            from_bits(r["settings"][setting]["correct_before"]),
            from_bits(r["settings"][setting]["correct_after"]),
        )  # fmt: skip
        for r in applied
    ]


def sweep_pairs(sweeps: list[dict]) -> list[Paired]:
    """Each run's correctness on the report half before and after its variant's tuned setting."""
    return [
        Paired(
            record["task"],
            record["num_classes"],
            variant,
            run["seed"],
            from_bits(run["correct_before"]),
            from_bits(run["correct_tuned"]),
        )  # fmt: skip
        for record in sweeps
        for variant, result in record["variants"].items()
        for run in result["runs"]
    ]


def judge_pairs(pairs: Sequence[Paired], alpha: float) -> Judgement:
    """CAN right on more examples than without it: the stratified exact McNemar test, each run a stratum."""
    return paired_predictions(
        [p.after for p in pairs], [p.before for p in pairs], alpha, strata="runs", points=True
    )


def gain_table(pairs: Sequence[Paired], alpha: float) -> pd.DataFrame:
    """Per (task, variant): seeds, examples, changed outcomes, pooled accuracy difference (points) with its
    interval and the unadjusted McNemar p-value (descriptive; NaN where no example changed)."""
    rows = []
    keys = sorted({(p.num_classes, p.task, p.variant) for p in pairs})
    for classes, task, variant in keys:
        mine = sorted((p for p in pairs if (p.task, p.variant) == (task, variant)), key=lambda p: p.seed)
        judged = judge_pairs(mine, alpha)
        low, high = judged.interval if judged.interval else (math.nan, math.nan)
        rows.append(
            {"task": task, "num_classes": classes, "variant": variant, "n_seeds": len(mine)}
            | {"seeds": " ".join(str(p.seed) for p in mine), "n_examples": sum(len(p.before) for p in mine)}
            | {"wrong_to_right": int(sum((p.after & ~p.before).sum() for p in mine))}
            | {"right_to_wrong": int(sum((~p.after & p.before).sum() for p in mine))}
            | {"gain": float(np.mean([p.gain for p in mine])), "low": low, "high": high}
            | {"p_descriptive": math.nan if judged.p_value is None else judged.p_value}
        )
    return pd.DataFrame(rows, columns=GAIN_COLUMNS)
