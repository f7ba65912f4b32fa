"""python -m kexue_repro [summary [--claims results/claims.csv] [--report results/report.md]]

Without a command: the posts, the studies that test them and the commands. `summary`: which of the posts'
claims held in the last run, one row per post (the last lines of `make reproduce`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kexue_repro.report.posts import POSTS

COMMANDS = (
    ("make reproduce", "every study, then the summary (README: the two commands)"),
    ("dvc repro <study>", "one study and what it needs, versioned by DVC"),
    ("python -m kexue_repro summary", "the per-post table of the last run, from results/claims.csv"),
    ("python -m kexue_repro.diff A B", "claims and verdicts of two revisions or experiments side by side"),
    ("make report", "the HTML report (results/report.html); results/report.md is written by every run"),
)


def overview() -> str:
    width = max(len(post.title) for post in POSTS)
    lines = ["Posts of Scientific Spaces (kexue.fm, Su Jianlin, 2021) and the studies that test them:", ""]
    lines += [f"  {post.number}  {post.title:<{width}}  {', '.join(post.studies)}" for post in POSTS]
    lines += ["", "Commands:", ""]
    command_width = max(len(command) for command, _ in COMMANDS)
    lines += [f"  {command:<{command_width}}  {what}" for command, what in COMMANDS]
    return "\n".join(lines) + "\n"


def _summary(args: argparse.Namespace) -> None:
    import pandas as pd  # only this command needs it: the overview starts at once

    from kexue_repro.report.summary import summary

    if not Path(args.claims).is_file():
        raise FileNotFoundError(f"{args.claims}: no claims ledger yet; run `make reproduce` first")
    sys.stdout.write(summary(pd.read_csv(args.claims), args.report))


def main(argv: list[str] | None = None) -> int:
    from kexue_repro.common.cli import run

    parser = argparse.ArgumentParser(
        prog="python -m kexue_repro",
        description="Reproductions of eight Scientific Spaces posts: what each study found, and how to run it.",
        epilog=overview(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="{summary}")
    summary = commands.add_parser("summary", help="which of the posts' claims held in the last run")
    summary.add_argument(
        "--claims", default="results/claims.csv", help="the claims ledger (default: %(default)s)"
    )
    summary.add_argument(
        "--report", default="results/report.md", help="the report the table points to (default: %(default)s)"
    )
    summary.set_defaults(run=_summary)
    args = parser.parse_args(argv)
    if args.command is None:
        sys.stdout.write(overview())
        return 0
    return run(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
