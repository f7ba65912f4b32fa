"""A CLUE task's train and dev records, checked, subsampled with a seed and written as jsonl with meta.json.

Subsampling is STRATIFIED: each label keeps its share of the split (largest-remainder rounding, ties broken
at random), the members of each label are drawn uniformly with ``numpy.random.default_rng(seed)``, and rows
keep the order of the source file. The same seed gives the same rows.

When the train file is unavailable (IFLYTEK's on the project's mirror), the labelled dev set is split in two
halves, stratified with the same seed: one half is train, the other dev. meta.json's notes and stderr say so,
since dev scores are then on half of the official dev set.

The reading-comprehension and NER tasks (``Task.kind`` other than ``classification``) write the records of
the issue 18 contract, read by ``clue_span_readers``: CLUENER ``{"text", "entities": [[type, start, end]]}``
(inclusive ends, sorted); C3 ``{"id", "passage", "question", "choices", "label"}``, train = m-train then d-train,
dev = m-dev then d-dev, ``id`` = ``<file stem>:<document id>:<question index>`` (the owners' files carry no
question ids); CMRC2018 ``{"id", "question", "context", "answers": [[text, start or null]]}``; CHID ``{"group",
"tag", "passage", "candidates", "label"}``, one per blank, ``group`` the source line. Their subsampling is
UNIFORM over records (CHID: over lines, whole lines kept: see ``group_sample``), seeded the same way, rows in
source order; their meta.json is ``{"task", "kind", "counts", "sources", "subsampling", "inputs", "notes"}``
plus ``entity_types`` (CLUENER) or ``num_choices`` (C3 4, CHID 10). A missing train file is an error for them:
no dev halves stand in. An input is verified by its own sha256, by the owners' file it is (C3's mirror
aliases) or by the verified archive fetch.json says it came from (``kexue_repro.data.clue.recognise_file``).

Outputs: ``train.jsonl`` and ``dev.jsonl`` (one record ``{"text", "text_pair", "label"}`` a line; U+2028,
U+2029 and U+0085 are escaped so any line splitter reads them back) and ``meta.json``, each written atomically,
meta.json last.

    python -m kexue_repro.data.clue_prepare --settings JSON --task T --raw-dir DIR --out-dir DIR --checksums CSV
                                            (the clue.prepare block at the scale; DIR/T/ to DIR/T/)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from kexue_repro.common.atomic import atomic_path, write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.data.checksums import Table, load_checksums
from kexue_repro.data.clue import (
    MANIFEST,
    TASKS,
    Task,
    check_file,
    get_task,
    read_manifest_entries,
    recognise_file,
    task_checksums,
)
from kexue_repro.data.clue_readers import FORMATS, Split, read_split, task_labels
from kexue_repro.data.clue_span_readers import (
    CHID_CANDIDATES,
    read_c3,
    read_chid,
    read_chid_answers,
    read_cluener,
    read_cmrc2018,
)

SPLITS = ("train", "dev")
_LINE_BREAKS_JSON_KEEPS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def stratified_sample(labels: Iterable[int], n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices (sorted) of ``n`` items keeping each label's share; all of them if ``n`` is None or too large."""
    labels = np.asarray(list(labels), dtype=np.int64)
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * n / len(labels)
    take = np.floor(quota).astype(np.int64)
    # The largest remainders get the seats left over; a random key breaks ties between equal remainders.
    order = np.lexsort((rng.permutation(len(classes)), -(quota - take)))
    take[order[: n - take.sum()]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=k, replace=False) for label, k in zip(classes, take)
    ]
    return np.sort(np.concatenate(chosen))


