"""Training of one GAN (one method, one dataset, one seed), resumable; several seeds run in turn in one
process. Its record holds only what the seed determines (the final losses): the quality of its samples is the
next step's (kexue_repro.gan.samples), the cost of a step is measured apart, by repeated interleaved timings in
one process (kexue_repro.gan.cost).

Losses: WGAN-GP uses the Wasserstein loss plus lambda * gradient penalty; every other method uses the
non-saturating (BCE-with-logits) loss on its D^, as the official GN-GAN CNN configuration does.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from kexue_repro.common.atomic import write_json
from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.cli import add_checkpoint_argument, add_compute_arguments, step_parser
from kexue_repro.common.resume import Resumable, run_each
from kexue_repro.common.runtime import check_finite_loss, choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build
from kexue_repro.gan import data
from kexue_repro.gan.model import METHOD_NAMES, METHODS, Critic, Generator, gradient_penalty, wrapped_critic
from kexue_repro.gan.plan import DATASETS

# Settings that leave the trained weights alone: a checkpoint saved under other values of these resumes.
NOT_WEIGHTS = ("checkpoint_every",)


@dataclass(frozen=True)
class TrainConfig:
    """The ``gan.train`` settings of one dataset (``kexue_repro.gan.plan.dataset_settings``) and the run."""

    dataset: str
    method: str
    seed: int
    steps: int  # generator steps, each after n_dis critic steps
    batch_size: int
    lr: float
    betas: tuple[float, float]
    n_dis: int
    gp_lambda: float  # WGAN-GP's penalty weight
    gran_eps: float  # GraN's eps
    latent: int
    gen_hidden: int
    gen_depth: int  # hidden layers of the generator
    critic_hidden: int
    critic_depth: int  # hidden layers of the critic
    checkpoint_every: int
    digits_sha256: str  # of the digits file for mnist; empty for the ring
    device_type: str
    modes: int | None = None  # the ring's Gaussians (ring only, as radius and std)
    radius: float | None = None
    std: float | None = None  # of each Gaussian

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {DATASETS}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {METHODS}")
        sizes = (self.steps, self.batch_size, self.n_dis, self.latent, self.gen_hidden, self.critic_hidden)
        if min(sizes) < 1 or min(self.gen_depth, self.critic_depth, self.checkpoint_every) < 1:
            raise ValueError(
                "steps, batch size, n_dis, latent, hidden sizes, depths, checkpoint_every must be >= 1"
            )
        ring = [self.modes, self.radius, self.std]
        if ring.count(None) != (0 if self.dataset == "ring" else len(ring)):
            raise ValueError("gan.train: modes, radius and std are the ring's, and all needed there")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"betas": list(self.betas)}

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
            raise ValueError("digit images are needed for, and only for, the mnist dataset")
        self.config = config
        self.images = train_images

    def draw(self, n: int, rng: torch.Generator) -> torch.Tensor:
        c = self.config
        if self.images is None:
            return data.sample_ring(n, c.modes, c.radius, c.std, rng)
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


def train(
    config: TrainConfig,
    train_images: torch.Tensor | None,
    device: torch.device,
    checkpoint_path: str | os.PathLike,
) -> tuple[Generator, Critic, dict[str, Any]]:
    """Train for ``config.steps`` steps, resuming from ``checkpoint_path`` when it holds this run.

    Every ``checkpoint_every`` steps the state (weights, Adam states, random generator, step) is saved
    atomically, so a killed run continues to the same weights as an unbroken one. Returns the networks and
    the final critic and generator losses.
    """
    rng = seed_everything(config.seed)
    gen, critic = (net.to(device) for net in build_models(config))
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=config.lr, betas=config.betas)
    batches = RealBatches(config, train_images)
    checkpoint = Resumable(
        checkpoint_path, config.as_dict(), ignore=NOT_WEIGHTS,
        generator=gen, critic=critic, opt_g=opt_g, opt_d=opt_d, rng=rng,
    )  # fmt: skip
    done = checkpoint.resume(step=0)["step"]
    losses = (float("nan"),) * 2
    for index in range(done, config.steps):
        losses = training_step(config, gen, critic, opt_g, opt_d, batches, rng, device)
        for name, value in zip(("critic", "generator"), losses):
            check_finite_loss(value, index + 1, f"gan train {config.method} seed={config.seed}, {name}")
        if (index + 1) % config.checkpoint_every == 0 and index + 1 < config.steps:
            checkpoint.save(step=index + 1)
    return gen, critic, {"final_loss_d": losses[0], "final_loss_g": losses[1]}


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


def _main(args: argparse.Namespace) -> None:
    if args.dataset == "mnist" and args.digits is None:
        raise ValueError("--digits is required for --dataset mnist")
    set_threads(args.threads)
    device = choose_device(args.device)
    digits, digits_sha256 = data.load_digits(args.digits) if args.dataset == "mnist" else ({}, "")
    config = build(
        TrainConfig, args.settings, "gan.train", dataset=args.dataset, method=args.method, seed=args.seed,
        digits_sha256=digits_sha256, device_type=device.type,
    )  # fmt: skip
    gen, critic, losses = train(config, digits.get("train_images"), device, args.checkpoint)
    record = (
        {"dataset": config.dataset, "method": config.method, "seed": config.seed, "steps": config.steps}
        | {"threads": args.threads, "model": str(args.out)}
        | losses
    )
    save_model(args.out, gen.cpu(), critic.cpu(), config)
    write_json(args.metrics_out, record)
    print(
        f"{args.out}: final losses critic {losses['final_loss_d']:.4g}, generator {losses['final_loss_g']:.4g}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.train", __doc__, "gan.train")
    parser.add_argument("--dataset", choices=DATASETS, required=True, help="the data the GAN learns")
    parser.add_argument(
        "--method",
        choices=METHODS,
        required=True,
        help="how the critic is constrained: " + "; ".join(f"{k}: {v}" for k, v in METHOD_NAMES.items()),
    )
    parser.add_argument("--seed", type=int, nargs="+", required=True, help="one run per seed, in turn")
    add_compute_arguments(parser)
    add_checkpoint_argument(parser, "seed")
    parser.add_argument(
        "--out", nargs="+", required=True, help="per seed: the trained generator and critic (.pt)"
    )
    parser.add_argument(
        "--metrics-out", nargs="+", required=True, help="per seed: the run record, its final losses (.json)"
    )
    parser.add_argument("--digits", help="the digits .npz, for mnist (its training split)")
    per_run = ("seed", "checkpoint", "out", "metrics_out")
    return run_each(_main, parser.parse_args(argv), per_run, "checkpoint")


if __name__ == "__main__":
    sys.exit(main())
