"""Study 8747's warmup experiment: the topic corpus, the schedule, stall/divergence detection, resumable runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from kexue_repro.common.settings import build
from kexue_repro.transformer.data import mask_batch, topic_corpus
from kexue_repro.transformer.evaluate import DIVERGED, LEARNED, STUCK, run_status
from kexue_repro.transformer.train import TrainConfig, lr_factor, main, train


def test_topic_corpus_levels_and_samples():
    corpus = topic_corpus(vocab=32, n_topics=8, support=4, seed=0)
    assert np.allclose(corpus.topics.sum(axis=1), 1) and ((corpus.topics > 0).sum(axis=1) == 4).all()
    assert math.log(4) >= corpus.topic_entropy() and corpus.unigram_entropy() > corpus.topic_entropy() + 1
    tokens = corpus.sample(50, 12, torch.Generator().manual_seed(0))
    assert tokens.shape == (50, 12) and int(tokens.max()) < 32
    for row in tokens:  # every sequence stays inside one topic's support
        assert any(set(row.tolist()) <= set(np.flatnonzero(topic)) for topic in corpus.topics)
    inputs, masked = mask_batch(tokens[:1, :2], 1e-9, corpus.mask_token, torch.Generator().manual_seed(0))
    assert masked.sum() == 1 and inputs[masked].item() == 32


def test_warmup_then_constant():
    assert [lr_factor(step, 4) for step in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert lr_factor(0, 0) == lr_factor(99, 0) == 1.0


@pytest.mark.parametrize(
    ("curve", "initial", "final", "expected"),
    [
        ([3.4, 2.5, 1.9], 3.5, 1.8, LEARNED),
        ([3.4, 2.8, 2.7], 3.5, 2.70, LEARNED),  # below the unigram level: no margin
        ([3.4, 2.9, 2.9], 3.5, 2.9, STUCK),  # at the unigram level
        ([3.4, 2.95, 3.0], 3.5, 2.95, STUCK),  # above it
        ([3.4, None], 3.5, None, DIVERGED),  # a loss was not finite
        ([3.4, 2.0, 1.5], 3.5, float("nan"), DIVERGED),
        ([3.4, 3.9, 4.2], 3.5, 4.1, DIVERGED),  # ended above the initial loss
    ],
)
def test_run_status(curve, initial, final, expected):
    assert run_status(curve, initial, final, unigram_entropy=2.9) == expected


SETTINGS = {  # a transformer.mlm block at a tiny size
    "corpus": {"vocab": 16, "topics": 4, "support": 3, "seed": 0},
    "depth": 2, "width": 16, "heads": 2, "ffn": 32, "init": "tf_truncated", "output": "tied", "dropout": 0.1,
    "mask_prob": 0.15, "batch_size": 4, "seq_len": 8, "eval_batches": 2, "checkpoint_every": 100, "steps": 6,
}  # fmt: skip


def tiny_config(**changes) -> TrainConfig:
    run = {"norm": "post", "head": "plain", "lr": 1e-3, "warmup_steps": 2, "seed": 1, "device_type": "cpu"}
    return build(TrainConfig, SETTINGS | changes, "transformer.mlm", **run)


def test_settings_become_the_run_config():
    config = tiny_config()
    assert config.model.vocab == 17 and config.model.tied and config.model.dropout == 0.1
    assert config.model.norm == "post" and config.model.head == "plain" and config.corpus.topics == 4
    with pytest.raises(ValueError, match="unknown setting 'lrs'"):
        tiny_config(lrs=[1e-3])
    with pytest.raises(ValueError, match="output"):
        tiny_config(output="shared")


def test_a_run_resumed_from_its_checkpoint_ends_where_an_unbroken_run_ends(tmp_path, capsys):
    checkpoint = tmp_path / "ckpt.pt"
    _, straight = train(tiny_config(), torch.device("cpu"), tmp_path / "none.pt")
    train(tiny_config(checkpoint_every=4), torch.device("cpu"), checkpoint)  # leaves the state after step 4
    assert checkpoint.is_file()
    # how often a run saves is no part of its identity: the checkpoint resumes under another checkpoint_every
    _, resumed = train(tiny_config(checkpoint_every=5), torch.device("cpu"), checkpoint)
    assert f"resuming from {checkpoint}: curve 4" in capsys.readouterr().err
    assert resumed["curve"] == straight["curve"] and resumed["final_loss"] == straight["final_loss"]
    assert resumed["ln_mean_abs_gamma"] == straight["ln_mean_abs_gamma"]
    assert not [key for key in resumed if "second" in key or "time" in key]  # no clock in a hashed record


def argv(tmp_path, settings: dict, norm: str = "pre", head: str = "dense_ln") -> list[str]:
    run = ["--norm", norm, "--head", head, "--lr", "1e-3", "--warmup-steps", "0", "--seed", "0"]
    return ["--settings", json.dumps(settings), *run, "--threads", "1", "--device", "cpu"] + [
        "--checkpoint",
        str(tmp_path / "ckpt.pt"),
        "--out",
        str(tmp_path / "run.json"),
    ]


def test_mlm_cli_writes_a_run_record(tmp_path):
    settings = SETTINGS | {"init": "hf_normal", "dropout": 0.0, "steps": 5, "checkpoint_every": 2}
    assert main(argv(tmp_path, settings)) == 0
    record = json.loads((tmp_path / "run.json").read_text())
    assert len(record["curve"]) == 5 and record["norm"] == "pre" and record["lr"] == 1e-3
    assert record["config"]["corpus"]["vocab"] == 16 and record["config"]["head"] == "dense_ln"
    assert [name for name in record["ln_names"]][-1] == "final_norm" and record["head_ln_mean_abs_gamma"] > 0
    assert record["unigram_entropy"] > record["topic_entropy"] and not (tmp_path / "ckpt.pt").exists()


def test_mlm_cli_errors_are_one_line(tmp_path, capsys):
    settings = SETTINGS | {"width": 15, "init": "xavier", "steps": 2}
    assert main(argv(tmp_path, settings, norm="post", head="plain")) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "multiple of heads" in err and "\n" not in err
    assert main(argv(tmp_path, {k: v for k, v in SETTINGS.items() if k != "steps"})) == 1
    assert "transformer.mlm: missing setting 'steps'" in capsys.readouterr().err
