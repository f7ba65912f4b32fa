"""Prepared splits of a classification task: one ``{"text", "text_pair", "label"}`` JSON record a line
(``data/processed/clue/<task>/{train,dev}.jsonl``) and the task's ``meta.json``, and a fine-tuning run's dev
probabilities (``results/clue/runs/<task>/<variant>/seed<seed>.npy``), read and checked without torch, for
the fine-tuning and for CAN's post-processing alike."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from kexue_repro.common.atomic import atomic_path


@dataclass(frozen=True)
class Record:
    text: str
    text_pair: str | None
    label: int


def _record(raw: object, where: str) -> Record:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    text, pair, label = raw.get("text"), raw.get("text_pair"), raw.get("label")
    if not isinstance(text, str):
        raise ValueError(f"{where}: 'text' must be a string")
    if pair is not None and not isinstance(pair, str):
        raise ValueError(f"{where}: 'text_pair' must be a string or null")
    if isinstance(label, bool) or not isinstance(label, int) or label < 0:
        raise ValueError(f"{where}: 'label' must be a non-negative integer, got {label!r}")
    return Record(text, pair, label)


def _json_lines(path: str | os.PathLike) -> list[tuple[str, object]]:
    """(``file:line``, parsed JSON) of each non-blank line; a line that is not JSON raises ValueError naming it."""
    parsed = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    parsed.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{number}: not JSON ({err.msg})") from None
    if not parsed:
        raise ValueError(f"{path}: no records")
    return parsed


def read_jsonl(path: str | os.PathLike) -> list[Record]:
    """All records of a classification split; a malformed line raises ValueError naming the file and line."""
    return [_record(raw, where) for where, raw in _json_lines(path)]


def read_json_objects(path: str | os.PathLike) -> list[dict]:
    """Every JSON object of a prepared split of any task's layout (the reading-comprehension and NER tasks')."""
    for where, raw in (lines := _json_lines(path)):
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    return [raw for _, raw in lines]


def read_num_labels(meta_path: str | os.PathLike) -> int:
    """The number of classes from a prepared task's meta.json (``num_labels``, or ``num_classes``)."""
    with open(meta_path, encoding="utf-8") as fh:
        meta = json.load(fh)
    for key in ("num_labels", "num_classes"):
        if isinstance(meta.get(key), int) and meta[key] >= 2:
            return meta[key]
    raise KeyError(f"{meta_path}: no integer 'num_labels' (or 'num_classes') >= 2")


def check_labels(records: Sequence[Record], num_labels: int, source: str | os.PathLike) -> None:
    for index, record in enumerate(records):
        if record.label >= num_labels:
            raise ValueError(
                f"{source}: record {index + 1} has label {record.label} >= num_labels {num_labels}"
            )


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_probabilities(path: str | os.PathLike, probs: np.ndarray) -> None:
    """A run's dev probabilities [n_dev, C] (rows in dev order), written atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, probs)


def read_probabilities(path: str | os.PathLike) -> np.ndarray:
    """A run's dev probabilities [n_dev, C]; an empty, truncated or foreign file is a ValueError naming it."""
    try:
        probs = np.load(path, allow_pickle=False)
    except (EOFError, ValueError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"{path}: not a .npy array of dev probabilities ({reason})") from None
    if not isinstance(probs, np.ndarray):  # an .npz archive
        probs.close()
        raise ValueError(f"{path}: not a .npy array of dev probabilities (an .npz archive)")
    if probs.ndim != 2 or probs.dtype.kind not in "fiu":
        raise ValueError(
            f"{path}: not a .npy array of dev probabilities (shape {probs.shape}, dtype {probs.dtype}; "
            "expected [n_dev, classes] numbers)"
        )
    return probs
