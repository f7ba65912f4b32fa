"""Full scale: GN-GAN with the official CNN on CIFAR-10, generator EMA, FID/IS at steps (resumable).

One step, as the official ``train.py`` does it: n_dis critic updates, each on batch_size_d real images (shuffled
epochs, random horizontal flips, scaled to [-1, 1]) and batch_size_d generated ones through D^ = GN(D), BCE on
D^; then one generator update on batch_size_g samples, BCE(D^(G(z)), 1) with D's parameters frozen; then the
EMA of G (all floating parameters and buffers: torch's AveragedModel with an EMA average, started as a copy);
then the linear learning-rate decay after lr_decay_start. Both networks stay in training mode throughout,
also when generating for evaluation (the official code never switches to eval mode: BatchNorm uses the
statistics of each generation batch of 2 x batch_size_g).
"""

from __future__ import annotations

import copy
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.runtime import seed_everything
from kexue_repro.gan.cnn import CNNDiscriminator, CNNGenerator
from kexue_repro.gan.image_metrics import ImageMetrics, to_uint8
from kexue_repro.gan.model import gradient_normalized

EVAL_STREAM = 1_000_003  # evaluation noise: seed + this + step, apart from the training stream


@dataclass(frozen=True)
class CifarConfig:
    """Everything that determines the trained weights; a checkpoint resumes only under an equal config."""

    seed: int
    steps: int
    batch_size_d: int
    batch_size_g: int
    lr_d: float
    lr_g: float
    betas: tuple[float, float]
    n_dis: int
    latent: int
    ema_decay: float
    lr_decay_start: int
    data_sha256: str
    device_type: str

    def __post_init__(self) -> None:
        if min(self.steps, self.batch_size_d, self.batch_size_g, self.n_dis, self.latent) < 1:
            raise ValueError("steps, batch sizes, n_dis and latent must be >= 1")
        if not 0 <= self.ema_decay < 1 or self.lr_decay_start < 0:
            raise ValueError("--ema-decay must lie in [0, 1) and --lr-decay-start be >= 0")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"betas": list(self.betas)}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> CifarConfig:
        return cls(**(row | {"betas": tuple(row["betas"])}))


class RealImages:
    """Shuffled epochs of uint8 training images, served as float batches in [-1, 1] with random flips."""

    def __init__(self, images: torch.Tensor, rng: torch.Generator) -> None:
        self.images, self.rng = images, rng
        self.order, self.position = torch.randperm(len(images), generator=rng), 0

    def draw(self, n: int) -> torch.Tensor:
        if n > len(self.images):
            raise ValueError(f"a batch of {n} needs at least as many training images, got {len(self.images)}")
        if self.position + n > len(self.order):  # drop the last incomplete batch, as drop_last=True does
            self.order, self.position = torch.randperm(len(self.images), generator=self.rng), 0
        index = self.order[self.position : self.position + n]
        self.position += n
        batch = self.images[index].float() / 127.5 - 1
        flip = torch.rand(n, generator=self.rng) < 0.5
        return torch.where(flip[:, None, None, None], batch.flip(-1), batch)

    def state(self) -> dict[str, Any]:
        return {"order": self.order, "position": self.position}

    def load(self, state: dict[str, Any]) -> None:
        self.order, self.position = state["order"], int(state["position"])


@dataclass
class Nets:
    gen: CNNGenerator
    critic: CNNDiscriminator
    ema: AveragedModel
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LambdaLR
    sched_d: torch.optim.lr_scheduler.LambdaLR

    def state(self) -> dict[str, Any]:
        return {name: getattr(self, name).state_dict() for name in self.__dataclass_fields__}

    def load(self, state: dict[str, Any]) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).load_state_dict(state[name])


def build(config: CifarConfig, device: torch.device) -> Nets:
    """Networks built on the CPU from the global seed (device-independent initial weights), then moved."""
    gen, critic = CNNGenerator(config.latent).to(device), CNNDiscriminator().to(device)
    ema = AveragedModel(gen, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    ema.update_parameters(gen)  # the first update copies: EMA starts at G's initial weights
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=config.lr_d, betas=config.betas)

    def decay(step: int) -> float:
        return 1 - max(step - config.lr_decay_start, 0) / max(config.steps - config.lr_decay_start, 1)

    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, decay)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, decay)
    return Nets(gen, critic, ema, opt_g, opt_d, sched_g, sched_d)


