"""Fine-tuning one model on one task with one variant and seed: best dev epoch kept, resumable per epoch.

Three seeded random streams keep variants comparable (common random numbers): the data order, the batch
transform (DropToken) and the variant's masks each have their own generator, and torch's global stream
drives the head's initialisation and dropout. All of them, the weights and the optimizer state are saved
after every epoch; a run killed at any point resumes to the same numbers as an unbroken one. A checkpoint
of the same run with fewer epochs is resumed too (nothing depends on the total: no schedule).

    python -m kexue_repro.clue.train --settings JSON --task T --seed S [S ...] --model PATH_OR_NAME --train JSONL
        --dev JSONL --meta JSON --threads N --device D --checkpoint PT [PT ...] --probs-out NPY [NPY ...]
        --run-out JSON [JSON ...]

Several seeds run in turn in one process, one checkpoint and one pair of outputs each
(kexue_repro.common.resume.run_each).

``--settings``: the ``clue.finetune`` block at the scale, with the task's epochs and the variant's options
(kexue_repro.clue.plan.finetune_settings).

The run record (--run-out, a DVC-tracked output) holds only what the seed and the settings determine; how the
run went on this machine (wall-clock seconds, throughput, the epoch it resumed after) is the record's
``execution`` block, printed to the job's log and never written to the record, so two machines' runs give
the same files. The job's wall time is also in Snakemake's benchmark file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import torch

import kexue_repro.data.clue_records as records
from kexue_repro.clue import hooks
from kexue_repro.clue.data import BatchTransform, Encoded, batches, encode_split
from kexue_repro.clue.evaluate import accuracy, mean_loss, predict_probabilities
from kexue_repro.clue.model import ModelTransform, load_classifier, load_tokenizer, scoped_parameters
from kexue_repro.clue.optimizers import OPTIMIZERS, make_optimizer
from kexue_repro.clue.variants import MaskedOptimizer, VariantConfig, fisher_masks, kept_share
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

# Offsets of the seeds of the separate random streams from the run's seed.
ORDER, TRANSFORM, MASKS, FISHER_ORDER = 0, 1, 2, 3


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """The ``clue.finetune`` settings of one job (its variant's options included) and the run (task, model,
    seed, data, device): everything that determines the result. A checkpoint resumes only under an equal
    config, its number of epochs aside."""

    task: str
    model: str  # a save_pretrained folder (model + tokenizer) or hub name
    num_labels: int
    seed: int
    epochs: int
    batch_size: int
    maxlen: int  # tokens per sequence, [CLS] and [SEP]s included
    optimizer: str  # adafactor | adamw
    lr: float
    beta1: float
    beta2: float | None = None  # AdamW's (required with it); AdaFactor has none
    weight_decay: float
    variant: VariantConfig
    train_sha256: str
    dev_sha256: str
    device_type: str

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size) < 1 or self.num_labels < 2 or self.lr <= 0:
            raise ValueError("epochs and batch size must be >= 1, num_labels >= 2 and lr > 0")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"clue.finetune: optimizer {self.optimizer!r} is not one of {OPTIMIZERS}")
        if self.optimizer == "adamw" and self.beta2 is None:
            raise ValueError("clue.finetune: beta2 is required with optimizer adamw")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_optimizer(config: TrainConfig, model: torch.nn.Module) -> MaskedOptimizer:
    """The variant around AdaFactor or AdamW (childtuning-d without its mask yet: see ``set_fisher_mask``)."""
    inner = make_optimizer(
        config.optimizer, model.parameters(), config.lr, config.beta1, config.beta2, config.weight_decay
    )
    params = [p for _, p in scoped_parameters(model, config.variant.scope)]
    return MaskedOptimizer(inner, params, config.variant, config.seed + MASKS)


def train_step(
    model: torch.nn.Module, optimizer: MaskedOptimizer, batch: dict[str, torch.Tensor], device: torch.device
) -> torch.Tensor:
    """One optimizer step on the batch's mean cross-entropy; returns the loss, detached, on the device."""
    loss = mean_loss(model, batch, device)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def set_fisher_mask(
    optimizer: MaskedOptimizer,
    model: torch.nn.Module,
    config: TrainConfig,
    train: Encoded,
    device: torch.device,
) -> float:
    """ChildTuning-D's mask from the training batches (in their own seeded order); the seconds it took."""
    started = time.perf_counter()
    v = config.variant
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(config.seed + FISHER_ORDER))
    forward = lambda m, b: mean_loss(m, b, device)  # noqa: E731
    optimizer.set_fixed_masks(fisher_masks(model, v, batches(train, v.fisher_batch_size, order), forward))
    return time.perf_counter() - started


