"""Seeds, threads and device: the same seed on CPU gives the same numbers; a GPU is used when present."""

from __future__ import annotations

import os
import random

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


def choose_device(requested: str = "auto") -> torch.device:
    """'auto' picks CUDA when present, else CPU; 'cpu' or 'cuda' force one."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no GPU")
    return torch.device(requested)
