"""DropToken (study 8770) as a fine-tuning collator: drop a share of the input tokens, keep their positions.

Each non-special token of each sequence is dropped independently with probability ``rate`` (a seeded
generator; [UNK] counts as an ordinary token: it stands for a word of the text); the kept tokens stay in order and keep their ORIGINAL position ids, so the model sees the
sentence with holes rather than a shifted one, in a shorter (cheaper) sequence. Special tokens ([CLS],
[SEP], ...) are never dropped and padding is added after dropping. The batch carries ``position_ids``
(BERT takes them), and ``rate = 0`` gives the plain padded batch with position ids 0..n-1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from transformers import PreTrainedTokenizerBase

SEQUENCE_KEYS = ("input_ids", "token_type_ids", "attention_mask")


@dataclass
class DropTokenCollator:
    tokenizer: PreTrainedTokenizerBase
    rate: float
    seed: int
    generator: torch.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rate < 1:
            raise ValueError(f"DropToken rate must be in [0, 1), got {self.rate}")
        self.generator = torch.Generator().manual_seed(self.seed)

    def _drop(self, feature: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
        ids = list(feature["input_ids"])
        special = set(self.tokenizer.all_special_ids) - {self.tokenizer.unk_token_id}
        draws = torch.rand(len(ids), generator=self.generator)
        keep = [i for i, token in enumerate(ids) if token in special or draws[i] >= self.rate]
        kept = {k: v for k, v in feature.items() if k not in SEQUENCE_KEYS}
        for key in SEQUENCE_KEYS:
            if key in feature:
                kept[key] = [feature[key][i] for i in keep]
        return kept, keep

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        dropped, positions = zip(*(self._drop(dict(f)) for f in features))
        batch = self.tokenizer.pad(list(dropped), return_tensors="pt")
        width = batch["input_ids"].shape[1]
        # Padding slots get their column index: below every model's position limit, and r = 0 gives 0..n-1.
        position_ids = torch.arange(width).repeat(len(positions), 1)
        for row, kept in enumerate(positions):
            start = width - len(kept) if self.tokenizer.padding_side == "left" else 0
            position_ids[row, start : start + len(kept)] = torch.tensor(kept, dtype=torch.long)
        batch["position_ids"] = position_ids
        return dict(batch)
