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

import argparse
import copy
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from kexue_repro.common.atomic import write_json
from kexue_repro.common.checkpoint import save_checkpoint
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.resume import Resumable, discard_checkpoint
from kexue_repro.common.runtime import choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build
from kexue_repro.gan.cifar_data import load_cifar10
from kexue_repro.gan.cnn import CNNDiscriminator, CNNGenerator
from kexue_repro.gan.image_metrics import EXTRACTORS, ImageMetrics, make_extractor, to_uint8
from kexue_repro.gan.model import gradient_normalized

EVAL_STREAM = 1_000_003  # evaluation noise: seed + this + step, apart from the training stream


@dataclass(frozen=True)
class CifarConfig:
    """The ``gan.cifar_train`` settings and the run: everything that determines the trained weights and their
    curve. A checkpoint resumes only under an equal config (whatever its checkpoint_every)."""

    seed: int
    steps: int  # generator steps (the step budget)
    batch_size_d: int  # real (and as many generated) images per D step
    batch_size_g: int  # samples per G step
    lr_d: float
    lr_g: float
    betas: tuple[float, float]
    n_dis: int
    latent: int
    ema_decay: float
    lr_decay_start: int  # linear decay to 0 from this step
    eval_every: int  # FID/IS every this many steps, and at the last
    n_eval: int  # generated images per FID/IS
    n_real: int  # training images for the FID statistics (the first ones, unflipped)
    is_splits: int
    features: str  # the FID/IS feature network: one of image_metrics.EXTRACTORS
    inception_weights: str  # a local Inception weights file; "" = download
    checkpoint_every: int
    data_sha256: str
    device_type: str

    def __post_init__(self) -> None:
        if min(self.steps, self.batch_size_d, self.batch_size_g, self.n_dis, self.latent) < 1:
            raise ValueError("steps, batch sizes, n_dis and latent must be >= 1")
        if not 0 <= self.ema_decay < 1 or self.lr_decay_start < 0:
            raise ValueError("gan.cifar_train: ema_decay must lie in [0, 1) and lr_decay_start be >= 0")
        if min(self.eval_every, self.n_eval, self.n_real, self.is_splits, self.checkpoint_every) < 1:
            raise ValueError(
                "gan.cifar_train: eval_every, n_eval, n_real, is_splits, checkpoint_every must be >= 1"
            )
        if self.features not in EXTRACTORS:
            raise ValueError(f"unknown feature extractor {self.features!r}; expected one of {EXTRACTORS}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"betas": list(self.betas)}


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

    def state_dict(self) -> dict[str, Any]:
        return {"order": self.order, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
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

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).state_dict() for name in self.__dataclass_fields__}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).load_state_dict(state[name])


def build_nets(config: CifarConfig, device: torch.device) -> Nets:
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
    config: CifarConfig, nets: Nets, metrics: ImageMetrics, step: int, device: torch.device
) -> dict[str, Any]:
    """FID and IS of G and of its EMA at this step (same noise for both)."""
    row: dict[str, Any] = {"step": step}
    seed = config.seed + EVAL_STREAM + step
    batch = 2 * config.batch_size_g
    for name, gen in (("g", nets.gen), ("ema", nets.ema.module)):
        batches = generated_batches(gen, config.n_eval, batch, config.latent, seed, device)
        scores = metrics.score(batches, seed)
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
    checkpoint_path: str | os.PathLike,
) -> tuple[Nets, list[dict[str, Any]], dict[str, Any]]:
    """Train for ``config.steps`` steps with the curve measured at ``eval_steps``; resumable from
    ``checkpoint_path`` (weights, Adam and scheduler states, EMA, data order, random state, curve so far)."""
    rng = seed_everything(config.seed)
    nets = build_nets(config, device)
    real = RealImages(images, rng)
    checkpoint = Resumable(
        checkpoint_path, config.as_dict(), ignore=("checkpoint_every",), nets=nets, data=real, rng=rng
    )
    progress = checkpoint.resume(step=0, curve=[])
    done, curve = progress["step"], progress["curve"]
    measured, times, losses = set(eval_steps(config.steps, config.eval_every)), [], (float("nan"),) * 2
    for step in range(done + 1, config.steps + 1):
        started = time.perf_counter()
        losses = training_step(config, nets, real, rng, device)
        times.append(time.perf_counter() - started)
        if step in measured:
            curve.append(evaluate_at(config, nets, metrics, step, device) | {"loss_d": losses[0]})
            print(f"step {step}: {curve[-1]}", file=sys.stderr)
        if step % config.checkpoint_every == 0 and step < config.steps:
            checkpoint.save(step=step, curve=curve)
    if times:  # to the log only: wall time stays out of the (hashed) run record
        print(
            f"{np.mean(times):.4g} s per step over the {len(times)} steps this process ran", file=sys.stderr
        )
    return nets, curve, {"final_loss_d": losses[0], "final_loss_g": losses[1]}


def save_model(path: str | os.PathLike, nets: Nets, config: CifarConfig) -> None:
    save_checkpoint(
        path,
        {"config": config.as_dict()}
        | {name: getattr(nets, name).state_dict() for name in ("gen", "critic")}
        | {"ema": nets.ema.module.state_dict()},
    )


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    device = choose_device(args.device)
    arrays, sha256 = load_cifar10(args.data)
    config = build(
        CifarConfig,
        args.settings,
        "gan.cifar_train",
        seed=args.seed,
        data_sha256=sha256,
        device_type=device.type,
    )
    # The FID's real statistics: the first n_real training images (all 50,000 at full scale), unflipped.
    extractor = make_extractor(config.features, config.inception_weights, config.seed)
    real = arrays["train_images"][: config.n_real]
    metrics = ImageMetrics(extractor, uint8_batches(real, 2 * config.batch_size_g), config.is_splits, device)
    nets, curve, losses = train(config, arrays["train_images"], metrics, device, args.checkpoint)
    final = curve[-1]
    record = (
        {"dataset": "cifar10", "method": "gn", "seed": config.seed, "steps": config.steps}
        | {
            "features": config.features,
            "n_eval": config.n_eval,
            "threads": args.threads,
            "model": str(args.out),
        }
        | {"config": config.as_dict()}
        | losses
        | {key: final[key] for key in final if key != "step"}
        | {"curve": curve}
    )
    save_model(args.out, nets, config)
    write_json(args.metrics_out, record)
    discard_checkpoint(args.checkpoint)
    print(f"{args.out}: FID {final['fid_g']:.4g} (EMA {final['fid_ema']:.4g}), IS {final['is_mean_g']:.4g}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.cifar_train", __doc__, "gan.cifar_train")
    parser.add_argument("--data", required=True, help="the cifar_data step's .npz")
    parser.add_argument("--seed", type=int, required=True, help="the run's seed")
    add_compute_arguments(parser)
    parser.add_argument("--checkpoint", required=True, help="resumed from if present; removed at the end")
    parser.add_argument("--out", required=True, help="G, D and EMA-G weights (.pt)")
    parser.add_argument(
        "--metrics-out", required=True, help="final FID/IS, the curve and the final losses (.json)"
    )
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
