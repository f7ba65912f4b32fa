"""Wall time of the pipeline from a fresh clone: each study in turn, or `make reproduce` as a whole.

python -m kexue_repro.benchmarks.study_wall [--studies leaderboard vae ...] [--dvc] [--budget-min 6]
                                            [--clone-to DIR]
python -m kexue_repro.benchmarks.study_wall --reproduce [--budget-min 10] [--clone-to DIR]

Clones the repository's HEAD (committed work only), then:

- by default, runs each study's target in turn, every DVC stage in dvc.yaml's order unless --studies names
  some, so that a study finds what the studies before it made: `snakemake --profile workflow/profiles/local
  <study>`, or with --dvc `dvc repro --single-item <study>` (the stage's own command, which also records
  dvc.lock). Prints each study's wall time against the budget each study's issue set: at most 6 minutes on 2
  cores at smoke scale, given what it builds on.
- with --reproduce, runs what `make reproduce` runs (REPRODUCE, the Makefile's recipe): one Snakemake run of
  the whole graph, which keeps every core busy across studies, then `dvc repro`, whose stages find their
  targets done and record them, then the summary. Prints each command's wall time and the total against 10
  minutes on 2 cores (the smoke pipeline's budget).

Then, either way, the share of core time that jobs kept busy, and how much of each study's job time went to
starting processes (kexue_repro.benchmarks.rule_times). Everything uses every core this process may run on
(limit them with `taskset -c 0,1`). --clone-to keeps the clone, with its results and dvc.lock; otherwise it
is removed.
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
SNAKEMAKE = ["snakemake", "--profile", "workflow/profiles/local"]
# `make reproduce` (tests/test_study_wall.py checks that the Makefile runs these).
REPRODUCE = [SNAKEMAKE, ["dvc", "repro"], ["python", "-m", "kexue_repro", "summary"]]


def pipeline_order(repo: Path) -> list[str]:
    return list(yaml.safe_load((repo / "dvc.yaml").read_text())["stages"])


def study_command(study: str, dvc: bool) -> list[str]:
    return ["dvc", "repro", "--single-item", study] if dvc else [*SNAKEMAKE, study]


def timed(clone: Path, label: str, command: list[str], budget: float) -> float:
    """Run ``command`` in the clone with this environment's tools and print its wall time; returns it. The
    clone's own package comes first on PYTHONPATH: an editable install would otherwise run the working tree's
    code, uncommitted edits included, rather than the commit being timed."""
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(clone / "src"), os.environ.get("PYTHONPATH")])),
    }
    start = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=clone, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip() or "(no output)").splitlines()[-1]
        raise RuntimeError(f"{label}: exited {proc.returncode} after {wall:.0f} s: {tail}")
    print(f"{label:<14} {wall:8.1f} s  = {wall / budget:.3f} x budget of {budget:.0f} s", flush=True)
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="+", help="targets to time, in this order (default: every stage)")
    parser.add_argument("--dvc", action="store_true", help="run each stage with dvc repro --single-item")
    parser.add_argument("--reproduce", action="store_true", help="time `make reproduce` as a whole")
    parser.add_argument(
        "--budget-min",
        type=float,
        help="wall-time budget: of one study (default 6), or with --reproduce of all (10)",
    )
    parser.add_argument("--clone-to", type=Path, help="clone here and keep it (must not exist)")
    args = parser.parse_args(argv)
    if args.reproduce and (args.studies or args.dvc):
        parser.error("--reproduce runs the whole pipeline: no --studies or --dvc")
    source = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="study-wall-") as scratch:
        clone = args.clone_to or Path(scratch) / "repo"
        subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
        cores = len(os.sched_getaffinity(0))
        if args.reproduce:
            budget = (args.budget_min or 10.0) * 60
            runs = [(" ".join(command[2:] if command[0] == "python" else command[:2]), command)
                    for command in REPRODUCE]  # fmt: skip
            print(f"make reproduce from a fresh clone of HEAD, {cores} cores", flush=True)
        else:
            budget = (args.budget_min or 6.0) * 60
            studies = args.studies or pipeline_order(clone)
            unknown = sorted(set(studies) - set(pipeline_order(clone)))
            if unknown:
                print(f"error: --studies: no stage named {', '.join(unknown)} in dvc.yaml", file=sys.stderr)
                return 1
            runs = [(study, study_command(study, args.dvc)) for study in studies]
            runner = "dvc repro" if args.dvc else "snakemake"
            print(f"{len(studies)} studies from a fresh clone of HEAD, {cores} cores, {runner}", flush=True)
        try:
            total = sum(timed(clone, label, command, budget) for label, command in runs)
            print(f"{'TOTAL':<14} {total:8.1f} s  = {total / budget:.3f} x budget of {budget:.0f} s")
            times = rule_times(clone / "results/benchmarks", clone / "results/logs")
            job_seconds = times["seconds"].sum()
            busy = job_seconds / (cores * total)
            print(f"cores busy: {busy:.1%} (job time {job_seconds:.0f} s over {cores} x {total:.0f} s)\n")
            print_startup_share(times)
        except RuntimeError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        finally:
            if args.clone_to is None:
                shutil.rmtree(clone, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
