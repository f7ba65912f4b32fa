"""Wall time of each study from a fresh clone, in pipeline order, against the per-study budget.

python -m kexue_repro.benchmarks.study_wall [--studies leaderboard vae ...] [--budget-min 6] [--dvc]
                                            [--clone-to DIR]

Clones the repository's HEAD (committed work only) and runs each study's target in turn, by default every DVC
stage in dvc.yaml's order, so that a study finds what the studies before it made, as `dvc repro` runs them:
`snakemake --profile workflow/profiles/local <study>`, or with --dvc `dvc repro --single-item <study>` (the
stage's own command, which also records dvc.lock). Both use every core this process may run on (limit them
with `taskset -c 0,1`). Prints each study's wall time and its ratio to the budget: each study's issue asks for
at most 6 minutes on 2 cores at smoke scale, given what it builds on; then how much of each study's job time
went to starting processes (kexue_repro.benchmarks.rule_times). --clone-to keeps the clone, with its results
and dvc.lock; otherwise it is removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from kexue_repro.benchmarks.rule_times import print_startup_share, rule_times

BIN = Path(sys.executable).parent


def pipeline_order(repo: Path) -> list[str]:
    return list(yaml.safe_load((repo / "dvc.yaml").read_text())["stages"])


def command(study: str, dvc: bool) -> list[str]:
    if dvc:
        return [str(BIN / "dvc"), "repro", "--single-item", study]
    return [str(BIN / "snakemake"), "--profile", "workflow/profiles/local", study]


def timed_runs(clone: Path, studies: list[str], dvc: bool, budget: float) -> float:
    """Run and time each study in turn, printing a line as each ends; returns the total wall time."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    total = 0.0
    for study in studies:
        start = time.perf_counter()
        proc = subprocess.run(command(study, dvc), cwd=clone, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            tail = (proc.stderr.strip() or proc.stdout.strip() or "(no output)").splitlines()[-1]
            raise RuntimeError(f"{study}: exited {proc.returncode} after {wall:.0f} s: {tail}")
        print(f"{study:<14} {wall:8.1f} s  = {wall / budget:.3f} x budget of {budget:.0f} s", flush=True)
        total += wall
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="+", help="targets to time, in this order (default: every stage)")
    parser.add_argument("--budget-min", type=float, default=6.0, help="wall-time budget of one study")
    parser.add_argument("--dvc", action="store_true", help="run each stage with dvc repro --single-item")
    parser.add_argument("--clone-to", type=Path, help="clone here and keep it (must not exist)")
    args = parser.parse_args(argv)
    source = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="study-wall-") as scratch:
        clone = args.clone_to or Path(scratch) / "repo"
        subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
        studies = args.studies or pipeline_order(clone)
        unknown = sorted(set(studies) - set(pipeline_order(clone)))
        if unknown:
            print(f"error: --studies: no stage named {', '.join(unknown)} in dvc.yaml", file=sys.stderr)
            return 1
        budget = args.budget_min * 60
        cores = len(os.sched_getaffinity(0))
        runner = "dvc repro" if args.dvc else "snakemake"
        print(f"{len(studies)} studies from a fresh clone of HEAD, {cores} cores, {runner}", flush=True)
        try:
            total = timed_runs(clone, studies, args.dvc, budget)
            print(f"{'TOTAL':<14} {total:8.1f} s\n", flush=True)
            print_startup_share(rule_times(clone / "results/benchmarks", clone / "results/logs"))
        except RuntimeError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        finally:
            if args.clone_to is None:
                shutil.rmtree(clone, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
