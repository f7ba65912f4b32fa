"""Checkpoints written atomically and read with weights_only=True: a killed run resumes, never half-loads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from kexue_repro.common.atomic import atomic_path


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``state`` holds tensors, state dicts, numbers, strings and lists of them (weights_only-loadable)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any] | None:
    """The saved state, or None when there is no checkpoint yet."""
    if not Path(path).is_file():
        return None
    return torch.load(path, map_location=map_location, weights_only=True)
