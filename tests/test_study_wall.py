"""The per-study wall-time benchmark, on the cheapest study, from a fresh clone of HEAD."""

from __future__ import annotations

import re
import sys

from kexue_repro.benchmarks.study_wall import REPRODUCE

from conftest import REPO, run


def test_study_wall_times_a_study_from_a_fresh_clone_and_keeps_it_when_asked(tmp_path):
    clone = tmp_path / "clone"
    cmd = [sys.executable, "-m", "kexue_repro.benchmarks.study_wall", "--studies", "leaderboard"]
    out = run([*cmd, "--budget-min", "0.5", "--clone-to", str(clone)], cwd=REPO).stdout
    line = next(line for line in out.splitlines() if line.startswith("leaderboard "))
    seconds, ratio = map(
        float, re.fullmatch(r"leaderboard\s+([\d.]+) s\s+= ([\d.]+) x budget of 30 s", line).groups()
    )
    assert abs(ratio - seconds / 30) <= 0.05 / 30 + 0.0005 + 1e-9  # both printed rounded (0.1 s, 0.001)
    assert (clone / "results/leaderboard/claims.json").is_file(), "the kept clone holds the study's results"
    assert "1 studies from a fresh clone of HEAD" in out and "TOTAL" in out
    busy = float(re.search(r"\ncores busy: ([\d.]+)% \(job time", out).group(1))
    assert 0 < busy <= 100
    # every job of the study logged its start-up time (the log beside its benchmark file)
    jobs, job_s, startup_s, unmeasured = re.search(
        r"\nleaderboard\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+%\s+\((\d+)\)", out
    ).groups()
    assert int(jobs) == 3 and int(unmeasured) == 0 and 0 < float(startup_s) < float(job_s)


def test_an_unknown_study_is_named_in_one_line(tmp_path):
    cmd = [sys.executable, "-m", "kexue_repro.benchmarks.study_wall", "--studies", "leaderbord"]
    proc = run([*cmd, "--clone-to", str(tmp_path / "c")], cwd=REPO, check=False)
    assert proc.returncode == 1
    assert proc.stderr == "error: --studies: no stage named leaderbord in dvc.yaml\n"


def test_the_reproduce_benchmark_times_what_make_reproduce_runs():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nreproduce: setup\n")[1].split("\n\n")[0]
    assert [line.strip().split() for line in recipe.splitlines()] == REPRODUCE
