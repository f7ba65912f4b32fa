"""The models and losses of the four tasks, as in the post's code (bojone/CLUE-bert4keras src/<task>.py).

- ``SpanModel`` (CLUENER, CMRC2018): BERT's last hidden states into ``GlobalPointer(heads, head_size = hidden /
  attention heads, no bias)``, one head per entity type (ner) or one head (span). For CMRC2018 the pointer's
  mask is the span mask (the post's ``CustomMasking``: [CLS] and the context tokens), BERT's attention mask
  the padding.
- ``ChoiceModel`` (C3, CHID): transformers' ``BertForMultipleChoice``, one score per (question, choice)
  sequence and a softmax over the choices. Its head is HF's pooler (dense + tanh on [CLS]), dropout and
  Dense(1); the post puts Dense(1) on the [CLS] vector itself: the pooler is the one difference (as
  ``kexue_repro.clue.model`` says for classification).

Losses (float32 from the logits): ner Su's multilabel categorical cross-entropy over the flattened
(start, end) pairs, averaged over batch and heads; span the softmax cross-entropy over all (start, end)
pairs of the window; choice and chid the cross-entropy over the choices.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertForMultipleChoice, BertModel
from transformers.utils import logging as hf_logging

from kexue_repro.clue.global_pointer import GlobalPointer, multilabel_categorical_crossentropy


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """The "newly initialized" and "unused weights" notices are expected when a head is added."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


class SpanModel(nn.Module):
    """Span logits [batch, heads, n, n] (start, end)."""

    def __init__(self, path_or_name: str, heads: int):
        super().__init__()
        with quiet_loading():
            self.bert = BertModel.from_pretrained(path_or_name, add_pooling_layer=False)
        config = self.bert.config
        head_size = config.hidden_size // config.num_attention_heads
        self.pointer = GlobalPointer(config.hidden_size, heads, head_size)
        nn.init.normal_(
            self.pointer.dense.weight, std=config.initializer_range
        )  # the post: BERT's initializer

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        span_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self.pointer(hidden, attention_mask if span_mask is None else span_mask)


class ChoiceModel(BertForMultipleChoice):
    """``BertForMultipleChoice`` whose forward returns the logits [batch, choices]."""

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        return super().forward(**inputs).logits


def build_model(kind: str, path_or_name: str, heads: int) -> nn.Module:
    """The pretrained encoder with a fresh head (drawn from torch's global RNG: seed first)."""
    if kind in ("ner", "span"):
        return SpanModel(path_or_name, heads if kind == "ner" else 1)
    with quiet_loading():
        return ChoiceModel.from_pretrained(path_or_name)


def ner_loss(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """logits [b, heads, n, n]; positives [b, heads, P]: the entities' ``start * n + end``, padded with 0."""
    batch, heads, n, _ = logits.shape
    flat = logits.float().reshape(batch, heads, n * n)
    return multilabel_categorical_crossentropy(flat, positives).mean()


def span_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits [b, 1, n, n]; targets [b, 2] (start, end): one class per pair of the window."""
    n = logits.shape[-1]
    return F.cross_entropy(logits.float().reshape(len(logits), -1), targets[:, 0] * n + targets[:, 1])


def choice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), labels)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "ner": ner_loss,
    "span": span_loss,
    "choice": choice_loss,
    "chid": choice_loss,
}
