"""python -m kexue_repro.report --claims ... [--provenance ...] --plots ... [--tables ...] --table-out ...
--markdown-out ... [--front-out ...]"""

from __future__ import annotations

import argparse
import sys

from kexue_repro.common.cli import run
from kexue_repro.report.assemble import assemble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kexue_repro.report", description=__doc__)
    parser.add_argument("--claims", nargs="+", required=True, help="results/<study>/claims.json files")
    parser.add_argument("--provenance", nargs="*", default=[], help="results/<study>/provenance.json files")
    parser.add_argument("--plots", nargs="*", default=[], help="plots to show under their study")
    parser.add_argument(
        "--tables",
        nargs="*",
        default=[],
        help="markdown tables (results/<study>/tables.md) shown under their study",
    )
    parser.add_argument("--table-out", required=True, help="results/claims.csv: every claim of every study")
    parser.add_argument(
        "--markdown-out", required=True, help="results/report.md: the summary, claims and plots"
    )
    parser.add_argument(
        "--front-out", help="results/report_front.rst: the summary as the HTML report's first view"
    )
    parser.add_argument(
        "--by-post-out",
        nargs="*",
        default=[],
        help="results/claims_by_post/<post>.html: each post's claims as a table",
    )
    return run(_assemble, parser.parse_args(argv))


def _assemble(args: argparse.Namespace) -> None:
    table = assemble(
        args.claims,
        args.plots,
        args.table_out,
        args.markdown_out,
        args.provenance,
        args.tables,
        args.front_out,
        args.by_post_out,
    )
    print(f"{len(table)} claims -> {args.table_out}, {args.markdown_out}")


if __name__ == "__main__":
    sys.exit(main())
