"""Training of the small MLM on the topic corpus with Adam, resumable.

The learning rate rises linearly over ``warmup_steps`` steps, then stays constant (``warmup_steps`` 0: constant
from the first step), so runs with and without warmup differ in nothing else. Every run is evaluated on the
same held-out batches, before training and after it.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import torch

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_checkpoint_argument, add_compute_arguments, step_parser
from kexue_repro.common.resume import Resumable, run_each
from kexue_repro.common.runtime import choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build
from kexue_repro.transformer import HEADS, NORMS
from kexue_repro.transformer.data import CorpusConfig, TopicCorpus, mask_batch, topic_corpus
from kexue_repro.transformer.model import MaskedLM, ModelConfig, build_model, is_tied, masked_lm_loss

EVAL_SEED_OFFSET = 1_000_003  # held-out batches come from corpus.seed + this, the same for every run


@dataclass(frozen=True)
class TrainConfig:
    """The ``transformer.mlm`` settings and the run (norm, head, lr, warmup, seed, device): everything that
    determines the trained weights. A checkpoint resumes only under an equal config (``checkpoint_every``
    aside)."""

    norm: str
    head: str  # MLM head: BERT's Dense+GELU+LN, or none
    lr: float  # peak learning rate of Adam
    warmup_steps: int
    seed: int
    device_type: str
    corpus: CorpusConfig
    depth: int
    width: int
    heads: int
    ffn: int
    init: str
    output: str  # tied | untied
    dropout: float
    mask_prob: float
    seq_len: int
    batch_size: int
    steps: int
    eval_batches: int  # held-out batches, the same for every run
    checkpoint_every: int

    def __post_init__(self) -> None:
        if min(self.batch_size, self.steps, self.eval_batches) < 1 or self.lr <= 0:
            raise ValueError("batch size, steps and eval batches must be >= 1 and lr > 0")
        if not 0 <= self.warmup_steps < self.steps:
            raise ValueError(f"warmup steps {self.warmup_steps} must be in [0, steps={self.steps})")
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"mask probability {self.mask_prob} is not in (0, 1)")
        if self.checkpoint_every < 1:
            raise ValueError("transformer.mlm: checkpoint_every must be >= 1")
        _ = self.model  # ModelConfig checks the model's shape

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(
            vocab=self.corpus.vocab + 1, seq_len=self.seq_len, depth=self.depth, width=self.width,
            heads=self.heads, ffn=self.ffn, norm=self.norm, init=self.init, head=self.head,
            tied=is_tied(self.output), dropout=self.dropout,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_factor(step: int, warmup_steps: int) -> float:
    """The learning rate at ``step`` (0-based) as a factor of the peak: linear warmup, then constant."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0


def batches(corpus: TopicCorpus, config: TrainConfig, n: int, generator: torch.Generator):
    for _ in range(n):
        targets = corpus.sample(config.batch_size, config.seq_len, generator)
        inputs, masked = mask_batch(targets, config.mask_prob, corpus.mask_token, generator)
        yield inputs, targets, masked


def build_optimizer(
    model: MaskedLM, config: TrainConfig
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LambdaLR]:
    """Adam at the peak learning rate, and the warmup schedule (``lr_factor``) stepped once per step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, config.warmup_steps))
    return optimizer, schedule


def train_step(
    model: MaskedLM,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    device: torch.device,
) -> float:
    """The masked-token loss of a batch (inputs, targets, masked) and, when it is finite, one Adam step and
    one schedule step; returns the loss (a non-finite one leaves the weights as they were)."""
    inputs, targets, masked = batch
    loss = masked_lm_loss(model(inputs.to(device)), targets.to(device), masked.to(device))
    value = float(loss.detach())
    if math.isfinite(value):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return value


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
    config: TrainConfig, device: torch.device, checkpoint_path: str | os.PathLike
) -> tuple[MaskedLM, dict[str, Any]]:
    """Train, resuming from ``checkpoint_path`` when it holds this config; stops at a non-finite loss.

    Returns the model and the run record: losses per step, held-out loss before and after, LayerNorm
    gammas and the corpus' reference levels. Nothing measured by a clock enters the record (a DVC-hashed
    output): the time per step goes to the log only.
    """
    spec = config.corpus
    corpus = topic_corpus(spec.vocab, spec.topics, spec.support, spec.seed)
    eval_generator = torch.Generator().manual_seed(spec.seed + EVAL_SEED_OFFSET)
    held_out = list(batches(corpus, config, config.eval_batches, eval_generator))
    generator = seed_everything(config.seed)
    model = build_model(config.model).to(device)
    optimizer, schedule = build_optimizer(model, config)
    initial_loss = evaluate(model, held_out, device)
    checkpoint = Resumable(
        checkpoint_path, config.as_dict(), ignore=("checkpoint_every",), model=model, optimizer=optimizer,
        schedule=schedule, generator=generator, torch_rng=torch.default_generator,  # dropout's
    )  # fmt: skip
    curve: list[float | None] = checkpoint.resume(curve=[])["curve"]
    started, done = time.perf_counter(), len(curve)
    for step, batch in enumerate(batches(corpus, config, config.steps - done, generator), done):
        value = train_step(model, optimizer, schedule, batch, device)
        curve.append(finite_or_none(value))
        if not math.isfinite(value):
            break
        if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
            checkpoint.save(curve=curve)
    seconds = time.perf_counter() - started
    final_loss = evaluate(model, held_out, device) if curve[-1] is not None else math.nan
    record = {
        "unigram_entropy": corpus.unigram_entropy(),
        "topic_entropy": corpus.topic_entropy(),
        "corpus_fingerprint": corpus.fingerprint(),
        "initial_loss": initial_loss,
        "final_loss": finite_or_none(final_loss),
        "curve": curve,
    }
    print(f"{seconds / max(len(curve) - done, 1) * 1000:.1f} ms/step (log only)")
    return model, record | layer_norm_gammas(model)


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    device = choose_device(args.device)
    run_keys = {
        "norm": args.norm,
        "head": args.head,
        "lr": args.lr,
        "warmup_steps": args.warmup_steps,
        "seed": args.seed,
    }
    config = build(TrainConfig, args.settings, "transformer.mlm", **run_keys, device_type=device.type)
    _, record = train(config, device, args.checkpoint)
    write_json(args.out, run_keys | {"config": config.as_dict(), "threads": args.threads} | record)
    print(
        f"{args.out}: held-out loss {record['initial_loss']:.3f} -> {record['final_loss']} "
        f"(unigram entropy {record['unigram_entropy']:.3f}); last LN gamma ratio {record['last_ln_ratio']:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.transformer.train", __doc__, "transformer.mlm")
    parser.add_argument("--norm", choices=NORMS, required=True, help="Post-LN or Pre-LN")
    parser.add_argument(
        "--head", choices=HEADS, required=True, help="MLM head: BERT's Dense+GELU+LN, or none"
    )
    parser.add_argument("--lr", type=float, required=True, help="peak learning rate of Adam")
    parser.add_argument("--warmup-steps", type=int, required=True, help="linear warmup, then constant")
    parser.add_argument("--seed", type=int, nargs="+", required=True, help="one run per seed, in turn")
    add_compute_arguments(parser)
    add_checkpoint_argument(parser, "seed")
    parser.add_argument(
        "--out",
        nargs="+",
        required=True,
        help="per seed: the run record, curve, losses, LayerNorm gammas (.json)",
    )
    per_run = ("seed", "checkpoint", "out")
    return run_each(_main, parser.parse_args(argv), per_run, "checkpoint")


if __name__ == "__main__":
    sys.exit(main())
