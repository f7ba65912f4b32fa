"""Tables, plots, claims (a)-(e) and headline metrics of study 8791 from the evaluation records.

Any subset of trained k, evaluated k and seeds is accepted: a claim whose inputs are missing is
inconclusive, with the reason in its metric text. Intervals across seeds are t-intervals of paired
(same seed) differences; intervals across images or points are t/normal intervals of their means.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    claim,
    combine,
    interval_verdict,
    write_claims,
)
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.common.stats import Interval, describe, t_interval
from kexue_repro.vae import plots
from kexue_repro.vae.plots import model_name
from kexue_repro.vae.schedule import SCHEDULE_LABELS, schedule_label
from kexue_repro.vae.tables import (
    COMPARISON_FIELDS,
    active_units_table,
    bounds_table,
    paired_difference,
    read_evals,
    summary_table,
)

FLOAT_FORMAT = "%.10g"
STUDY = "vae"
POST = "https://kexue.fm/archives/8791"
BURDA = "Burda et al. 2016 (arXiv:1509.00519)"
TABLE1_SOURCE = f"{BURDA} Table 1"
REFERENCE_K_EVAL = 5000
EXACT_TARGET_K = 5000
MODEL_KS = (1, 5, 50)


def read_anchors(path: str | os.PathLike) -> dict[int, tuple[float, str]]:
    """Table 1 (1 stochastic layer) L_5000 of the model trained with k samples: {k: (value, note)}."""
    frame = pd.read_csv(path)
    anchors = {}
    for k in MODEL_KS:
        rows = frame[frame["experiment"] == f"vae-density:iwae:k={k}:layers=1"]
        if len(rows) == 1:
            anchors[k] = (float(rows["value"].iloc[0]), str(rows["note"].iloc[0]))
    return anchors


def _seeds(evals: list[dict[str, Any]]) -> list[int]:
    return sorted({int(e["train_seed"]) for e in evals})


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``vae.claims`` settings."""

    confidence: float  # level of every interval
    exact_threshold: float  # (d): the gap at k=5000 is below this (nats)
    anchor_tolerance: float  # (e): |ours - Table 1| <= this (nats)


@claim
def bound_rises_with_k_eval(
    evals: list[dict[str, Any]], confidence: float, scale: str, evidence: str
) -> Claim:
    """(a) For every model, L_k rises with k_eval: paired per-image differences between neighbouring k."""
    worst: tuple[float, Interval, str] | None = None
    verdicts = []
    for e in sorted(evals, key=lambda e: (e["k_train"], e["train_seed"])):
        ks = sorted(int(k) for k in e["per_image"])
        for k_lo, k_hi in zip(ks[:-1], ks[1:]):
            diff = np.asarray(e["per_image"][str(k_hi)]) - np.asarray(e["per_image"][str(k_lo)])
            interval = t_interval(diff, confidence)
            if interval is None:
                verdicts.append(INCONCLUSIVE)
                continue
            verdicts.append(interval_verdict(interval.low, interval.high))
            where = f"k_train={e['k_train']} seed {e['train_seed']}: L_{k_lo} -> L_{k_hi}"
            if worst is None or interval.low < worst[1].low:
                worst = (interval.mean, interval, where)
    n_pairs = len(verdicts)
    metric = (
        f"increase of the mean test L_k between neighbouring k_eval, per model, {confidence:.0%} t-interval "
        f"of per-image differences; {n_pairs} (model, step) pairs"
    )
    if worst is not None:
        metric += f"; least certain: {worst[2]}"
    return Claim(
        study=STUDY,
        claim_id="a.bound_rises_with_k_eval",
        statement="For every trained model, the test bound L_k is non-decreasing in the number of "
        "importance samples k used at evaluation (L_1 <= L_5 <= ... <= L_5000 <= log p(x)).",
        metric=metric,
        ours=None if worst is None else round(worst[0], 6),
        interval=None if worst is None else worst[1].rounded(),
        criterion="every step's interval lies above 0 (reproduced); any entirely below 0 (not reproduced); "
        "inconclusive otherwise or with fewer than 2 k_eval",
        verdict=combine(verdicts) if n_pairs else INCONCLUSIVE,
        scale=scale,
        evidence=evidence,
        anchor="L_k <= L_{k+1} <= log p(x) (Burda et al. 2016, Theorem 1)",
        anchor_source=f"{BURDA}; {POST}",
        seeds=_seeds(evals),
    )


