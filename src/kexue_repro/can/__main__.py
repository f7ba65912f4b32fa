"""Command line of study 8728 (CAN): one subcommand per workflow step, each reading files and writing files.

A SETTING is NAME K TAU ALPHA ITERATIONS MODE CONFUSION REFERENCE, e.g. post 3 0.9 1 1 per_sample topk all
(MODE per_sample|batch, CONFUSION topk|any_k, REFERENCE all|stratified; see kexue_repro.can.model).

python -m kexue_repro.can apply     --task T --variant V --seed S --probs NPY --run-record JSON --train JSONL --dev JSONL
                                    --meta JSON --setting SETTING [--setting SETTING ...] --reference-seed R
                                    --row-sum-tolerance X --out JSON
python -m kexue_repro.can sweep     --task T --train JSONL --dev JSONL --meta JSON --probs VARIANT SEED NPY [--probs ...]
                                    --setting SETTING --taus X ... --alphas X ... --iterations N ...
                                    --split-seed S --reference-seed R --row-sum-tolerance X --out JSON
python -m kexue_repro.can claims    --applied JSON ... --sweeps JSON ... --anchors CSV --setting NAME
                                    --baseline-variant V --anchor-model M --confidence X --subset-tolerance X
                                    --anchor-tolerance X --tables-dir D --plots-dir D
                                    --scale S --claims-out C --metrics-out M
python -m kexue_repro.can synthetic --task T --num-classes C --n-train N --n-dev N --variants V ... --seeds S ...
                                    --concentration X --boost X --hit-rate X --seed S --task-dir D --runs-dir D
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from kexue_repro.can import data
from kexue_repro.can.evaluate import (
    SETTING_FIELDS,
    SPLIT_METHOD,
    Setting,
    grid_settings,
    outcome,
    split_halves,
    sweep,
)
from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_ledger_arguments, run_steps


def _settings(raw: list[list[str]]) -> list[Setting]:
    settings = [Setting.parse(fields) for fields in raw]
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise ValueError(f"--setting names must differ, got {names}")
    return settings


def _apply(args: argparse.Namespace) -> None:
    settings = _settings(args.setting)
    task = data.read_task(args.train, args.dev, args.meta)
    probs = data.read_probabilities(args.probs, task, args.row_sum_tolerance)
    record = data.read_run_record(args.run_record, args.seed, len(task.labels))
    results = {
        s.name: {"setting": s.as_dict()} | outcome(probs, task.labels, task.prior, s, args.reference_seed)
        for s in settings
    }
    write_json(
        args.out,
        {"task": args.task, "variant": args.variant, "seed": args.seed, "num_classes": task.num_classes}
        | {"model": record.get("config", {}).get("model"), "probs": str(args.probs), "dev": str(args.dev)}
        | {"prior": task.prior.round(6).tolist(), "reference_seed": args.reference_seed, "settings": results},
    )
    for name, r in results.items():
        print(
            f"{args.out}: {name}: accuracy {r['accuracy_before']:.4f} -> {r['accuracy_after']:.4f}, "
            f"{r['n_unconfident']} of {r['n']} unconfident, {r['n_changed']} changed "
            f"(+{r['wrong_to_right']} -{r['right_to_wrong']})"
        )


def _sweep(args: argparse.Namespace) -> None:
    (base,) = _settings([args.setting])
    task = data.read_task(args.train, args.dev, args.meta)
    runs, seen = [], set()
    for variant, seed, path in args.probs:
        try:
            key = (variant, int(seed))
        except ValueError:
            raise ValueError(f"--probs {variant} {seed} {path}: SEED must be an integer") from None
        if key in seen:
            raise ValueError(f"--probs {variant} {seed} is given twice")
        seen.add(key)
        runs.append((*key, data.read_probabilities(path, task, args.row_sum_tolerance)))
    grid = grid_settings(base, args.taus, args.alphas, args.iterations)
    halves = split_halves(task.labels, args.split_seed)
    result = sweep(runs, task.labels, task.prior, base, grid, halves, args.reference_seed)
    result["split"] |= {"method": SPLIT_METHOD, "seed": args.split_seed}
    write_json(args.out, {"task": args.task, "num_classes": task.num_classes, "dev": str(args.dev)} | result)
    for variant, chosen in result["variants"].items():
        gains = [r["gain_tuned"] for r in chosen["runs"]]
        print(f"{args.out}: {variant}: chose {chosen['chosen']}, report-half gains {gains}")


def _claims(args: argparse.Namespace) -> None:
    from kexue_repro.can import claims  # pandas, SciPy and matplotlib: only the step that needs them

    claims.run(args)


def _synthetic(args: argparse.Namespace) -> None:
    from kexue_repro.can.synthetic import write_synthetic

    write_synthetic(
        args.task_dir,
        args.runs_dir,
        args.task,
        args.num_classes,
        args.n_train,
        args.n_dev,
        args.variants,
        args.seeds,
        args.concentration,
        args.boost,
        args.hit_rate,
        args.seed,
    )
    print(
        f"{args.task_dir}, {args.runs_dir}/{args.task}: synthetic task and {len(args.variants) * len(args.seeds)} runs"
    )


def _add_setting(step: argparse.ArgumentParser, **kwargs) -> None:
    step.add_argument(
        "--setting", nargs=len(SETTING_FIELDS), metavar=tuple(f.upper() for f in SETTING_FIELDS), **kwargs
    )


def _add_inputs(step: argparse.ArgumentParser) -> None:
    step.add_argument("--task", required=True)
    step.add_argument(
        "--train", required=True, help="the task's train.jsonl: the prior is its label frequencies"
    )
    step.add_argument(
        "--dev", required=True, help="the task's dev.jsonl: gold labels in probability-row order"
    )
    step.add_argument("--meta", required=True, help="the task's meta.json (num_classes)")
    step.add_argument("--reference-seed", type=int, required=True, help="stratified reference sampling")
    step.add_argument("--row-sum-tolerance", type=float, required=True, help="|row sum - 1| allowed")
    step.add_argument("--out", required=True)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kexue_repro.can", description=__doc__.split("\n")[0])
    steps = root.add_subparsers(dest="step", required=True)

    apply = steps.add_parser("apply", help="CAN on one run's dev probabilities under each --setting")
    _add_inputs(apply)
    apply.add_argument("--variant", required=True)
    apply.add_argument("--seed", type=int, required=True, help="the fine-tuning run's seed")
    apply.add_argument("--probs", required=True, help="dev probabilities [n_dev, C] (.npy)")
    apply.add_argument(
        "--run-record", required=True, help="the fine-tuning run record (.json) beside --probs"
    )
    _add_setting(apply, action="append", required=True)
    apply.set_defaults(run=_apply)

    tune = steps.add_parser(
        "sweep", help="tau x alpha x iterations tuned on one half of dev, reported on the other"
    )
    _add_inputs(tune)
    tune.add_argument("--probs", nargs=3, action="append", required=True, metavar=("VARIANT", "SEED", "NPY"))
    _add_setting(tune, required=True, help="fixes k, mode, confusion and reference; reported untuned beside")
    tune.add_argument("--taus", type=float, nargs="+", required=True)
    tune.add_argument("--alphas", type=float, nargs="+", required=True)
    tune.add_argument("--iterations", type=int, nargs="+", required=True)
    tune.add_argument("--split-seed", type=int, required=True, help="the halves of dev (same for every run)")
    tune.set_defaults(run=_sweep)

    claim = steps.add_parser("claims", help="tables, plots, claims.json and metrics.json")
    claim.add_argument("--applied", nargs="+", required=True, help="apply outputs")
    claim.add_argument("--sweeps", nargs="+", required=True, help="sweep outputs")
    claim.add_argument("--anchors", required=True, help="data/anchors/can.csv")
    claim.add_argument("--setting", required=True, help="the apply setting the claims use (the post's)")
    claim.add_argument(
        "--baseline-variant", required=True, help="the variant the post's numbers compare with"
    )
    claim.add_argument(
        "--anchor-model", required=True, help="the anchors' model row (BERT-base | RoBERTa-wwm-ext)"
    )
    claim.add_argument("--confidence", type=float, required=True, help="level of every interval, e.g. 0.95")
    claim.add_argument(
        "--subset-tolerance", type=float, required=True, help="(d) points from the post's values"
    )
    claim.add_argument("--anchor-tolerance", type=float, required=True, help="(e) points around our interval")
    claim.add_argument("--tables-dir", required=True)
    claim.add_argument("--plots-dir", required=True)
    add_ledger_arguments(claim)
    claim.set_defaults(run=_claims)

    fake = steps.add_parser("synthetic", help="a synthetic task and Dirichlet runs in the CLUE formats")
    fake.add_argument("--task", required=True)
    fake.add_argument("--num-classes", type=int, required=True)
    fake.add_argument("--n-train", type=int, required=True)
    fake.add_argument("--n-dev", type=int, required=True)
    fake.add_argument("--variants", nargs="+", required=True)
    fake.add_argument("--seeds", type=int, nargs="+", required=True)
    fake.add_argument(
        "--concentration", type=float, required=True, help="Dirichlet concentration of every class"
    )
    fake.add_argument(
        "--boost", type=float, required=True, help="added to the favoured class's concentration"
    )
    fake.add_argument(
        "--hit-rate", type=float, required=True, help="share of rows whose favoured class is gold"
    )
    fake.add_argument("--seed", type=int, required=True)
    fake.add_argument("--task-dir", required=True, help="gets train.jsonl, dev.jsonl, meta.json")
    fake.add_argument("--runs-dir", required=True, help="gets {task}/{variant}/seed{seed}.npy and .json")
    fake.set_defaults(run=_synthetic)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
