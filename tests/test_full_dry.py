"""The full scale end to end before anyone pays for a GPU: Snakemake, then `dvc repro` of every stage, with
`scale: full` and the budgets of tests/config/full-dry.yaml, on stand-ins of everything a full run takes from
outside (tests/stand_ins.py), served from 127.0.0.1 through the data layer.

The test's server is also every job's HTTP(S) proxy: a request for anywhere but the loopback mirror (the
official URLs, which the data layer tries first) is refused and recorded, so the run never reaches the
internet, even where CI could, and shows that the downloads took the path a real full run takes.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import stand_ins
import yaml

from kexue_repro.common.claims import read_claims

from conftest import REPO, copy_repository, git, offline_mirror, run, snakemake_jobs, tool
from step_settings import deep_merge

pytestmark = pytest.mark.e2e

STAND_INS = "data/stand-ins"  # where tests/config/full-dry.yaml expects them, inside the repository copy
# Outside URLs the data layer must try before the mirror (refused here): MNIST, CIFAR-10, CLUE official.
OFFICIAL_HOSTS = ("yann.lecun.com", "www.cs.toronto.edu", "storage.googleapis.com")
SMOKE_AT_EVERY_SCALE = "src/kexue_repro/gan/claims.py:"


@dataclass
class DryRun:
    repo: Path
    planned: set[str]  # rules `snakemake -n --config scale=full` plans on the project's own params.yaml
    executed: set[str]  # rules the run executed
    stages: set[str]  # DVC stages `dvc repro` then ran
    refused: list[str]  # outside URLs the jobs asked for


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> DryRun:
    repo = copy_repository(tmp_path_factory.mktemp("full-dry") / "repo")
    plan = run([tool("snakemake"), "-n", "--config", "scale=full"], cwd=repo, timeout=300)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    config = deep_merge(params, yaml.safe_load((REPO / "tests/config/full-dry.yaml").read_text()))
    (repo / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    models = [repo / path for path in config["clue"]["models"].values() if path.startswith(STAND_INS)]
    runs = config["clue"]["scales"]["full"]["runs"]
    stand_ins.build(repo / STAND_INS, [*runs["tasks"], *runs["mrc_ner_tasks"]], models)
    git(["init", "-q", "-b", "main"], cwd=repo)
    git(["add", "-A"], cwd=repo)
    git(["commit", "-qm", "full-scale dry run"], cwd=repo)

    with offline_mirror(repo / STAND_INS / "mirror") as server:
        env = server.env
        # The whole graph at once (both cores busy across studies), then every DVC stage: each runs its
        # Snakemake target, finds it done, and records the full-scale outputs.
        snakemake = run(
            [tool("snakemake"), "--profile", "workflow/profiles/local"], cwd=repo, timeout=1800, env=env
        )
        repro = run([tool("dvc"), "repro"], cwd=repo, timeout=600, env=env)
    return DryRun(
        repo,
        planned=set(snakemake_jobs(plan.stdout + plan.stderr)),
        executed=set(snakemake_jobs(snakemake.stdout + snakemake.stderr)),
        stages={line.split("'")[1] for line in repro.stdout.splitlines() if "Running stage" in line},
        refused=server.refused,
    )


def studies(repo: Path) -> list[str]:
    return [name for name in yaml.safe_load((repo / "dvc.yaml").read_text())["stages"] if name != "report"]


def claim_functions() -> set[str]:
    """Every @claim function of the package, as the ledger's `code` names it (path:function)."""
    found = set()
    for path in sorted((REPO / "src/kexue_repro").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "claim" for d in node.decorator_list
            ):
                found.add(f"{path.relative_to(REPO)}:{node.name}")
    return found


def test_the_rules_run_are_the_rules_a_full_run_plans(dry_run):
    assert dry_run.executed == dry_run.planned
    assert {"gan_train_cifar", "gan_cifar10", "clue_fetch", "vae_data"} <= dry_run.executed


def test_every_dvc_stage_ran_and_dvc_then_has_nothing_to_do(dry_run):
    assert dry_run.stages == set(yaml.safe_load((dry_run.repo / "dvc.yaml").read_text())["stages"])
    assert run([tool("dvc"), "status", "--quiet"], cwd=dry_run.repo, check=False).returncode == 0


def test_every_claim_function_ran_at_full_scale(dry_run):
    codes = set()
    for study in studies(dry_run.repo):
        ledger = read_claims(dry_run.repo / f"results/{study}/claims.json")
        # GAN (a)-(e) come from the smoke experiments every scale runs, and say so (gan.claims.SMOKE).
        smoke = {row["claim_id"] for row in ledger if row["code"].startswith(SMOKE_AT_EVERY_SCALE)}
        assert ledger and all(row["scale"] == "full" for row in ledger if row["claim_id"] not in smoke), study
        assert all(row["scale"] == "smoke" for row in ledger if row["claim_id"] in smoke), study
        codes |= {row["code"] for row in ledger}
        provenance = json.loads((dry_run.repo / f"results/{study}/provenance.json").read_text())
        assert provenance["scale"] == "full"
    assert claim_functions() - codes == set(), "claim functions that no full-scale row came from"
    report = (dry_run.repo / "results/report.md").read_text()
    assert "Scale: full." in report


def test_downloads_tried_the_official_urls_then_verified_the_mirror_copies(dry_run):
    assert {host for host in OFFICIAL_HOSTS if any(host in url for url in dry_run.refused)} == set(
        OFFICIAL_HOSTS
    )
    cifar = json.loads((dry_run.repo / "results/gan/evals/cifar10_data.json").read_text())
    assert cifar["sha256_verified"] and cifar["train_images"] == 5 * 20
    for fetched in sorted((dry_run.repo / "data/raw/clue").glob("*/fetch.json")):
        files = json.loads(fetched.read_text())["files"]
        assert all(entry["verified"] for entry in files.values()), fetched


def test_snakemake_then_has_nothing_to_do(dry_run):
    dry = run([tool("snakemake"), "--dry-run"], cwd=dry_run.repo)
    assert "Nothing to be done" in dry.stdout + dry.stderr
