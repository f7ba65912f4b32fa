"""Checksum tables: what each downloaded file must be (``data/checksums/<dataset>.csv``, README there).

One format for every dataset: ``dataset,file,bytes,records,sha256,git_blob_sha1``, one row per file; an empty
cell is an unknown value. params.yaml ``data.checksums`` names each dataset's table, so a run against
stand-in files (the full-scale dry run) points at the stand-ins' own table and verifies them the same way.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from typing import Iterable

FIELDS = ["dataset", "file", "bytes", "records", "sha256", "git_blob_sha1"]
_PATTERNS = {"sha256": r"[0-9a-f]{64}", "git_blob_sha1": r"[0-9a-f]{40}", "bytes": r"\d+", "records": r"\d+"}


@dataclass(frozen=True)
class Checksum:
    """What a file is known to be; None where it is not known."""

    bytes: int | None
    records: int | None
    sha256: str | None
    git_blob_sha1: str | None


Table = dict[tuple[str, str], Checksum]


def load_checksums(path: str | os.PathLike) -> Table:
    """A checksum table as {(dataset, file): Checksum}; a malformed one fails naming the file and line."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != FIELDS:
            raise ValueError(f"{path}: header must be {','.join(FIELDS)}, got {reader.fieldnames}")
        table = {}
        for line, row in enumerate(reader, start=2):
            for field, pattern in _PATTERNS.items():
                if row[field] and not re.fullmatch(pattern, row[field]):
                    raise ValueError(f"{path}:{line}: field {field!r}: {row[field]!r} is not {pattern}")
            key = (row["dataset"], row["file"])
            if key in table:
                raise ValueError(f"{path}:{line}: {key[0]}/{key[1]} is listed twice")
            table[key] = Checksum(
                bytes=int(row["bytes"]) if row["bytes"] else None,
                records=int(row["records"]) if row["records"] else None,
                sha256=row["sha256"] or None,
                git_blob_sha1=row["git_blob_sha1"] or None,
            )
    return table


def dataset_checksums(table: Table, dataset: str, files: Iterable[str]) -> dict[str, Checksum]:
    """The rows of ``files`` of ``dataset``; a file without a row is an error (an empty row means unknown)."""
    files = list(files)
    missing = [name for name in files if (dataset, name) not in table]
    if missing:
        raise KeyError(
            f"checksums lack a row for {dataset}: {', '.join(missing)} (an empty row means unknown)"
        )
    return {name: table[(dataset, name)] for name in files}


def known_sha256(
    table: Table, dataset: str, files: Iterable[str], source: str | os.PathLike
) -> dict[str, str]:
    """The sha256 of each of ``files``, all of which must be known (datasets fetched only verified)."""
    rows = dataset_checksums(table, dataset, files)
    unknown = [name for name, row in rows.items() if row.sha256 is None]
    if unknown:
        raise ValueError(
            f"{source}: no sha256 for {dataset}/{', '.join(unknown)}; these files are fetched only verified"
        )
    return {name: row.sha256 for name, row in rows.items()}
