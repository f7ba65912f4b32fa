"""One source of truth: the Snakemake target rule of each study names its outputs; dvc.yaml must agree.

Also the house rules a reviewer would check by eye: lint-clean, snakefmt-clean, every rule with a log,
a benchmark, resources and a software environment.
"""

from __future__ import annotations

import pytest
import yaml
from snakemake.api import SnakemakeApi
from snakemake.settings.types import OutputSettings, ResourceSettings

from conftest import REPO, run, tool


@pytest.fixture(scope="module")
def workflow():
    with SnakemakeApi(OutputSettings()) as api:
        yield api.workflow(
            resource_settings=ResourceSettings(), snakefile=REPO / "Snakefile", workdir=REPO
        )._workflow


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def stage_outs(stage: dict) -> set[str]:
    return {
        next(iter(entry)) if isinstance(entry, dict) else entry
        for kind in ("outs", "metrics", "plots")
        for entry in stage.get(kind, [])
    }


def covered(target: str, outs: set[str]) -> bool:
    """A Snakemake target is a DVC out itself or lies inside a directory out."""
    return target in outs or any(target.startswith(out.rstrip("/") + "/") for out in outs)


def target_files(workflow, name: str) -> set[str]:
    rule = workflow.get_rule(name)
    files = rule.output if rule.output else rule.input
    return {str(f) for f in files}


def assert_agree(targets: set[str], outs: set[str], what: str) -> None:
    assert all(covered(t, outs) for t in targets), (
        f"{what}: targets not in DVC: {sorted(t for t in targets if not covered(t, outs))}"
    )
    empty = [out for out in outs if not any(covered(t, {out}) for t in targets)]
    assert not empty, f"{what}: DVC outs that no Snakemake target produces: {empty}"


def test_every_dvc_stage_is_a_snakemake_target_rule(workflow, stages):
    rule_names = {r.name for r in workflow.rules}
    assert set(stages) <= rule_names, (
        f"DVC stages without a Snakemake target rule: {set(stages) - rule_names}"
    )


def test_dvc_outs_equal_snakemake_targets_per_stage(workflow, stages):
    for name, stage in stages.items():
        assert_agree(target_files(workflow, name), stage_outs(stage), f"stage {name}")
        assert stage["cmd"].split()[-1] == name, f"stage {name} must run the Snakemake target rule {name}"


def test_rule_all_is_the_union_of_the_stages(workflow, stages):
    union = set().union(*(stage_outs(s) for s in stages.values()))
    assert_agree({str(f) for f in workflow.get_rule("all").input}, union, "rule all")


def test_every_dvc_stage_depends_on_its_inputs(stages):
    """A stage's deps list files that exist in the repository or are outs of an earlier stage."""
    produced = set().union(*(stage_outs(s) for s in stages.values()))
    for name, stage in stages.items():
        for dep in stage.get("deps", []):
            assert (REPO / dep).exists() or dep in produced, (
                f"stage {name}: dep {dep} is neither a file nor an out"
            )


def test_rules_declare_log_benchmark_resources_and_environment(workflow):
    for rule in workflow.rules:
        if rule.norun:  # target rules only gather files
            continue
        assert rule.log, f"rule {rule.name} has no log"
        assert rule.benchmark, f"rule {rule.name} has no benchmark"
        assert {"mem_mb", "runtime"} <= set(rule.resources), f"rule {rule.name} lacks mem_mb/runtime"
        assert rule.conda_env, f"rule {rule.name} has no conda environment"


def test_snakemake_lint_is_clean():
    proc = run([tool("snakemake"), "--lint"], cwd=REPO, check=False)
    assert proc.returncode == 0 and "Lints for" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
