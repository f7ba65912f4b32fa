"""Training of one model on the objective L_k (k = 1: VAE, k > 1: IWAE), resumable epoch by epoch.

The loop is deliberately bare (one screen, nothing per step beyond forward, backward, Adam step and
a running sum kept on the device): the step-time benchmark holds it to a hand-written minimal loop.
Wall-clock time goes to the job's log (and to a caller's ``epoch_seconds`` list), never into the curve or
the model file: those are DVC outputs, equal byte for byte between two runs of the same seed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import pandas as pd
import torch

from kexue_repro.common.atomic import write_csv
from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.cli import add_checkpoint_argument, add_compute_arguments, step_parser
from kexue_repro.common.resume import Resumable, run_each
from kexue_repro.common.runtime import check_finite_loss, choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build
from kexue_repro.vae.data import Dataset, load_dataset
from kexue_repro.vae.model import VAE
from kexue_repro.vae.schedule import schedule_stages

CURVE_FIELDS = ["k_train", "seed", "epoch", "stage", "lr", "train_bound"]


@dataclass(frozen=True)
class TrainConfig:
    """The ``vae.train`` settings and the run (k, seed, data, device): everything that determines the
    trained weights. A checkpoint resumes only under an equal config."""

    k: int  # importance samples in the objective: 1 is the VAE
    seed: int
    hidden: int
    latent: int
    lr: float
    schedule: str  # constant | burda
    batch_size: int
    data_sha256: str
    device_type: str
    epochs: int | None = None  # constant schedule
    passes: int | None = None  # burda schedule: stages i < passes of 3^i epochs at lr*10^(-i/7)

    def __post_init__(self) -> None:
        if min(self.k, self.hidden, self.latent, self.batch_size) < 1:
            raise ValueError("vae.train: k, hidden, latent and batch_size must be >= 1")

    @property
    def stages(self) -> tuple[tuple[int, float], ...]:
        """(epochs, learning rate) of each stage of the schedule."""
        return tuple(schedule_stages(self.schedule, self.lr, self.epochs, self.passes))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"stages": [list(stage) for stage in self.stages]}


def data_fingerprint(data: Dataset) -> str:
    return hashlib.sha256(data.train_grey.numpy()).hexdigest()


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """Seed everything; the returned generator (on ``device``) drives binarization, order and noise."""
    cpu_generator = seed_everything(seed)
    return cpu_generator if device.type == "cpu" else torch.Generator(device).manual_seed(seed)


def build_model(data: Dataset, config: TrainConfig) -> VAE:
    # Built on the CPU from the global seed, so the initial weights do not depend on the device.
    return VAE(data.train_grey.shape[1], config.hidden, config.latent, data.train_pixel_means)


def build_optimizer(model: VAE, config: TrainConfig) -> torch.optim.Adam:
    """Adam at the first stage's learning rate (the loop sets each epoch's)."""
    return torch.optim.Adam(model.parameters(), lr=config.stages[0][1])


def train_step(
    model: VAE, optimizer: torch.optim.Optimizer, x: torch.Tensor, k: int, generator: torch.Generator
) -> torch.Tensor:
    """One Adam step on the batch's -L_k; returns its L_k, detached and left on the device (no sync)."""
    bound = model.objective(x, k, generator)
    optimizer.zero_grad(set_to_none=True)
    (-bound).backward()
    optimizer.step()
    return bound.detach()


def train(
    data: Dataset,
    config: TrainConfig,
    device: torch.device,
    checkpoint_path: str | os.PathLike,
    curve_path: str | os.PathLike,
    epoch_seconds: list[float] | None = None,
) -> tuple[VAE, list[dict[str, Any]]]:
    """Train to the end of the schedule, resuming from ``checkpoint_path`` when it holds this config.

    After every epoch the checkpoint (weights, Adam state, generator state, curve) is written atomically,
    so a run killed at any point continues to the same numbers as an unbroken one; the curve CSV (also
    kept in the checkpoint) is written at the end, and each epoch prints one line with its wall time,
    which is also appended to ``epoch_seconds`` when given (the step-time benchmark reads it).
    """
    generator = make_generator(config.seed, device)
    model = build_model(data, config).to(device)
    optimizer = build_optimizer(model, config)
    checkpoint = Resumable(
        checkpoint_path, config.as_dict(), model=model, optimizer=optimizer, generator=generator
    )
    curve: list[dict[str, Any]] = checkpoint.resume(curve=[])["curve"]
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
            bound = train_step(model, optimizer, x, k, generator)
            bound_sum += bound * len(x)
            bounds.append(bound)
        check_finite_loss(
            bounds, epoch * len(bounds) + 1, f"vae train k={k} seed={config.seed}, epoch {epoch + 1}"
        )
        train_bound = bound_sum.item() / len(images)
        seconds = time.perf_counter() - started  # the epoch's steps, without the checkpoint
        curve.append(
            {
                "k_train": k,
                "seed": config.seed,
                "epoch": epoch + 1,
                "stage": stage,
                "lr": lr,
                "train_bound": train_bound,
            }
        )
        checkpoint.save(curve=curve)
        if epoch_seconds is not None:
            epoch_seconds.append(seconds)
        print(
            f"epoch {epoch + 1}/{len(epoch_plan)} lr {lr:.3g} train L_{k} {train_bound:.3f} ({seconds:.2f} s)",
            flush=True,
        )
    write_csv(curve_path, pd.DataFrame(curve, columns=CURVE_FIELDS), float_format="%.10g")
    return model, curve


def save_model(path: str | os.PathLike, model: VAE, config: TrainConfig, curve: list[dict[str, Any]]) -> None:
    """The model file, equal byte for byte for equal weights, config and curve (common.checkpoint)."""
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


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    device = choose_device(args.device)
    dataset = load_dataset(args.data)
    config = build(
        TrainConfig,
        args.settings,
        "vae.train",
        k=args.k,
        seed=args.seed,
        data_sha256=data_fingerprint(dataset),
        device_type=device.type,
    )
    model, curve = train(dataset, config, device, args.checkpoint, args.curve)
    save_model(args.out, model, config, curve)


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.vae.train", __doc__, "vae.train")
    parser.add_argument("--data", required=True, help="the processed .npz")
    parser.add_argument(
        "--k",
        type=int,
        nargs="+",
        required=True,
        help="one run per k, in turn: importance samples in the objective (1: VAE)",
    )
    parser.add_argument("--seed", type=int, required=True, help="the seed of every run of the job")
    add_compute_arguments(parser)
    add_checkpoint_argument(parser, "run")
    parser.add_argument("--out", nargs="+", required=True, help="per run: the trained model (.pt)")
    parser.add_argument("--curve", nargs="+", required=True, help="per run: training curve CSV")
    per_run = ("k", "checkpoint", "out", "curve")
    return run_each(_main, parser.parse_args(argv), per_run, "checkpoint")


if __name__ == "__main__":
    sys.exit(main())
