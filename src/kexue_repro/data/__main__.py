"""Command line of the data layer. Each prints what it wrote and exits 0, or prints a one-line error and exits 1.

python -m kexue_repro.data fetch        --url URL --sha256 HEX --name NAME --dest DIR [--mirror BASE ...]
                                        [--mirror-path PATH]
python -m kexue_repro.data extract      ARCHIVE DEST
"""

from __future__ import annotations

import argparse
import sys

from kexue_repro.common.cli import run_steps
from kexue_repro.data.download import RemoteFile, extract, fetch


def _fetch(args: argparse.Namespace) -> None:
    print(
        fetch(RemoteFile(args.name, args.sha256, args.url, args.mirror_path), args.dest, mirrors=args.mirror)
    )


def _extract(args: argparse.Namespace) -> None:
    for path in extract(args.archive, args.dest):
        print(path)


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
    extract_cmd.add_argument("archive", help="the archive to unpack")
    extract_cmd.add_argument("dest", help="the folder to unpack it into")

    fetch_cmd.set_defaults(run=_fetch)
    extract_cmd.set_defaults(run=_extract)
    return run_steps(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