def _ordering(
    bounds: pd.DataFrame,
    pairs: Sequence[tuple[int, int]],
    k_eval: int,
    higher: bool,
    confidence: float,
    text: dict[str, Any],
) -> tuple[Claim, list[dict[str, Any]]]:
    """The claim that L_{k_eval}(model k_a) - L_{k_eval}(model k_b) is above 0 (``higher``) or below 0,
    for every pair (k_a, k_b); ours and interval are those of the pair closest to failing."""
    sign = 1 if higher else -1
    rows, verdicts, parts, reported = [], [], [], None
    for k_a, k_b in pairs:
        row, interval = paired_difference(bounds, k_a, k_b, k_eval, confidence)
        rows.append(row)
        parts.append(f"L_{k_eval}(k{k_a}) - L_{k_eval}(k{k_b}) = {describe(interval, '+.3f')}")
        if interval is None:
            verdicts.append(INCONCLUSIVE)
            continue
        signed = sorted((sign * interval.low, sign * interval.high))
        verdicts.append(interval_verdict(*signed))
        if reported is None or sign * interval.mean < sign * reported.mean:
            reported = interval
    present = set(bounds.loc[bounds["k_eval"] == k_eval, "k_train"])
    missing = sorted({k for pair in pairs for k in pair} - present)
    reasons = [f"no evaluation at k_eval={k_eval} for k_train {missing}"] if missing else []
    if k_eval != text["required_k_eval"]:
        reasons.append(f"k_eval={text['required_k_eval']} not evaluated (shown: k_eval={k_eval})")
    metric = f"paired (same seed) differences, {confidence:.0%} t-interval over seeds: " + "; ".join(parts)
    if reasons:
        metric += "; inconclusive: " + "; ".join(reasons)
    claim = Claim(
        study=STUDY,
        claim_id=text["claim_id"],
        statement=text["statement"],
        metric=metric,
        ours=None if reported is None else round(reported.mean, 6),
        interval=None if reported is None else reported.rounded(),
        criterion=text["criterion"],
        verdict=INCONCLUSIVE if reasons else combine(verdicts),
        scale=text["scale"],
        evidence=text["evidence"],
        anchor=text["anchor"],
        anchor_source=text["anchor_source"],
        seeds=text["seeds"],
    )
    return claim, rows


