"""Fine-tuning one model on CLUENER, CMRC2018, C3 or CHID with one seed: best dev epoch kept, resumable per
epoch (the weights, the optimizer, the data-order and torch's random streams, the history and the best
epoch's predictions are saved after every epoch; a killed run resumes to the unbroken run's numbers, and a
checkpoint of the same run with fewer epochs is resumed too).

    python -m kexue_repro.clue.mrc_ner.train --settings JSON --task T --seed S [S ...] --model PATH_OR_NAME
        --train JSONL --dev JSONL --meta JSON --threads N --device auto|cpu|cuda --checkpoint PT [PT ...]
        --predictions-out JSON [JSON ...] --run-out JSON [JSON ...]

(several seeds run in turn in one process, as in kexue_repro.clue.train; the workflow gives each its own job)

``--task``: the run task, ``cluener`` or ``cluener@BERT-base`` (before the @: the CLUE task, which the
meta.json names too; the kind, ner | span | choice | chid, is the meta's). ``--settings``: the task's
protocol, ``{optimizer, lr, beta1, weight_decay, maxlen, batch_size, grad_accum_steps, epochs}`` plus
``stride`` for CMRC2018 (and ``beta2`` with AdamW). ``batch_size`` counts records (CLUENER sentences, C3
questions, CHID blanks) or CMRC2018 windows; an optimizer step takes the mean loss over
``grad_accum_steps`` batches (the post's AdaFactor with gradient accumulation), the epoch's last step over
what is left of it.

The run record holds only what the seed and the settings determine; wall-clock timings go to the log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import torch
from torch import nn

from kexue_repro.clue.evaluate import autocast, model_inputs
from kexue_repro.clue.model import load_tokenizer
from kexue_repro.clue.mrc_ner import encode
from kexue_repro.clue.mrc_ner.evaluate import SELECT, batches, evaluate
from kexue_repro.clue.mrc_ner.models import LOSSES, build_model
from kexue_repro.clue.optimizers import OPTIMIZERS, make_optimizer
from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import FINE_TUNING_PER_RUN, add_fine_tuning_arguments, step_parser
from kexue_repro.common.resume import Resumable, discard_checkpoint, run_each
from kexue_repro.common.runtime import (
    check_finite_loss,
    choose_device,
    default_generators,
    seed_everything,
    set_threads,
)
from kexue_repro.common.settings import build
from kexue_repro.data.clue_records import file_sha256

ORDER = 0  # offset of the data order's seed from the run's seed


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """The task's protocol (``--settings``) and the run: everything that determines the result. A checkpoint
    resumes only under an equal config, its number of epochs aside."""

    task: str
    kind: str  # ner | span | choice | chid
    model: str  # a save_pretrained folder (model + tokenizer) or hub name
    entity_types: tuple[str, ...]  # ner: one GlobalPointer head each; others: ()
    num_choices: int  # choice: 4, chid: 10; others: 0
    seed: int
    optimizer: str  # adafactor | adamw
    lr: float
    beta1: float
    beta2: float | None = None  # AdamW's (required with it); AdaFactor has none
    weight_decay: float
    maxlen: int  # tokens per sequence, [CLS] and [SEP]s included
    batch_size: int
    grad_accum_steps: int
    epochs: int
    stride: int | None = None  # CMRC2018's window stride (span only)
    train_sha256: str
    dev_sha256: str
    device_type: str

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size, self.grad_accum_steps) < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and grad_accum_steps must be >= 1 and lr > 0")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"clue.mrc_ner: optimizer {self.optimizer!r} is not one of {OPTIMIZERS}")
        if self.optimizer == "adamw" and self.beta2 is None:
            raise ValueError("clue.mrc_ner: missing setting 'beta2' (required with optimizer adamw)")
        if self.kind not in encode.KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {encode.KINDS}")
        if (self.kind == "span") != (self.stride is not None):
            raise ValueError(
                f"clue.mrc_ner: setting 'stride' is for cmrc2018 only and required there ({self.task})"
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def encode_split(config: TrainConfig, path: str | os.PathLike, tokenizer, train: bool):
    records = encode.read_records(path, config.kind)
    if config.kind == "ner":
        return encode.encode_ner(records, tokenizer, config.maxlen, config.entity_types), len(records)
    if config.kind == "span":
        data = encode.encode_span(records, tokenizer, config.maxlen, config.stride, train)
        return data, len(data.questions)
    if config.kind == "choice":
        return encode.encode_choice(records, tokenizer, config.maxlen, config.num_choices), len(records)
    return encode.encode_chid(records, tokenizer, config.maxlen, config.num_choices), len(records)


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Sequence[dict[str, torch.Tensor]],
    kind: str,
    device: torch.device,
) -> torch.Tensor:
    """One optimizer step on the mean loss over the items of ``micro_batches`` (gradients accumulated batch
    by batch); returns that loss, detached, on the device."""
    optimizer.zero_grad(set_to_none=True)
    total = sum(len(batch["labels"]) for batch in micro_batches)
    loss_sum = torch.zeros((), device=device)
    for batch in micro_batches:
        with autocast(device):
            out = model(**model_inputs(batch, device))
        loss = LOSSES[kind](out, batch["labels"].to(device)) * (len(batch["labels"]) / total)
        loss.backward()
        loss_sum += loss.detach()
    optimizer.step()
    return loss_sum


def accumulated(data, config: TrainConfig, order: Sequence[int]):
    """The epoch's optimizer steps: ``grad_accum_steps`` batches each (the last step possibly fewer)."""
    group = []
    for batch in batches(data, config.batch_size, order):
        group.append(batch)
        if len(group) == config.grad_accum_steps:
            yield group
            group = []
    if group:
        yield group


