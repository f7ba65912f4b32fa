"""Study 8747's warmup experiment: the topic corpus, the schedule, stall/divergence detection, resumable runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from kexue_repro.transformer.__main__ import main
from kexue_repro.transformer.data import mask_batch, topic_corpus
from kexue_repro.transformer.evaluate import DIVERGED, LEARNED, STUCK, run_status
from kexue_repro.transformer.model import ModelConfig
from kexue_repro.transformer.train import TrainConfig, lr_factor, train


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
        ([3.4, 2.9, 2.9], 3.5, 2.88, STUCK),  # at the unigram level
        ([3.4, 2.8, 2.7], 3.5, 2.70, STUCK),  # below it, but not by the margin
        ([3.4, None], 3.5, None, DIVERGED),  # a loss was not finite
        ([3.4, 2.0, 1.5], 3.5, float("nan"), DIVERGED),
        ([3.4, 3.9, 4.2], 3.5, 4.1, DIVERGED),  # ended above the initial loss
    ],
)
def test_run_status(curve, initial, final, expected):
    assert run_status(curve, initial, final, unigram_entropy=2.9, margin=0.25) == expected


def test_run_status_rejects_a_negative_margin():
    with pytest.raises(ValueError, match="margin"):
        run_status([1.0], 2.0, 1.0, 2.9, -0.1)


def tiny_config(steps: int) -> TrainConfig:
    model = ModelConfig(vocab=17, seq_len=8, depth=2, width=16, heads=2, ffn=32, norm="post", init="tf_truncated",
                        head="plain", tied=True, dropout=0.1)  # fmt: skip
    return TrainConfig(model=model, corpus_vocab=16, corpus_topics=4, corpus_support=3, corpus_seed=0,
                       mask_prob=0.15, batch_size=4, steps=steps, lr=1e-3, warmup_steps=2, eval_batches=2, seed=1,
                       device_type="cpu")  # fmt: skip


def test_a_run_resumed_from_its_checkpoint_ends_where_an_unbroken_run_ends(tmp_path):
    checkpoint = tmp_path / "ckpt.pt"
    _, straight = train(tiny_config(6), torch.device("cpu"), tmp_path / "none.pt", checkpoint_every=100)
    train(
        tiny_config(6), torch.device("cpu"), checkpoint, checkpoint_every=4
    )  # leaves the state after step 4
    assert checkpoint.is_file()
    _, resumed = train(tiny_config(6), torch.device("cpu"), checkpoint, checkpoint_every=4)
    assert resumed["curve"] == straight["curve"] and resumed["final_loss"] == straight["final_loss"]
    assert resumed["ln_mean_abs_gamma"] == straight["ln_mean_abs_gamma"]


def test_mlm_cli_writes_a_run_record(tmp_path):
    out, checkpoint = tmp_path / "run.json", tmp_path / "ckpt.pt"
    argv = [
        "mlm",
        "--norm",
        "pre",
        "--head",
        "dense_ln",
        "--output",
        "tied",
        "--init",
        "hf_normal",
        "--depth",
        "2",
    ]
    argv += ["--width", "16", "--heads", "2", "--ffn", "32", "--dropout", "0", "--corpus-vocab", "16"]
    argv += ["--corpus-topics", "4", "--corpus-support", "3", "--corpus-seed", "0", "--mask-prob", "0.15"]
    argv += ["--seq-len", "8", "--batch-size", "4", "--steps", "5", "--lr", "1e-3", "--warmup-steps", "0"]
    argv += [
        "--eval-batches",
        "2",
        "--seed",
        "0",
        "--checkpoint-every",
        "2",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    assert main([*argv, "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert len(record["curve"]) == 5 and record["norm"] == "pre" and record["lr"] == 1e-3
    assert [name for name in record["ln_names"]][-1] == "final_norm" and record["head_ln_mean_abs_gamma"] > 0
    assert record["unigram_entropy"] > record["topic_entropy"] and not checkpoint.exists()


def test_mlm_cli_errors_are_one_line(tmp_path, capsys):
    argv = [
        "mlm",
        "--norm",
        "post",
        "--head",
        "plain",
        "--output",
        "tied",
        "--init",
        "xavier",
        "--depth",
        "1",
    ]
    argv += ["--width", "15", "--heads", "2", "--ffn", "8", "--dropout", "0", "--corpus-vocab", "8"]
    argv += ["--corpus-topics", "2", "--corpus-support", "2", "--corpus-seed", "0", "--mask-prob", "0.15"]
    argv += ["--seq-len", "4", "--batch-size", "2", "--steps", "2", "--lr", "1e-3", "--warmup-steps", "0"]
    argv += [
        "--eval-batches",
        "1",
        "--seed",
        "0",
        "--checkpoint-every",
        "1",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    assert main([*argv, "--checkpoint", str(tmp_path / "c.pt"), "--out", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "multiple of heads" in err and "\n" not in err
