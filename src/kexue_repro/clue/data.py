"""Prepared splits (``kexue_repro.data.clue_records``) encoded as the post does: ``[CLS] text [SEP]`` or
``[CLS] text [SEP] text_pair [SEP]``, truncated to ``maxlen`` tokens (longest part first), every segment id 0,
padded per batch to that batch's longest sequence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch

from kexue_repro.data.clue_records import Record, check_labels, read_jsonl

# A batch transform (DropToken) gets the padded batch (input_ids, attention_mask, token_type_ids) and a
# seeded generator, and returns the batch the model sees (it may add position_ids).
BatchTransform = Callable[[dict[str, torch.Tensor], torch.Generator], dict[str, torch.Tensor]]


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


def encode_split(path: str | os.PathLike, tokenizer, maxlen: int, num_labels: int) -> Encoded:
    """A prepared split, its labels checked against the task's ``num_labels`` classes, encoded."""
    records = read_jsonl(path)
    check_labels(records, num_labels, path)
    return encode(records, tokenizer, maxlen)


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
