"""No result outlives the code or the settings that made it, and DVC and Snakemake agree on what is stale
(issue 15), on a copy of the workspace that ran the session's tiny pipeline (conftest's `tiny_pipeline`).

The tests run in order on one clone: each code change is committed and reproduced before the next, so each
plan shows what that change alone makes stale. Edits of params.yaml come last (a dry run writes the settings
files, and a clone without Snakemake's records of its jobs cannot tell a rewritten file from a changed one).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from kexue_repro.clue import plan as clue_plan

from conftest import Pipeline, git, run, snakemake_jobs, tool

pytestmark = pytest.mark.e2e

SNAKEMAKE = [tool("snakemake"), "--profile", "workflow/profiles/local"]
STUDIES = ("leaderboard", "vae", "gan", "transformer", "bert", "clue", "clue_mrc_ner", "can")


@pytest.fixture(scope="module")
def clone(tiny_pipeline: Pipeline) -> Path:
    """The workspace after a full run (its intermediate files and Snakemake's records included), copied with
    its files' times, beside the DVC remote as every clone of the pipeline is."""
    repo = tiny_pipeline.root / "stale"
    shutil.copytree(tiny_pipeline.first, repo, symlinks=True)
    run([tool("dvc"), "status", "--quiet"], cwd=repo)
    return repo


def planned(repo: Path) -> dict[str, int]:
    """The jobs a dry run plans, by rule (its first 'Job stats' table; the summary repeats it)."""
    dry = run([*SNAKEMAKE, "--dry-run"], cwd=repo)
    first_table = "Job stats:" + (dry.stdout + dry.stderr).split("Job stats:")[1]
    return snakemake_jobs(first_table)


def studies_of(jobs: dict[str, int]) -> set[str]:
    return {rule.split("_")[0] for rule in jobs if rule != "all"}


def change_code(repo: Path, module: str) -> None:
    with open(repo / "src/kexue_repro" / module, "a", encoding="utf-8") as fh:
        fh.write("# a comment: the code changed, so its results must be made again\n")


def mtimes(repo: Path, pattern: str) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in sorted(repo.glob(pattern))}


def reproduce(repo: Path, message: str) -> str:
    git(["commit", "-qam", message], cwd=repo)
    out = run([tool("dvc"), "repro"], cwd=repo, timeout=900)
    assert run([tool("dvc"), "status", "--quiet"], cwd=repo, check=False).returncode == 0
    return out.stdout


def head(repo: Path) -> str:
    return git(["rev-parse", "HEAD"], cwd=repo).stdout.strip()


def test_a_change_to_the_vae_model_reruns_the_vae_and_the_report_only(clone):
    change_code(clone, "vae/model.py")
    jobs = planned(clone)
    runs = yaml.safe_load((clone / "params.yaml").read_text())["vae"]["runs"]
    assert jobs["vae_train"] == len(runs["seeds"]) == jobs["vae_evaluate"]  # one job per seed, each k in turn
    assert studies_of(jobs) == {"vae", "report"}, jobs
    before = mtimes(clone, "results/vae/models/*.pt")
    reproduce(clone, "vae model: a comment")
    after = mtimes(clone, "results/vae/models/*.pt")
    assert before.keys() == after.keys() and all(after[p] > before[p] for p in before)
    provenance = json.loads((clone / "results/vae/provenance.json").read_text())
    assert provenance["git"] == {"revision": head(clone), "dirty": False}


def test_a_change_to_the_can_model_reruns_can_and_the_report_only(clone):
    change_code(clone, "can/model.py")
    jobs = planned(clone)
    assert jobs["can_apply"] >= 2 and studies_of(jobs) == {"can", "report"}, jobs
    reproduce(clone, "can model: a comment")


