"""Test-set evaluation of a trained model: L_k per image for several k, and the active units."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_compute_arguments, step_parser
from kexue_repro.common.resume import run_each
from kexue_repro.common.runtime import choose_device, set_threads
from kexue_repro.common.settings import build
from kexue_repro.vae.data import Dataset, load_dataset
from kexue_repro.vae.model import VAE, importance_bound
from kexue_repro.vae.train import load_model


@dataclass(frozen=True)
class EvaluateConfig:
    """The ``vae.evaluate`` settings."""

    k: tuple[int, ...]  # L_k for each of these k
    n_eval: int  # on the first n_eval test images
    seed: int
    chunk: int  # at most about this many (sample, image) pairs at once
    active_threshold: float  # a unit is active when Var_x(E_q[z_u]) > this


def stream_generator(seed: int, k: int, device: torch.device) -> torch.Generator:
    """A sample stream per (seed, k): L_k for one k does not depend on which other k are evaluated."""
    derived = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
    return torch.Generator(device).manual_seed(derived)


@torch.inference_mode()
def bound_per_image(model: VAE, images: Tensor, k: int, chunk: int, generator: torch.Generator) -> Tensor:
    """L_k of each image, with at most about ``chunk`` (sample, image) pairs in memory at once."""
    images_per_batch = max(1, chunk // k)
    values = []
    for first in range(0, len(images), images_per_batch):
        x = images[first : first + images_per_batch]
        mean, log_std = model.encode(x)
        values.append(
            importance_bound(
                lambda n: model.log_weights_from_posterior(x, mean, log_std, n, generator), k, chunk
            )
        )
    return torch.cat(values)


@torch.inference_mode()
def unit_variances(model: VAE, images: Tensor, batch_size: int) -> Tensor:
    """Var_x(E_q[z_u | x]) per latent unit u: Burda et al.'s activity statistic."""
    means = torch.cat(
        [model.encode(images[i : i + batch_size])[0] for i in range(0, len(images), batch_size)]
    )
    return means.double().var(dim=0)


def pixel_marginal_log_likelihood(images: Tensor, pixel_means: Tensor) -> Tensor:
    """log p(x) of each image under independent pixels with the training means: the baseline to beat."""
    p = pixel_means.double()
    x = images.double()
    return (x * p.log() + (1 - x) * (-p).log1p()).sum(-1)


def _summary(values: Tensor) -> dict[str, float]:
    v = values.double()
    return {"mean": v.mean().item(), "std": v.std().item(), "sem": v.std().item() / math.sqrt(len(v))}


def evaluate(
    model: VAE, train_config: dict[str, Any], data: Dataset, config: EvaluateConfig, device: torch.device
) -> dict[str, Any]:
    """The evaluation record of one model: L_k (per image and summarised) and the active units."""
    k_eval, n_eval, chunk, seed = config.k, config.n_eval, config.chunk, config.seed
    active_threshold = config.active_threshold
    n_test = len(data.test_binary)
    if not 0 < n_eval <= n_test:
        raise ValueError(f"vae.evaluate: n_eval must be between 1 and the {n_test} test images, got {n_eval}")
    if chunk < 1 or any(k < 1 for k in k_eval):
        raise ValueError(f"vae.evaluate: chunk and every k must be >= 1, got {chunk} and {list(k_eval)}")
    test = data.test_binary.to(device)
    images = test[:n_eval]
    per_image = {
        str(k): bound_per_image(model, images, k, chunk, stream_generator(seed, k, device)).cpu()
        for k in k_eval
    }
    # The activity statistic is cheap (encoder only), so it uses the whole test split.
    variances = unit_variances(model, test, chunk).cpu()
    baseline = pixel_marginal_log_likelihood(images.cpu(), data.train_pixel_means)
    return {
        "k_train": train_config["k"],
        "train_seed": train_config["seed"],
        "schedule": train_config["schedule"],
        "epochs": sum(n for n, _ in train_config["stages"]),
        "batch_size": train_config["batch_size"],
        "eval_seed": seed,
        "n_eval": n_eval,
        "k_eval": [int(k) for k in k_eval],
        "bounds": {k: _summary(values) for k, values in per_image.items()},
        "per_image": {k: [float(v) for v in values.double()] for k, values in per_image.items()},
        "pixel_marginal": _summary(baseline),
        "active_threshold": active_threshold,
        "active_units": int((variances > active_threshold).sum()),
        "latent": len(variances),
        "unit_variances": [float(v) for v in variances],
    }


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    device = choose_device(args.device)
    model, train_config = load_model(args.model, device)
    config = build(EvaluateConfig, args.settings, "vae.evaluate")
    record = evaluate(model, train_config, load_dataset(args.data), config, device)
    write_json(args.out, record)
    summary = ", ".join(f"L_{k} {b['mean']:.3f}" for k, b in record["bounds"].items())
    print(f"{args.model}: {summary}; active units {record['active_units']}/{record['latent']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.vae.evaluate", __doc__, "vae.evaluate")
    parser.add_argument("--data", required=True, help="the processed .npz")
    parser.add_argument("--model", nargs="+", required=True, help="trained models (.pt), evaluated in turn")
    add_compute_arguments(parser)
    parser.add_argument("--out", nargs="+", required=True, help="per model: the evaluation record (.json)")
    return run_each(_main, parser.parse_args(argv), ("model", "out"))


if __name__ == "__main__":
    sys.exit(main())
