"""Job time of every rule of the last run, per study, split into start-up and work.

python -m kexue_repro.benchmarks.rule_times [--benchmarks results/benchmarks] [--logs results/logs]
                                            [--budget-min 15]

A job's time is its Snakemake benchmark file (results/benchmarks/<job>.tsv); its start-up (from the process's
start to its first line of work: interpreter, imports, argument parsing) is the ``start-up: X s`` line its
log (results/logs/<job>.log, the same relative path) holds when the workflow ran it
(kexue_repro.common.cli.log_startup). Prints one line per job, a subtotal per study with its start-up share,
and the total against the smoke-scale budget (the whole main job within 15 minutes on 2 cores). Jobs that
ran in parallel are summed, so the total is an upper bound on the wall time of the run.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from kexue_repro.common.cli import STARTUP_PREFIX

COLUMNS = ["study", "rule", "seconds", "startup"]


def startup_seconds(log: Path) -> float:
    """The start-up time a job's log records (NaN when it has none: an older run, or not a Python job)."""
    if not log.is_file():
        return math.nan
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith(STARTUP_PREFIX)]
    return float(lines[-1].removeprefix(STARTUP_PREFIX).split()[0]) if lines else math.nan


def rule_times(benchmark_dir: Path, log_dir: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted(benchmark_dir.rglob("*.tsv")):
        rel = tsv.relative_to(benchmark_dir)
        study = rel.parts[0] if len(rel.parts) > 1 else "(workflow)"
        seconds = pd.read_csv(tsv, sep="\t")["s"].mean()
        startup = startup_seconds(log_dir / rel.with_suffix(".log"))
        rows.append(
            {"study": study, "rule": str(rel.with_suffix("")), "seconds": seconds, "startup": startup}
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def startup_share(times: pd.DataFrame) -> pd.DataFrame:
    """Per study (and in all): jobs, job seconds, start-up seconds and its share of the measured jobs' time."""
    measured = times.dropna(subset=["startup"])

    def summary(jobs: pd.DataFrame, timed: pd.DataFrame) -> dict[str, float]:
        share = timed["startup"].sum() / timed["seconds"].sum() if len(timed) else math.nan
        return {"jobs": len(jobs), "seconds": jobs["seconds"].sum(), "startup": timed["startup"].sum(),
                "unmeasured": len(jobs) - len(timed), "share": share}  # fmt: skip

    rows = {
        study: summary(jobs, measured[measured["study"] == study]) for study, jobs in times.groupby("study")
    }
    rows["TOTAL"] = summary(times, measured)
    return pd.DataFrame.from_dict(rows, orient="index")


def print_startup_share(times: pd.DataFrame) -> None:
    print(
        f"{'study':<16} {'jobs':>5} {'job s':>9} {'start-up s':>11} {'share':>7}  (jobs without a start-up line)"
    )
    for study, row in startup_share(times).iterrows():
        print(
            f"{study:<16} {row['jobs']:5.0f} {row['seconds']:9.1f} {row['startup']:11.1f} {row['share']:7.1%}"
            f"  ({row['unmeasured']:.0f})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=Path("results/benchmarks"), help="benchmark files")
    parser.add_argument("--logs", type=Path, default=Path("results/logs"), help="the jobs' logs")
    parser.add_argument("--budget-min", type=float, default=15.0, help="wall-time budget of the main job")
    args = parser.parse_args(argv)
    times = rule_times(args.benchmarks, args.logs)
    if times.empty:
        print(f"error: no benchmark files under {args.benchmarks}: run the workflow first", file=sys.stderr)
        return 1
    for study, rules in times.groupby("study"):
        for _, row in rules.iterrows():
            print(f"{row['rule']:<50} {row['seconds']:9.2f} s  start-up {row['startup']:6.2f} s")
        print(f"{'  ' + study + ' total':<50} {rules['seconds'].sum():9.2f} s")
    total = times["seconds"].sum()
    budget = args.budget_min * 60
    print(f"{'TOTAL (sum of rules)':<50} {total:9.2f} s  = {total / budget:.3f} x budget of {budget:.0f} s")
    print()
    print_startup_share(times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
