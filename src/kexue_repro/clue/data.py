"""Prepared splits (jsonl, one ``{"text", "text_pair", "label"}`` record a line) read, checked and encoded
as the post does: ``[CLS] text [SEP]`` or ``[CLS] text [SEP] text_pair [SEP]``, truncated to ``maxlen``
tokens (longest part first), every segment id 0, padded per batch to that batch's longest sequence.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

# A batch transform (DropToken) gets the padded batch (input_ids, attention_mask, token_type_ids) and a
# seeded generator, and returns the batch the model sees (it may add position_ids).
BatchTransform = Callable[[dict[str, torch.Tensor], torch.Generator], dict[str, torch.Tensor]]


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


def read_jsonl(path: str | os.PathLike) -> list[Record]:
    """All records of a split; a malformed line raises ValueError naming the file and the line."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not JSON ({err.msg})") from None
            records.append(_record(raw, where))
    if not records:
        raise ValueError(f"{path}: no records")
    return records


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


@dataclass(frozen=True)
class Encoded:
    """Token ids of every record (unpadded, [CLS] ... [SEP]) and the labels, in file order."""

    input_ids: list[list[int]]
    labels: torch.Tensor
    pad_id: int

    def __len__(self) -> int:
        return len(self.input_ids)


def encode(records: Sequence[Record], tokenizer, maxlen: int) -> Encoded:
    """Tokenize with the (fast) tokenizer: single sentences and pairs each in one batched call."""
    if maxlen < 3:
        raise ValueError(f"maxlen {maxlen} leaves no room for text between [CLS] and [SEP]")
    ids: list[list[int] | None] = [None] * len(records)
    singles = [i for i, r in enumerate(records) if r.text_pair is None]
    pairs = [i for i, r in enumerate(records) if r.text_pair is not None]
    for group, with_pair in ((singles, False), (pairs, True)):
        if not group:
            continue
        texts = [records[i].text for i in group]
        second = [records[i].text_pair for i in group] if with_pair else None
        out = tokenizer(texts, second, truncation=True, max_length=maxlen, return_token_type_ids=False)
        for i, token_ids in zip(group, out["input_ids"]):
            ids[i] = token_ids
    labels = torch.tensor([r.label for r in records], dtype=torch.long)
    return Encoded(ids, labels, tokenizer.pad_token_id)


def collate(data: Encoded, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """Right-padded batch of the given records; token_type_ids all 0 (the post's segment ids)."""
    rows = [data.input_ids[i] for i in indices]
    width = max(len(row) for row in rows)
    input_ids = torch.tensor([row + [data.pad_id] * (width - len(row)) for row in rows], dtype=torch.long)
    attention_mask = torch.tensor(
        [[1] * len(row) + [0] * (width - len(row)) for row in rows], dtype=torch.long
    )
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": torch.zeros_like(input_ids),
        "labels": data.labels[list(indices)],
    }


def batches(
    data: Encoded,
    batch_size: int,
    order: torch.Tensor | None = None,
    transform: BatchTransform | None = None,
    generator: torch.Generator | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Batches in ``order`` (default: file order), the last one possibly smaller; ``transform`` (with
    ``generator``) applied to each padded batch, labels kept aside."""
    indices = order.tolist() if order is not None else list(range(len(data)))
    for first in range(0, len(indices), batch_size):
        batch = collate(data, indices[first : first + batch_size])
        if transform is not None:
            labels = batch.pop("labels")
            batch = transform(batch, generator) | {"labels": labels}
        yield batch
