"""Probes of trained critics of one dataset (study 8757): ||grad D^|| and |D^| at real, generated and
interpolated points, then the discontinuity of D^ at pairs of nearby points (``gan.probe`` settings)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.runtime import set_threads
from kexue_repro.common.settings import build
from kexue_repro.gan import data, evaluate
from kexue_repro.gan.train import load_model


@dataclass(frozen=True)
class ProbeConfig:
    """The ``gan.probe`` settings of one dataset (``kexue_repro.gan.plan.dataset_settings``)."""

    scales: tuple[float, ...]  # s in the pairs y = x + s u
    seed: int  # the same for every model: they are probed at the same real points
    points: int  # real, generated and interpolated points each
    pairs: int  # random pairs per scale

    def __post_init__(self) -> None:
        if min(self.points, self.pairs) < 1 or min(self.scales) <= 0:
            raise ValueError("gan.probe: points and pairs must be >= 1 and every scale > 0")


def probe_model(path: str | os.PathLike, config: ProbeConfig, digits: str | None) -> dict[str, Any]:
    """D^ of one model probed on ``points`` real, generated and interpolated points, then the discontinuity
    at ``pairs`` points drawn from them."""
    gen, critic, run_config = load_model(path)
    rng = torch.Generator().manual_seed(config.seed)
    if run_config.dataset == "ring":
        c = run_config
        real = data.sample_ring(config.points, c.modes, c.radius, c.std, rng)
    else:
        if digits is None:
            raise ValueError(f"{path} is a digit model: --digits is required")
        arrays, sha256 = data.load_digits(digits)
        if sha256 != run_config.digits_sha256:
            raise ValueError(f"{path} was trained on another digits file than {digits}")
        images = arrays["train_images"]
        real = images[torch.randint(len(images), (config.points,), generator=rng)]
    with torch.no_grad():
        fake = gen.sample(config.points, rng)
    mix = torch.rand(config.points, 1, generator=rng)
    points = {"real": real, "fake": fake, "interpolated": mix * real + (1 - mix) * fake}
    points = {name: x.double() for name, x in points.items()}  # probes in float64
    critic = critic.double()
    method, eps = run_config.method, run_config.gran_eps
    probes = evaluate.probe_points(critic, method, eps, points)
    pool = torch.cat(list(points.values()))
    anchors = pool[torch.randint(len(pool), (config.pairs,), generator=rng)]
    jumps = evaluate.discontinuity(critic, method, eps, anchors, config.scales, rng)
    print(f"{path}: {method} worst ratios {[round(j['worst_ratio'], 3) for j in jumps]}")
    return {"model": str(path), "dataset": run_config.dataset, "method": method, "seed": run_config.seed} | {
        "points": probes,
        "discontinuity": jumps,
    }


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    config = build(ProbeConfig, args.settings, "gan.probe")
    rows = [probe_model(path, config, args.digits) for path in args.models]
    write_json(args.out, {"probe_seed": config.seed, "rows": rows})


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.probe", __doc__, "gan.probe")
    parser.add_argument("--models", nargs="+", required=True, help="trained models (.pt) of one dataset")
    parser.add_argument("--digits", help="the digits .npz, for digit models")
    add_compute_arguments(parser, device=False)
    parser.add_argument("--out", required=True, help="the result to write (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
