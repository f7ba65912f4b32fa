"""Training of one model on the objective L_k (k = 1: VAE, k > 1: IWAE), resumable epoch by epoch.

The loop is deliberately bare (one screen, nothing per step beyond forward, backward, Adam step and
a running sum kept on the device): the step-time benchmark holds it to a hand-written minimal loop.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from kexue_repro.common.atomic import write_csv
from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.runtime import check_finite_loss, seed_everything
from kexue_repro.vae.data import Dataset
from kexue_repro.vae.model import VAE

CURVE_FIELDS = ["k_train", "seed", "epoch", "stage", "lr", "train_bound", "seconds"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained weights; a checkpoint resumes only under an equal config."""

    k: int
    seed: int
    hidden: int
    latent: int
    batch_size: int
    schedule: str
    stages: tuple[tuple[int, float], ...]
    data_sha256: str
    device_type: str

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["stages"] = [list(stage) for stage in self.stages]
        return row

    @property
    def epochs(self) -> int:
        return sum(n for n, _ in self.stages)


def data_fingerprint(data: Dataset) -> str:
    return hashlib.sha256(data.train_grey.numpy()).hexdigest()


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """Seed everything; the returned generator (on ``device``) drives binarization, order and noise."""
    cpu_generator = seed_everything(seed)
    return cpu_generator if device.type == "cpu" else torch.Generator(device).manual_seed(seed)


def build_model(data: Dataset, config: TrainConfig) -> VAE:
    # Built on the CPU from the global seed, so the initial weights do not depend on the device.
    return VAE(data.train_grey.shape[1], config.hidden, config.latent, data.train_pixel_means)


def train(
    data: Dataset,
    config: TrainConfig,
    device: torch.device,
    checkpoint_path: str | os.PathLike,
    curve_path: str | os.PathLike,
) -> tuple[VAE, list[dict[str, Any]]]:
    """Train to the end of the schedule, resuming from ``checkpoint_path`` when it holds this config.

    After every epoch the checkpoint (weights, Adam state, generator state, curve) is written atomically,
    so a run killed at any point continues to the same numbers as an unbroken one; the curve CSV (also
    kept in the checkpoint) is written at the end, and each epoch prints one line.
    """
    generator = make_generator(config.seed, device)
    model = build_model(data, config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.stages[0][1])
    curve: list[dict[str, Any]] = []
    state = load_checkpoint(checkpoint_path)  # on the CPU: generator states must be CPU tensors
    if state is not None and state["config"] == config.as_dict():
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        curve = state["curve"]
        print(f"resuming from {checkpoint_path} after epoch {len(curve)}", file=sys.stderr)
    elif state is not None:
        print(f"{checkpoint_path} holds another configuration; starting afresh", file=sys.stderr)
    epoch_plan = [(stage, lr) for stage, (n, lr) in enumerate(config.stages) for _ in range(n)]
    images, k, batch_size = data.train_grey.to(device), config.k, config.batch_size
    for epoch in range(len(curve), len(epoch_plan)):
        stage, lr = epoch_plan[epoch]
        for group in optimizer.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        binary = torch.bernoulli(images, generator=generator)  # dynamic binarization, fresh each epoch
        order = torch.randperm(len(images), generator=generator, device=device)
        bound_sum, bounds = torch.zeros((), device=device), []
        for first in range(0, len(images), batch_size):
            x = binary[order[first : first + batch_size]]
            bound = model.objective(x, k, generator)
            optimizer.zero_grad(set_to_none=True)
            (-bound).backward()
            optimizer.step()
            bound_sum += bound.detach() * len(x)
            bounds.append(bound.detach())
        check_finite_loss(
            bounds, epoch * len(bounds) + 1, f"vae train k={k} seed={config.seed}, epoch {epoch + 1}"
        )
        train_bound = bound_sum.item() / len(images)
        curve.append(
            {
                "k_train": k,
                "seed": config.seed,
                "epoch": epoch + 1,
                "stage": stage,
                "lr": lr,
                "train_bound": train_bound,
                "seconds": time.perf_counter() - started,
            }
        )
        state = {
            "config": config.as_dict(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
            "curve": curve,
        }
        save_checkpoint(checkpoint_path, state)
        print(f"epoch {epoch + 1}/{len(epoch_plan)} lr {lr:.3g} train L_{k} {train_bound:.3f}", flush=True)
    write_csv(curve_path, pd.DataFrame(curve, columns=CURVE_FIELDS), float_format="%.10g")
    return model, curve


def save_model(path: str | os.PathLike, model: VAE, config: TrainConfig, curve: list[dict[str, Any]]) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_checkpoint(path, {"config": config.as_dict(), "model": state, "curve": curve})


def load_model(path: str | os.PathLike, device: torch.device) -> tuple[VAE, dict[str, Any]]:
    """The trained model on ``device`` and its training config (as a dict)."""
    saved = load_checkpoint(path)
    if saved is None:
        raise ValueError(f"{path}: no such model file")
    weights = saved["model"]
    n_pixels, hidden = weights["encoder.0.weight"].shape[1], saved["config"]["hidden"]
    model = VAE(n_pixels, hidden, saved["config"]["latent"])
    model.load_state_dict(weights)
    return model.to(device).eval(), saved["config"]


def remove_checkpoint(path: str | os.PathLike) -> None:
    """Once the model file is written, the checkpoint is spent; a later run with new params starts afresh."""
    Path(path).unlink(missing_ok=True)