@claim
def exact_gap_shrinks_to_zero(
    exact: pd.DataFrame, confidence: float, threshold: float, scale: str, evidence: str
) -> Claim:
    """(d) The exact model's gap log p(x) - L_k falls at every step of k and is below ``threshold`` at k=5000."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    table = exact.sort_values("k").reset_index(drop=True)
    verdicts, steps = [], []
    for lo, hi in zip(table.index[:-1], table.index[1:]):
        drop = table.at[lo, "gap_mean"] - table.at[hi, "gap_mean"]
        half = z * math.hypot(table.at[lo, "gap_sem"], table.at[hi, "gap_sem"])
        verdicts.append(interval_verdict(drop - half, drop + half))
        steps.append(f"k {table.at[lo, 'k']}->{table.at[hi, 'k']}: {drop:.4f} +/- {half:.4f}")
    target = table[table["k"] == EXACT_TARGET_K]
    gaps = ", ".join(f"k={k}: {g:.4f}" for k, g in zip(table["k"], table["gap_mean"]))
    metric = (
        f"gap log p(x) - L_k averaged over points ({gaps}); drop per step with {confidence:.0%} interval: "
    )
    metric += "; ".join(steps) if steps else "n/a"
    ours = interval = None
    if len(target):
        gap, half = float(target["gap_mean"].iloc[0]), z * float(target["gap_sem"].iloc[0])
        ours, interval = round(gap, 6), (round(gap - half, 6), round(gap + half, 6))
        # Below the threshold: the whole interval under it; above: the whole interval over it.
        verdicts.append(interval_verdict(threshold - (gap + half), threshold - (gap - half)))
    else:
        metric += f"; inconclusive: k={EXACT_TARGET_K} not evaluated"
    return Claim(
        study=STUDY,
        claim_id="d.exact_gap_shrinks_to_zero",
        statement=f"On a linear-Gaussian latent model with closed-form log p(x), the gap log p(x) - L_k of "
        f"the same estimator shrinks monotonically with k and is below {threshold:g} nats at k={EXACT_TARGET_K}.",
        metric=metric,
        ours=ours,
        interval=interval,
        criterion=f"every drop's interval above 0 and the k={EXACT_TARGET_K} gap's interval below {threshold:g}; "
        "not reproduced if any of them is entirely on the wrong side",
        verdict=combine(verdicts) if len(target) and len(steps) else INCONCLUSIVE,
        scale=scale,
        evidence=evidence,
        anchor=threshold,
        anchor_source=f"L_k -> log p(x) as k grows ({BURDA}, Theorem 1); {POST}",
    )


@claim
def exact_elbo_gap_equals_kl(exact: pd.DataFrame, confidence: float, scale: str, evidence: str) -> Claim:
    """At k = 1 the gap is KL(q || p(z|x)), closed-form here: a check of the estimator itself."""
    row = exact[exact["k"] == 1]
    ours = interval = None
    verdict_ = INCONCLUSIVE
    anchor = float(exact["gap_k1_closed_form"].iloc[0]) if len(exact) else None
    if len(row):
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        gap, half = float(row["gap_mean"].iloc[0]), z * float(row["gap_sem"].iloc[0])
        ours, interval = round(gap, 6), (round(gap - half, 6), round(gap + half, 6))
        verdict_ = REPRODUCED if gap - half <= anchor <= gap + half else NOT_REPRODUCED
    return Claim(
        study=STUDY,
        claim_id="d.exact_elbo_gap_equals_kl",
        statement="On the linear-Gaussian model, the k=1 gap log p(x) - L_1 equals the closed-form "
        "KL(q(z|x) || p(z|x)) of the fixed proposal.",
        metric=f"gap at k=1 averaged over points, {confidence:.0%} normal interval",
        ours=ours,
        interval=interval,
        criterion="the closed-form KL lies inside the interval",
        verdict=verdict_,
        scale=scale,
        evidence=evidence,
        anchor=None if anchor is None else round(anchor, 6),
        anchor_source="closed form: d/2 (c - 1 - log c) for a proposal with the posterior covariance times c",
    )


@claim
def table1(
    summary: pd.DataFrame,
    k_train: int,
    anchors: dict[int, tuple[float, str]],
    tolerance: float,
    scale: str,
    schedule_label: str,
    evidence: str,
    seeds: list[int],
) -> Claim:
    """(e) At full scale and the reference schedule, L_5000 of the model trained with k is within tolerance."""
    row = summary[(summary["k_train"] == k_train) & (summary["k_eval"] == REFERENCE_K_EVAL)]
    anchor, note = anchors.get(k_train, (None, "missing from the anchors file"))
    reasons = []
    if scale != "full" or schedule_label != "reference":
        reasons.append(
            f"scale {scale} with the {schedule_label} schedule, not full scale with the reference one"
        )
    if row.empty:
        reasons.append(f"no k_train={k_train} model evaluated at k={REFERENCE_K_EVAL}")
    if anchor is None:
        reasons.append("no anchor")
    mean = None if row.empty else float(row["mean"].iloc[0])
    interval = None
    if not row.empty and not math.isnan(row["ci_low"].iloc[0]):
        interval = (round(float(row["ci_low"].iloc[0]), 6), round(float(row["ci_high"].iloc[0]), 6))
    metric = f"mean test L_{REFERENCE_K_EVAL} over seeds of the model trained with k={k_train}"
    if mean is not None and anchor is not None:
        metric += f"; difference to Table 1: {mean - anchor:+.3f} nats"
    if reasons:
        metric += "; inconclusive: " + "; ".join(reasons)
        verdict_ = INCONCLUSIVE
    else:
        verdict_ = REPRODUCED if abs(mean - anchor) <= tolerance else NOT_REPRODUCED
    return Claim(
        study=STUDY,
        claim_id=f"e.table1_k{k_train}",
        statement=f"Trained on MNIST with the reference protocol, the {model_name(k_train)} model "
        f"(1 stochastic layer) reaches test L_{REFERENCE_K_EVAL} within {tolerance:g} nats of "
        "Burda et al.'s Table 1 value.",
        metric=metric,
        ours=None if mean is None else round(mean, 6),
        interval=interval,
        criterion=f"|ours - anchor| <= {tolerance:g}; inconclusive unless full scale and the reference schedule",
        verdict=verdict_,
        scale=scale,
        evidence=evidence,
        anchor=anchor,
        anchor_source=f"{TABLE1_SOURCE} ({note})",
        seeds=seeds,
    )


ORDERING_PAIRS = [(50, 5), (5, 1)]  # (b): L_5000 of IWAE-50 > IWAE-5 > VAE
ELBO_PAIRS = [(50, 5), (50, 1)]  # (c): L_1 of IWAE-50 below both


def ordering_k_eval(bounds: pd.DataFrame) -> int:
    """(b) is about L_5000; without it the largest k evaluated is shown (and the verdict is inconclusive)."""
    k_evals = set(bounds["k_eval"])
    return REFERENCE_K_EVAL if REFERENCE_K_EVAL in k_evals or not k_evals else max(k_evals)


@claim
def l5000_iwae50_above_iwae5_above_vae(
    bounds: pd.DataFrame,
    anchors: dict[int, tuple[float, str]],
    confidence: float,
    scale: str,
    evidence: str,
    seeds: list[int],
) -> Claim:
    """(b) At L_5000 the IWAE-50 model beats IWAE-5, which beats the VAE; without L_5000 the largest k
    evaluated is shown, and the verdict is inconclusive."""
    return _ordering(
        bounds,
        ORDERING_PAIRS,
        ordering_k_eval(bounds),
        True,
        confidence,
        {
            "scale": scale,
            "evidence": evidence,
            "seeds": seeds,
            "required_k_eval": REFERENCE_K_EVAL,
            "claim_id": "b.l5000_iwae50_above_iwae5_above_vae",
            "statement": f"At test L_{REFERENCE_K_EVAL}, the IWAE-50 model beats IWAE-5, which beats the VAE.",
            "criterion": "both paired differences' intervals above 0 (reproduced); either entirely below 0 "
            "(not reproduced); inconclusive otherwise, with fewer than 2 common seeds or without "
            f"k_eval={REFERENCE_K_EVAL}",
            "anchor": " > ".join(f"{model_name(k)} {anchors[k][0]:g}" for k in (50, 5, 1) if k in anchors)
            + f" (L_{REFERENCE_K_EVAL}, nats)",
            "anchor_source": TABLE1_SOURCE,
        },
    )[0]


@claim
def iwae50_lowest_elbo(
    bounds: pd.DataFrame, confidence: float, scale: str, evidence: str, seeds: list[int]
) -> Claim:
    """(c) The IWAE-50 model has the lowest test ELBO (L_1) of the three."""
    return _ordering(
        bounds,
        ELBO_PAIRS,
        1,
        False,
        confidence,
        {
            "scale": scale,
            "evidence": evidence,
            "seeds": seeds,
            "required_k_eval": 1,
            "claim_id": "c.iwae50_lowest_elbo",
            "statement": "The IWAE-50 model has the lowest test ELBO (L_1) of the three models: IWAE strengthens "
            "the generator and weakens the encoder.",
            "criterion": "both paired differences' intervals below 0 (reproduced); either entirely above 0 "
            "(not reproduced); inconclusive otherwise or with fewer than 2 common seeds",
            "anchor": "the IWAE-50 model's ELBO is the worst (Su's remark)",
            "anchor_source": POST,
        },
    )[0]


def build_claims(
    evals: list[dict[str, Any]],
    exact: pd.DataFrame,
    anchors: dict[int, tuple[float, str]],
    config: ClaimsConfig,
    *,
    scale: str,
    evidence: dict[str, str],
) -> tuple[list[Claim], pd.DataFrame]:
    """The claims and the table of paired comparisons behind (b) and (c)."""
    label = runs_schedule_label(evals, scale)
    confidence = config.confidence
    bounds = bounds_table(evals)
    summary = summary_table(bounds, confidence)
    seeds = _seeds(evals)
    claims = [
        bound_rises_with_k_eval(evals, confidence, scale, evidence["bounds"]),
        l5000_iwae50_above_iwae5_above_vae(
            bounds, anchors, confidence, scale, evidence["comparisons"], seeds
        ),
        iwae50_lowest_elbo(bounds, confidence, scale, evidence["comparisons"], seeds),
        exact_gap_shrinks_to_zero(exact, confidence, config.exact_threshold, scale, evidence["exact"]),
        exact_elbo_gap_equals_kl(exact, confidence, scale, evidence["exact"]),
        *(
            table1(summary, k, anchors, config.anchor_tolerance, scale, label, evidence["summary"], seeds)
            for k in MODEL_KS
        ),
    ]
    rows = [
        paired_difference(bounds, k_a, k_b, k_eval, confidence)[0]
        for pairs, k_eval in ((ORDERING_PAIRS, ordering_k_eval(bounds)), (ELBO_PAIRS, 1))
        for k_a, k_b in pairs
    ]
    return claims, pd.DataFrame(rows, columns=COMPARISON_FIELDS)


def runs_schedule_label(evals: list[dict[str, Any]], scale: str) -> str:
    """How the claims label the runs' schedule (``schedule.schedule_label``); runs that differ are 'short'."""
    labels = {schedule_label(scale, e["schedule"], e["epochs"]) for e in evals}
    label = labels.pop() if len(labels) == 1 else ("smoke" if scale != "full" else "short")
    assert label in SCHEDULE_LABELS
    return label


