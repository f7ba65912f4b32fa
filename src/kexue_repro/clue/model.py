"""The classifier: Hugging Face ``BertForSequenceClassification`` on a local folder or hub name.

Head: HF's pooler (dense + tanh on the [CLS] vector), dropout, then a linear layer to the classes (the post
feeds the [CLS] vector straight to a softmax Dense layer; HF's pooler is the one difference). A model
transform (the MLM embedding correction) is applied in place right after loading.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

import torch
from torch import nn
from transformers import AutoTokenizer, BertForSequenceClassification
from transformers.utils import logging as hf_logging

ModelTransform = Callable[[nn.Module], None]
_ENCODER_LAYER = re.compile(r"(^|\.)encoder\.layer\.\d+\.")


def load_tokenizer(path_or_name: str):
    tokenizer = AutoTokenizer.from_pretrained(path_or_name)
    if not tokenizer.is_fast:
        raise ValueError(f"{path_or_name}: a fast tokenizer is needed (batched encoding)")
    return tokenizer


def load_classifier(
    path_or_name: str, num_labels: int, transform: ModelTransform | None = None
) -> BertForSequenceClassification:
    """The pretrained encoder with a fresh classification head (drawn from torch's global RNG: seed first)."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized: classifier" notice is expected here
    hf_logging.disable_progress_bar()  # one bar per load would fill the logs
    try:
        model = BertForSequenceClassification.from_pretrained(path_or_name, num_labels=num_labels)
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    if transform is not None:
        with torch.no_grad():
            transform(model)
    return model


def is_encoder_layer(name: str) -> bool:
    """Parameters of the Transformer blocks (what the official ChildTuning-D scores and masks)."""
    return _ENCODER_LAYER.search(name) is not None


def scoped_parameters(model: nn.Module, scope: str) -> list[tuple[str, nn.Parameter]]:
    """Trainable parameters a variant acts on: ``all``, or ``encoder`` (encoder layers only)."""
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r} is not one of {SCOPES}")
    named: Iterable[tuple[str, nn.Parameter]] = model.named_parameters()
    return [(n, p) for n, p in named if p.requires_grad and (scope == "all" or is_encoder_layer(n))]


SCOPES = ("all", "encoder")