def finetune(
    config: TrainConfig,
    train: Encoded,
    dev: Encoded,
    device: torch.device,
    checkpoint_path: str | os.PathLike,
    batch_transform: BatchTransform | None = None,
    model_transform: ModelTransform | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """Train ``config.epochs`` epochs (dev accuracy after each); return the run record and the best epoch's
    dev probabilities. ``batch_transform`` acts on training batches only; ``model_transform`` on the
    loaded model (before a checkpoint's weights replace it when resuming)."""
    started = time.perf_counter()
    seed_everything(config.seed)
    model = load_classifier(config.model, config.num_labels, model_transform).to(device)
    order_rng = torch.Generator().manual_seed(config.seed + ORDER)
    transform_rng = torch.Generator().manual_seed(config.seed + TRANSFORM)
    optimizer = build_optimizer(config, model)
    checkpoint = Resumable(
        checkpoint_path, config.as_dict(), ignore=("epochs",), model=model, optimizer=optimizer,
        order_rng=order_rng, transform_rng=transform_rng, **default_generators(device),
    )  # fmt: skip
    progress = checkpoint.resume(history=[], best_probs=[], fisher_seconds=0.0, epoch_seconds=[])
    history, fisher_seconds = progress["history"], progress["fisher_seconds"]
    epoch_seconds = progress["epoch_seconds"]  # per epoch: [train, eval] wall-clock seconds
    if len(history) > config.epochs:  # a longer run's checkpoint cannot be shortened
        print(f"{checkpoint_path} holds more epochs than {config.epochs}; starting afresh", file=sys.stderr)
        discard_checkpoint(checkpoint_path)
        return finetune(config, train, dev, device, checkpoint_path, batch_transform, model_transform)
    best_probs = np.array(progress["best_probs"], dtype=np.float64)
    if optimizer.needs_masks:  # childtuning-d starting afresh; a resumed run has its saved mask
        fisher_seconds = set_fisher_mask(optimizer, model, config, train, device)
    resumed_from = len(history)
    for epoch in range(len(history), config.epochs):
        model.train()
        order = torch.randperm(len(train), generator=order_rng)
        epoch_started = time.perf_counter()
        loss_sum, losses = torch.zeros((), device=device), []
        for batch in batches(train, config.batch_size, order, batch_transform, transform_rng):
            loss = train_step(model, optimizer, batch, device)
            loss_sum += loss * len(batch["labels"])
            losses.append(loss)
        check_finite_loss(losses, epoch * len(losses) + 1, f"clue finetune, epoch {epoch + 1}")
        train_loss = loss_sum.item() / len(train)  # .item() also waits for a GPU to finish
        train_seconds = time.perf_counter() - epoch_started
        probs = predict_probabilities(model, dev, config.batch_size, device)
        dev_accuracy = accuracy(probs, dev.labels)
        if not history or dev_accuracy > max(h["dev_accuracy"] for h in history):  # ties: the earlier epoch
            best_probs = probs
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "dev_accuracy": dev_accuracy})
        epoch_seconds.append([train_seconds, time.perf_counter() - epoch_started - train_seconds])
        checkpoint.save(
            history=history, best_probs=best_probs.tolist(), fisher_seconds=fisher_seconds,
            epoch_seconds=epoch_seconds,
        )  # fmt: skip
        print(
            f"{config.task} {config.variant.name} seed {config.seed} epoch {epoch + 1}/{config.epochs}: "
            f"loss {train_loss:.4f}, dev accuracy {dev_accuracy:.4f}, {train_seconds:.2f} s",
            flush=True,
        )
    record = run_record(config, len(train), len(dev), history, optimizer)
    record["execution"] = execution(
        len(train), epoch_seconds, fisher_seconds, resumed_from, time.perf_counter() - started
    )
    return record | {"device": device.type, "threads": torch.get_num_threads()}, best_probs


