"""A training job killed with SIGKILL through Snakemake resumes from its checkpoint when the workflow is run
again, and ends with the same outputs, byte for byte, as an uninterrupted run (same seed, CPU, same threads).
One case per study that trains; each lengthens its tiny training so that the kill lands in the middle. A job
runs several runs in turn (its seeds, or VAE's values of k): a run that had finished before the kill resumes
from its own checkpoint, which outlives it until the whole job is done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Callable

import pytest
import torch
import yaml

from conftest import BIN, copy_repository, run, tool

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Case:
    target: str  # what Snakemake is asked for
    checkpoint: str  # exists once the first checkpoint is saved
    outputs: tuple[str, ...]  # equal, byte for byte, to an uninterrupted run's
    log: str  # the training job's log, which says it resumed
    lengthen: Callable[[dict], None]  # edits the tiny config: training long enough to be killed
    timings: tuple[
        str, ...
    ] = ()  # keys of a JSON output that hold wall-clock times, left out of the comparison
    finished: tuple[str, ...] = ()  # checkpoints of the job's runs that had ended before the kill


def content(path, timings: tuple[str, ...]) -> object:
    """What must be equal: the bytes; a JSON record without its timings; a model's tensors (torch.save
    writes a fresh serialization id into every file)."""
    if path.suffix == ".pt":
        return {k: v.tolist() for k, v in flatten(torch.load(path, weights_only=True)).items()}
    if not timings:
        return path.read_bytes()
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in timings}


def flatten(state: dict, prefix: str = "") -> dict[str, torch.Tensor]:
    tensors = {}
    for key, value in state.items():
        if isinstance(value, dict):
            tensors |= flatten(value, f"{prefix}{key}.")
        elif isinstance(value, torch.Tensor):
            tensors[f"{prefix}{key}"] = value
    return tensors


def _vae(config: dict) -> None:
    config["vae"]["scales"]["smoke"]["train"]["epochs"] = 6


def _bert(config: dict) -> None:
    config["bert"]["scales"]["smoke"]["pretrain"]["steps"] = 120  # the kill leaves ~100 steps (~6 s) to go
    config["bert"]["pretrain"]["checkpoint_every"] = 20


def _transformer(config: dict) -> None:
    config["transformer"]["scales"]["smoke"]["mlm"]["steps"] = 600
    config["transformer"]["mlm"]["checkpoint_every"] = 100


TRANSFORMER_RUN = "post_dense_ln_lr0.005_w0_seed0"


def _gan(config: dict) -> None:
    config["gan"]["train"]["ring"]["steps"] = 1200  # the kill leaves ~1,000 steps (~4 s) to go
    config["gan"]["train"]["checkpoint_every"] = 200
    config["gan"]["runs"]["seeds"] = [0]  # the job would train every seed in turn (VAE's case covers that)


CASES = {
    "vae": Case(
        target="results/vae/evals/k5_seed0.json",
        checkpoint="results/vae/checkpoints/k5_seed0.pt",  # k=1 trains first, in the same job
        outputs=(
            "results/vae/evals/k5_seed0.json",
            "results/vae/curves/k5_seed0.csv",
            "results/vae/models/k5_seed0.pt",
            "results/vae/curves/k1_seed0.csv",
            "results/vae/models/k1_seed0.pt",
        ),
        log="results/logs/vae/train_seed0.log",
        lengthen=_vae,
        finished=("results/vae/checkpoints/k1_seed0.pt",),
    ),
    "bert": Case(
        target="results/bert/pretrain.json",
        checkpoint="results/bert/checkpoints/pretrain.pt",
        outputs=("results/bert/model/model.safetensors", "results/bert/plots/pretrain_loss.tsv"),
        log="results/logs/bert/pretrain.log",
        lengthen=_bert,
    ),
    "gan": Case(
        target="results/gan/models/ring_gn_seed0.pt",
        checkpoint="results/gan/checkpoints/ring_gn_seed0.pt",
        outputs=("results/gan/models/ring_gn_seed0.pt", "results/gan/runs/ring_gn_seed0.json"),
        log="results/logs/gan/train_ring_gn.log",
        lengthen=_gan,  # the run record holds no timings (kexue_repro.gan.cost times steps apart): bytes equal
    ),
    "transformer": Case(
        target=f"results/transformer/runs/{TRANSFORMER_RUN}.json",
        checkpoint=f"results/transformer/checkpoints/{TRANSFORMER_RUN}.pt",
        outputs=(f"results/transformer/runs/{TRANSFORMER_RUN}.json",),
        log=f"results/logs/transformer/mlm_{TRANSFORMER_RUN.removesuffix('_seed0')}.log",
        lengthen=_transformer,
        timings=("seconds_per_step",),
    ),
}


def configure(repo, case: Case) -> list[str]:
    config = yaml.safe_load((repo / "tests/config/tiny.yaml").read_text())
    case.lengthen(config)
    (repo / "resume.yaml").write_text(yaml.safe_dump(config))
    return [
        tool("snakemake"),
        case.target,
        "--profile",
        "workflow/profiles/local",
        "--configfile",
        "resume.yaml",
    ]


@pytest.mark.parametrize("study", sorted(CASES))
def test_killed_training_resumes_and_matches_an_uninterrupted_run(tmp_path, study):
    case = CASES[study]
    straight = copy_repository(tmp_path / "straight")
    run(configure(straight, case), cwd=straight)

    killed = copy_repository(tmp_path / "killed")
    command = configure(killed, case)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(command, cwd=killed, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 180
    while not (killed / case.checkpoint).exists():
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / case.outputs[0]).exists(), "killed too late: training had finished"

    # SIGKILL leaves Snakemake's lock: remove it as Snakemake says (the DVC stages run with --nolock instead).
    run([*command, "--unlock"], cwd=killed)
    run(command, cwd=killed)
    log = (killed / case.log).read_text()
    assert "resuming from" in log
    assert all(f"resuming from {checkpoint}" in log for checkpoint in case.finished), log
    assert not any((killed / path).exists() for path in (case.checkpoint, *case.finished)), (
        "a checkpoint outlived its job"
    )
    for output in case.outputs:
        assert content(killed / output, case.timings) == content(straight / output, case.timings), output
