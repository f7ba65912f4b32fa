"""Training of one GAN (one method, one dataset, one seed), resumable, with the cost of every step measured.

Losses: WGAN-GP uses the Wasserstein loss plus lambda * gradient penalty; every other method uses the
non-saturating (BCE-with-logits) loss on its D^, as the official GN-GAN CNN configuration does.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.runtime import check_finite_loss, seed_everything
from kexue_repro.gan import data
from kexue_repro.gan.model import METHODS, Critic, Generator, gradient_penalty, wrapped_critic


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the trained weights; a checkpoint resumes only under an equal config."""

    dataset: str
    method: str
    seed: int
    steps: int
    batch_size: int
    lr: float
    betas: tuple[float, float]
    n_dis: int
    gp_lambda: float
    gran_eps: float
    latent: int
    gen_hidden: int
    gen_depth: int
    critic_hidden: int
    critic_depth: int
    ring_modes: int
    ring_radius: float
    ring_std: float
    digits_sha256: str  # of the digits file for mnist; empty for the ring
    device_type: str

    def __post_init__(self) -> None:
        if self.dataset not in data.DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {data.DATASETS}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {METHODS}")
        sizes = (self.steps, self.batch_size, self.n_dis, self.latent, self.gen_hidden, self.critic_hidden)
        if min(sizes) < 1 or min(self.gen_depth, self.critic_depth) < 1:
            raise ValueError("steps, batch size, n_dis, latent, hidden sizes and depths must be >= 1")

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["betas"] = list(self.betas)
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> TrainConfig:
        return cls(**(row | {"betas": tuple(row["betas"])}))

    @property
    def dim(self) -> int:
        return 2 if self.dataset == "ring" else 784


def build_models(config: TrainConfig) -> tuple[Generator, Critic]:
    """Built on the CPU from the global seed, so the initial weights do not depend on the device."""
    generator = Generator(
        config.latent, config.gen_hidden, config.gen_depth, config.dim, bounded=config.dataset == "mnist"
    )
    critic = Critic(config.dim, config.critic_hidden, config.critic_depth, spectral=config.method == "sn")
    return generator, critic


class RealBatches:
    """Real training batches: fresh ring samples, or digits drawn with replacement from the training split."""

    def __init__(self, config: TrainConfig, train_images: torch.Tensor | None) -> None:
        if (config.dataset == "mnist") != (train_images is not None):
            raise ValueError("digit images are needed for, and only for, --dataset mnist")
        self.config = config
        self.images = train_images

    def draw(self, n: int, rng: torch.Generator) -> torch.Tensor:
        c = self.config
        if self.images is None:
            return data.sample_ring(n, c.ring_modes, c.ring_radius, c.ring_std, rng)
        return self.images[torch.randint(len(self.images), (n,), generator=rng)]


