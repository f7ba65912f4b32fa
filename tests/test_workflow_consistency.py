"""One source of truth: the Snakemake target rule of each study names its outputs; dvc.yaml must agree.

Also: every job takes the code it runs among its inputs (derived from the imports), and every DVC stage
depends on exactly the code of its rules; and the house rules a reviewer would check by eye: lint-clean,
snakefmt-clean, every rule with a log, a benchmark, resources and a software environment.
"""

from __future__ import annotations

import re

import pytest
import yaml
from snakemake.api import SnakemakeApi
from snakemake.settings.types import OutputSettings, ResourceSettings

from kexue_repro.common.params import params_block

from code_deps import code_of
from conftest import REPO, run, tool
from dvc_stages import expected_deps, out_of_date, stage_command

STUDIES = ("leaderboard", "vae", "gan", "transformer", "bert", "clue", "clue_mrc_ner", "can")


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


def runs(rule) -> str | None:
    """The module a rule's job runs (``python -m <module>``), if it runs project code."""
    found = re.search(r"python -m (kexue_repro[\w.]*)", rule.shellcmd or "")
    return found.group(1) if found else None


def test_every_job_takes_the_code_it_runs_among_its_inputs(workflow):
    """A rule's inputs include every file of its module's import closure, so editing any of them reruns it."""
    checked = 0
    for rule in workflow.rules:
        module = runs(rule)
        if module is None:
            continue
        inputs = {str(f) for f in rule.input if not callable(f)}
        missing = sorted(set(code_of(module)) - inputs)
        assert not missing, f"rule {rule.name} runs {module} but does not take {missing} as inputs"
        checked += 1
    assert checked >= 20, "fewer rules run project code than expected: is the shell command parsed right?"


def test_every_rule_that_runs_code_runs_a_step_module_with_settings_from_a_file(workflow):
    """Settings reach a job as a settings file (workflow/lib/step_settings.py), not as options in the rule."""
    for rule in workflow.rules:
        if runs(rule) and "--settings" in (rule.shellcmd or ""):
            assert "--settings {input.settings}" in rule.shellcmd, rule.name
            assert str(rule.input.settings).startswith("results/settings/") or callable(rule.input.settings)


def test_dvc_stages_run_the_guard_and_depend_on_exactly_their_code(stages):
    """dvc.yaml's derived parts are current: `python workflow/lib/dvc_stages.py --write` would change nothing."""
    assert out_of_date(stages) == []
    for name, stage in stages.items():
        assert stage["cmd"] == stage_command(name)
        code = [d for d in stage["deps"] if d.startswith("src/")]
        assert code == [d for d in expected_deps(name, stage["deps"]) if d.startswith("src/")]
        assert all(not d.endswith("/") and (REPO / d).is_file() for d in code), f"stage {name}: {code}"


def test_a_stage_depends_on_the_code_of_every_rule_of_its_study(workflow, stages):
    for rule in workflow.rules:
        module = runs(rule)
        study = re.search(r"workflow/rules/(\w+)\.smk$", rule.snakefile)
        if module is None or study is None or study.group(1) not in stages:
            continue
        missing = set(code_of(module)) - set(stages[study.group(1)]["deps"])
        assert not missing, f"stage {study.group(1)} misses the code of rule {rule.name}: {sorted(missing)}"


def test_every_out_persists(stages):
    """DVC deletes nothing before a stage runs; workflow/lib/lock_guard.py decides what is stale instead."""
    for name, stage in stages.items():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                assert isinstance(entry, dict) and next(iter(entry.values())).get("persist"), (name, entry)


def test_each_stage_tracks_only_its_own_params(stages):
    shared = {"scale", "device", "data"}
    for name, stage in stages.items():
        keys = {str(p).split(".")[0] for p in stage.get("params", [])}
        own = {name, params_block(name)}
        assert keys - shared <= own, f"stage {name} tracks another study's params: {sorted(keys - shared)}"


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


def setting_keys(block, found: set[str]) -> set[str]:
    """Every leaf key of a params block (a number, a word or a list), but those naming a file (an input, which
    a rule passes as a path)."""
    if isinstance(block, dict):
        for key, value in block.items():
            if str(key) == "runs" or str(key).endswith("_runs"):  # the plan: what the jobs are, not a setting
                continue
            if not isinstance(value, dict) and not (isinstance(value, str) and (REPO / value).is_file()):
                found.add(str(key))
            setting_keys(value, found)
    elif isinstance(block, list):
        for item in block:
            setting_keys(item, found)
    return found


def test_no_setting_travels_as_a_command_line_option(workflow):
    """A hyperparameter lives in params.yaml, its schema and the dataclass that reads it: no rule of its study
    passes it as an option and no step of its study parses one (wildcards such as seed or k, which name a job,
    are the exception, and so are the lists of the block's `runs`, such as the seeds a job runs in turn)."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    wildcards = {name for rule in workflow.rules for name in rule.wildcard_names}
    for study in STUDIES:
        keys = setting_keys(params[params_block(study)], set()) - wildcards
        options = {f"--{key.replace('_', '-')}" for key in keys} - {"--settings"}
        shells = [
            r.shellcmd or "" for r in workflow.rules if r.snakefile.endswith(f"workflow/rules/{study}.smk")
        ]
        # an option whose value is a wildcard names the job (a run's seed, lr, ...), one of the runs block's
        # lists names its runs (params of the same name); one of files, its inputs
        runs = "|".join(params[params_block(study)].get("runs", {})) or "(?!)"
        value = rf"(?:wildcards\.|input\.|output\.|params\.(?:{runs})\}})"
        named = {o for sh in shells for o in re.findall(rf"(--[a-z][a-z0-9-]*) \{{{value}", sh)}
        options -= named
        for shell in shells:
            passed = set(re.findall(r"--[a-z][a-z0-9-]*", shell)) & options
            assert not passed, f"{study}: a rule passes settings as options: {sorted(passed)}"
        for path in sorted((REPO / "src/kexue_repro" / study).rglob("*.py")):
            parsed = set(re.findall(r"add_argument\(\s*\"(--[a-z][a-z0-9-]*)\"", path.read_text())) & options
            assert not parsed, f"{path.relative_to(REPO)} parses settings as options: {sorted(parsed)}"
