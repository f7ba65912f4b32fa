"""Where DropToken (a batch transform) and the MLM embedding correction (a model transform) plug in.

Both tools live in ``kexue_repro.bert``; these two functions are the only place that binds them, so the
training loop sees plain callables:
- a batch transform ``f(batch, generator) -> batch``: ``batch`` holds the padded input_ids, attention_mask
  and token_type_ids of a training batch; the result is what the model gets (DropToken adds position_ids,
  which BertForSequenceClassification accepts); ``generator`` is the run's seeded transform stream, so the
  drops are resumable and the same for every variant with the same seed;
- a model transform ``g(model) -> None``: edits the loaded classifier in place (under no_grad).
"""

from __future__ import annotations

import torch

from kexue_repro.clue.data import BatchTransform
from kexue_repro.clue.droptoken import SEQUENCE_KEYS, DropTokenCollator
from kexue_repro.clue.mlm_correction import mlm_embedding_correction
from kexue_repro.clue.model import ModelTransform


def drop_token_transform(rate: float, tokenizer) -> BatchTransform | None:
    """DropToken with share ``rate`` of the non-special tokens dropped, original position ids kept."""
    if rate == 0:
        return None
    collator = DropTokenCollator(tokenizer, rate, seed=0)  # its own generator is replaced by the run's

    def transform(batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        collator.generator = generator
        keys = [key for key in SEQUENCE_KEYS if key in batch]
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        features = [{key: batch[key][row, :n].tolist() for key in keys} for row, n in enumerate(lengths)]
        return collator(features)

    return transform


def embedding_correction_transform(name: str, tokenizer) -> ModelTransform | None:
    """The MLM-dropout correction of the input embeddings (``mlm``: BERT's 15% and 80/10/10, every row as the
    post writes it), or none."""
    if name == "none":
        return None
    if name != "mlm":
        raise ValueError(f"embedding_correction {name}: unknown correction (none | mlm)")
    if tokenizer.mask_token_id is None:
        raise ValueError("embedding_correction mlm: the tokenizer has no [MASK] token")
    mask_id = tokenizer.mask_token_id

    def transform(model: torch.nn.Module) -> None:
        mlm_embedding_correction(model, mask_id)

    return transform
