"""CIFAR-10, python version: the official archive fetched through the data layer and read without trusting pickle.

Source: https://www.cs.toronto.edu/~kriz/cifar.html, ``cifar-10-python.tar.gz``. The page publishes only its
MD5 (c58f30108f718f92721af3b95e74349a); the sha256 below is the one two maintained loaders pin for the same
URL: Keras (``keras/datasets/cifar10.py``, ``get_file(..., file_hash=...)``) and torchvision's prototype
datasets (``HttpResource(..., sha256=...)``). ``fetch`` checks it, and the GAN study's data step also checks
the official MD5 of the fetched file (``check_md5``) and records both in its summary.

The archive holds ``cifar-10-batches-py/`` with ``data_batch_1`` .. ``data_batch_5`` (training, 10,000 images
each), ``test_batch`` and ``batches.meta``: pickled dicts with bytes keys, images as (N, 3072) uint8 rows in
channel-major order (R plane, G plane, B plane, each 32x32 row-major). The reader unpickles with an allow-list
that admits only what these files contain (NumPy array reconstruction), so a tampered file cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path
from typing import Iterable

import numpy as np

from kexue_repro.data.checksums import known_sha256, load_checksums
from kexue_repro.data.download import DownloadError, RemoteFile, extract, fetch

ARCHIVE = "cifar-10-python.tar.gz"
OFFICIAL_URL = f"https://www.cs.toronto.edu/~kriz/{ARCHIVE}"
MD5 = "c58f30108f718f92721af3b95e74349a"  # the only hash the official page states
# Keras' copy of the same archive (same sha256): tried after the official URL and the mirrors.
KERAS_COPY = f"https://storage.googleapis.com/tensorflow/tf-keras-datasets/{ARCHIVE}"
BATCHES_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
IMAGE_SHAPE = (3, 32, 32)


def remotes(checksums: str | os.PathLike) -> tuple[RemoteFile, ...]:
    """The archive at the official URL, then at Keras' copy, with the sha256 its checksum table pins; mirrors
    keep it as <mirror base>/cifar10/<file>."""
    sha256 = known_sha256(load_checksums(checksums), "cifar10", [ARCHIVE], checksums)[ARCHIVE]
    return tuple(
        RemoteFile(ARCHIVE, sha256, url, mirror_path=f"cifar10/{ARCHIVE}")
        for url in (OFFICIAL_URL, KERAS_COPY)
    )


def fetch_cifar10(
    raw_dir: str | os.PathLike,
    mirrors: Iterable[str],
    retries: int,
    remotes: tuple[RemoteFile, ...],
) -> Path:
    """Fetch the verified archive into ``raw_dir`` and extract it safely; return the batches folder."""
    failures = []
    for remote in remotes:
        try:
            archive = fetch(remote, raw_dir, mirrors=mirrors, retries=retries)
            break
        except DownloadError as exc:
            failures.append(str(exc))
    else:
        raise DownloadError("; ".join(failures))
    extract(archive, raw_dir)
    batches = Path(raw_dir) / BATCHES_DIR
    missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH, META) if not (batches / name).is_file()]
    if missing:
        raise DownloadError(f"{archive}: archive lacks {BATCHES_DIR}/{', '.join(missing)}")
    return batches


def check_md5(path: str | os.PathLike) -> bool:
    """Whether a file has the MD5 the official page publishes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest() == MD5


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes, str, ints and NumPy arrays; refuses every other global."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes into a protocol-2 pickle
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def read_batch(path: str | os.PathLike) -> dict[bytes, object]:
    try:
        with open(path, "rb") as fh:
            return _ArrayUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a CIFAR-10 batch ({exc})") from exc


def _images_and_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = read_batch(path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path}: a CIFAR-10 batch needs the keys b'data' and b'labels'")
    flat = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if flat.dtype != np.uint8 or flat.ndim != 2 or flat.shape[1] != int(np.prod(IMAGE_SHAPE)):
        raise ValueError(f"{path}: data must be (N, 3072) uint8, got {flat.shape} {flat.dtype}")
    if len(labels) != len(flat) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise ValueError(f"{path}: {len(labels)} labels in 0..9 expected for {len(flat)} images")
    return flat.reshape(-1, *IMAGE_SHAPE), labels


def read_cifar10(batches_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """Training (batches 1-5 in order) and test images as (N, 3, 32, 32) uint8, labels, and class names."""
    batches_dir = Path(batches_dir)
    train = [_images_and_labels(batches_dir / name) for name in TRAIN_BATCHES]
    test_images, test_labels = _images_and_labels(batches_dir / TEST_BATCH)
    names = read_batch(batches_dir / META).get(b"label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise ValueError(f"{batches_dir / META}: label_names must list the 10 classes")
    return {
        "train_images": np.concatenate([images for images, _ in train]),
        "train_labels": np.concatenate([labels for _, labels in train]),
        "test_images": test_images,
        "test_labels": test_labels,
        "label_names": np.array([name.decode() for name in names]),
    }