def finetune(
    config: TrainConfig, train, dev, device: torch.device, checkpoint_path: str | os.PathLike
) -> tuple[list[dict[str, Any]], dict[str, Any], list[float]]:
    """Train ``config.epochs`` epochs (dev metrics after each); return the history, the best epoch's dev
    predictions and the seconds of each epoch's training."""
    seed_everything(config.seed)
    model = build_model(config.kind, config.model, len(config.entity_types)).to(device)
    order_rng = torch.Generator().manual_seed(config.seed + ORDER)
    optimizer = make_optimizer(
        config.optimizer, model.parameters(), config.lr, config.beta1, config.beta2, config.weight_decay
    )
    checkpoint = Resumable(
        checkpoint_path, config.as_dict(), ignore=("epochs",), model=model, optimizer=optimizer,
        order_rng=order_rng, **default_generators(device),
    )  # fmt: skip
    progress = checkpoint.resume(history=[], best_predictions={}, epoch_seconds=[])
    history, best = progress["history"], progress["best_predictions"]
    epoch_seconds = progress["epoch_seconds"]  # wall-clock seconds of each epoch's training
    if len(history) > config.epochs:  # a longer run's checkpoint cannot be shortened
        print(f"{checkpoint_path} holds more epochs than {config.epochs}; starting afresh", file=sys.stderr)
        discard_checkpoint(checkpoint_path)
        return finetune(config, train, dev, device, checkpoint_path)
    metric = SELECT[config.kind]
    for epoch in range(len(history), config.epochs):
        model.train()
        order = torch.randperm(len(train), generator=order_rng).tolist()
        started = time.perf_counter()
        loss_sum, losses = torch.zeros((), device=device), []
        for group in accumulated(train, config, order):
            loss = train_step(model, optimizer, group, config.kind, device)
            loss_sum += loss * sum(len(batch["labels"]) for batch in group)
            losses.append(loss)
        check_finite_loss(losses, epoch * len(losses) + 1, f"{config.task}, epoch {epoch + 1}")
        train_loss = loss_sum.item() / len(train)
        epoch_seconds.append(time.perf_counter() - started)
        metrics, predictions = evaluate(config.kind, model, dev, config.batch_size, device)
        if not history or metrics[metric] > max(h["dev"][metric] for h in history):  # ties: the earlier epoch
            best = predictions
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "dev": metrics})
        checkpoint.save(history=history, best_predictions=best, epoch_seconds=epoch_seconds)
        print(
            f"{config.task} seed {config.seed} epoch {epoch + 1}/{config.epochs}: loss {train_loss:.4f}, "
            f"dev {json.dumps(metrics)}, {epoch_seconds[-1]:.2f} s training, "
            f"{time.perf_counter() - started - epoch_seconds[-1]:.2f} s evaluation",
            flush=True,
        )
    return history, best, epoch_seconds


