"""Checkpoints written atomically and read with weights_only=True: a killed run resumes, never half-loads."""

from __future__ import annotations

import io
import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from kexue_repro.common.atomic import atomic_path


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``state`` holds tensors, state dicts, numbers, strings and lists of them (weights_only-loadable).

    Equal states give equal bytes (and DVC hashes): torch.save names the zip archive inside after the file
    it writes, and the atomic writer's file has a random name, so the state is serialised in memory (where
    the archive is always called "archive") and the bytes are then written atomically.
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any] | None:
    """The saved state, or None when there is no checkpoint yet.

    A file that holds anything but tensors and plain containers (arbitrary pickled objects could run code),
    or that is truncated or corrupt, raises ValueError naming it: it is never half-used.
    """
    if not Path(path).is_file():
        return None
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        lines = [
            line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).splitlines() if line.strip()
        ]
        reason = next(
            (line for line in lines if "Unsupported global" in line), lines[0] if lines else repr(err)
        )
        raise ValueError(f"{path}: not a loadable weights-only checkpoint ({reason})") from None
