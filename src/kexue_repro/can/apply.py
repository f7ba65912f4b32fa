"""CAN on one fine-tuning run's dev probabilities under each named setting (``can.apply``): accuracy before and
after, the confident and unconfident subsets, the changed predictions and each example's correctness before and
after, per setting; and the accuracy of the trivial classifier (the training majority class), the bar a run
must clear to count as trained."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from kexue_repro.can import data
from kexue_repro.can.evaluate import CanConfig, outcome, trivial_accuracy
from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build


def _main(args: argparse.Namespace) -> None:
    config = build(CanConfig, args.settings, "can.apply")
    task = data.read_task(args.train, args.dev, args.meta)
    probs = data.read_probabilities(args.probs, task, config.row_sum_tolerance)
    record = data.read_run_record(args.run_record, args.seed, len(task.labels))
    results = {
        name: {"setting": s.as_dict()} | outcome(probs, task.labels, task.prior, s, config.reference_seed)
        for name, s in config.settings.items()
    }
    write_json(
        args.out,
        {"task": args.task, "variant": args.variant, "seed": args.seed, "num_classes": task.num_classes}
        | {"model": record.get("config", {}).get("model"), "probs": str(args.probs), "dev": str(args.dev)}
        | {"prior": task.prior.round(6).tolist(), "reference_seed": config.reference_seed}
        | {"accuracy_trivial": trivial_accuracy(task.labels, task.prior)}
        | {"settings": results},
    )
    for name, r in results.items():
        print(
            f"{args.out}: {name}: accuracy {r['accuracy_before']:.4f} -> {r['accuracy_after']:.4f}, "
            f"{r['n_unconfident']} of {r['n']} unconfident, {r['n_changed']} changed "
            f"(+{r['wrong_to_right']} -{r['right_to_wrong']})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.can.apply", __doc__, "can.apply")
    data.add_task_arguments(parser)
    parser.add_argument(
        "--variant", required=True, help="the fine-tuning variant whose predictions these are"
    )
    parser.add_argument("--seed", type=int, required=True, help="the fine-tuning run's seed")
    parser.add_argument("--probs", required=True, help="dev probabilities [n_dev, C] (.npy)")
    parser.add_argument(
        "--run-record", required=True, help="the fine-tuning run record (.json) beside --probs"
    )
    parser.add_argument("--out", required=True, help="the apply record (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
