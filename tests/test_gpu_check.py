"""The GPU check's arithmetic, no model timed: the steps of each full run from params.yaml, the table's total,
the device peaks, the FLOP counter through GN's autograd.grad, and --fid's exit where the extra is absent."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import re

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from kexue_repro.benchmarks import gpu_check
from kexue_repro.gan.model import gradient_normalized

from conftest import REPO

PARAMS = REPO / "params.yaml"


@pytest.fixture(scope="module")
def full():
    return gpu_check.full_config(PARAMS)


def test_vae_runs_burda_schedule_epochs_of_mnist_batches(full):
    train = full["vae"]["scales"]["full"]["train"]
    assert train["schedule"] == "burda" and train["passes"] == 8
    epochs = sum(3**i for i in range(train["passes"]))
    assert epochs == 3280  # Burda et al.'s reference schedule
    seeds = len(full["vae"]["runs"]["seeds"])
    for k in full["vae"]["runs"]["k_train"]:
        projection = gpu_check.vae_projection(full, k)
        assert projection.runs == seeds
        assert projection.steps == seeds * epochs * math.ceil(60_000 / train["batch_size"])
        assert "3,280 epochs" in projection.detail


def test_clue_steps_of_a_task_counted_from_the_checksums_table(full):
    with open(REPO / "data/checksums/clue.csv", newline="", encoding="utf-8") as fh:
        records = {(r["dataset"], r["file"]): r["records"] for r in csv.DictReader(fh)}
    clue = full["clue"]
    runs = (
        len(clue["scales"]["full"]["runs"]["models"])
        * len(clue["runs"]["variants"])
        * len(clue["runs"]["seeds"])
    )
    batch = clue["finetune"]["batch_size"]
    tasks = {t.task: t for t in gpu_check.clue_tasks(full, REPO)}
    afqmc = tasks["afqmc"]
    assert (afqmc.records, afqmc.source) == (int(records[("afqmc", "train.json")]), "data/checksums/clue.csv")
    assert afqmc.steps == math.ceil(afqmc.records / batch) * clue["finetune"]["epochs"] * runs
    wsc = tasks["cluewsc2020"]
    assert (
        wsc.steps
        == math.ceil(int(records[("cluewsc2020", "train.json")]) / batch)
        * clue["finetune"]["wsc_epochs"]
        * runs
    )
    cmnli = tasks["cmnli"]  # no count in the table: the module's official one
    assert (
        records[("cmnli", "train.json")] == "" and cmnli.records == gpu_check.OFFICIAL_TRAIN_RECORDS["cmnli"]
    )
    assert (
        math.ceil(cmnli.records / batch) * clue["finetune"]["epochs"] == 122_440
    )  # the "~122k steps"
    projection = gpu_check.clue_projection(full, REPO)
    assert projection.runs == 252 == len(tasks) * runs  # the 252 BERT-base fine-tunes
    assert projection.steps == sum(t.steps for t in tasks.values())


def test_gan_and_transformer_runs_from_their_plans(full):
    cifar = full["gan"]["cifar_train"]
    assert gpu_check.gan_projection(full).steps == cifar["steps"] * len(full["gan"]["cifar_runs"]["seeds"])
    images, _ = gpu_check.fid_images_per_run(full)
    evaluations = cifar["steps"] // cifar["eval_every"]  # eval_every divides steps: the last is one of them
    assert images == evaluations * 2 * cifar["n_eval"] + cifar["n_real"]
    transformer = gpu_check.transformer_projection(full)
    assert transformer.steps == transformer.runs * full["transformer"]["scales"]["full"]["mlm"]["steps"]


def fake_row(study: str, seconds: float, steps: int) -> gpu_check.Row:
    timing = gpu_check.Timing([seconds, seconds * 1.5, seconds * 0.5], 10**12, 2**20, "CPU peak RSS growth")
    projection = gpu_check.Projection(2, steps, f"{study}: counted")
    return gpu_check.Row.of(
        study, "a step", timing, 32, projection, gpu_check.Device("cpu x2", "the CPU", None)
    )


def test_the_total_is_the_sum_of_the_rows(full, capsys):
    rows = [fake_row("vae", 0.002, 39_360_000), fake_row("gan", 0.05, 600_000), fake_row("clue", 0.3, 12_345)]
    assert rows[0].step_seconds == 0.002  # the median of the timed steps
    assert rows[2].hours == pytest.approx(12_345 * 0.3 / 3600)
    assert gpu_check.total_hours(rows) == pytest.approx(sum(r.hours for r in rows))
    args = argparse.Namespace(
        device=torch.device("cpu"), warmup=1, steps=gpu_check.timed_steps(None, gpu=False), params=PARAMS
    )
    figures = gpu_check.report(rows, full, args, gpu_check.Device("cpu x2", "the CPU", None))
    out = capsys.readouterr().out
    printed = [float(line.split()[-1].replace(",", "")) for line in out.splitlines()[3:6]]
    total = float(re.search(r"TOTAL .*: ([\d,.]+) CPU hours", out).group(1).replace(",", ""))
    assert total == pytest.approx(sum(printed), abs=0.15)
    assert figures["total_hours"] == pytest.approx(sum(r["projected_hours"] for r in figures["rows"]))
    assert all("  n/a (cpu)  " in line for line in out.splitlines()[3:6])
    assert "the GPU rows were not run" in out


def test_bf16_peaks_by_device_name():
    peaks = {
        "NVIDIA H100 80GB HBM3": 989.0,
        "NVIDIA H200": 989.0,
        "NVIDIA H100 PCIe": 756.0,
        "NVIDIA A100-SXM4-80GB": 312.0,
        "NVIDIA L40S": 362.0,
        "NVIDIA A10": 125.0,
        "NVIDIA L4": 121.0,
        "NVIDIA A10G": None,
        "NVIDIA H100 NVL": None,
        "Tesla T4": None,
    }
    assert {name: gpu_check.bf16_peak_tflops(name) for name in peaks} == peaks


def test_step_flops_counts_what_flop_counter_mode_counts_and_passes_autograd_grad():
    torch.manual_seed(0)
    net, x = torch.nn.Linear(8, 3), torch.randn(4, 8)
    with FlopCounterMode(display=False) as reference:
        net(x).sum().backward()
    with gpu_check.StepFlops() as counter:
        net(x).sum().backward()
    assert counter.get_total_flops() == reference.get_total_flops() == 2 * (2 * 4 * 8 * 3)  # y, dL/dW
    critic = torch.nn.Linear(8, 1)
    with gpu_check.StepFlops() as counter:  # FlopCounterMode itself raises here (its module hooks)
        gradient_normalized(critic, torch.randn(4, 8).requires_grad_(True)).sum().backward()
    assert counter.get_total_flops() > 3 * 2 * 4 * 8


@pytest.mark.skipif(
    all(importlib.util.find_spec(m) for m in ("torch_fidelity", "torchvision")),
    reason="the extra is installed",
)
def test_fid_without_the_extra_exits_2_with_one_line(capsys):
    assert gpu_check.main(["--fid", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n")
    line = captured.err.strip().splitlines()[-1]
    assert line.startswith("gpu_check --fid: torch_fidelity does not import beside torch ")
    assert "the optional extra 'fid'" in line and "pip install -e '.[fid]'" in line


def test_timed_steps_default_to_few_of_the_slow_cpu_steps():
    assert gpu_check.timed_steps(None, gpu=True) == dict.fromkeys(gpu_check.STUDIES, 20)
    cpu = gpu_check.timed_steps(None, gpu=False)
    assert (cpu["gan"], cpu["clue"], cpu["vae"], cpu["transformer"]) == (2, 2, 20, 20)
    assert gpu_check.timed_steps(5, gpu=False) == dict.fromkeys(gpu_check.STUDIES, 5)
