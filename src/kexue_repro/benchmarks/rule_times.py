"""Wall time of every rule of the last run, per study, from Snakemake's benchmark files.

python -m kexue_repro.benchmarks.rule_times [--benchmarks results/benchmarks] [--budget-min 15]

Prints one line per rule, a subtotal per study and the total against the smoke-scale budget
(the whole main job within 15 minutes on 2 cores). Rules that ran in parallel are summed, so the
total is an upper bound on the wall time of the run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def rule_times(benchmark_dir: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted(benchmark_dir.rglob("*.tsv")):
        rel = tsv.relative_to(benchmark_dir)
        study = rel.parts[0] if len(rel.parts) > 1 else "(workflow)"
        seconds = pd.read_csv(tsv, sep="\t")["s"].mean()
        rows.append({"study": study, "rule": str(rel.with_suffix("")), "seconds": seconds})
    return pd.DataFrame(rows, columns=["study", "rule", "seconds"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--budget-min", type=float, default=15.0, help="wall-time budget of the main job")
    args = parser.parse_args(argv)
    times = rule_times(args.benchmarks)
    if times.empty:
        print(f"error: no benchmark files under {args.benchmarks}: run the workflow first", file=sys.stderr)
        return 1
    for study, rules in times.groupby("study"):
        for _, row in rules.iterrows():
            print(f"{row['rule']:<50} {row['seconds']:9.2f} s")
        print(f"{'  ' + study + ' total':<50} {rules['seconds'].sum():9.2f} s")
    total = times["seconds"].sum()
    budget = args.budget_min * 60
    print(f"{'TOTAL (sum of rules)':<50} {total:9.2f} s  = {total / budget:.3f} x budget of {budget:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