def headline_metrics(evals: list[dict[str, Any]], exact: pd.DataFrame) -> dict[str, float]:
    """Flat numbers for `dvc metrics`: mean L_k per model and k_eval, active units, baseline, exact gaps."""
    bounds = bounds_table(evals)
    metrics: dict[str, float] = {}
    for (k_train, k_eval), group in bounds.groupby(["k_train", "k_eval"], sort=True):
        metrics[f"k{k_train}_L{k_eval}"] = round(float(group["mean"].mean()), 4)
    for k_train, group in active_units_table(evals).groupby("k_train", sort=True):
        metrics[f"k{k_train}_active_units"] = round(float(group["active_units"].mean()), 4)
    if evals:
        metrics["pixel_marginal_loglik"] = round(
            float(np.mean([e["pixel_marginal"]["mean"] for e in evals])), 4
        )
    for k, gap in zip(exact["k"], exact["gap_mean"]):
        metrics[f"exact_gap_k{k}"] = round(float(gap), 6)
    return metrics


def write_outputs(
    evals_paths: Sequence[str], curves: Sequence[str], exact_path: str, anchors_path: str,
    config: ClaimsConfig, scale: str, tables: Path, plots_dir: Path, claims_out: str, metrics_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: tables, plots, claims.json and metrics.json."""
    evals = read_evals(evals_paths)
    exact_table = pd.read_csv(exact_path)
    evidence = {
        "bounds": str(tables / "bounds.csv"),
        "summary": str(tables / "bounds_summary.csv"),
        "comparisons": str(tables / "comparisons.csv"),
        "exact": str(exact_path),
    }
    ledger, comparisons = build_claims(
        evals, exact_table, read_anchors(anchors_path), config, scale=scale, evidence=evidence
    )
    bounds = bounds_table(evals)
    write_csv(evidence["bounds"], bounds, float_format=FLOAT_FORMAT)
    write_csv(evidence["summary"], summary_table(bounds, config.confidence), float_format=FLOAT_FORMAT)
    write_csv(evidence["comparisons"], comparisons, float_format=FLOAT_FORMAT)
    write_csv(tables / "active_units.csv", active_units_table(evals), float_format=FLOAT_FORMAT)
    plots.plot_bounds(bounds, config.confidence, plots_dir / "bound_vs_k.png")
    plots.plot_curves(curves, plots_dir / "training_curves.png")
    plots.plot_exact(exact_table, config.confidence, plots_dir / "exact_gap.png")
    write_claims(claims_out, ledger)
    write_json(metrics_out, headline_metrics(evals, exact_table))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.evals, args.curves, args.exact, args.anchors, build(ClaimsConfig, args.settings, "vae.claims"),
        args.scale, Path(args.tables_dir), Path(args.plots_dir), args.claims_out, args.metrics_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.vae.claims", __doc__, "vae.claims")
    parser.add_argument("--evals", nargs="+", required=True, help="evaluation records (.json)")
    parser.add_argument("--curves", nargs="*", default=[], help="training curve CSVs for the plot")
    parser.add_argument("--exact", required=True, help="the exact check's gap table (.csv)")
    parser.add_argument("--anchors", required=True, help="CSV with Burda et al. Table 1 rows")
    parser.add_argument("--tables-dir", required=True)
    parser.add_argument("--plots-dir", required=True)
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
