"""Versions of results across clones and runs (issue 9), on the session's tiny run of the pipeline
(conftest's `tiny_pipeline`).

That clone ran every stage and pushed to the default DVC remote (a folder beside the clones); a second clone
pulls and has nothing to do; a corrupted cache file or a tampered remote file is refused; an experiment on one
study's parameter reruns that study's jobs only, and the claims diff of two experiments names that study's
claims alone; a second run from clean gives the same bytes.
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from kexue_repro.common.params import params_block
from kexue_repro.common.provenance import params_sha256

from conftest import Pipeline, run, snakemake_jobs, tool

pytestmark = pytest.mark.e2e

STUDIES = ["leaderboard", "transformer"]  # the cheapest study without and with seeded training
SNAKEMAKE = [tool("snakemake"), "--profile", "workflow/profiles/local"]
STORAGE = "kexue-repro-dvc-storage"  # .dvc/config: ../../kexue-repro-dvc-storage, beside the clone


@pytest.fixture(scope="module")
def pipeline(tiny_pipeline: Pipeline) -> Pipeline:
    return tiny_pipeline


@pytest.fixture(scope="module")
def outputs(pipeline: Pipeline) -> dict[str, bytes]:
    """The metrics and claims of every study as the pipeline's run wrote them (read before any experiment)."""
    return {
        str(path.relative_to(pipeline.first)): path.read_bytes()
        for name in ("metrics.json", "claims.json")
        for path in sorted(pipeline.first.glob(f"results/*/{name}"))
    }


def all_studies(repo) -> set[str]:
    return set(yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]) - {"report"}


def test_a_fresh_clone_pulls_every_output_and_has_nothing_to_do(pipeline, outputs):
    assert (pipeline.root / STORAGE / "files").is_dir(), "the default remote lies beside the clone"
    second = pipeline.clone("second")
    run([tool("dvc"), "pull"], cwd=second)
    assert len(outputs) == 2 * len(all_studies(second))
    for rel, content in outputs.items():
        assert (second / rel).read_bytes() == content, rel
    assert "up to date" in run([tool("dvc"), "status"], cwd=second).stdout
    # DVC vouches for the outputs; their checkout times do not follow the graph, so Snakemake is told
    # they are current (docs/versions.md). Nothing reruns.
    run([*SNAKEMAKE, "--touch"], cwd=second)
    dry = run([*SNAKEMAKE, "--dry-run"], cwd=second)
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_a_corrupted_cache_file_or_a_tampered_remote_file_is_never_used(pipeline, outputs):
    rel = "results/leaderboard/claims.json"
    good = outputs[rel]
    md5 = next(
        out["md5"]
        for out in yaml.safe_load((pipeline.first / "dvc.lock").read_text())["stages"]["leaderboard"]["outs"]
        if out["path"] == rel
    )
    third = pipeline.clone("third")
    run([tool("dvc"), "pull", "leaderboard"], cwd=third)
    cached = third / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_bytes(good.replace(b"reproduced", b"REPRODUCED"))
    (third / rel).unlink()
    assert "not in cache" in run([tool("dvc"), "status", "leaderboard"], cwd=third).stdout
    assert run([tool("dvc"), "checkout", "leaderboard"], cwd=third, check=False).returncode != 0
    assert not (third / rel).exists(), "a corrupted cache file was checked out"
    run([tool("dvc"), "pull", "leaderboard"], cwd=third)  # fetched again from the remote
    assert (third / rel).read_bytes() == good

    remote = pipeline.root / STORAGE / "files/md5" / md5[:2] / md5[2:]
    remote.chmod(0o644)
    remote.write_bytes(good + b" ")
    try:
        fourth = pipeline.clone("fourth")
        pull = run([tool("dvc"), "pull", "leaderboard"], cwd=fourth, check=False)
        assert pull.returncode != 0 and md5 in pull.stderr, pull.stderr
        assert not (fourth / rel).exists(), "a tampered remote file was checked out"
    finally:
        remote.write_bytes(good)