def training_step(
    config: CifarConfig, nets: Nets, real: RealImages, rng: torch.Generator, device: torch.device
) -> tuple[float, float]:
    """n_dis critic updates, one generator update, the EMA and the schedulers; returns the two losses."""
    gen, critic = nets.gen, nets.critic
    for _ in range(config.n_dis):
        x_real = real.draw(config.batch_size_d).to(device)
        with torch.no_grad():
            x_fake = gen.sample(config.batch_size_d, rng)
        d_hat = gradient_normalized(critic, torch.cat([x_real, x_fake]).requires_grad_(True))
        d_real, d_fake = d_hat.split([len(x_real), len(x_fake)])
        loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # BCE-with-logits on D^
        nets.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        nets.opt_d.step()
    critic.requires_grad_(False)
    try:
        loss_g = F.softplus(-gradient_normalized(critic, gen.sample(config.batch_size_g, rng))).mean()
        nets.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        nets.opt_g.step()
    finally:
        critic.requires_grad_(True)
    nets.ema.update_parameters(gen)
    nets.sched_g.step()
    nets.sched_d.step()
    return float(loss_d.detach()), float(loss_g.detach())


def generated_batches(
    gen: torch.nn.Module, n: int, batch: int, latent: int, seed: int, device: torch.device
) -> Iterator[torch.Tensor]:
    """n uint8 samples in batches, from noise of their own seeded stream; a copy of G generates, so the
    BatchNorm running statistics of the trained networks are not touched."""
    gen = copy.deepcopy(gen)
    rng = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch):
        size = min(batch, n - start)
        with torch.no_grad():
            yield to_uint8(gen(torch.randn(size, latent, generator=rng).to(device))).cpu()


def uint8_batches(images: torch.Tensor, batch: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), batch):
        yield images[start : start + batch]


def evaluate_at(
    config: CifarConfig, nets: Nets, metrics: ImageMetrics, step: int, n_eval: int, device: torch.device
) -> dict[str, Any]:
    """FID and IS of G and of its EMA at this step (same noise for both)."""
    row: dict[str, Any] = {"step": step}
    seed = config.seed + EVAL_STREAM + step
    batch = 2 * config.batch_size_g
    for name, gen in (("g", nets.gen), ("ema", nets.ema.module)):
        scores = metrics.score(generated_batches(gen, n_eval, batch, config.latent, seed, device), seed)
        row |= {
            f"{key}_{name}": value for key, value in scores.items() if key in ("fid", "is_mean", "is_std")
        }
        row["n_fake"], row["n_real"] = scores["n_fake"], scores["n_real"]
    return row


def eval_steps(steps: int, eval_every: int) -> list[int]:
    """Steps after which the curve is measured: every eval_every steps, and the last step."""
    return sorted(set(range(eval_every, steps + 1, eval_every)) | {steps})


def train(
    config: CifarConfig,
    images: torch.Tensor,
    metrics: ImageMetrics,
    device: torch.device,
    eval_every: int,
    n_eval: int,
    checkpoint_path: str | os.PathLike,
    checkpoint_every: int,
) -> tuple[Nets, list[dict[str, Any]], dict[str, Any]]:
    """Train for ``config.steps`` steps with the curve measured at ``eval_steps``; resumable from
    ``checkpoint_path`` (weights, Adam and scheduler states, EMA, data order, random state, curve so far)."""
    if min(eval_every, n_eval, checkpoint_every) < 1:
        raise ValueError("--eval-every, --n-eval and --checkpoint-every must be >= 1")
    rng = seed_everything(config.seed)
    nets = build(config, device)
    real = RealImages(images, rng)
    curve: list[dict[str, Any]] = []
    done = 0
    state = load_checkpoint(checkpoint_path)
    if state is not None and state["config"] == config.as_dict():
        nets.load(state["nets"])
        real.load(state["data"])
        rng.set_state(state["rng"])
        curve, done = state["curve"], int(state["step"])
        print(f"resuming from {checkpoint_path} after step {done}", file=sys.stderr)
    elif state is not None:
        print(f"{checkpoint_path} holds another configuration; starting afresh", file=sys.stderr)
    measured, times, losses = set(eval_steps(config.steps, eval_every)), [], (float("nan"),) * 2
    for step in range(done + 1, config.steps + 1):
        started = time.perf_counter()
        losses = training_step(config, nets, real, rng, device)
        times.append(time.perf_counter() - started)
        if step in measured:
            curve.append(evaluate_at(config, nets, metrics, step, n_eval, device) | {"loss_d": losses[0]})
            print(f"step {step}: {curve[-1]}", file=sys.stderr)
        if step % checkpoint_every == 0 and step < config.steps:
            save_checkpoint(
                checkpoint_path,
                {"config": config.as_dict(), "nets": nets.state(), "data": real.state()}
                | {"rng": rng.get_state(), "curve": curve, "step": step},
            )
    cost = {
        "seconds_per_step": float(np.mean(times)) if times else None,
        "timed_steps": len(times),
        "final_loss_d": losses[0],
        "final_loss_g": losses[1],
    }
    return nets, curve, cost


def save_model(path: str | os.PathLike, nets: Nets, config: CifarConfig) -> None:
    save_checkpoint(
        path,
        {"config": config.as_dict()}
        | {name: getattr(nets, name).state_dict() for name in ("gen", "critic")}
        | {"ema": nets.ema.module.state_dict()},
    )
