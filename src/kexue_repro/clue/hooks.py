"""Where DropToken (a batch transform) and the MLM embedding correction (a model transform) plug in.

Both tools live in ``kexue_repro.bert`` (another branch); these two functions are the only place that binds
them, so the training loop sees plain callables:
- a batch transform ``f(batch, generator) -> batch``: ``batch`` holds the padded input_ids, attention_mask
  and token_type_ids of a training batch; the result is what the model gets (it may add position_ids, which
  BertForSequenceClassification accepts); ``generator`` is the run's seeded transform stream;
- a model transform ``g(model) -> None``: edits the loaded classifier in place (under no_grad).
"""

from __future__ import annotations

from kexue_repro.clue.data import BatchTransform
from kexue_repro.clue.model import ModelTransform


def drop_token_transform(rate: float) -> BatchTransform | None:
    """DropToken with share ``rate`` of the non-special tokens dropped, original position ids kept."""
    if rate == 0:
        return None
    raise ValueError(
        f"--drop-tokens {rate}: DropToken (kexue_repro.bert) is not wired into this build; use --drop-tokens 0"
    )


def embedding_correction_transform(name: str) -> ModelTransform | None:
    """The MLM-dropout correction of the input embeddings (``mlm``), or none."""
    if name == "none":
        return None
    raise ValueError(
        f"--embedding-correction {name}: the correction (kexue_repro.bert.mlm_correction) is not wired into "
        "this build; use --embedding-correction none"
    )
