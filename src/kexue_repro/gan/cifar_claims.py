"""Claim (f) of study 8757: full-scale CIFAR-10 FID and IS of GN-GAN (official CNN) against the authors' numbers,
and the FID-at-step curve of every seed.

The official protocol (basiclab/GNGAN-PyTorch ``train.py``): FID/IS of G every eval_step steps, the checkpoint
with the best FID kept as ``best_model.pt`` and scored (``--eval``, 50k samples). Ours reads the same off the
curve: per seed, G's best FID over the measured steps and the IS at that step; the EMA generator's last value is
reported beside it. The published numbers (basiclab's misc/eval.csv) are means of 5 seeds, the anchors' notes
say: our seeds' prediction interval for such a mean decides, and only at the recipe they come from (Inception
features, the official 200k steps); any other run is inconclusive.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import pandas as pd

from kexue_repro.common.atomic import write_csv
from kexue_repro.common.claims import Claim, claim
from kexue_repro.common.inference import (
    INCONCLUSIVE,
    anchor_single_run,
    fixed,
)
from kexue_repro.gan.plots import plot_curve

CURVE_FIELDS = ["seed", "step", "fid_g", "is_mean_g", "is_std_g", "fid_ema", "is_mean_ema", "is_std_ema"]
ANCHOR_MODEL, ANCHOR_TASK = "GN", "CIFAR10"
METRICS = ("fid", "inception_score")
OFFICIAL_STEPS = 200_000  # total_steps of the official config/GN-GAN_CIFAR10_CNN.txt: the anchors' recipe
SECTION = (
    "GN-GAN (arXiv 2109.02235), CIFAR-10 results of the CNN model, as its authors' repository reports them"
)
FLOAT_FORMAT = "%.8g"


def curve_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        {"seed": r["seed"]} | {k: point[k] for k in CURVE_FIELDS[1:]} for r in records for point in r["curve"]
    ]
    return pd.DataFrame(rows, columns=CURVE_FIELDS).sort_values(["seed", "step"]).reset_index(drop=True)


def official_protocol(curve: pd.DataFrame) -> pd.DataFrame:
    """Per seed: G's best FID over the curve and its IS at that step, and the EMA generator's last FID and IS."""
    rows = []
    for seed, group in curve.groupby("seed", sort=True):
        best, last = group.loc[group["fid_g"].idxmin()], group.loc[group["step"].idxmax()]
        rows.append(
            {"seed": seed, "best_step": int(best["step"]), "fid": best["fid_g"], "inception_score": best["is_mean_g"]}
            | {"fid_ema_last": last["fid_ema"], "is_ema_last": last["is_mean_ema"], "last_step": int(last["step"])}
        )  # fmt: skip
    return pd.DataFrame(rows)


def anchor_runs(note: object) -> int:
    """How many runs a published number averages, from its anchors note ("mean of 5 seeds"); 1 otherwise."""
    found = re.search(r"mean of (\d+) (?:seeds|runs)", str(note)) if isinstance(note, str) else None
    return int(found.group(1)) if found else 1


@claim
def full_scale(
    records: list[dict[str, Any]],
    anchors: pd.DataFrame,
    metric: str,
    alpha: float,
    evidence: str,
) -> Claim:
    """(f) for ``metric`` (fid or inception_score), stated at scale full: the per-seed values of the official
    protocol against the authors' number, which is the mean of the runs its note names (else a single run);
    decided only at the recipe the number comes from (Inception features, the official step budget)."""
    curve = curve_table(records)
    per_seed = official_protocol(curve) if len(curve) else pd.DataFrame(columns=["seed", metric])
    row = anchors[
        (anchors["model"] == ANCHOR_MODEL) & (anchors["task"] == ANCHOR_TASK) & (anchors["metric"] == metric)
    ]
    if len(row) != 1:
        raise ValueError(f"anchors: expected one {ANCHOR_MODEL}/{ANCHOR_TASK}/{metric} row, found {len(row)}")
    anchor, source, note = float(row["value"].iloc[0]), str(row["source"].iloc[0]), row["note"].iloc[0]
    runs = anchor_runs(note)
    features = sorted({r["features"] for r in records})
    steps = sorted({int(r["steps"]) for r in records})
    values = per_seed[metric].astype(float).tolist()
    judged = anchor_single_run(values, anchor, alpha, runs=runs)
    if features != ["inception"] or steps != [OFFICIAL_STEPS]:
        judged = fixed(
            INCONCLUSIVE,
            f"not the recipe the anchor comes from: features {features}, step budget {steps}",
            to_decide=f"needs the full-scale run: torch-fidelity's Inception features and the official "
            f"{OFFICIAL_STEPS:,} steps (has features {features}, steps {steps})",
        )
    ema_column = "fid_ema_last" if metric == "fid" else "is_ema_last"
    ema = per_seed[ema_column].mean() if len(per_seed) else math.nan
    return Claim(
        study="gan",
        claim_id=f"f.full_scale_{metric}",
        kind="claim",
        section=SECTION,
        statement=f"GN-GAN with the official CNN on CIFAR-10 reaches the authors' {metric} "
        f"({anchor:g}, {note if isinstance(note, str) else 'a single run'}).",
        metric=f"{metric} of G, best over the curve per seed (official best_model protocol): "
        f"{[round(v, 4) for v in values]}; EMA generator at the last step: mean {ema:.4g}; "
        f"features {features}, step budget {steps}",
        ours=None if judged.estimate is None else round(judged.estimate, 6),
        criterion=f"the anchor inside our {1 - alpha:.0%} prediction interval for "
        f"{'one run' if runs == 1 else f'the mean of {runs} runs'} (reproduced) or significantly outside it at "
        "the Holm-adjusted level (not reproduced); inconclusive with < 2 seeds, or at another recipe than the "
        "anchor's (features other than Inception, another step budget)",
        judgement=judged,
        scale="full",
        evidence=evidence,
        anchor=anchor,
        anchor_source=source,
        seeds=sorted(int(s) for s in per_seed["seed"]),
    )


def full_scale_claims(
    records: list[dict[str, Any]],
    anchors: pd.DataFrame,
    alpha: float,
    curve_csv: str | os.PathLike,
    curve_png: str | os.PathLike,
    headline: dict[str, float],
) -> list[Claim]:
    """Claims (f), one per metric of METRICS (fid, inception_score), from the CIFAR-10 run records; writes
    their FID-at-step table and plot and adds the seeds' means to ``headline``."""
    curve = curve_table(records)
    write_csv(curve_csv, curve, FLOAT_FORMAT)
    plot_curve(curve, curve_png, "full")
    per_seed = official_protocol(curve)
    for column in ("fid", "inception_score", "fid_ema_last", "is_ema_last"):
        headline[f"cifar10_gn_{column}"] = round(float(per_seed[column].mean()), 6)
    return [full_scale(records, anchors, metric, alpha, str(curve_csv)) for metric in METRICS]
