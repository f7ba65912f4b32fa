"""A small synthetic CLUE-format task with seeded Dirichlet "fine-tuning runs", written to a folder, and the
command lines of the CAN steps on it, for the CAN tests.

The task's files (train.jsonl, dev.jsonl, meta.json) and, per (variant, seed), the dev probabilities (.npy)
with a run record (.json) at the paths kexue_repro.clue writes. Class frequencies are skewed (a seeded
Dirichlet); each dev row's probabilities are a Dirichlet draw whose concentration is raised on one class, the
gold one with probability ``hit_rate`` and otherwise a class drawn uniformly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from kexue_repro.common.atomic import atomic_path, write_json
from kexue_repro.data.clue_prepare import write_jsonl

TASK, CLASSES, VARIANTS, SEEDS = "toy", 6, ("vanilla", "other"), (0, 1, 2)
# Two settings of can.apply.settings (params.yaml): the post's and the official code's options.
POST = {"k": 3, "tau": 0.9, "alpha": 1.0, "iterations": 1, "mode": "per_sample", "confusion": "topk"}
POST |= {"reference": "all"}
OFFICIAL = POST | {"confusion": "any_k", "reference": "stratified"}
APPLY = {"settings": {"post": POST, "official": OFFICIAL}, "reference_seed": 0, "row_sum_tolerance": 1e-6}
# The sweep's settings as kexue_repro.can.plan hands them over: apply's, narrowed to the named setting.
SWEEP = {"settings": {"post": POST}, "reference_seed": 0, "row_sum_tolerance": 1e-6, "setting": "post"}
SWEEP |= {"taus": [0.6, 0.9], "alphas": [1.0, 2.0], "iterations": [1, 2], "split_seed": 0}
CLAIMS = {"setting": "post", "baseline_variant": "vanilla", "anchor_model": "BERT-base", "confidence": 0.95}


def synthetic_task(root: Path, n_dev: int = 300, classes: int = CLASSES) -> dict[str, Path]:
    task_dir, runs_dir = root / "task", root / "runs"
    write_synthetic(task_dir, runs_dir, TASK, classes, 400, n_dev, VARIANTS, SEEDS, 0.5, 3.0, 0.6, seed=0)
    return {"task": task_dir, "runs": runs_dir / TASK}


def task_args(paths: dict[str, Path]) -> list[str]:
    t = paths["task"]
    return ["--task", TASK, "--train", str(t / "train.jsonl"), "--dev", str(t / "dev.jsonl")] + [
        "--meta", str(t / "meta.json")
    ]  # fmt: skip


def apply_args(
    paths: dict[str, Path], variant: str, seed: int, out: Path, settings: dict = APPLY
) -> list[str]:
    """The command line of ``python -m kexue_repro.can.apply`` on one synthetic run."""
    stem = paths["runs"] / variant / f"seed{seed}"
    return ["--settings", json.dumps(settings), *task_args(paths), "--variant", variant, "--seed", str(seed)] + [
        "--probs", f"{stem}.npy", "--run-record", f"{stem}.json", "--out", str(out)
    ]  # fmt: skip


def sweep_args(paths: dict[str, Path], out: Path, settings: dict = SWEEP) -> list[str]:
    """The command line of ``python -m kexue_repro.can.sweep`` on every synthetic run."""
    probs = [
        a
        for v in VARIANTS
        for s in SEEDS
        for a in ("--probs", v, str(s), str(paths["runs"] / v / f"seed{s}.npy"))
    ]
    return ["--settings", json.dumps(settings), *task_args(paths), *probs, "--out", str(out)]


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