def test_a_change_to_childtuning_reruns_every_fine_tuning_and_the_report_and_plans_can(clone):
    change_code(clone, "clue/variants.py")
    jobs = planned(clone)
    config = yaml.safe_load((clone / "params.yaml").read_text())
    runs = len(clue_plan.run_tasks(config)) * len(clue_plan.variants(config)) * len(clue_plan.seeds(config))
    assert jobs["clue_finetune"] == runs // len(clue_plan.seeds(config))  # one job per (task, variant)
    assert jobs["clue_claims"] == 1 and jobs["can_apply"] == runs and jobs["report"] == 1
    assert studies_of(jobs) == {"clue", "can", "report"}, jobs
    before = mtimes(clone, "results/clue/runs/*/*/*.json")
    out = reproduce(clone, "ChildTuning: a comment")
    # A comment changes no number: the fine-tunes come out byte for byte as before (their records hold no
    # timings), so DVC, which compares contents, finds CAN's inputs unchanged and skips its stage.
    stages = yaml.safe_load((clone / "dvc.yaml").read_text())["stages"]
    using = {name for name, stage in stages.items() if "src/kexue_repro/clue/variants.py" in stage["deps"]}
    assert "clue" in using and "can" not in using
    assert using | {"report"} == {s for s in (*STUDIES, "report") if f"Running stage '{s}'" in out}
    assert "Stage 'can' didn't change" in out
    after = mtimes(clone, "results/clue/runs/*/*/*.json")
    assert before.keys() == after.keys() and all(after[p] > before[p] for p in before)
    provenance = json.loads((clone / "results/clue/provenance.json").read_text())
    assert provenance["git"]["revision"] == head(clone)


def test_an_edited_persisted_output_is_rebuilt_not_built_upon(clone):
    rel = "results/vae/evals/k1_seed0.json"
    good, claims = (clone / rel).read_bytes(), (clone / "results/vae/claims.json").read_bytes()
    record = json.loads(good)
    record["bounds"]["1"]["mean"] += 50.0
    (clone / rel).write_text(json.dumps(record))
    assert "modified" in run([tool("dvc"), "status", "vae"], cwd=clone).stdout
    out = run([tool("dvc"), "repro"], cwd=clone).stdout  # the vae stage, then the report (new provenance)
    assert f"{rel}: differs from dvc.lock" in out
    assert (clone / rel).read_bytes() == good and (clone / "results/vae/claims.json").read_bytes() == claims
    assert run([tool("dvc"), "status", "--quiet"], cwd=clone, check=False).returncode == 0


def test_rerunning_the_bert_claims_does_not_retrain_the_model(clone):
    change_code(clone, "bert/claims.py")
    jobs = planned(clone)
    assert "bert_pretrain" not in jobs and studies_of(jobs) <= {"bert", "report"}, jobs
    # (DVC itself rewrites single-file outs such as pretrain.json as it stores them; the weights stay.)
    before = mtimes(clone, "results/bert/model/*") | mtimes(clone, "results/logs/bert/pretrain.log")
    out = reproduce(clone, "bert claims: a comment")
    assert "Running stage 'bert'" in out
    assert mtimes(clone, "results/bert/model/*") | mtimes(clone, "results/logs/bert/pretrain.log") == before


def test_a_params_typo_under_dvc_repro_leaves_every_output_in_place(clone):
    outputs = {str(p): p.read_bytes() for p in sorted((clone / "results").rglob("*")) if p.is_file()}
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["vae"]["train"]["hiden"] = 100
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = run([tool("dvc"), "repro", "vae"], cwd=clone, check=False)
    assert (
        proc.returncode != 0
        and "params.yaml: key 'vae.train.hiden': unknown key" in proc.stdout + proc.stderr
    )
    assert {str(p): p.read_bytes() for p in sorted((clone / "results").rglob("*")) if p.is_file()} == outputs
    git(["checkout", "params.yaml"], cwd=clone)


def test_an_evaluation_setting_reruns_evaluation_and_claims_but_not_training(clone):
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["vae"]["evaluate"]["k"] = [*params["vae"]["evaluate"]["k"], 7]
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    jobs = planned(clone)
    assert jobs["vae_evaluate"] >= 2 and jobs["vae_claims"] == 1 and "vae_train" not in jobs, jobs
    assert studies_of(jobs) == {"vae", "report"}, jobs
    status = run([tool("dvc"), "status", "--json"], cwd=clone).stdout
    assert set(json.loads(status)) == {"vae"}
    git(["checkout", "params.yaml"], cwd=clone)


def test_a_change_to_the_vae_schema_concerns_the_vae_stage_only(clone):
    with open(clone / "workflow/schemas/vae.schema.yaml", "a", encoding="utf-8") as fh:
        fh.write("# a comment\n")
    status = run([tool("dvc"), "status", "--json"], cwd=clone).stdout
    assert set(json.loads(status)) == {"vae"}
    git(["checkout", "workflow/schemas/vae.schema.yaml"], cwd=clone)
