"""A synthetic classification task in the CLUE prepared format, and Dirichlet "fine-tuning runs" on it.

For tests, and for wiring the CAN rules before real fine-tuning runs exist: the task's files
(train.jsonl, dev.jsonl, meta.json) and, per (variant, seed), the dev probabilities (.npy) with a run record
(.json) at the paths kexue_repro.clue writes. Class frequencies are skewed (a seeded Dirichlet); each dev
row's probabilities are a Dirichlet draw whose concentration is raised on one class, the gold one with
probability ``hit_rate`` and otherwise a class drawn uniformly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from kexue_repro.common.atomic import atomic_path, write_json
from kexue_repro.data.clue_prepare import write_jsonl


def task_labels(num_classes: int, n_train: int, n_dev: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0])
    frequencies = rng.dirichlet(np.full(num_classes, 2.0))
    return rng.choice(num_classes, n_train, p=frequencies), rng.choice(num_classes, n_dev, p=frequencies)


def run_probabilities(
    labels: np.ndarray,
    num_classes: int,
    concentration: float,
    boost: float,
    hit_rate: float,
    seed: Sequence[int],
) -> np.ndarray:
    rng = np.random.default_rng([*seed, 1])
    favoured = np.where(
        rng.random(len(labels)) < hit_rate, labels, rng.integers(num_classes, size=len(labels))
    )
    alphas = np.full((len(labels), num_classes), concentration)
    alphas[np.arange(len(labels)), favoured] += boost
    return np.stack([rng.dirichlet(a) for a in alphas])


def write_task(
    task_dir: str | os.PathLike, task: str, num_classes: int, train: np.ndarray, dev: np.ndarray
) -> None:
    out = Path(task_dir)
    for split, labels in (("train", train), ("dev", dev)):
        write_jsonl(
            out / f"{split}.jsonl",
            (
                {"text": f"{task} {split} {i}", "text_pair": None, "label": int(y)}
                for i, y in enumerate(labels)
            ),
        )
    write_json(
        out / "meta.json",
        {"task": task, "num_classes": num_classes, "counts": {"train": len(train), "dev": len(dev)}}
        | {"notes": ["synthetic task (kexue_repro.can.synthetic)"]},
    )


def write_run(runs_dir: str | os.PathLike, task: str, variant: str, seed: int, probs: np.ndarray) -> None:
    stem = Path(runs_dir) / task / variant / f"seed{seed}"
    with atomic_path(stem.with_suffix(".npy")) as tmp, open(tmp, "wb") as fh:
        np.save(fh, probs)
    write_json(
        stem.with_suffix(".json"),
        {"task": task, "variant": variant, "seed": seed, "n_dev": len(probs), "synthetic": True}
        | {"config": {"model": "synthetic-dirichlet"}, "probabilities": str(stem.with_suffix(".npy"))},
    )


def write_synthetic(
    task_dir: str | os.PathLike,
    runs_dir: str | os.PathLike,
    task: str,
    num_classes: int,
    n_train: int,
    n_dev: int,
    variants: Sequence[str],
    seeds: Sequence[int],
    concentration: float,
    boost: float,
    hit_rate: float,
    seed: int,
) -> None:
    if (
        num_classes < 2
        or min(n_train, n_dev) < 1
        or concentration <= 0
        or boost < 0
        or not 0 <= hit_rate <= 1
    ):
        raise ValueError(
            "need num_classes >= 2, n_train, n_dev >= 1, concentration > 0, boost >= 0, hit_rate in [0, 1]"
        )
    train, dev = task_labels(num_classes, n_train, n_dev, seed)
    write_task(task_dir, task, num_classes, train, dev)
    for index, variant in enumerate(variants):
        for run_seed in seeds:
            probs = run_probabilities(
                dev, num_classes, concentration, boost, hit_rate, (seed, index, run_seed)
            )
            write_run(runs_dir, task, variant, run_seed, probs)
