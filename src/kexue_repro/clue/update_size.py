"""Su's Adam argument (8764), measured in two parts, per seed.

**The step size (a toy over Adam's horizon).** Su: with Adam, gradient dropout at keep share p acts like the
learning rate times sqrt(p): the kept gradients are divided by p, so the first moment m keeps its expectation
E[g] while the second moment v grows to E[g^2] / p, and the update m / sqrt(v) shrinks by sqrt(p). The
argument is about expectations: v must average over its horizon 1 / (1 - beta2) steps (1,000 at beta2 0.999)
and m's masking noise must average out. So the toy runs ``toy.horizons`` horizons of AdamW steps on a small
tensor whose gradient is a fixed mean plus fresh noise each step (g_t = mu + noise_sd * N(0, 1), mu ~
N(0, mean_sd^2) per entry; the gradient does not depend on the parameters, so a run is one gradient stream),
vanilla and with ChildTuning-F on the same stream, and measures the drift, the displacement after the first
``toy.burn_in_horizons`` horizons projected on mu: a learning rate scales the drift, so Su's claim is
drift(F) / drift(vanilla) = sqrt(p). (The per-step update norm is not that quantity: m's masking noise
adds to it, by a factor that depends on beta1 and the gradient's signal share.) Each of ``toy.repeats``
rows of the tensor is an independent stream (its own mu, noise and masks): one ratio per row.

**Which entries move (the tiny model, ``steps`` steps).** From the same initial model and the same batches,
AdamW vanilla, with ChildTuning-F and with update dropout at keep share p, on the encoder-layer parameters
(every batch's gradient reaches them; the masks act on them only; dropout off, so the runs differ by their
masks alone). Reported per step: each run's update norm and the share of entries that moved; under F, the
entries whose gradient was dropped that step and how many of them moved all the same (the momentum); under
update dropout, how many entries moved outside the step's update mask (none, by construction).

    python -m kexue_repro.clue.update_size --settings JSON --seed S [S ...] --model PATH_OR_NAME --train JSONL
        --meta JSON --threads N --device D --out JSON [JSON ...]   (one measurement per seed, in turn)

``--settings``: the ``clue.update_size`` block with the fine-tuning's maxlen (kexue_repro.clue.plan).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import torch

import kexue_repro.data.clue_records as records
from kexue_repro.clue.data import Encoded, collate, encode_split
from kexue_repro.clue.evaluate import mean_loss
from kexue_repro.clue.model import load_classifier, load_tokenizer, scoped_parameters
from kexue_repro.clue.variants import MaskedOptimizer, VariantConfig
from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_compute_arguments, step_parser
from kexue_repro.common.resume import run_each
from kexue_repro.common.runtime import choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build

RUNS = ("vanilla", "childtuning-f", "incre-drop")
TOY_RUNS = ("vanilla", "childtuning-f")
# Offsets of the toy's random streams from the seed: the means, the noise, the masks.
TOY_MEANS, TOY_NOISE, TOY_MASKS = 10, 11, 12


@dataclass(frozen=True)
class ToyConfig:
    """The step-size toy: a (repeats, entries) tensor, one independent gradient stream per row."""

    horizons: int  # AdamW steps = horizons / (1 - beta2)
    burn_in_horizons: int  # the drift is measured after these
    entries: int
    repeats: int
    mean_sd: float  # mu ~ N(0, mean_sd^2) per entry
    noise_sd: float  # g_t = mu + noise_sd * N(0, 1)

    def steps(self, beta2: float) -> tuple[int, int]:
        """(all steps, burn-in steps) of the run."""
        horizon = 1.0 / (1.0 - beta2)
        return round(self.horizons * horizon), round(self.burn_in_horizons * horizon)


@dataclass(frozen=True)
class UpdateSizeConfig:
    """The ``clue.update_size`` settings, and the fine-tuning's maxlen."""

    steps: int  # AdamW steps on the tiny model from the same start
    p: float  # keep share of gradient and update dropout
    lr: float
    betas: tuple[float, float]
    eps: float
    weight_decay: float
    batch_size: int
    toy: ToyConfig
    maxlen: int

    def __post_init__(self) -> None:
        if self.steps < 2 or not 0 < self.p < 1:
            raise ValueError("clue.update_size: steps must be >= 2 and p in (0, 1)")
        total, burn_in = self.toy.steps(self.betas[1])
        if burn_in >= total or self.toy.entries < 1 or self.toy.repeats < 1:
            raise ValueError("clue.update_size.toy: burn-in must end before the run; entries, repeats >= 1")

    def adamw(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}


