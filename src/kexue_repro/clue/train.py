"""Fine-tuning one model on one task with one variant and seed: best dev epoch kept, resumable per epoch.

Three seeded random streams keep variants comparable (common random numbers): the data order, the batch
transform (DropToken) and the variant's masks each have their own generator, and torch's global stream
drives the head's initialisation and dropout. All of them, the weights and the optimizer state are saved
after every epoch; a run killed at any point resumes to the same numbers as an unbroken one. A checkpoint
of the same run with fewer epochs is resumed too (nothing depends on the total: no schedule).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kexue_repro.clue.data import BatchTransform, Encoded, batches
from kexue_repro.clue.evaluate import accuracy, mean_loss, predict_probabilities
from kexue_repro.clue.model import ModelTransform, load_classifier, scoped_parameters
from kexue_repro.clue.variants import MaskedOptimizer, VariantConfig, kept_share, make_optimizer, wrap
from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.runtime import check_finite_loss, seed_everything

# Offsets of the seeds of the separate random streams from the run's seed.
ORDER, TRANSFORM, MASKS, FISHER_ORDER = 0, 1, 2, 3


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the result; a checkpoint resumes only under an equal config (epochs aside)."""

    task: str
    model: str
    num_labels: int
    seed: int
    epochs: int
    batch_size: int
    maxlen: int
    optimizer: str
    lr: float
    beta1: float
    beta2: float | None
    weight_decay: float
    variant: VariantConfig
    train_sha256: str
    dev_sha256: str
    device_type: str

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size) < 1 or self.num_labels < 2 or self.lr <= 0:
            raise ValueError("epochs and batch size must be >= 1, num_labels >= 2 and lr > 0")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> dict[str, Any]:
        return {k: v for k, v in self.as_dict().items() if k != "epochs"}


def _rng_states(*generators: torch.Generator) -> dict[str, Any]:
    states = {"torch": torch.get_rng_state(), "generators": [g.get_state() for g in generators]}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_rng(states: dict[str, Any], *generators: torch.Generator) -> None:
    torch.set_rng_state(states["torch"])
    for generator, state in zip(generators, states["generators"]):
        generator.set_state(state)
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def build_optimizer(
    config: TrainConfig, model: torch.nn.Module, train: Encoded, device: torch.device, masks: list | None
) -> tuple[MaskedOptimizer, float]:
    """The variant around AdaFactor or AdamW, and the seconds spent on the Fisher mask (childtuning-d).
    ``masks``: a saved Fisher mask (when resuming), so it is not computed again."""
    v = config.variant
    inner = make_optimizer(
        config.optimizer, model.parameters(), config.lr, config.beta1, config.beta2, config.weight_decay
    )
    seed = config.seed + MASKS
    if masks is not None:
        params = [p for _, p in scoped_parameters(model, v.scope)]
        return MaskedOptimizer(inner, params, v, seed, [m.to(device) for m in masks]), 0.0
    started = time.perf_counter()

    def fisher_batches():
        order = torch.randperm(
            len(train), generator=torch.Generator().manual_seed(config.seed + FISHER_ORDER)
        )
        return batches(train, v.fisher_batch_size, order)

    optimizer = wrap(inner, model, v, seed, fisher_batches, lambda m, b: mean_loss(m, b, device))
    return optimizer, time.perf_counter() - started


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
    history: list[dict[str, Any]] = []
    best_probs: np.ndarray | None = None
    fisher_seconds = 0.0
    state = load_checkpoint(checkpoint_path)
    if state is not None and state["config"] == config.identity() and len(state["history"]) <= config.epochs:
        model.load_state_dict(state["model"])
        optimizer, _ = build_optimizer(config, model, train, device, state["optimizer"]["fixed_masks"])
        optimizer.load_state_dict(state["optimizer"])
        _restore_rng(state["rng"], order_rng, transform_rng)
        history, best_probs, fisher_seconds = (
            state["history"],
            state["best_probs"].numpy(),
            state["fisher_seconds"],
        )
        print(f"resuming from {checkpoint_path} after epoch {len(history)}", file=sys.stderr)
    else:
        if state is not None:
            print(f"{checkpoint_path} holds another configuration; starting afresh", file=sys.stderr)
        optimizer, fisher_seconds = build_optimizer(config, model, train, device, None)
    resumed_from = len(history)
    for epoch in range(len(history), config.epochs):
        model.train()
        order = torch.randperm(len(train), generator=order_rng)
        epoch_started = time.perf_counter()
        loss_sum, losses = torch.zeros((), device=device), []
        for batch in batches(train, config.batch_size, order, batch_transform, transform_rng):
            loss = mean_loss(model, batch, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(batch["labels"])
            losses.append(loss.detach())
        check_finite_loss(losses, epoch * len(losses) + 1, f"clue finetune, epoch {epoch + 1}")
        train_loss = loss_sum.item() / len(train)  # .item() also waits for a GPU to finish
        train_seconds = time.perf_counter() - epoch_started
        probs = predict_probabilities(model, dev, config.batch_size, device)
        dev_accuracy = accuracy(probs, dev.labels)
        best = max(history, key=lambda h: h["dev_accuracy"]) if history else None
        if best is None or dev_accuracy > best["dev_accuracy"]:  # ties keep the earlier epoch
            best_probs = probs
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "dev_accuracy": dev_accuracy,
                "train_seconds": train_seconds,
                "eval_seconds": time.perf_counter() - epoch_started - train_seconds,
            }
        )
        save_checkpoint(
            checkpoint_path,
            {
                "config": config.identity(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": _rng_states(order_rng, transform_rng),
                "history": history,
                "best_probs": torch.from_numpy(best_probs),
                "fisher_seconds": fisher_seconds,
            },
        )
        print(
            f"{config.task} {config.variant.name} seed {config.seed} epoch {epoch + 1}/{config.epochs}: "
            f"loss {train_loss:.4f}, dev accuracy {dev_accuracy:.4f}, {train_seconds:.2f} s",
            flush=True,
        )
    best = max(history, key=lambda h: h["dev_accuracy"])  # max keeps the first of equal values
    train_seconds = sum(h["train_seconds"] for h in history)
    record = {
        "task": config.task,
        "variant": config.variant.name,
        "seed": config.seed,
        "config": config.as_dict(),
        "n_train": len(train),
        "n_dev": len(dev),
        "history": history,
        "dev_accuracy": [h["dev_accuracy"] for h in history],
        "best_epoch": best["epoch"],
        "best_dev_accuracy": best["dev_accuracy"],
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / len(history),
        "sequences_per_second": len(train) * len(history) / train_seconds,
        "fisher_seconds": fisher_seconds,
        "mask_share": kept_share(optimizer.fixed_masks) if optimizer.fixed_masks is not None else None,
        "resumed_after_epoch": resumed_from,
        "seconds": time.perf_counter() - started,
        "device": device.type,
        "threads": torch.get_num_threads(),
    }
    return record, best_probs


def remove_checkpoint(path: str | os.PathLike) -> None:
    """Once the outputs are written the checkpoint is spent; a later run with new params starts afresh."""
    Path(path).unlink(missing_ok=True)
