"""Claim (f) of study 8757: full-scale CIFAR-10 FID and IS of GN-GAN (official CNN) against the authors' numbers,
and the FID-at-step curve of every seed.

The official protocol (basiclab/GNGAN-PyTorch ``train.py``): FID/IS of G every eval_step steps, the checkpoint
with the best FID kept as ``best_model.pt`` and scored (``--eval``, 50k samples). Ours reads the same off the
curve: per seed, G's best FID over the measured steps and the IS at that step; the EMA generator's last value is
reported beside it. A run whose features are not Inception's is never compared with published numbers.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from kexue_repro.common.atomic import write_csv
from kexue_repro.common.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Claim, claim
from kexue_repro.common.stats import claim_interval, describe, t_interval
from kexue_repro.gan.plots import plot_curve

CURVE_FIELDS = ["seed", "step", "fid_g", "is_mean_g", "is_std_g", "fid_ema", "is_mean_ema", "is_std_ema"]
ANCHOR_MODEL, ANCHOR_TASK = "GN", "CIFAR10"
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


def band_verdict(interval: tuple[float, float, float] | None, anchor: float, tolerance: float) -> str:
    """Reproduced: the interval lies within anchor +- tolerance; not reproduced: wholly outside; else inconclusive."""
    if interval is None:
        return INCONCLUSIVE
    _, low, high = interval
    if high < anchor - tolerance or low > anchor + tolerance:
        return NOT_REPRODUCED
    if anchor - tolerance <= low and high <= anchor + tolerance:
        return REPRODUCED
    return INCONCLUSIVE


@claim
def full_scale(
    records: list[dict[str, Any]],
    anchors: pd.DataFrame,
    metric: str,
    tolerance: float,
    confidence: float,
    evidence: str,
) -> Claim:
    """(f) for ``metric`` (fid or inception_score), stated at scale full: the per-seed values of the official
    protocol against the authors' number, within anchor +- tolerance."""
    curve = curve_table(records)
    per_seed = official_protocol(curve) if len(curve) else pd.DataFrame(columns=["seed", metric])
    row = anchors[
        (anchors["model"] == ANCHOR_MODEL) & (anchors["task"] == ANCHOR_TASK) & (anchors["metric"] == metric)
    ]
    if len(row) != 1:
        raise ValueError(f"anchors: expected one {ANCHOR_MODEL}/{ANCHOR_TASK}/{metric} row, found {len(row)}")
    anchor, source = float(row["value"].iloc[0]), str(row["source"].iloc[0])
    features = sorted({r["features"] for r in records})
    steps = sorted({r["steps"] for r in records})
    interval = t_interval(per_seed[metric], confidence)
    comparable = features == ["inception"]
    ema_column = "fid_ema_last" if metric == "fid" else "is_ema_last"
    ema = per_seed[ema_column].mean() if len(per_seed) else math.nan
    return Claim(
        study="gan",
        claim_id=f"f.full_scale_{metric}",
        statement=f"GN-GAN with the official CNN on CIFAR-10 reaches the authors' {metric} "
        f"({anchor:g}, {row['note'].iloc[0]}).",
        metric=f"{metric} of G, best over the curve per seed (official best_model protocol), {confidence:.0%} "
        f"t-interval {describe(interval)}; EMA generator at the last step: mean {ema:.4g}; "
        f"features {features}, step budget {steps}",
        ours=None if interval is None else round(interval[0], 6),
        interval=claim_interval(interval),
        criterion=f"interval within anchor +- {tolerance:g} (reproduced); wholly outside (not reproduced); "
        "otherwise, < 2 seeds, or features other than Inception (inconclusive)",
        verdict=band_verdict(interval, anchor, tolerance) if comparable else INCONCLUSIVE,
        scale="full",
        evidence=evidence,
        anchor=anchor,
        anchor_source=source,
        seeds=sorted(int(s) for s in per_seed["seed"]),
    )


def full_scale_claims(
    records: list[dict[str, Any]],
    anchors: pd.DataFrame,
    confidence: float,
    tolerances: dict[str, float],
    curve_csv: str | os.PathLike,
    curve_png: str | os.PathLike,
    headline: dict[str, float],
) -> list[Claim]:
    """Claims (f), one per metric of ``tolerances`` (fid, inception_score), from the CIFAR-10 run records;
    writes their FID-at-step table and plot and adds the seeds' means to ``headline``."""
    curve = curve_table(records)
    write_csv(curve_csv, curve, FLOAT_FORMAT)
    plot_curve(curve, curve_png)
    per_seed = official_protocol(curve)
    for column in ("fid", "inception_score", "fid_ema_last", "is_ema_last"):
        headline[f"cifar10_gn_{column}"] = round(float(per_seed[column].mean()), 6)
    return [
        full_scale(records, anchors, metric, tolerance, confidence, str(curve_csv))
        for metric, tolerance in tolerances.items()
    ]
