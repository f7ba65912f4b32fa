"""params.yaml is validated against workflow/schemas before any job runs; errors name the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from kexue_repro.common.params import check_params

from conftest import REPO, run, tool

SCHEMA = REPO / "workflow/schemas/params.schema.yaml"


@pytest.fixture
def params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_params_yaml_is_valid(params):
    check_params(params, SCHEMA)


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (lambda p: p.update(not_a_key=1), "'not_a_key'", "unknown key"),
        (lambda p: p["leaderboard"].update(typo=1), "'leaderboard.typo'", "unknown key"),
        (lambda p: p.update(scale="huge"), "'scale'", "is not one of"),
        (
            lambda p: p["leaderboard"]["claims"].update(confidence="high"),
            "'leaderboard.claims.confidence'",
            "not of type",
        ),
        (
            lambda p: p["leaderboard"]["claims"].update(confidence=1.5),
            "'leaderboard.claims.confidence'",
            "maximum",
        ),
        (
            lambda p: p["leaderboard"]["claims"].update(confidence=0),
            "'leaderboard.claims.confidence'",
            "minimum",
        ),
        (lambda p: p["data"].pop("mirrors"), "'data.mirrors'", "required"),
        (lambda p: p["data"].update(mirrors=["ftp://x"]), "'data.mirrors.0'", "does not match"),
        (
            lambda p: p["vae"]["scales"]["full"]["train"].update(epochs=3),
            "'vae.scales.full.train'",
            "burda needs passes",
        ),
        (lambda p: p["vae"]["runs"].update(k_train=[0, 5]), "'vae.runs.k_train.0'", "minimum"),
        (lambda p: p.update(device="tpu"), "'device'", "is not one of"),
        (
            lambda p: p["clue"]["scales"]["full"]["prepare"].update(max_train=0),
            "'clue.scales.full.prepare.max_train'",
            "none of the allowed forms",
        ),
        (
            lambda p: p["clue"]["scales"]["smoke"]["runs"].update(tasks=["cola"]),
            "'clue.scales.smoke.runs.tasks.0'",
            "is not one of",
        ),
        (lambda p: p["report"].update(studies="vae"), "'report.studies'", "all, or a list of study names"),
    ],
)
def test_bad_params_name_the_key(params, edit, key, words):
    bad = copy.deepcopy(params)
    edit(bad)
    with pytest.raises(ValueError) as err:
        check_params(bad, SCHEMA)
    message = str(err.value)
    assert "\n" not in message
    assert f"key {key}" in message
    assert words in message


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("not_a_key=1", "'not_a_key'"),
        ("scale=huge", "'scale'"),
        ("report={'studies': ['vae', 'no_such_study']}", "'report.studies': unknown study 'no_such_study'"),
    ],
)
def test_snakemake_refuses_bad_config_before_any_job(repo_copy, override, key):
    proc = run([tool("snakemake"), "--cores", "1", "--config", override], cwd=repo_copy, check=False)
    assert proc.returncode != 0
    last_line = proc.stderr.strip().splitlines()[-1]
    assert f"key {key}" in last_line
    # results/settings holds what the steps would read (written as the workflow is read), not a job's output
    produced = [
        p
        for p in (repo_copy / "results").rglob("*")
        if p.is_file() and p.name != ".gitignore" and "settings" not in p.relative_to(repo_copy).parts
    ]
    assert not produced, f"a job ran although the config was invalid: {produced}"
