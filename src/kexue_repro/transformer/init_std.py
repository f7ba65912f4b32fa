"""The actual std of every initialiser, measured on freshly initialised width x width matrices.

TensorFlow's truncated normal (BERT's) of std 0.02 has actual std 0.0176; Xavier's on 768 x 768 is 0.0361.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Sequence

import torch

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.transformer import INITS
from kexue_repro.transformer.model import init_matrix


@dataclass(frozen=True)
class InitStdConfig:
    """The ``transformer.init_std`` settings."""

    width: int
    matrices: int  # matrices pooled per initialiser
    seed: int


def init_std_sample(init: str, rows: int, cols: int, matrices: int, seed: int) -> dict[str, float]:
    """The actual std of ``matrices`` freshly initialised rows x cols matrices (all entries pooled)."""
    torch.manual_seed(seed)
    weight = torch.empty(matrices, rows, cols)
    for matrix in weight:
        init_matrix(matrix, init)
    return {
        "init": init,
        "rows": rows,
        "cols": cols,
        "samples": weight.numel(),
        "std": float(weight.double().std()),
    }


def _main(args: argparse.Namespace) -> None:
    config = build(InitStdConfig, args.settings, "transformer.init_std")
    rows = [init_std_sample(init, config.width, config.width, config.matrices, config.seed) for init in INITS]
    write_json(args.out, {"rows": rows})
    print("; ".join(f"{r['init']}: std {r['std']:.7f} over {r['samples']} draws" for r in rows))


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.transformer.init_std", __doc__, "transformer.init_std")
    parser.add_argument("--out", required=True, help="the result to write (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
