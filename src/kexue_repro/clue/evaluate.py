"""Dev-set probabilities (rows in dev order, columns = label ids) and accuracy."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kexue_repro.clue.data import Encoded, batches


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on a GPU; full precision on the CPU (same code either way)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def model_inputs(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items() if k != "labels"}


def mean_loss(model: nn.Module, batch: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
    """Mean cross-entropy -log p(y|x) of the batch (computed in float32 from the logits)."""
    with autocast(device):
        logits = model(**model_inputs(batch, device)).logits
    return F.cross_entropy(logits.float(), batch["labels"].to(device))


@torch.no_grad()
def predict_probabilities(
    model: nn.Module, data: Encoded, batch_size: int, device: torch.device
) -> np.ndarray:
    """Softmax probabilities (float64) of every record, in file order; the model is left in eval mode."""
    model.eval()
    rows = []
    for batch in batches(data, batch_size):
        with autocast(device):
            logits = model(**model_inputs(batch, device)).logits
        rows.append(logits.double().softmax(dim=-1).cpu())
    return torch.cat(rows).numpy()


def accuracy(probs: np.ndarray, labels: torch.Tensor) -> float:
    return float((probs.argmax(axis=1) == labels.numpy()).mean())