def run_record(
    config: TrainConfig, n_train: int, n_dev: int, history: list[dict[str, Any]]
) -> dict[str, Any]:
    metric = SELECT[config.kind]
    best = max(history, key=lambda h: h["dev"][metric])  # max keeps the first of equal values
    return {
        "task": config.task, "kind": config.kind, "seed": config.seed, "config": config.as_dict(),
        "n_train": n_train, "n_dev": n_dev, "metric": metric, "history": history,
        "best_epoch": best["epoch"], "best_dev": best["dev"],
    }  # fmt: skip


def read_meta(path: str | os.PathLike, task: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)
    clue_task = task.split("@")[0]
    if meta.get("task") != clue_task:
        raise ValueError(f"{path}: meta of task {meta.get('task')!r}, not of {clue_task!r} (--task {task})")
    if meta.get("kind") not in encode.KINDS:
        raise ValueError(f"{path}: 'kind' must be one of {encode.KINDS}, got {meta.get('kind')!r}")
    needs = {"ner": "entity_types", "choice": "num_choices", "chid": "num_choices"}.get(meta["kind"])
    if needs and needs not in meta:
        raise ValueError(f"{path}: a {meta['kind']} task's meta needs '{needs}'")
    return meta


def _main(args: argparse.Namespace) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    set_threads(args.threads)
    device = choose_device(args.device)
    meta = read_meta(args.meta, args.task)
    kind = meta["kind"]
    config = build(
        TrainConfig,
        args.settings,
        "clue.mrc_ner",
        task=args.task,
        kind=kind,
        model=args.model,
        entity_types=tuple(meta["entity_types"]) if kind == "ner" else (),
        num_choices=int(meta["num_choices"]) if kind in ("choice", "chid") else 0,
        seed=args.seed,
        train_sha256=file_sha256(args.train),
        dev_sha256=file_sha256(args.dev),
        device_type=device.type,
    )
    encode.check_model_length(args.model, config.maxlen)
    tokenizer = load_tokenizer(args.model)
    train, n_train = encode_split(config, args.train, tokenizer, train=True)
    dev, n_dev = encode_split(config, args.dev, tokenizer, train=False)
    if not len(train):
        raise ValueError(f"{args.train}: nothing to train on (cmrc2018: no answer with a start)")
    history, predictions, epoch_seconds = finetune(config, train, dev, device, args.checkpoint)
    record = run_record(config, n_train, n_dev, history)
    write_json(args.predictions_out, predictions)
    write_json(args.run_out, record)
    per_epoch = sum(epoch_seconds) / len(epoch_seconds)
    print(
        f"{args.run_out}: {args.task} seed {args.seed}: best dev {record['metric']} "
        f"{record['best_dev'][record['metric']]:.4f} at epoch {record['best_epoch']}; {per_epoch:.2f} s/epoch "
        f"training ({len(train)} items), {time.perf_counter() - started:.1f} s in all (timings: not in the record)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.mrc_ner.train", __doc__, "clue.mrc_ner")
    add_fine_tuning_arguments(
        parser,
        "the run task: cluener, c3, cmrc2018, chid [@model]",
        "the task's meta.json (kind, entity_types, num_choices)",
    )
    parser.add_argument(
        "--predictions-out", nargs="+", required=True, help="per seed: best epoch's dev predictions (.json)"
    )
    return run_each(_main, parser.parse_args(argv), (*FINE_TUNING_PER_RUN, "predictions_out"), "checkpoint")


if __name__ == "__main__":
    sys.exit(main())
