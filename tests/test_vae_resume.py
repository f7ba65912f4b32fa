"""A training job killed with SIGKILL mid-run resumes from its checkpoint when the workflow is run again,
and ends with the same evaluation as an uninterrupted run (same seed, CPU, same threads)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import yaml

from conftest import BIN, copy_repository, run, tool

pytestmark = pytest.mark.e2e

TARGET = "results/vae/evals/k5_seed0.json"
CHECKPOINT = "results/vae/checkpoints/k5_seed0.pt"


def configure(repo) -> list[str]:
    """Snakemake for one VAE run, long enough (6 epochs) to be killed in the middle."""
    config = yaml.safe_load((repo / "tests/config/tiny.yaml").read_text())
    config["vae"]["scales"]["smoke"]["epochs"] = 6
    (repo / "resume.yaml").write_text(yaml.safe_dump(config))
    return [tool("snakemake"), TARGET, "--profile", "workflow/profiles/local", "--configfile", "resume.yaml"]


def test_killed_training_resumes_and_matches_an_uninterrupted_run(tmp_path):
    straight = copy_repository(tmp_path / "straight")
    run(configure(straight), cwd=straight)

    killed = copy_repository(tmp_path / "killed")
    command = configure(killed)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(command, cwd=killed, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (killed / CHECKPOINT).exists():
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "results/vae/models/k5_seed0.pt").exists(), "killed too late: training had finished"

    # SIGKILL leaves Snakemake's lock: remove it as Snakemake says (the DVC stages run with --nolock instead).
    run([*command, "--unlock"], cwd=killed)
    run(command, cwd=killed)
    assert "resuming from" in (killed / "results/logs/vae/train_k5_seed0.log").read_text()
    assert not (killed / CHECKPOINT).exists(), "the checkpoint outlived the finished model"
    assert (killed / TARGET).read_bytes() == (straight / TARGET).read_bytes()
