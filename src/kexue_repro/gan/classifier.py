"""The digit classifier whose penultimate-layer features define the digits' Frechet distance (study 8757)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass
from typing import Sequence

import torch

from kexue_repro.common.atomic import write_json
from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.runtime import seed_everything, set_threads
from kexue_repro.common.settings import build
from kexue_repro.gan import data
from kexue_repro.gan.model import DigitClassifier


@dataclass(frozen=True)
class ClassifierConfig:
    """The ``gan.classifier`` settings."""

    hidden: int
    feature_dim: int  # width of the penultimate (feature) layer
    steps: int
    batch_size: int
    lr: float
    seed: int


def train_classifier(
    config: ClassifierConfig, digits_path: str | os.PathLike
) -> tuple[DigitClassifier, float, int]:
    """The trained classifier, its accuracy on the held-out digits and their number."""
    rng = seed_everything(config.seed)
    digits, _ = data.load_digits(digits_path)
    train_x, train_y = digits["train_images"], digits["train_labels"]
    test_x, test_y = digits["test_images"], digits["test_labels"]
    model = DigitClassifier(config.hidden, config.feature_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    images = data.to_unit_images(train_x)
    for _ in range(config.steps):
        batch = torch.randint(len(images), (config.batch_size,), generator=rng)
        loss = torch.nn.functional.cross_entropy(model(images[batch]), train_y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = float((model.eval()(data.to_unit_images(test_x)).argmax(1) == test_y).double().mean())
    return model, accuracy, len(test_y)


def load_classifier(path: str | os.PathLike) -> DigitClassifier:
    state = load_checkpoint(path)
    if state is None:
        raise OSError(f"{path}: no such classifier file")
    model = DigitClassifier(state["config"]["hidden"], state["config"]["feature_dim"])
    model.load_state_dict(state["state"])
    return model.eval()


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    config = build(ClassifierConfig, args.settings, "gan.classifier")
    model, accuracy, n_test = train_classifier(config, args.digits)
    save_checkpoint(args.out, {"config": asdict(config), "state": model.state_dict()})
    write_json(args.metrics_out, {"test_accuracy": accuracy, "n_test": n_test} | asdict(config))
    print(f"{args.out}: digit classifier test accuracy {accuracy:.4f} on {n_test} held-out digits")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.classifier", __doc__, "gan.classifier")
    parser.add_argument("--digits", required=True, help="the digits step's .npz")
    add_compute_arguments(parser, device=False)
    parser.add_argument("--out", required=True, help="the classifier (.pt)")
    parser.add_argument("--metrics-out", required=True, help="its test accuracy (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
