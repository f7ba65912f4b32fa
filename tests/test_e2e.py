"""The workflow end to end, through Snakemake and through DVC, in a temporary copy of the repository."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
import yaml

from kexue_repro.common.claims import VERDICTS, read_claims

from conftest import run, tool

pytestmark = pytest.mark.e2e

SNAKEMAKE = [
    tool("snakemake"),
    "--profile",
    "workflow/profiles/local",
    "--configfile",
    "tests/config/tiny.yaml",
]


def studies(repo) -> list[str]:
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return [name for name in stages if name != "report"]


def test_pipeline_fills_the_ledger_and_is_then_up_to_date(repo_copy):
    run(SNAKEMAKE, cwd=repo_copy)

    table = pd.read_csv(repo_copy / "results/claims.csv")
    assert set(table["study"]) == set(studies(repo_copy))
    assert set(table["verdict"]) <= set(VERDICTS)
    for study in studies(repo_copy):
        ledger = read_claims(repo_copy / f"results/{study}/claims.json")
        assert ledger, f"study {study} stated no claim"
        assert all(claim["scale"] == "smoke" for claim in ledger)
        for claim in ledger:
            assert (repo_copy / claim["evidence"]).is_file(), f"{claim['claim_id']}: evidence missing"
    report = (repo_copy / "results/report.md").read_text()
    assert all(claim_id in report for claim_id in table["claim_id"])
    for link in [line.split("(")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]:
        assert (repo_copy / "results" / link).is_file()

    dry = run([*SNAKEMAKE, "--dry-run"], cwd=repo_copy)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    run([*SNAKEMAKE, "--report", "results/report.html"], cwd=repo_copy)
    html = (repo_copy / "results/report.html").read_text()
    assert "Kendall tau between the rankings" in html, "report captions missing"

    times = run([sys.executable, "-m", "kexue_repro.benchmarks.rule_times"], cwd=repo_copy).stdout
    assert "leaderboard/score" in times and "TOTAL" in times


def test_dvc_repro_experiments_and_diffs(git_repo_copy):
    repo = git_repo_copy
    run([tool("dvc"), "repro"], cwd=repo)
    assert (repo / "dvc.lock").is_file()
    metrics = json.loads(run([tool("dvc"), "metrics", "show", "--json"], cwd=repo).stdout)
    assert any("results/leaderboard/metrics.json" in str(v) for v in metrics.values())

    again = run([tool("dvc"), "repro"], cwd=repo)
    assert "didn't change" in again.stdout and "Running stage" not in again.stdout
    assert "Nothing to be done" in "".join(run([tool("snakemake"), "-n"], cwd=repo).stdout)

    run(["git", "add", "-A"], cwd=repo)
    run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@localhost",
            "commit",
            "--allow-empty",
            "-qm",
            "baseline",
        ],
        cwd=repo,
    )
    exp = run([tool("dvc"), "exp", "run", "-S", "leaderboard.tau_threshold=0.99"], cwd=repo)
    assert "Running stage 'leaderboard'" in exp.stdout
    params = json.loads(run([tool("dvc"), "params", "diff", "--json"], cwd=repo).stdout)
    change = params["params.yaml"]["leaderboard.tau_threshold"]
    assert (change["old"], change["new"]) == (0.8, 0.99)
    assert "Running stage 'vae'" not in exp.stdout, "a leaderboard parameter must not rerun the VAE study"
    run([tool("dvc"), "metrics", "diff", "--all"], cwd=repo)
    shown = run([tool("dvc"), "exp", "show", "--json"], cwd=repo).stdout
    assert "tau_threshold" in shown
