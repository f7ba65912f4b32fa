"""The fine-tuning optimizers of the CLUE jobs: the post's AdaFactor (fixed lr, beta1, no schedule), or AdamW."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn


def make_optimizer(
    name: str,
    params: Iterable[nn.Parameter],
    lr: float,
    beta1: float,
    beta2: float | None,
    weight_decay: float,
) -> torch.optim.Optimizer:
    """AdaFactor as the post (no relative step, no parameter scaling, no warm-up init; lr fixed), or AdamW."""
    if name == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(
            params,
            lr=lr,
            beta1=beta1,
            relative_step=False,
            scale_parameter=False,
            warmup_init=False,
            weight_decay=weight_decay,
        )
    if name == "adamw":
        if beta2 is None:
            raise ValueError("AdamW needs beta2")
        return torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)
    raise ValueError(f"optimizer {name!r} is not one of {OPTIMIZERS}")


OPTIMIZERS = ("adafactor", "adamw")
