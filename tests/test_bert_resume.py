"""A pretraining job killed with SIGKILL mid-run resumes from its checkpoint when the workflow runs again,
and ends with the same model and the same loss curve (one row per step) as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import torch
import yaml

from conftest import BIN, copy_repository, run, tool

pytestmark = pytest.mark.e2e

TARGET = "results/bert/pretrain.json"
CHECKPOINT = "results/bert/checkpoints/pretrain.pt"
OUTPUTS = ("results/bert/model/model.safetensors", "results/bert/plots/pretrain_loss.tsv")


def configure(repo) -> list[str]:
    """Snakemake for the tiny pretraining, long enough (300 steps) to be killed in the middle."""
    config = yaml.safe_load((repo / "tests/config/tiny.yaml").read_text())
    config["bert"]["scales"]["smoke"]["pretrain"]["steps"] = 300
    config["bert"]["pretrain"]["checkpoint_every"] = 50
    (repo / "resume.yaml").write_text(yaml.safe_dump(config))
    return [
        tool("snakemake"),
        TARGET,
        "--profile",
        "workflow/profiles/local",
        "--nolock",
        "--configfile",
        "resume.yaml",
    ]


def checkpoint_step(path) -> int:
    try:
        return int(torch.load(path, weights_only=True)["progress"]["step"])
    except (OSError, RuntimeError, EOFError):  # not there yet
        return 0


def test_killed_pretraining_resumes_and_matches_an_uninterrupted_run(tmp_path):
    straight = copy_repository(tmp_path / "straight")
    run(configure(straight), cwd=straight)

    killed = copy_repository(tmp_path / "killed")
    command = configure(killed)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(command, cwd=killed, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 180
    while checkpoint_step(killed / CHECKPOINT) < 100:
        assert proc.poll() is None, "the run ended before its second checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / TARGET).exists(), "killed too late: pretraining had finished"

    run(command, cwd=killed)
    assert "resuming from" in (killed / "results/logs/bert/pretrain.log").read_text()
    assert not (killed / CHECKPOINT).exists(), "the checkpoint outlived the finished model"
    for output in OUTPUTS:
        assert (killed / output).read_bytes() == (straight / output).read_bytes(), output