def training_step(
    config: TrainConfig,
    gen: Generator,
    critic: Critic,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    batches: RealBatches,
    rng: torch.Generator,
    device: torch.device,
) -> tuple[float, float]:
    """n_dis critic updates then one generator update; returns (critic loss, generator loss)."""
    d_hat = wrapped_critic(config.method, config.gran_eps)
    n = config.batch_size
    for _ in range(config.n_dis):
        real = batches.draw(n, rng).to(device).requires_grad_(True)
        with torch.no_grad():
            fake = gen.sample(n, rng)
        fake.requires_grad_(True)
        if config.method == "gp":
            loss_d = critic(fake).mean() - critic(real).mean()
            loss_d = loss_d + config.gp_lambda * gradient_penalty(critic, real, fake, rng)
        else:
            loss_d = F.softplus(-d_hat(critic, real)).mean() + F.softplus(d_hat(critic, fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    fake = gen.sample(n, rng)
    if config.method == "gp":
        loss_g = -critic(fake).mean()
    else:
        loss_g = F.softplus(-d_hat(critic, fake)).mean()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return float(loss_d.detach()), float(loss_g.detach())


def saved_tensor_bytes(step) -> tuple[int, Any]:
    """Bytes of the distinct tensors autograd saves for backward while ``step()`` runs, and its result."""
    seen: dict[tuple[int, int], int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key = (tensor.untyped_storage().data_ptr(), tensor.untyped_storage().nbytes())
        seen[key] = key[1]
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = step()
    return sum(seen.values()), result


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(
    config: TrainConfig,
    train_images: torch.Tensor | None,
    device: torch.device,
    checkpoint_path: str | os.PathLike,
    checkpoint_every: int,
    warmup_steps: int,
) -> tuple[Generator, Critic, dict[str, Any]]:
    """Train for ``config.steps`` steps, resuming from ``checkpoint_path`` when it holds this config.

    Every ``checkpoint_every`` steps the state (weights, Adam states, random generator, step) is saved
    atomically, so a killed run continues to the same weights as an unbroken one. Cost: wall time per
    step over the steps this process ran after ``warmup_steps``; the growth of peak RSS over the loop;
    and the bytes autograd saved for backward in one step (activation memory, double backprop included).
    """
    if checkpoint_every < 1 or warmup_steps < 0:
        raise ValueError("--checkpoint-every must be >= 1 and --warmup-steps >= 0")
    rng = seed_everything(config.seed)
    gen, critic = build_models(config)
    gen, critic = gen.to(device), critic.to(device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=config.lr, betas=config.betas)
    batches = RealBatches(config, train_images)
    done = 0
    state = load_checkpoint(checkpoint_path)
    if state is not None and state["config"] == config.as_dict():
        gen.load_state_dict(state["generator"])
        critic.load_state_dict(state["critic"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        rng.set_state(state["rng"])
        done = int(state["step"])
        print(f"resuming from {checkpoint_path} after step {done}", file=sys.stderr)
    elif state is not None:
        print(f"{checkpoint_path} holds another configuration; starting afresh", file=sys.stderr)

    def step() -> tuple[float, float]:
        return training_step(config, gen, critic, opt_g, opt_d, batches, rng, device)

    rss_before, times, saved_bytes, losses = peak_rss_mib(), [], None, (float("nan"),) * 2
    for index in range(done, config.steps):
        started = time.perf_counter()
        if saved_bytes is None:
            saved_bytes, losses = saved_tensor_bytes(step)
        else:
            losses = step()
        for name, value in zip(("critic", "generator"), losses):
            check_finite_loss(value, index + 1, f"gan train {config.method} seed={config.seed}, {name}")
        if index - done >= warmup_steps:
            times.append(time.perf_counter() - started)
        if (index + 1) % checkpoint_every == 0 and index + 1 < config.steps:
            save_checkpoint(
                checkpoint_path,
                {
                    "config": config.as_dict(),
                    "generator": gen.state_dict(),
                    "critic": critic.state_dict(),
                    "opt_g": opt_g.state_dict(),
                    "opt_d": opt_d.state_dict(),
                    "rng": rng.get_state(),
                    "step": index + 1,
                },
            )
    cost = {
        "seconds_per_step": sum(times) / len(times) if times else None,
        "timed_steps": len(times),
        "peak_rss_growth_mib": peak_rss_mib() - rss_before,
        "saved_for_backward_mib": saved_bytes / 2**20 if saved_bytes is not None else None,
        "final_loss_d": losses[0],
        "final_loss_g": losses[1],
    }
    return gen, critic, cost


def save_model(path: str | os.PathLike, gen: Generator, critic: Critic, config: TrainConfig) -> None:
    save_checkpoint(
        path,
        {"config": config.as_dict(), "generator": gen.state_dict(), "critic": critic.state_dict()},
    )


def load_model(path: str | os.PathLike) -> tuple[Generator, Critic, TrainConfig]:
    state = load_checkpoint(path)
    if state is None:
        raise OSError(f"{path}: no such model file")
    config = TrainConfig.from_dict(state["config"])
    gen, critic = build_models(config)
    gen.load_state_dict(state["generator"])
    critic.load_state_dict(state["critic"])
    return gen.eval(), critic.eval(), config
