"""Command line of study 8783: one subcommand per workflow step, each reading files and writing files.

python -m kexue_repro.leaderboard score  --table T --tolerance X --official-out O --means-out M
python -m kexue_repro.leaderboard rank   --means M --ranks-out R --kendall-out K --human-out H
python -m kexue_repro.leaderboard plot   --ranks R --out P
python -m kexue_repro.leaderboard claims --official O --ranks R --kendall K --human H
                                         --tolerance X --rounding-bound X --tau-threshold X --scale S
                                         --claims-out C --metrics-out J
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import write_claims
from kexue_repro.common.cli import add_ledger_arguments, run_steps
from kexue_repro.leaderboard import claims, evaluate
from kexue_repro.leaderboard.data import load_long_table, wide_tables

# Enough digits that rows differing in the 2nd decimal of a task never tie after a CSV round trip.
FLOAT_FORMAT = "%.10g"


def _score(args: argparse.Namespace) -> None:
    wides = wide_tables(load_long_table(args.table))
    write_csv(args.official_out, evaluate.official_table(wides, args.tolerance), float_format=FLOAT_FORMAT)
    write_csv(args.means_out, evaluate.means_table(wides), float_format=FLOAT_FORMAT)


def _rank(args: argparse.Namespace) -> None:
    ranks = evaluate.rank_table(evaluate.read_table(args.means, evaluate.MEANS_FIELDS))
    write_csv(args.ranks_out, ranks, float_format=FLOAT_FORMAT)
    write_csv(args.kendall_out, evaluate.kendall_table(ranks), float_format=FLOAT_FORMAT)
    write_csv(args.human_out, evaluate.human_rank_table(ranks), float_format=FLOAT_FORMAT)


def _plot(args: argparse.Namespace) -> None:
    evaluate.plot_rank_changes(evaluate.read_table(args.ranks, evaluate.RANKS_FIELDS), args.out)


def _claims(args: argparse.Namespace) -> None:
    tables = {
        name: claims.Table(evaluate.read_table(path, fields), path)
        for name, path, fields in (
            ("official", args.official, evaluate.OFFICIAL_FIELDS),
            ("ranks", args.ranks, evaluate.RANKS_FIELDS),
            ("kendall", args.kendall, evaluate.KENDALL_FIELDS),
            ("human", args.human, evaluate.HUMAN_FIELDS),
        )
    }
    ledger = claims.build_claims(
        **tables,
        tolerance=args.tolerance,
        rounding_bound=args.rounding_bound,
        tau_threshold=args.tau_threshold,
        scale=args.scale,
    )
    write_claims(args.claims_out, ledger)
    write_json(args.metrics_out, claims.headline_metrics(*(t.frame for t in tables.values())))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m kexue_repro.leaderboard", description=__doc__.split("\n")[0]
    )
    steps = root.add_subparsers(dest="step", required=True)

    score = steps.add_parser("score", help="official scores and AM/GM/HM under each task-set rule")
    score.add_argument("--table", required=True, help="the long leaderboard CSV")
    score.add_argument("--official-out", required=True)
    score.add_argument("--means-out", required=True)
    score.add_argument(
        "--tolerance",
        type=float,
        required=True,
        help="within_tolerance flag: |recomputed - reported| <= this",
    )
    score.set_defaults(run=_score)

    rank = steps.add_parser("rank", help="ranks, Kendall tau between rankings, the human row's rank")
    rank.add_argument("--means", required=True)
    rank.add_argument("--ranks-out", required=True)
    rank.add_argument("--kendall-out", required=True)
    rank.add_argument("--human-out", required=True)
    rank.set_defaults(run=_rank)

    plot = steps.add_parser("plot", help="rank changes across (rule, mean), one panel per benchmark")
    plot.add_argument("--ranks", required=True)
    plot.add_argument("--out", required=True, help="PNG path")
    plot.set_defaults(run=_plot)

    claim = steps.add_parser("claims", help="claims.json and metrics.json")
    for table in ("official", "ranks", "kendall", "human"):
        claim.add_argument(f"--{table}", required=True)
    claim.add_argument("--tolerance", type=float, required=True)
    claim.add_argument("--rounding-bound", type=float, required=True)
    claim.add_argument("--tau-threshold", type=float, required=True)
    add_ledger_arguments(claim)
    claim.set_defaults(run=_claims)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