def prepare_task(
    task: str,
    raw_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    checksums: Table,
    max_train: int | None,
    max_dev: int | None,
    seed: int,
) -> dict:
    """Write ``out_dir/{train,dev}.jsonl`` and ``meta.json`` from the files in ``raw_dir``; return the meta."""
    spec, raw, out = get_task(task), Path(raw_dir), Path(out_dir)
    if spec.kind != "classification":
        return prepare_reading_task(spec, raw, out, checksums, max_train, max_dev, seed)
    expected = task_checksums(spec, checksums)
    rng = np.random.default_rng(seed)
    notes = []
    has_train = (raw / spec.train).is_file()
    used = [spec.train, spec.dev] if has_train else [spec.dev]
    inputs = {}
    for name in [*used, *([spec.labels_file] if spec.labels_file else [])]:
        path = raw / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: required file of CLUE task {task} is missing (fetch it: python -m kexue_repro.data.clue)"
            )
        check = check_file(path, expected[name])
        if check.problem:
            raise ValueError(f"{path}: {check.problem}")
        inputs[name] = {"sha256": check.sha256, "verified": check.verified, "check": check.check}
        if not check.verified:
            notes.append(f"{name} is UNVERIFIED: no known hash (sha256 {check.sha256})")

    labels = task_labels(task, raw)
    dev = read_split(task, raw / spec.dev, labels)
    if has_train:
        train = read_split(task, raw / spec.train, labels)
        files = {"train": spec.train, "dev": spec.dev}
    else:
        half = stratified_sample([r["label"] for r in dev.records], len(dev.records) // 2, rng)
        in_train = np.zeros(len(dev.records), dtype=bool)
        in_train[half] = True
        train = Split([r for r, t in zip(dev.records, in_train) if t], 0)
        dev = Split([r for r, t in zip(dev.records, in_train) if not t], dev.dropped)
        files = {"train": f"{spec.dev} (one half)", "dev": f"{spec.dev} (the other half)"}
        note = (
            f"{spec.train} is unavailable: train is a stratified half of {spec.dev} ({len(train.records)} records,"
            f" seed {seed}) and dev the other half ({len(dev.records)}); dev scores are NOT comparable with"
            " scores on the full official dev set"
        )
        notes.append(note)
        print(f"warning: clue task {task}: {note}", file=sys.stderr)
    sources = {
        split: {"file": files[split], "records": len(records.records), "dropped": records.dropped}
        for split, records in (("train", train), ("dev", dev))
    }
    if any(source["dropped"] for source in sources.values()):
        notes.append(f"records labelled {sorted(FORMATS[task].dropped)} (no gold label) are dropped")

    chosen = {
        split: [
            records.records[i] for i in stratified_sample([r["label"] for r in records.records], cap, rng)
        ]
        for split, records, cap in (("train", train, max_train), ("dev", dev, max_dev))
    }
    for split in SPLITS:
        write_jsonl(out / f"{split}.jsonl", chosen[split])
    meta = {
        "task": task,
        "num_classes": len(labels),
        "label_names": list(labels.names),
        "label_descriptions": list(labels.descriptions) if labels.descriptions else None,
        "counts": {split: len(chosen[split]) for split in SPLITS},
        "label_counts": {
            split: np.bincount([r["label"] for r in chosen[split]], minlength=len(labels)).tolist()
            for split in SPLITS
        },
        "sources": sources,
        "dropped": {split: sources[split]["dropped"] for split in SPLITS},
        "train_from_dev_split": not has_train,
        "subsampling": {
            "method": "stratified by label, seeded; rows in source order",
            "seed": seed,
            "max_train": max_train if max_train is not None else "all",
            "max_dev": max_dev if max_dev is not None else "all",
        },
        "inputs": inputs,
        "notes": notes,
    }
    write_json(out / "meta.json", meta)
    return meta


def uniform_sample(n: int, cap: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices (sorted) of ``cap`` of ``n`` items drawn uniformly; all of them if ``cap`` is None or too large."""
    if cap is None or cap >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cap, replace=False))


def group_sample(groups: Iterable[int], cap: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices (sorted) of the items of whole groups: the groups in a seeded random order, kept while the items
    they hold stay within ``cap`` (at least one group); all items if ``cap`` is None or too large."""
    groups = np.asarray(list(groups), dtype=np.int64)
    if cap is None or cap >= len(groups):
        return np.arange(len(groups))
    names, sizes = np.unique(groups, return_counts=True)
    order = rng.permutation(len(names))
    keep = max(1, int(np.searchsorted(np.cumsum(sizes[order]), cap, side="right")))
    return np.flatnonzero(np.isin(groups, names[order[:keep]]))


def _cluener(raw: Path, files: tuple[str, ...]) -> tuple[list[dict], dict]:
    (name,) = files
    records = read_cluener(raw / name)
    return [{"text": r["text"], "entities": [list(e) for e in r["entities"]]} for r in records], {}


def _c3(raw: Path, files: tuple[str, ...]) -> tuple[list[dict], dict]:
    records = []
    for name in files:
        asked: dict[str, int] = {}
        for r in read_c3(raw / name):
            k = asked[r["document"]] = asked.get(r["document"], -1) + 1
            records.append(
                {
                    "id": f"{Path(name).stem}:{r['document']}:{k}",
                    "passage": r["passage"],
                    "question": r["question"],
                    "choices": r["choices"],
                    "label": r["label"],
                }
            )
    return records, {}


def _cmrc2018(raw: Path, files: tuple[str, ...]) -> tuple[list[dict], dict]:
    (name,) = files
    split = read_cmrc2018(raw / name)
    records = [
        {
            "id": q["id"],
            "question": q["question"],
            "context": q["context"],
            "answers": [list(a) for a in q["answers"]],
        }
        for q in split.questions
    ]
    return records, {"misplaced_answers": split.misplaced}


def _chid(raw: Path, files: tuple[str, ...]) -> tuple[list[dict], dict]:
    text, answers = files
    blanks = read_chid(raw / text, read_chid_answers(raw / answers))
    fields = ("group", "tag", "passage", "candidates", "label")
    return [{f: b[f] for f in fields} for b in blanks], {"groups": len({b["group"] for b in blanks})}


# kind -> reader of a split's files: (records, facts about the source for meta.json)
READERS = {"ner": _cluener, "choice": _c3, "span": _cmrc2018, "chid": _chid}


def prepare_reading_task(
    spec: Task,
    raw: Path,
    out: Path,
    checksums: Table,
    max_train: int | None,
    max_dev: int | None,
    seed: int,
) -> dict:
    """``prepare_task`` for CLUENER, C3, CMRC2018 and CHID (see the module docstring)."""
    task_checksums(spec, checksums)  # every file and alias has a row
    entries = read_manifest_entries(raw / MANIFEST)
    inputs, notes = {}, []
    for name in [*spec.train_files, *spec.dev_files]:
        path = raw / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: required file of CLUE task {spec.name} is missing (fetch it: python -m kexue_repro.data.clue)"
            )
        check = recognise_file(path, spec, name, checksums, entries.get(name))
        if check.problem:
            raise ValueError(f"{path}: {check.problem}")
        inputs[name] = {"sha256": check.sha256, "verified": check.verified, "check": check.check}
        if check.alias:
            inputs[name]["alias"] = check.alias
            notes.append(
                f"{name} is the dataset owners' {check.alias} (verified by its sha256), stored as {name}"
            )
        if check.archive_sha256:
            inputs[name]["archive_sha256"] = check.archive_sha256
        if not check.verified:
            notes.append(f"{name} is UNVERIFIED: no known hash (sha256 {check.sha256})")

    rng = np.random.default_rng(seed)
    read = READERS[spec.kind]
    sources, chosen, full = {}, {}, {}
    for split, files, cap in (("train", spec.train_files, max_train), ("dev", spec.dev_files, max_dev)):
        records, facts = read(raw, files)
        full[split] = records
        sources[split] = {"files": list(files), "records": len(records), **facts}
        if spec.kind == "chid":
            keep = group_sample([r["group"] for r in records], cap, rng)
        else:
            keep = uniform_sample(len(records), cap, rng)
        chosen[split] = [records[i] for i in keep]
        if facts.get("misplaced_answers"):
            notes.append(
                f"{split}: {facts['misplaced_answers']} answers have no usable answer_start (null):"
                " they score, they cannot train"
            )
    for split in SPLITS:
        write_jsonl(out / f"{split}.jsonl", chosen[split])
    subsampling = {
        "method": (
            "uniform over lines (whole lines: their blanks share the candidates), seeded; rows in source order"
            if spec.kind == "chid"
            else "uniform over records, seeded; rows in source order"
        ),
        "seed": seed,
        "max_train": max_train if max_train is not None else "all",
        "max_dev": max_dev if max_dev is not None else "all",
    }
    if spec.kind == "chid":
        subsampling["groups"] = {split: len({r["group"] for r in chosen[split]}) for split in SPLITS}
    meta = {
        "task": spec.name,
        "kind": spec.kind,
        "counts": {split: len(chosen[split]) for split in SPLITS},
        "sources": sources,
        "subsampling": subsampling,
        "inputs": inputs,
        "notes": notes,
    }
    if spec.kind == "ner":
        meta["entity_types"] = sorted({e[0] for split in SPLITS for r in full[split] for e in r["entities"]})
    elif spec.kind == "choice":
        meta["num_choices"] = 4
    elif spec.kind == "chid":
        meta["num_choices"] = CHID_CANDIDATES
    write_json(out / "meta.json", meta)
    return meta


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            line = json.dumps(record, ensure_ascii=False)
            for char, escaped in _LINE_BREAKS_JSON_KEEPS.items():
                line = line.replace(char, escaped)
            fh.write(line + "\n")


@dataclass(frozen=True)
class PrepareConfig:
    """The ``clue.prepare`` settings at the scale (and smoke's sentiment task's): records kept per split
    ("all": every one), subsampled with ``split_seed``."""

    split_seed: int  # subsampling, and the dev halves that stand in for a missing train file
    max_train: int | str
    max_dev: int | str

    def __post_init__(self) -> None:
        for name in ("max_train", "max_dev"):
            value = getattr(self, name)
            if value != "all" and not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be a positive integer or 'all', got {value!r}")

    def cap(self, split: str) -> int | None:
        """Records kept of ``split`` (train or dev); None keeps them all."""
        value = getattr(self, f"max_{split}")
        return None if value == "all" else value


def _main(args: argparse.Namespace) -> None:
    config = build(PrepareConfig, args.settings, "clue.prepare")
    out = Path(args.out_dir) / args.task
    meta = prepare_task(
        args.task,
        Path(args.raw_dir) / args.task,
        out,
        load_checksums(args.checksums),
        max_train=config.cap("train"),
        max_dev=config.cap("dev"),
        seed=config.split_seed,
    )
    counts = ", ".join(f"{split} {n}" for split, n in meta["counts"].items())
    if "num_classes" in meta:
        print(f"{out}: {counts} records, {meta['num_classes']} classes")
    else:
        print(f"{out}: {counts} records, kind {meta['kind']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.data.clue_prepare", __doc__, "clue.prepare")
    parser.add_argument("--task", required=True, choices=list(TASKS), help="the CLUE task")
    parser.add_argument("--raw-dir", required=True, help="root of the raw CLUE files (data/raw/clue)")
    parser.add_argument("--out-dir", required=True, help="root of the prepared tasks (data/processed/clue)")
    parser.add_argument("--checksums", required=True, help="data/checksums/clue.csv")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