def test_provenance_names_commit_parameters_seeds_and_versions(pipeline):
    params = yaml.safe_load((pipeline.first / "params.yaml").read_text())
    for study in sorted(all_studies(pipeline.first)):
        record = json.loads((pipeline.first / f"results/{study}/provenance.json").read_text())
        assert record["git"] == {"revision": pipeline.revision, "dirty": False}
        assert record["params_sha256"] == params_sha256(params[params_block(study)])
        assert record["packages"]["torch"].startswith("2.13.0") and record["device"]["resolved"] == "cpu"
    seeds = json.loads((pipeline.first / "results/transformer/provenance.json").read_text())["seeds"]
    assert seeds["scales.smoke.runs.seeds"] == params["transformer"]["scales"]["smoke"]["runs"]["seeds"]


def test_two_runs_from_clean_write_identical_metrics(pipeline, outputs):
    """The seeded study again, in a new clone, through Snakemake alone: the same bytes as through DVC."""
    again = pipeline.clone("again")
    run([*SNAKEMAKE, "transformer"], cwd=again)
    for rel in ("results/transformer/metrics.json", "results/transformer/claims.json"):
        assert (again / rel).read_bytes() == outputs[rel], f"{rel} differs between two runs from clean"


def test_an_experiment_reruns_only_its_study_and_the_diff_names_only_its_claims(pipeline):
    first = pipeline.first
    base = run([tool("dvc"), "exp", "run", *STUDIES, "-n", "base"], cwd=first)
    assert "Running stage" not in base.stdout
    # The leaderboard's claims have no threshold left (issue 16): its one claims setting is the confidence, which
    # the ledger records as alpha and which decides none of its rows (exact computations, no p-value).
    exp = run([tool("dvc"), "exp", "run", *STUDIES, "-S", "leaderboard.claims.confidence=0.99", "-n", "conf99"],
              cwd=first)  # fmt: skip
    # Every out persists, so DVC deletes nothing: Snakemake reruns the one job that reads the setting (and the
    # study's target), no other job of the study and no other study.
    jobs = snakemake_jobs(exp.stdout + exp.stderr)
    assert jobs == {"leaderboard_claims": 1, "leaderboard": 1}, exp.stdout + exp.stderr
    assert "Running stage 'transformer'" not in exp.stdout
    ledger = json.loads((first / "results/leaderboard/claims.json").read_text())
    assert {row["alpha"] for row in ledger} == {0.01}

    params = json.loads(run([tool("dvc"), "params", "diff", "--json"], cwd=first).stdout)
    change = params["params.yaml"]["leaderboard.claims.confidence"]
    assert (change["old"], change["new"]) == (0.95, 0.99)

    diff = run([sys.executable, "-m", "kexue_repro.diff", "base", "conf99", "--format", "json"], cwd=first)
    rows = json.loads(diff.stdout)["claims"]
    assert json.loads(diff.stdout)["unavailable"] == []
    assert {row["study"] for row in rows} == all_studies(first)
    # alpha decides no leaderboard row (none has a p-value), and no other study ran
    assert {row["status"] for row in rows} == {"unchanged"}
    markdown = run([sys.executable, "-m", "kexue_repro.diff", "base", "conf99"], cwd=first).stdout
    assert markdown.splitlines()[0] == "# Claims: base -> conf99"

    shown = json.loads(run([tool("dvc"), "exp", "show", "--json"], cwd=first).stdout)
    assert "results/leaderboard/metrics.json" in json.dumps(shown)
    plots = run([tool("dvc"), "plots", "diff", "base", "conf99", "--json"], cwd=first)
    assert "results/transformer/plots/mlm_curves.png" in plots.stdout


def test_the_diff_reads_a_revision_whose_results_are_only_in_the_remote(pipeline, outputs):
    bare = pipeline.clone("bare")
    out = run([sys.executable, "-m", "kexue_repro.diff", "HEAD", "main", "--format", "json"], cwd=bare)
    rows = json.loads(out.stdout)["claims"]
    ledger = json.loads(outputs["results/leaderboard/claims.json"])
    assert len([r for r in rows if r["study"] == "leaderboard"]) == len(ledger)
    assert {r["status"] for r in rows} == {"unchanged"} and {r["study"] for r in rows} == all_studies(bare)
    assert not (bare / "results/leaderboard/claims.json").exists(), "read through DVC, not checked out"
    unknown = run([sys.executable, "-m", "kexue_repro.diff", "nosuch", "HEAD"], cwd=bare, check=False)
    assert (
        unknown.returncode == 1
        and unknown.stderr == "error: revision 'nosuch': unknown Git revision 'nosuch'\n"
    )
