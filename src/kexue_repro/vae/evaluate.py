"""Test-set evaluation of a trained model: L_k per image for several k, and the active units."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from kexue_repro.vae.data import Dataset
from kexue_repro.vae.model import VAE, importance_bound


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
    model: VAE,
    train_config: dict[str, Any],
    data: Dataset,
    k_eval: Sequence[int],
    n_eval: int,
    chunk: int,
    seed: int,
    active_threshold: float,
    device: torch.device,
) -> dict[str, Any]:
    """The evaluation record of one model: L_k (per image and summarised) and the active units."""
    n_test = len(data.test_binary)
    if not 0 < n_eval <= n_test:
        raise ValueError(f"--n-eval must be between 1 and the {n_test} test images, got {n_eval}")
    if chunk < 1 or any(k < 1 for k in k_eval):
        raise ValueError(f"--chunk and every --k-eval must be >= 1, got {chunk} and {list(k_eval)}")
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
