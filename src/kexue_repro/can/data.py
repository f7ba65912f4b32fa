"""CAN's inputs, checked: one fine-tuning run's dev probabilities and run record, and its task's splits.

The prior is the label frequency of the task's training split; the gold labels are the dev split's, in the
order of the probability rows (kexue_repro.clue writes both in dev-file order).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass

import numpy as np

import kexue_repro.data.clue_records as clue_records
from kexue_repro.data.clue_records import check_labels, read_jsonl, read_num_labels


def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """The task a step reads (apply and sweep): its name and its prepared splits."""
    parser.add_argument("--task", required=True, help="the task's name")
    parser.add_argument(
        "--train", required=True, help="the task's train.jsonl: the prior is its label frequencies"
    )
    parser.add_argument(
        "--dev", required=True, help="the task's dev.jsonl: gold labels in probability-row order"
    )
    parser.add_argument("--meta", required=True, help="the task's meta.json (num_classes)")


@dataclass(frozen=True)
class Task:
    num_classes: int
    prior: np.ndarray  # training label frequencies
    labels: np.ndarray  # dev gold labels


def read_task(train: str | os.PathLike, dev: str | os.PathLike, meta: str | os.PathLike) -> Task:
    num_classes = read_num_labels(meta)
    splits = {}
    for path in (train, dev):
        records = read_jsonl(path)
        check_labels(records, num_classes, path)
        splits[path] = np.array([r.label for r in records])
    counts = np.bincount(splits[train], minlength=num_classes)
    return Task(num_classes, counts / counts.sum(), splits[dev])


def read_probabilities(path: str | os.PathLike, task: Task, row_sum_tolerance: float) -> np.ndarray:
    """The [n_dev, C] probabilities of a run; ValueError naming the file when they cannot be CAN's input."""
    probs = clue_records.read_probabilities(path).astype(np.float64)
    expected = (len(task.labels), task.num_classes)
    if probs.ndim != 2 or probs.size == 0 or probs.shape != expected:
        raise ValueError(
            f"{path}: shape {probs.shape}, expected {expected} (dev records x the meta.json num_classes)"
        )
    bad = ~np.isfinite(probs).all(axis=1) | (probs < 0).any(axis=1)
    if bad.any():
        raise ValueError(f"{path}: row {int(np.argmax(bad))} holds a NaN, infinite or negative probability")
    sums = probs.sum(axis=1)
    off = np.abs(sums - 1) > row_sum_tolerance
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(f"{path}: row {row} sums to {sums[row]:.9g}, not 1 within {row_sum_tolerance:g}")
    return probs


def read_run_record(path: str | os.PathLike, seed: int, n_dev: int) -> dict:
    """The fine-tuning run record beside the probabilities; it must be the same seed and dev size."""
    with open(path, encoding="utf-8") as fh:
        try:
            record = json.load(fh)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not JSON ({err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: expected a JSON object")
    for key, expected in (("seed", seed), ("n_dev", n_dev)):
        if record.get(key) != expected:
            raise ValueError(f"{path}: '{key}' is {record.get(key)!r}, expected {expected}")
    return record
