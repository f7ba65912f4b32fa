"""The CAN sweep of one task (``can.sweep``): tau x alpha x iterations tuned per variant on one half of dev,
reported on the other half.

Dev is split into two halves stratified by gold label (a seeded permutation within each class, rows dealt
alternately), the same halves for every run of a task. CAN runs on each half separately, so the report
half's probabilities (reference rows included) and its labels never touch the tuning half: tau, alpha and
iterations are chosen by accuracy on the tuning half, then applied to the report half once.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from kexue_repro.can import data
from kexue_repro.can.evaluate import CanConfig, Setting, outcome
from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build

SPLIT_METHOD = "stratified by gold label: seeded permutation within each class, rows dealt alternately"


@dataclass(frozen=True)
class SweepConfig(CanConfig):
    """The ``can.sweep`` settings, with what the sweep reads of ``can.apply`` (``CanConfig``): the named
    setting it tunes around, the reference seed and the row-sum tolerance."""

    setting: str  # a name in settings: fixes k, mode, confusion and reference; reported untuned beside
    taus: tuple[float, ...]
    alphas: tuple[float, ...]
    iterations: tuple[int, ...]
    split_seed: int  # the halves of dev (the same for every run of the task)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.setting not in self.settings:
            raise ValueError(
                f"can.sweep.setting: {self.setting!r} is not one of the settings {sorted(self.settings)}"
            )

    @property
    def base(self) -> Setting:
        return self.settings[self.setting]


def split_halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(tune, report) row indices, each sorted; per class the halves differ by at most one row."""
    rng = np.random.default_rng(seed)
    dealt = np.concatenate([rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)])
    return np.sort(dealt[0::2]), np.sort(dealt[1::2])


def grid_settings(base: Setting, taus, alphas, iterations) -> list[Setting]:
    """Every (tau, alpha, iterations), in that nesting order; k, mode, confusion and reference of ``base``."""
    return [
        replace(base, name=f"tau={t:g} alpha={a:g} iterations={i}", tau=t, alpha=a, iterations=i)
        for t, a, i in itertools.product(taus, alphas, iterations)
    ]


def sweep(
    runs: Sequence[tuple[str, int, np.ndarray]],
    labels: np.ndarray,
    prior: np.ndarray,
    base: Setting,
    grid: Sequence[Setting],
    halves: tuple[np.ndarray, np.ndarray],
    reference_seed: int,
) -> dict:
    """Per variant, the grid setting with the best mean tuning-half accuracy over its seeds (the first in
    grid order among equals), and every run's report-half accuracy before, after that setting and after
    ``base`` (the untuned defaults), with each report-half example's correctness before and after the chosen
    setting (``evaluate.bits``, in report-half order). ``halves`` are the (tune, report) row indices."""
    tune, report = halves
    variants: dict[str, dict] = {}
    for variant in dict.fromkeys(v for v, _, _ in runs):
        mine = [(seed, probs) for v, seed, probs in runs if v == variant]
        scores = np.array(
            [
                [outcome(p[tune], labels[tune], prior, s, reference_seed)["accuracy_after"] for _, p in mine]
                for s in grid
            ]
        )
        best = int(np.argmax(scores.mean(axis=1)))
        chosen = grid[best]
        rows = []
        for seed, probs in mine:
            held_out = (probs[report], labels[report], prior)
            tuned = outcome(*held_out, chosen, reference_seed)
            default = outcome(*held_out, base, reference_seed)
            rows.append(
                {"seed": seed, "accuracy_before": tuned["accuracy_before"]}
                | {"accuracy_tuned": tuned["accuracy_after"], "gain_tuned": tuned["gain"]}
                | {"accuracy_default": default["accuracy_after"], "gain_default": default["gain"]}
                | {"n_changed_tuned": tuned["n_changed"], "n_unconfident_tuned": tuned["n_unconfident"]}
                | {"correct_before": tuned["correct_before"], "correct_tuned": tuned["correct_after"]}
            )
        variants[variant] = {
            "chosen": {"tau": chosen.tau, "alpha": chosen.alpha, "iterations": chosen.iterations},
            "tune_accuracy": float(scores[best].mean()),
            "tune_accuracy_before": float(
                np.mean([(p[tune].argmax(1) == labels[tune]).mean() for _, p in mine])
            ),
            "grid": [
                {"tau": s.tau, "alpha": s.alpha, "iterations": s.iterations, "tune_accuracy": float(m)}
                for s, m in zip(grid, scores.mean(axis=1))
            ],
            "runs": rows,
        }
    return {
        "split": {"n_tune": len(tune), "n_report": len(report)},
        "base": base.as_dict(),
        "variants": variants,
    }


def read_runs(
    triples: Sequence[Sequence[str]], task: data.Task, row_sum_tolerance: float
) -> list[tuple[str, int, np.ndarray]]:
    """(variant, seed, probabilities) of each ``--probs VARIANT SEED NPY``."""
    runs, seen = [], set()
    for variant, seed, path in triples:
        try:
            key = (variant, int(seed))
        except ValueError:
            raise ValueError(f"--probs {variant} {seed} {path}: SEED must be an integer") from None
        if key in seen:
            raise ValueError(f"--probs {variant} {seed} is given twice")
        seen.add(key)
        runs.append((*key, data.read_probabilities(path, task, row_sum_tolerance)))
    return runs


def _main(args: argparse.Namespace) -> None:
    config = build(SweepConfig, args.settings, "can.sweep")
    task = data.read_task(args.train, args.dev, args.meta)
    runs = read_runs(args.probs, task, config.row_sum_tolerance)
    grid = grid_settings(config.base, config.taus, config.alphas, config.iterations)
    halves = split_halves(task.labels, config.split_seed)
    result = sweep(runs, task.labels, task.prior, config.base, grid, halves, config.reference_seed)
    result["split"] |= {"method": SPLIT_METHOD, "seed": config.split_seed}
    write_json(args.out, {"task": args.task, "num_classes": task.num_classes, "dev": str(args.dev)} | result)
    for variant, chosen in result["variants"].items():
        gains = [r["gain_tuned"] for r in chosen["runs"]]
        print(f"{args.out}: {variant}: chose {chosen['chosen']}, report-half gains {gains}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.can.sweep", __doc__, "can.sweep")
    data.add_task_arguments(parser)
    parser.add_argument(
        "--probs", nargs=3, action="append", required=True, metavar=("VARIANT", "SEED", "NPY"),
        help="one fine-tuning run of the task (repeatable)",
    )  # fmt: skip
    parser.add_argument("--out", required=True, help="the sweep record (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