# --- the step-size toy -----------------------------------------------------------------------------------


def toy_drift(method: str, toy: ToyConfig, p: float, adamw: dict[str, Any], seed: int) -> torch.Tensor:
    """Per row, the drift after the burn-in projected on the row's mean gradient (float64)."""
    total, burn_in = toy.steps(adamw["betas"][1])
    mu = torch.randn(toy.repeats, toy.entries, generator=torch.Generator().manual_seed(seed + TOY_MEANS))
    mu = mu * toy.mean_sd
    noise = torch.Generator().manual_seed(seed + TOY_NOISE)  # the same stream for every method
    theta = torch.nn.Parameter(torch.zeros(toy.repeats, toy.entries))
    config = VariantConfig(method, p if method != "vanilla" else 1.0)
    optimizer = MaskedOptimizer(torch.optim.AdamW([theta], **adamw), [theta], config, seed + TOY_MASKS)
    start = theta.detach().clone()
    for step in range(total):
        if step == burn_in:
            start = theta.detach().clone()
        theta.grad = mu + toy.noise_sd * torch.randn(toy.repeats, toy.entries, generator=noise)
        optimizer.step()
    return ((theta.detach() - start).double() * mu.double()).sum(dim=1)


def measure_toy(toy: ToyConfig, p: float, adamw: dict[str, Any], seed: int) -> dict[str, Any]:
    """The toy's drift per row and method, and F's drift over vanilla's per row."""
    drift = {method: toy_drift(method, toy, p, adamw, seed) for method in TOY_RUNS}
    total, burn_in = toy.steps(adamw["betas"][1])
    ratio = (drift["childtuning-f"] / drift["vanilla"]).tolist()
    return {
        "steps": total, "burn_in_steps": burn_in, "horizon_steps": 1.0 / (1.0 - adamw["betas"][1]),
        "entries": toy.entries, "repeats": toy.repeats, "mean_sd": toy.mean_sd, "noise_sd": toy.noise_sd,
        "drift": {method: values.tolist() for method, values in drift.items()},
        "drift_ratio_f": ratio,
    }  # fmt: skip


# --- which entries move on the tiny model ----------------------------------------------------------------


