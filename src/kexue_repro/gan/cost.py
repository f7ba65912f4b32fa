"""The cost of one training step of each method (study 8757, claims d): repeated, interleaved timings in one
process, and the work one step does, counted (``gan.cost`` settings).

Per dataset, one GAN per method is built from that dataset's ``gan.train`` settings and trained untimed for
``warmup_steps`` steps; then, in each of ``rounds`` rounds, every method runs ``steps_per_timing`` timed
training steps, the order of the methods rotated by one from round to round, so that a slow spell of the
machine falls on every method alike and no method always runs first. A round is the unit of the cost claims:
GN's time per step over a baseline's in the same round is one paired ratio. The claims step reports the
median and spread of each method's timings over the rounds.

Counted work: the floating-point operations of one training step (torch.utils.flop_counter's per-operator
formulas, which count matrix products and convolutions: spectral norm's power iteration, matrix-vector, is left
out; through forward, backward and the double backward of the gradient-based methods) and the bytes autograd
saves for backward in it, numbers that are the same on every machine, unlike the timings (which are the only
numbers of the study that differ from one machine, or one run, to the next).

    python -m kexue_repro.gan.cost --settings FILE --digits NPZ --threads 1 --out JSON
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.runtime import seed_everything, set_threads
from kexue_repro.common.settings import build
from kexue_repro.gan import data
from kexue_repro.gan.model import METHODS
from kexue_repro.gan.plan import DATASETS
from kexue_repro.gan.train import RealBatches, TrainConfig, build_models, training_step


@dataclass(frozen=True)
class CostConfig:
    """The ``gan.cost`` settings, with each dataset's ``gan.train`` settings (kexue_repro.gan.plan.cost_settings)."""

    methods: tuple[str, ...]  # timed, interleaved
    rounds: int  # repeated timings of every method: the unit of the cost claims
    steps_per_timing: int  # consecutive training steps in one timing
    warmup_steps: int  # untimed steps of every method before the first round
    seed: int  # of every network and batch
    train: dict[str, dict[str, Any]]  # per dataset, its gan.train settings

    def __post_init__(self) -> None:
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown or not self.methods:
            raise ValueError(
                f"gan.cost: unknown method {unknown[0] if unknown else None!r}; expected {METHODS}"
            )
        if min(self.rounds, self.steps_per_timing) < 1 or self.warmup_steps < 0:
            raise ValueError("gan.cost: rounds and steps_per_timing must be >= 1, warmup_steps >= 0")
        if set(self.train) != set(DATASETS):
            raise ValueError(f"gan.cost: train settings are needed for exactly {DATASETS}")


class FlopCount(TorchDispatchMode):
    """Floating-point operations of every operator run inside it, by torch.utils.flop_counter's formulas
    (FlopCounterMode itself tracks modules with hooks that autograd.grad with create_graph refuses)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's protocol
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += int(count(*args, **kwargs, out_val=out))
        return out


class SavedBytes(torch.autograd.graph.saved_tensors_hooks):
    """Bytes of every tensor autograd saves for backward inside it, each time it is saved (views by their own
    size, no sharing of storage assumed): the activation memory a step asks for, the same on every machine."""

    def __init__(self) -> None:
        self.total = 0

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            self.total += tensor.nelement() * tensor.element_size()
            return tensor

        super().__init__(pack, lambda tensor: tensor)

    def __enter__(self) -> SavedBytes:
        super().__enter__()
        return self


def stepper(config: TrainConfig, train_images: torch.Tensor | None) -> Callable[[], tuple[float, float]]:
    """One training step of a freshly built GAN of ``config`` per call (on the CPU)."""
    rng = seed_everything(config.seed)
    gen, critic = build_models(config)
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=config.lr, betas=config.betas)
    batches = RealBatches(config, train_images)
    cpu = torch.device("cpu")
    return lambda: training_step(config, gen, critic, opt_g, opt_d, batches, rng, cpu)


def run_config(config: CostConfig, dataset: str, method: str, digits_sha256: str) -> TrainConfig:
    return build(
        TrainConfig, config.train[dataset], f"gan.cost train.{dataset}", dataset=dataset, method=method,
        seed=config.seed, digits_sha256=digits_sha256 if dataset == "mnist" else "", device_type="cpu",
    )  # fmt: skip


def rotation(methods: Sequence[str], round_index: int) -> list[str]:
    """The order of the methods in one round: rotated by one from round to round."""
    shift = round_index % len(methods)
    return [*methods[shift:], *methods[:shift]]


def measure(
    config: CostConfig,
    digits: dict[str, torch.Tensor],
    digits_sha256: str,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[dict[str, Any]]]:
    """Per dataset: every round's seconds per step of every method, and the FLOPs and saved bytes of one step
    of each."""
    timings, flops = [], []
    for dataset in DATASETS:
        images = digits.get("train_images") if dataset == "mnist" else None
        steps = {m: stepper(run_config(config, dataset, m, digits_sha256), images) for m in config.methods}
        for method, step in steps.items():
            for _ in range(config.warmup_steps):
                step()
            with FlopCount() as counted, SavedBytes() as saved:
                step()
            flops.append(
                {"dataset": dataset, "method": method, "flops_per_step": counted.total}
                | {"saved_for_backward_mib": saved.total / 2**20}
            )
        for round_index in range(config.rounds):
            for position, method in enumerate(rotation(config.methods, round_index)):
                started = clock()
                for _ in range(config.steps_per_timing):
                    steps[method]()
                seconds = (clock() - started) / config.steps_per_timing
                timings.append(
                    {"dataset": dataset, "round": round_index, "position": position, "method": method}
                    | {"seconds_per_step": seconds}
                )
        print(f"{dataset}: {config.rounds} rounds of {len(config.methods)} methods timed")
    return {"timings": timings, "flops": flops}


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    config = build(CostConfig, args.settings, "gan.cost")
    digits, digits_sha256 = data.load_digits(args.digits)
    measured = measure(config, digits, digits_sha256)
    write_json(
        args.out,
        {"threads": args.threads, "torch": torch.__version__, "rounds": config.rounds}
        | {"steps_per_timing": config.steps_per_timing}
        | measured,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.cost", __doc__, "gan.cost")
    parser.add_argument("--digits", required=True, help="the digits .npz (the mnist steps' real batches)")
    add_compute_arguments(parser, device=False)
    parser.add_argument("--out", required=True, help="timings per round and FLOPs per step (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
