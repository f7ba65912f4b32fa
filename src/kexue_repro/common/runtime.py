"""Seeds, threads and device: the same seed on CPU gives the same numbers; a GPU is used when present."""

from __future__ import annotations

import os
import random
from typing import Sequence

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for data order and sampling."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def set_threads(threads: int) -> None:
    """Use exactly the cores Snakemake gave the job (torch's default oversubscribes parallel jobs)."""
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


def default_generators(device: torch.device) -> dict[str, torch.Generator]:
    """torch's global streams (head initialisation, dropout): the CPU's, and the GPU's on a GPU (what a
    resumable run saves and restores, common.resume)."""
    streams = {"torch_rng": torch.default_generator}
    if device.type == "cuda":
        torch.cuda.init()  # fills torch.cuda.default_generators
        index = device.index if device.index is not None else torch.cuda.current_device()
        streams["cuda_rng"] = torch.cuda.default_generators[index]
    return streams


def choose_device(requested: str = "auto") -> torch.device:
    """'auto' picks CUDA when present, else CPU; 'cpu' or 'cuda' force one."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no GPU")
    return torch.device(requested)


def check_finite_loss(
    losses: float | torch.Tensor | Sequence[float | torch.Tensor], first_step: int, what: str
) -> None:
    """Stop training at the first NaN or infinite loss, naming its step: raise ValueError.

    ``losses`` is the loss of step ``first_step``, or those of the steps first_step, first_step + 1, ...
    (tensors are read together, once: a loop that checks once per epoch adds one GPU sync per epoch).
    Call it before saving a checkpoint, so the last checkpoint holds finite weights.
    """
    if isinstance(losses, (list, tuple)):
        values = torch.stack([torch.as_tensor(v).detach().reshape(()) for v in losses])
    else:
        values = torch.as_tensor(losses).detach().reshape(-1)
    values = values.to("cpu", torch.float64)
    bad = torch.nonzero(~torch.isfinite(values))
    if len(bad):
        index = int(bad[0])
        raise ValueError(
            f"{what}: training loss is {values[index].item()} at step {first_step + index}; stopped"
        )
