"""python -m kexue_repro.diff A B [--format markdown|json] [--repo DIR]

A and B: git revisions (commit, branch, tag), DVC experiment names, or `workspace`. Prints every claim of
either side with its verdict and value on both and the change; claims whose verdict flipped come first.
A study whose results one side's dvc.lock names but neither the DVC cache nor the remote holds is left out,
with a warning.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from kexue_repro.common.cli import run
from kexue_repro.diff.compare import as_json, comparable, compare, markdown, read_ledgers


def _diff(args: argparse.Namespace) -> None:
    old, new, skipped = comparable(read_ledgers(args.a, args.repo), read_ledgers(args.b, args.repo))
    for study in skipped:
        print(
            f"warning: {study}: results not in the DVC cache or the remote on one side; left out",
            file=sys.stderr,
        )
    rows = compare(old, new)
    render = as_json if args.format == "json" else markdown
    sys.stdout.write(render(args.a, args.b, rows, skipped))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kexue_repro.diff", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("a", help="old side: revision, experiment name or 'workspace'")
    parser.add_argument("b", help="new side: revision, experiment name or 'workspace'")
    parser.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="markdown for reading, json for tools",
    )
    parser.add_argument("--repo", default=".", help="the repository (default: the current directory)")
    return run(_diff, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
