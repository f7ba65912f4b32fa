"""Command line of the data layer. Each prints what it wrote and exits 0, or prints a one-line error and exits 1.

python -m kexue_repro.data fetch        --url URL --sha256 HEX --name NAME --dest DIR [--mirror BASE ...]
                                        [--mirror-path PATH]
python -m kexue_repro.data extract      ARCHIVE DEST
python -m kexue_repro.data clue-fetch   --task T --out-dir DIR --checksums CSV --retries N [--mirror BASE ...]
                                        [--official-base URL]                        (files to DIR/T/)
python -m kexue_repro.data clue-prepare --task T --raw-dir DIR --out-dir DIR --checksums CSV
                                        --max-train N|all --max-dev N|all --seed S   (DIR/T/ to DIR/T/)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kexue_repro.common.cli import run_steps
from kexue_repro.data import clue, clue_prepare
from kexue_repro.data.download import RemoteFile, extract, fetch


def _fetch(args: argparse.Namespace) -> None:
    print(
        fetch(RemoteFile(args.name, args.sha256, args.url, args.mirror_path), args.dest, mirrors=args.mirror)
    )


def _extract(args: argparse.Namespace) -> None:
    for path in extract(args.archive, args.dest):
        print(path)


def _clue_fetch(args: argparse.Namespace) -> None:
    dest = Path(args.out_dir) / args.task
    manifest = clue.fetch_task(
        args.task,
        dest,
        clue.load_checksums(args.checksums),
        mirrors=args.mirror,
        official_base=args.official_base,
        retries=args.retries,
    )
    for name, entry in manifest["files"].items():
        state = f"verified ({entry['check']})" if entry["verified"] else "UNVERIFIED"
        print(f"{dest / name}: {state}, from {entry['source']}")
    for name in manifest["missing"]:
        print(f"{dest / name}: missing")
    print(dest / clue.MANIFEST)


def _clue_prepare(args: argparse.Namespace) -> None:
    out = Path(args.out_dir) / args.task
    meta = clue_prepare.prepare_task(
        args.task,
        Path(args.raw_dir) / args.task,
        out,
        clue.load_checksums(args.checksums),
        max_train=args.max_train,
        max_dev=args.max_dev,
        seed=args.seed,
    )
    counts = ", ".join(f"{split} {n}" for split, n in meta["counts"].items())
    print(f"{out}: {counts} records, {meta['num_classes']} classes")


def _count_or_all(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'all', got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kexue_repro.data")
    commands = parser.add_subparsers(dest="command", required=True)

    fetch_cmd = commands.add_parser("fetch", help="download a file and verify its sha256")
    fetch_cmd.add_argument("--url", required=True, help="official URL")
    fetch_cmd.add_argument("--sha256", required=True, help="expected sha256, lowercase hex")
    fetch_cmd.add_argument("--name", required=True, help="file name in --dest")
    fetch_cmd.add_argument("--dest", required=True, help="destination directory")
    fetch_cmd.add_argument(
        "--mirror",
        action="append",
        default=[],
        metavar="BASE",
        help="mirror base URL, tried after --url (repeatable)",
    )
    fetch_cmd.add_argument("--mirror-path", help="the file's path under a mirror base (default: --name)")

    extract_cmd = commands.add_parser("extract", help="safely extract a .zip or .tar[.gz] archive")
    extract_cmd.add_argument("archive")
    extract_cmd.add_argument("dest")

    clue_fetch = commands.add_parser("clue-fetch", help="fetch a CLUE task's files, verified, to DIR/TASK/")
    clue_fetch.add_argument("--task", required=True, choices=list(clue.TASKS))
    clue_fetch.add_argument("--out-dir", required=True, help="root of the raw CLUE files (data/raw/clue)")
    clue_fetch.add_argument("--checksums", required=True, help="data/checksums/clue.csv")
    clue_fetch.add_argument(
        "--retries", required=True, type=int, help="extra attempts after a transient failure"
    )
    clue_fetch.add_argument(
        "--mirror", action="append", default=[], metavar="BASE", help="mirror base URL (<base>/<task>/<file>)"
    )
    clue_fetch.add_argument(
        "--official-base", default=clue.OFFICIAL_BASE, help="where <task>_public.zip lives"
    )

    clue_prep = commands.add_parser(
        "clue-prepare", help="train/dev jsonl and meta.json of a fetched CLUE task"
    )
    clue_prep.add_argument("--task", required=True, choices=list(clue.TASKS))
    clue_prep.add_argument("--raw-dir", required=True, help="root of the raw CLUE files (data/raw/clue)")
    clue_prep.add_argument(
        "--out-dir", required=True, help="root of the prepared tasks (data/processed/clue)"
    )
    clue_prep.add_argument("--checksums", required=True, help="data/checksums/clue.csv")
    clue_prep.add_argument("--max-train", required=True, type=_count_or_all, help="records kept, or 'all'")
    clue_prep.add_argument("--max-dev", required=True, type=_count_or_all, help="records kept, or 'all'")
    clue_prep.add_argument("--seed", required=True, type=int, help="subsampling and dev-split seed")

    fetch_cmd.set_defaults(run=_fetch)
    extract_cmd.set_defaults(run=_extract)
    clue_fetch.set_defaults(run=_clue_fetch)
    clue_prep.set_defaults(run=_clue_prepare)
    return run_steps(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