def execution(
    n_train: int,
    epoch_seconds: list[list[float]],
    fisher_seconds: float,
    resumed_after_epoch: int,
    seconds: float,
) -> dict[str, Any]:
    """How the run went on this machine: wall-clock seconds and throughput (not part of the run record)."""
    train_seconds = sum(train for train, _ in epoch_seconds)
    timed = len(epoch_seconds) > 0 and train_seconds > 0  # a checkpoint of an older format holds none
    return {
        "seconds": seconds, "resumed_after_epoch": resumed_after_epoch, "fisher_seconds": fisher_seconds,
        "train_seconds": train_seconds, "eval_seconds": [evaluate for _, evaluate in epoch_seconds],
        "seconds_per_epoch": train_seconds / len(epoch_seconds) if timed else math.nan,
        "sequences_per_second": n_train * len(epoch_seconds) / train_seconds if timed else math.nan,
    }  # fmt: skip


def run_record(
    config: TrainConfig,
    n_train: int,
    n_dev: int,
    history: list[dict[str, Any]],
    optimizer: MaskedOptimizer,
) -> dict[str, Any]:
    best = max(history, key=lambda h: h["dev_accuracy"])  # max keeps the first of equal values
    return {
        "task": config.task,
        "variant": config.variant.name,
        "seed": config.seed,
        "config": config.as_dict(),
        "n_train": n_train,
        "n_dev": n_dev,
        "history": history,
        "dev_accuracy": [h["dev_accuracy"] for h in history],
        "best_epoch": best["epoch"],
        "best_dev_accuracy": best["dev_accuracy"],
        "mask_share": kept_share(optimizer.fixed_masks) if optimizer.fixed_masks is not None else None,
    }


def _main(args: argparse.Namespace) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_threads(args.threads)
    device = choose_device(args.device)
    num_labels = records.read_num_labels(args.meta)
    config = build(
        TrainConfig,
        args.settings,
        "clue.finetune",
        task=args.task,
        model=args.model,
        num_labels=num_labels,
        seed=args.seed,
        train_sha256=records.file_sha256(args.train),
        dev_sha256=records.file_sha256(args.dev),
        device_type=device.type,
    )
    tokenizer = load_tokenizer(args.model)
    batch_transform = hooks.drop_token_transform(config.variant.drop_tokens, tokenizer)
    model_transform = hooks.embedding_correction_transform(config.variant.embedding_correction, tokenizer)
    train_set = encode_split(args.train, tokenizer, config.maxlen, num_labels)
    dev_set = encode_split(args.dev, tokenizer, config.maxlen, num_labels)
    record, probs = finetune(
        config, train_set, dev_set, device, args.checkpoint, batch_transform, model_transform
    )
    records.write_probabilities(args.probs_out, probs)
    run = execution_free(record) | {"probabilities": str(args.probs_out), "dev": str(args.dev)}
    write_json(args.run_out, run)
    timing = record["execution"]
    print(
        f"{args.run_out}: {record['variant']} seed {args.seed}: best dev accuracy {record['best_dev_accuracy']:.4f} "
        f"at epoch {record['best_epoch']}; {timing['seconds_per_epoch']:.2f} s/epoch, "
        f"{timing['sequences_per_second']:.1f} sequences/s"
    )
    print(f"execution (not in the run record): {json.dumps(timing)}")


def execution_free(record: dict[str, Any]) -> dict[str, Any]:
    """The run record as written: without the machine's timings (``execution``)."""
    return {key: value for key, value in record.items() if key != "execution"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.train", __doc__, "clue.finetune")
    add_fine_tuning_arguments(
        parser,
        "the run task recorded in the run (e.g. sentiment)",
        "the task's meta.json (num_labels or num_classes)",
    )
    parser.add_argument(
        "--probs-out",
        nargs="+",
        required=True,
        help="per seed: best epoch's dev probabilities (.npy, dev order)",
    )
    return run_each(_main, parser.parse_args(argv), (*FINE_TUNING_PER_RUN, "probs_out"), "checkpoint")


if __name__ == "__main__":
    sys.exit(main())
