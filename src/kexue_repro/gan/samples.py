"""The quality of trained GANs' samples, scored after training: one job per dataset (``gan.samples``).

Ring: modes covered, high-quality share, energy distance; digits: Frechet distance to the held-out digits in
the features of the digit classifier, and beside it that of two trivial generators, the training gate's
baselines (``frechet_baselines``: the per-pixel mean image of the training digits, repeated; uniform noise
images). The samples come from their own seeded generator (seed + EVAL_STREAM), apart from the training
stream, so scoring more or fewer of them never retrains.

    python -m kexue_repro.gan.samples --settings FILE --models PT ... [--classifier PT --digits NPZ] --out JSON
"""

from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.runtime import set_threads
from kexue_repro.common.settings import build
from kexue_repro.gan import data, evaluate
from kexue_repro.gan.classifier import load_classifier
from kexue_repro.gan.model import Generator
from kexue_repro.gan.train import TrainConfig, load_model

EVAL_STREAM = 1_000_003  # the samples scored: seed + this, apart from the training stream
BASELINE_SEED = 0  # the noise images of the digits' trivial baseline


@dataclass(frozen=True)
class SamplesConfig:
    """The ``gan.samples`` settings of one dataset (``kexue_repro.gan.plan.dataset_settings``)."""

    n_eval: int  # generated samples for the quality metrics
    n_show: int  # samples kept in the record for the plots
    mode_share: float | None = None  # ring: a mode counts as covered with >= this share of the samples

    def __post_init__(self) -> None:
        if self.n_eval < 2 or self.n_show < 0:
            raise ValueError("gan.samples: n_eval must be >= 2 and n_show >= 0")
        if self.mode_share is not None and not 0 < self.mode_share <= 1:
            raise ValueError("gan.samples: mode_share must lie in (0, 1]")


def sample_quality(
    gen: Generator,
    run: TrainConfig,
    config: SamplesConfig,
    classifier: str | None,
    test_images: torch.Tensor | None,
) -> tuple[dict[str, Any], torch.Tensor]:
    """Metrics of ``n_eval`` samples of ``gen``, and the samples."""
    rng = torch.Generator().manual_seed(run.seed + EVAL_STREAM)
    with torch.no_grad():
        fake = gen.cpu().sample(config.n_eval, rng)
    if run.dataset == "ring":
        if config.mode_share is None:
            raise ValueError("gan.samples: the ring needs mode_share")
        centers = data.ring_centers(run.modes, run.radius)
        real = data.sample_ring(config.n_eval, run.modes, run.radius, run.std, rng)
        metrics = evaluate.ring_metrics(fake, real, centers, run.std, config.mode_share)
        return metrics | {"ring_centers": centers.tolist(), "mode_share": config.mode_share}, fake
    fd = evaluate.frechet_distance(load_classifier(classifier), fake, test_images)
    return {"frechet_distance": fd, "n_real": len(test_images)}, fake


def frechet_baselines(classifier: str, digits: dict[str, torch.Tensor], n: int) -> dict[str, float]:
    """The Frechet distance to the held-out digits of ``n`` images of two generators that learned nothing of
    a digit's shape: the training digits' per-pixel mean image repeated, and uniform noise in [-1, 1]."""
    rng = torch.Generator().manual_seed(BASELINE_SEED)
    trivial = {
        "mean_image": digits["train_images"].mean(dim=0, keepdim=True).expand(n, -1),
        "uniform_noise": torch.rand(n, digits["train_images"].shape[1], generator=rng) * 2 - 1,
    }
    features = load_classifier(classifier)
    return {
        name: evaluate.frechet_distance(features, fake, digits["test_images"])
        for name, fake in trivial.items()
    }


def score(
    model: str, config: SamplesConfig, classifier: str | None, digits: dict,
    baselines: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The quality record of one trained model, with the samples shown in the plots (and, for digits, the
    trivial generators' distances: ``baselines()``, by default computed here)."""
    gen, _, run = load_model(model)
    if run.dataset == "mnist" and (classifier is None or not digits):
        raise ValueError(f"{model}: a digits model needs --classifier and --digits")
    metrics, fake = sample_quality(gen, run, config, classifier, digits.get("test_images"))
    if run.dataset == "mnist":
        metrics["frechet_baselines"] = (
            baselines() if baselines else frechet_baselines(classifier, digits, config.n_eval)
        )
    shown = [[round(v, 4) for v in row] for row in fake[: config.n_show].tolist()]
    print(f"{model}: { ({k: v for k, v in metrics.items() if isinstance(v, (int, float))}) }")
    return {"dataset": run.dataset, "method": run.method, "seed": run.seed} | metrics | {"samples": shown}


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    config = build(SamplesConfig, args.settings, "gan.samples")
    digits = data.load_digits(args.digits)[0] if args.digits else {}
    baselines = functools.cache(
        lambda: frechet_baselines(args.classifier, digits, config.n_eval)
    )  # once a job
    write_json(args.out, [score(model, config, args.classifier, digits, baselines) for model in args.models])


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.samples", __doc__, "gan.samples")
    parser.add_argument("--models", nargs="+", required=True, help="trained generators and critics (.pt)")
    parser.add_argument("--classifier", help="the digit classifier (.pt), for a digits model")
    parser.add_argument("--digits", help="the digits .npz, for a digits model (its test split: the reals)")
    add_compute_arguments(parser, device=False)
    parser.add_argument(
        "--out", required=True, help="one quality record per model, with its shown samples (.json)"
    )
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
