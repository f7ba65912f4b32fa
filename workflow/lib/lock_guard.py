"""Before a DVC stage runs Snakemake: check params.yaml, then make its outputs agree with dvc.lock.

    python workflow/lib/lock_guard.py <stage>        (the first command of every stage in dvc.yaml)

Every out of a stage persists (dvc.yaml), so DVC deletes nothing before the stage's command runs and
Snakemake reruns only what is stale. Two things could still go wrong, and this guard closes both:
- A bad params.yaml (a typo, a YAML syntax error) is refused here, in one line naming the key or the line,
  before any output is touched.
- An output that differs from what dvc.lock records and that Snakemake did not write as it is now (it
  was edited by hand, or half-restored) would be built upon: Snakemake judges by dates, not contents. Such
  a file is removed, so Snakemake reruns the job that makes it. A file Snakemake wrote as it stands (its
  metadata's end time is the file's mtime) is a newer result of this workspace and is kept: a killed
  `dvc repro` resumes job by job.
Files in an out folder that dvc.lock does not list, and folders whose listing is not in the local DVC cache,
are left to Snakemake's own judgement.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Iterator

import yaml
from snakemake.persistence.file import FilePersistence

from kexue_repro.common.params import check_params, load_yaml

SCHEMA = "workflow/schemas/params.schema.yaml"
CACHE = Path(".dvc/cache/files/md5")


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locked_files(stage: str, root: Path) -> Iterator[tuple[Path, str]]:
    """(file, md5) of every output of ``stage`` that dvc.lock records, folders expanded from their
    listing in the DVC cache (skipped when the cache lacks it)."""
    lock_file = root / "dvc.lock"
    if not lock_file.is_file():
        return
    lock = yaml.safe_load(lock_file.read_text(encoding="utf-8")) or {}
    for out in lock.get("stages", {}).get(stage, {}).get("outs", []):
        path, digest = root / out["path"], out["md5"]
        if not digest.endswith(".dir"):
            yield path, digest
            continue
        listing = root / CACHE / digest[:2] / digest[2:]
        if listing.is_file():
            for entry in json.loads(listing.read_text(encoding="utf-8")):
                yield path / entry["relpath"], entry["md5"]


class SnakemakeRecords:
    """Snakemake's metadata of the outputs it wrote (.snakemake/metadata)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.persistence = FilePersistence(nolock=True, path=root / ".snakemake")

    def wrote_as_is(self, path: Path) -> bool:
        record = self.persistence._read_record(str(path.relative_to(self.root)))
        return bool(record and not record.incomplete and record.endtime == path.stat().st_mtime)


def stale_outputs(stage: str, root: Path) -> list[Path]:
    records = None
    stale = []
    for path, digest in locked_files(stage, root):
        if not path.is_file() or md5(path) == digest:
            continue
        records = records or SnakemakeRecords(root)
        if not records.wrote_as_is(path):
            stale.append(path)
    return stale


def guard(stage: str, root: Path = Path(".")) -> list[Path]:
    """Check the params, then remove the stage's outputs that neither dvc.lock nor Snakemake vouches for."""
    check_params(load_yaml(root / "params.yaml"), root / SCHEMA, source="params.yaml")
    stale = stale_outputs(stage, root)
    for path in stale:
        print(
            f"{path}: differs from dvc.lock and was not written by Snakemake as it is; removed, to be rebuilt"
        )
        os.remove(path)
    return stale


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python workflow/lib/lock_guard.py <stage>", file=sys.stderr)
        return 2
    try:
        guard(argv[0])
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
