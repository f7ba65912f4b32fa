"""Training of the small MLM on the topic corpus with Adam, resumable.

The learning rate rises linearly over ``warmup_steps`` steps, then stays constant (``warmup_steps`` 0: constant
from the first step), so runs with and without warmup differ in nothing else. Every run is evaluated on the
same held-out batches, before training and after it.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.runtime import seed_everything
from kexue_repro.transformer.data import TopicCorpus, mask_batch, topic_corpus
from kexue_repro.transformer.model import MaskedLM, ModelConfig, build_model, masked_lm_loss

EVAL_SEED_OFFSET = 1_000_003  # held-out batches come from corpus_seed + this, the same for every run


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained weights; a checkpoint resumes only under an equal config."""

    model: ModelConfig
    corpus_vocab: int
    corpus_topics: int
    corpus_support: int
    corpus_seed: int
    mask_prob: float
    batch_size: int
    steps: int
    lr: float
    warmup_steps: int
    eval_batches: int
    seed: int
    device_type: str

    def __post_init__(self) -> None:
        if min(self.batch_size, self.steps, self.eval_batches) < 1 or self.lr <= 0:
            raise ValueError("batch size, steps and eval batches must be >= 1 and lr > 0")
        if not 0 <= self.warmup_steps < self.steps:
            raise ValueError(f"warmup steps {self.warmup_steps} must be in [0, steps={self.steps})")
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"mask probability {self.mask_prob} is not in (0, 1)")
        if self.model.vocab != self.corpus_vocab + 1:
            raise ValueError(f"model vocab {self.model.vocab} must be the corpus vocab + 1 ([MASK])")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_factor(step: int, warmup_steps: int) -> float:
    """The learning rate at ``step`` (0-based) as a factor of the peak: linear warmup, then constant."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0


def batches(corpus: TopicCorpus, config: TrainConfig, n: int, generator: torch.Generator):
    for _ in range(n):
        targets = corpus.sample(config.batch_size, config.model.seq_len, generator)
        inputs, masked = mask_batch(targets, config.mask_prob, corpus.mask_token, generator)
        yield inputs, targets, masked


@torch.no_grad()
def evaluate(model: MaskedLM, held_out: list, device: torch.device) -> float:
    """Mean masked-token cross-entropy over the held-out batches (token-weighted)."""
    model.eval()
    total, count = 0.0, 0
    for inputs, targets, masked in held_out:
        logits = model(inputs.to(device))
        n = int(masked.sum())
        total += float(masked_lm_loss(logits, targets.to(device), masked.to(device))) * n
        count += n
    model.train()
    return total / count


def layer_norm_gammas(model: MaskedLM) -> dict[str, Any]:
    """Mean |gamma| of every encoder LayerNorm, and of the last one (the one the head reads) against the
    mean of the others."""
    names, means = zip(
        *[(name, float(norm.weight.detach().abs().mean())) for name, norm in model.encoder_norms()]
    )
    others = sum(means[:-1]) / max(len(means) - 1, 1)
    head_norm = model.head_transform[-1] if isinstance(model.head_transform, torch.nn.Sequential) else None
    return {
        "ln_names": list(names),
        "ln_mean_abs_gamma": list(means),
        "last_ln_mean_abs_gamma": means[-1],
        "other_ln_mean_abs_gamma": others,
        "last_ln_ratio": means[-1] / others,
        "head_ln_mean_abs_gamma": None
        if head_norm is None
        else float(head_norm.weight.detach().abs().mean()),
    }


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def train(
    config: TrainConfig,
    device: torch.device,
    checkpoint_path: str | os.PathLike,
    checkpoint_every: int,
) -> tuple[MaskedLM, dict[str, Any]]:
    """Train, resuming from ``checkpoint_path`` when it holds this config; stops at a non-finite loss.

    Returns the model and the run record: losses per step, held-out loss before and after, LayerNorm
    gammas, the corpus' reference levels and the cost.
    """
    if checkpoint_every < 1:
        raise ValueError("--checkpoint-every must be >= 1")
    corpus = topic_corpus(
        config.corpus_vocab, config.corpus_topics, config.corpus_support, config.corpus_seed
    )
    held_out = list(
        batches(
            corpus,
            config,
            config.eval_batches,
            torch.Generator().manual_seed(config.corpus_seed + EVAL_SEED_OFFSET),
        )
    )
    generator = seed_everything(config.seed)
    model = build_model(config.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, config.warmup_steps))
    initial_loss = evaluate(model, held_out, device)
    curve: list[float | None] = []
    state = load_checkpoint(checkpoint_path)
    if state is not None and state["config"] == config.as_dict():
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])  # dropout's
        curve = state["curve"]
        print(f"resuming from {checkpoint_path} after step {len(curve)}", file=sys.stderr)
    elif state is not None:
        print(f"{checkpoint_path} holds another configuration; starting afresh", file=sys.stderr)
    started, done = time.perf_counter(), len(curve)
    for step, (inputs, targets, masked) in enumerate(
        batches(corpus, config, config.steps - done, generator), done
    ):
        loss = masked_lm_loss(model(inputs.to(device)), targets.to(device), masked.to(device))
        value = float(loss.detach())
        curve.append(finite_or_none(value))
        if not math.isfinite(value):
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % checkpoint_every == 0 and step + 1 < config.steps:
            save_checkpoint(
                checkpoint_path,
                {
                    "config": config.as_dict(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "curve": curve,
                },
            )
    seconds = time.perf_counter() - started
    final_loss = evaluate(model, held_out, device) if curve[-1] is not None else math.nan
    record = {
        "unigram_entropy": corpus.unigram_entropy(),
        "topic_entropy": corpus.topic_entropy(),
        "corpus_fingerprint": corpus.fingerprint(),
        "initial_loss": initial_loss,
        "final_loss": finite_or_none(final_loss),
        "curve": curve,
        "seconds_per_step": seconds / max(len(curve) - done, 1),
    }
    return model, record | layer_norm_gammas(model)
