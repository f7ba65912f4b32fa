"""Full scale: CIFAR-10 for study 8757, the official archive through the data layer, kept as uint8 arrays."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

import kexue_repro.data.cifar10 as cifar10
from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.data.download import sha256_file
from kexue_repro.gan.data import read_npz, write_npz

CIFAR_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels", "label_names")


@dataclass(frozen=True)
class CifarDataConfig:
    """The ``gan.cifar_data`` settings."""

    fetch_retries: int  # extra attempts after a transient failure


def prepare_cifar10(
    raw_dir: str | os.PathLike, out: str | os.PathLike, mirrors, retries: int, remotes: tuple
) -> dict:
    """Fetch (sha256-verified) and extract the official archive, read it, write its arrays to ``out`` (.npz);
    return a summary: counts, the archive's sha256 and whether its MD5 is the one the official page states."""
    batches = cifar10.fetch_cifar10(raw_dir, mirrors, retries, remotes)
    arrays = cifar10.read_cifar10(batches)
    write_npz(out, arrays)
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
    arrays, sha256 = read_npz(path, CIFAR_ARRAYS, "a prepared CIFAR-10 file")
    return {name: torch.from_numpy(arrays[name]) for name in CIFAR_ARRAYS[:4]}, sha256


def _main(args: argparse.Namespace) -> None:
    config = build(CifarDataConfig, args.settings, "gan.cifar_data")
    summary = prepare_cifar10(
        args.raw_dir, args.out, args.mirror, config.fetch_retries, cifar10.remotes(args.checksums)
    )
    write_json(args.summary_out, summary)
    if not summary["official_md5_matches"]:
        print(f"warning: {summary['archive']} does not have the official page's MD5", file=sys.stderr)
    print(f"{args.out}: {summary['train_images']} training and {summary['test_images']} test images")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.cifar_data", __doc__, "gan.cifar_data")
    parser.add_argument("--raw-dir", required=True, help="where the archive is fetched and extracted")
    parser.add_argument(
        "--mirror", action="append", default=[], metavar="BASE", help="mirror base (<base>/cifar10/<file>)"
    )
    parser.add_argument(
        "--checksums", required=True, help="the archive's checksum table (data/checksums/cifar10.csv)"
    )
    parser.add_argument("--out", required=True, help="the arrays (.npz)")
    parser.add_argument("--summary-out", required=True, help="counts and the archive's checks (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