def fixed_batches(n_records: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """``steps`` full batches: seeded permutations of the records, one after the other."""
    if batch_size > n_records:
        raise ValueError(f"batch size {batch_size} exceeds the {n_records} training records")
    generator, out = torch.Generator().manual_seed(seed), []
    while len(out) < steps:
        order = torch.randperm(n_records, generator=generator).tolist()
        out += [order[i : i + batch_size] for i in range(0, n_records - batch_size + 1, batch_size)]
    return out[:steps]


def run_steps(
    model: torch.nn.Module,
    method: str,
    data: Encoded,
    batch_list: list[list[int]],
    p: float,
    adamw: dict[str, Any],
    seed: int,
    device: torch.device,
) -> dict[str, list[float] | list[int]]:
    encoder = [param for _, param in scoped_parameters(model, "encoder")]
    n_entries = sum(param.numel() for param in encoder)
    inner = torch.optim.AdamW(model.parameters(), **adamw)
    config = VariantConfig(method, p if method != "vanilla" else 1.0, scope="encoder")
    optimizer = MaskedOptimizer(inner, encoder, config, seed, keep_masks=True)
    out: dict[str, list] = {"update_norm": [], "moved_share": [], "dropped": [], "dropped_moved": []}
    out["moved_outside_mask"] = []
    for indices in batch_list:
        before = [param.detach().clone() for param in encoder]
        loss = mean_loss(model, collate(data, indices), device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            moved = [param != old for param, old in zip(encoder, before)]
            deltas = [param - old for param, old in zip(encoder, before)]
            out["update_norm"].append(math.sqrt(sum(float(d.double().square().sum()) for d in deltas)))
            out["moved_share"].append(sum(int(m.sum()) for m in moved) / n_entries)
            masks = optimizer.last_masks
            if method == "childtuning-f":  # the gradient masks: dropped entries, and those that moved anyway
                out["dropped"].append(sum(int((~k).sum()) for k in masks))
                out["dropped_moved"].append(sum(int((m & ~k).sum()) for m, k in zip(moved, masks)))
            if method == "incre-drop":  # the update masks: nothing outside them may move
                out["moved_outside_mask"].append(sum(int((m & ~k).sum()) for m, k in zip(moved, masks)))
    return out


def measure_model(
    model_path: str,
    num_labels: int,
    data: Encoded,
    batch_size: int,
    steps: int,
    p: float,
    adamw: dict[str, Any],
    seed: int,
    device: torch.device,
) -> dict[str, Any]:
    seed_everything(seed)
    model = load_classifier(model_path, num_labels).to(device).eval()
    initial = copy.deepcopy(model.state_dict())
    batch_list = fixed_batches(len(data), batch_size, steps, seed)
    runs = {}
    for method in RUNS:
        model.load_state_dict(initial)
        runs[method] = run_steps(model, method, data, batch_list, p, adamw, seed, device)
    vanilla = runs["vanilla"]["update_norm"]
    f, incre = runs["childtuning-f"], runs["incre-drop"]
    later = slice(1, None)  # from step 2 on: at step 1 the momentum is still empty
    return {
        "steps": steps, "batch_size": batch_size, "measured_on": "encoder-layer parameters (masks on them "
        "only); dropout off", "incre_drop_divides_by_p": True,
        "runs": runs,
        "ratio_f": [a / b for a, b in zip(f["update_norm"], vanilla)],
        "ratio_incre": [a / b for a, b in zip(incre["update_norm"], vanilla)],
        "dropped_f": sum(f["dropped"][later]), "dropped_moved_f": sum(f["dropped_moved"][later]),
        "moved_outside_mask_incre": sum(incre["moved_outside_mask"]),
        "moved_share_incre": sum(incre["moved_share"]) / steps,
    }  # fmt: skip


def measure(
    model_path: str,
    num_labels: int,
    data: Encoded,
    config: UpdateSizeConfig,
    seed: int,
    device: torch.device,
) -> dict[str, Any]:
    adamw = config.adamw()
    return {
        "p": config.p, "sqrt_p": math.sqrt(config.p), "seed": seed,
        "adamw": {k: list(v) if isinstance(v, tuple) else v for k, v in adamw.items()},
        "toy": measure_toy(config.toy, config.p, adamw, seed),
        "model": measure_model(
            model_path, num_labels, data, config.batch_size, config.steps, config.p, adamw, seed, device
        ),
    }  # fmt: skip


def _main(args: argparse.Namespace) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_threads(args.threads)
    device = choose_device(args.device)
    config = build(UpdateSizeConfig, args.settings, "clue.update_size")
    num_labels = records.read_num_labels(args.meta)
    train_set = encode_split(args.train, load_tokenizer(args.model), config.maxlen, num_labels)
    result = measure(args.model, num_labels, train_set, config, args.seed, device)
    write_json(args.out, result | {"model_path": args.model, "train": str(args.train)})
    toy, model = result["toy"], result["model"]
    ratios = toy["drift_ratio_f"]
    print(
        f"{args.out}: toy drift F/vanilla over sqrt(p) {sum(ratios) / len(ratios) / result['sqrt_p']:.4f} "
        f"({toy['steps']} steps, {len(ratios)} streams); model: {model['dropped_moved_f']} of "
        f"{model['dropped_f']} dropped entries moved under F, {model['moved_outside_mask_incre']} outside the "
        "mask under update dropout"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.update_size", __doc__, "clue.update_size")
    parser.add_argument(
        "--seed", type=int, nargs="+", required=True, help="one measurement per seed, in turn"
    )
    parser.add_argument(
        "--model", required=True, help="a save_pretrained folder (model + tokenizer) or hub name"
    )
    parser.add_argument("--train", required=True, help="prepared train split (.jsonl)")
    parser.add_argument("--meta", required=True, help="the task's meta.json (num_labels or num_classes)")
    add_compute_arguments(parser)
    parser.add_argument("--out", nargs="+", required=True, help="per seed: the measurement (.json)")
    return run_each(_main, parser.parse_args(argv), ("seed", "out"))


if __name__ == "__main__":
    sys.exit(main())
