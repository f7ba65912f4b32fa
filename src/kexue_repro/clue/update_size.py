"""Su's Adam argument, measured: from the same initial model and the same batches, N steps of AdamW
vanilla, with ChildTuning-F (gradient dropout) and with update dropout, all at keep share p.

Reported per step: the norm of each run's update and the F/vanilla ratio (Su: about sqrt(p), since Adam
divides by the root mean square of the gradient, which dropout scales by 1/sqrt(p)); and the share of entries
that moved (under F the momentum moves entries whose gradient was dropped, so the share grows towards 1;
under update dropout only the kept share p moves). Measured on the encoder-layer parameters, which every
batch's gradient reaches (most word-embedding rows get no gradient in a step); the masks act on them only.
Dropout is off (eval mode), so the three runs differ by their masks alone.

    python -m kexue_repro.clue.update_size --settings JSON --seed S --model PATH_OR_NAME --train JSONL
        --meta JSON --threads N --device D --out JSON

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
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.runtime import choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build

RUNS = ("vanilla", "childtuning-f", "incre-drop")


@dataclass(frozen=True)
class UpdateSizeConfig:
    """The ``clue.update_size`` settings, and the fine-tuning's maxlen."""

    steps: int  # AdamW steps from the same start
    p: float  # keep share of gradient and update dropout
    lr: float
    betas: tuple[float, float]
    eps: float
    weight_decay: float
    batch_size: int
    maxlen: int

    def adamw(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}


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
) -> dict[str, list[float]]:
    encoder = [param for _, param in scoped_parameters(model, "encoder")]
    n_entries = sum(param.numel() for param in encoder)
    inner = torch.optim.AdamW(model.parameters(), **adamw)
    optimizer = MaskedOptimizer(inner, encoder, VariantConfig(method, p, scope="encoder"), seed)
    norms, moved = [], []
    for indices in batch_list:
        before = [param.detach().clone() for param in encoder]
        loss = mean_loss(model, collate(data, indices), device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            deltas = [param - old for param, old in zip(encoder, before)]
            norms.append(math.sqrt(sum(float(d.double().square().sum()) for d in deltas)))
            moved.append(sum(int((d != 0).sum()) for d in deltas) / n_entries)
    return {"update_norm": norms, "moved_share": moved}


def measure(
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
    if steps < 2 or not 0 < p < 1:
        raise ValueError("clue.update_size: steps must be >= 2 and p in (0, 1)")
    seed_everything(seed)
    model = load_classifier(model_path, num_labels).to(device).eval()
    initial = copy.deepcopy(model.state_dict())
    batch_list = fixed_batches(len(data), batch_size, steps, seed)
    runs = {}
    for method in RUNS:
        model.load_state_dict(initial)
        runs[method] = run_steps(model, method, data, batch_list, p, adamw, seed, device)
    vanilla = runs["vanilla"]["update_norm"]
    ratio_f = [f / v for f, v in zip(runs["childtuning-f"]["update_norm"], vanilla)]
    ratio_incre = [u / v for u, v in zip(runs["incre-drop"]["update_norm"], vanilla)]
    later = slice(1, None)  # from step 2 on: at step 1 the momentum is still empty
    return {
        "p": p,
        "sqrt_p": math.sqrt(p),
        "steps": steps,
        "seed": seed,
        "batch_size": batch_size,
        "adamw": {k: list(v) if isinstance(v, tuple) else v for k, v in adamw.items()},
        "incre_drop_divides_by_p": True,
        "measured_on": "encoder-layer parameters (masks on them only); dropout off",
        "runs": runs,
        "ratio_f": ratio_f,
        "ratio_incre": ratio_incre,
        "first_ratio_f": ratio_f[0],
        "mean_ratio_f": sum(ratio_f) / steps,
        "mean_ratio_f_over_sqrt_p": sum(ratio_f) / steps / math.sqrt(p),
        "moved_share_f": sum(runs["childtuning-f"]["moved_share"][later]) / (steps - 1),
        "moved_share_incre": sum(runs["incre-drop"]["moved_share"][later]) / (steps - 1),
        "moved_share_vanilla": sum(runs["vanilla"]["moved_share"][later]) / (steps - 1),
    }


def _main(args: argparse.Namespace) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_threads(args.threads)
    device = choose_device(args.device)
    config = build(UpdateSizeConfig, args.settings, "clue.update_size")
    num_labels = records.read_num_labels(args.meta)
    train_set = encode_split(args.train, load_tokenizer(args.model), config.maxlen, num_labels)
    result = measure(
        args.model, num_labels, train_set, config.batch_size, config.steps, config.p, config.adamw(), args.seed,
        device,
    )  # fmt: skip
    write_json(args.out, result | {"model": args.model, "train": str(args.train)})
    print(
        f"{args.out}: update norm ratio F/vanilla {result['mean_ratio_f']:.4f} (sqrt(p) = {result['sqrt_p']:.4f}); "
        f"share moved: F {result['moved_share_f']:.3f}, update dropout {result['moved_share_incre']:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.update_size", __doc__, "clue.update_size")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument(
        "--model", required=True, help="a save_pretrained folder (model + tokenizer) or hub name"
    )
    parser.add_argument("--train", required=True, help="prepared train split (.jsonl)")
    parser.add_argument("--meta", required=True, help="the task's meta.json (num_labels or num_classes)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out", required=True, help="the measurement (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
