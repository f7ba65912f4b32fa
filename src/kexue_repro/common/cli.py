"""How every command of the package fails: one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

# Bad input and failed I/O (DownloadError is an OSError); anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (ValueError, KeyError, OSError)


def add_ledger_arguments(claims_step: argparse.ArgumentParser) -> None:
    """The options every study's claims step shares: the scale its claims are stated at, and its two outputs."""
    claims_step.add_argument("--scale", required=True, choices=("smoke", "clue-cpu", "full"))
    claims_step.add_argument("--claims-out", required=True, help="results/<study>/claims.json")
    claims_step.add_argument("--metrics-out", required=True, help="results/<study>/metrics.json")


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def run(command: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    try:
        command(args)
    except EXPECTED_ERRORS as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 1
    return 0


def run_steps(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with a parser whose subcommands set ``run=<function of the parsed args>``."""
    args = parser.parse_args(argv)
    return run(args.run, args)
