"""Tables, plots, claims and headline metrics of study 8757 from the train and probe records.

Intervals across seeds are t-intervals (of paired same-seed differences where two methods are compared);
a claim whose inputs are missing, or that has fewer than two seeds, is inconclusive. Claims (a)-(e) come from
the smoke experiments, which every scale runs, and are stated at scale smoke.
- a: ||grad D^|| <= 1 and |D^| <= 1 for every GN critic at every probed point.
- b: per dataset, D^ of GN is only piecewise 1-Lipschitz (Su's objection 1).
- c: on the ring, Su's variant misses the modes GN covers (Su's objection 2).
- d: per dataset and baseline (gp, ns), a GN step costs more wall time (Su's objection 3).
- e: per dataset, GN's samples are worse than WGAN-GP's (Su's objection 3).
- f (full scale only, ``cifar_claims``): GN-GAN's CIFAR-10 FID and IS against the authors' numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    Claim,
    claim,
    combine,
    interval_verdict,
    verdict,
    write_claims,
)
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.common.stats import claim_interval, describe, t_interval
from kexue_repro.gan.cifar_claims import full_scale_claims
from kexue_repro.gan.plan import DATASETS
from kexue_repro.gan.plots import plot_discontinuity, plot_runs

STUDY = "gan"
POST = "https://kexue.fm/archives/8757"
SMOKE = "smoke"  # the scale claims (a)-(e) are stated at, whatever the run's scale
BASELINES = ("gp", "ns")  # claim (d): GN's cost against these
RUN_FIELDS = [
    "dataset", "method", "seed", "steps", "modes_covered", "high_quality_share", "energy_distance",
    "frechet_distance", "seconds_per_step", "peak_rss_growth_mib", "saved_for_backward_mib",
]  # fmt: skip
QUALITY = {"ring": ("energy_distance", "modes_covered", "high_quality_share"), "mnist": ("frechet_distance",)}
FLOAT_FORMAT = "%.8g"


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``gan.claims`` settings."""

    confidence: float  # level of every interval
    tolerance: float  # (a): the bound 1 holds up to this
    mode_success: int  # (c): covering >= this many modes succeeds
    fid_tolerance: float  # (f), full scale: the FID band around the anchor
    is_tolerance: float  # (f), full scale: the IS band around the anchor


def read_json_records(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    return records


def _by_run(paths: Sequence[str | os.PathLike]) -> dict[tuple, tuple[str, dict[str, Any]]]:
    """Records by (dataset, method, seed); a file holds one record, or a list of them."""
    found: dict[tuple, tuple[str, dict[str, Any]]] = {}
    for path, content in zip(paths, read_json_records(paths)):
        for record in content if isinstance(content, list) else [content]:
            key = (record["dataset"], record["method"], record["seed"])
            if key in found:
                raise ValueError(f"{path} and {found[key][0]} both hold dataset/method/seed {key}")
            found[key] = (str(path), record)
    return found


def read_runs(
    run_paths: Sequence[str | os.PathLike], sample_paths: Sequence[str | os.PathLike]
) -> list[dict]:
    """Each run's record (the train step's: cost) with its samples' quality (the samples step's) merged in."""
    runs, samples = _by_run(run_paths), _by_run(sample_paths)
    if set(runs) != set(samples):
        missing = sorted(set(runs) ^ set(samples))[0]
        raise ValueError(f"dataset/method/seed {missing} has a run record or a samples record, not both")
    return [record | samples[key][1] for key, (_, record) in runs.items()]


def runs_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([{f: run.get(f, math.nan) for f in RUN_FIELDS} for run in runs], columns=RUN_FIELDS)
    return frame.sort_values(["dataset", "method", "seed"], kind="mergesort").reset_index(drop=True)


def summary_table(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    rows = []
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=True):
        for metric in (*QUALITY[dataset], "seconds_per_step", "saved_for_backward_mib"):
            interval = t_interval(group[metric].dropna(), confidence)
            rows.append(
                {"dataset": dataset, "method": method, "metric": metric, "n_seeds": len(group)}
                | {"mean": group[metric].mean(), "ci_low": interval[1] if interval else math.nan}
                | {"ci_high": interval[2] if interval else math.nan}
            )
    return pd.DataFrame(rows)


def paired(runs: pd.DataFrame, dataset: str, metric: str, method_a: str, method_b: str) -> pd.DataFrame:
    """Per seed both have: the metric of method_a and of method_b."""
    sub = runs[runs["dataset"] == dataset]
    a = sub[sub["method"] == method_a].set_index("seed")[metric]
    b = sub[sub["method"] == method_b].set_index("seed")[metric]
    return pd.concat({"a": a, "b": b}, axis=1, join="inner").dropna().sort_index()


def cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean time and autograd-saved memory per step, and GN's per-seed ratio to each baseline."""
    rows = []
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=True):
        row = {"dataset": dataset, "method": method, "n_seeds": len(group)}
        row |= {"seconds_per_step": group["seconds_per_step"].mean()}
        row |= {"saved_for_backward_mib": group["saved_for_backward_mib"].mean()}
        row |= {"peak_rss_growth_mib": group["peak_rss_growth_mib"].mean()}
        pairs = paired(runs, dataset, "seconds_per_step", "gn", method)
        row["gn_time_ratio"] = (
            float(np.exp(np.log(pairs["a"] / pairs["b"]).mean())) if len(pairs) else math.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def probe_tables(probes: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    points, jumps = [], []
    for record in probes:
        for row in record["rows"]:
            key = {"dataset": row["dataset"], "method": row["method"], "seed": row["seed"]}
            for name, stats_ in row["points"].items():
                points.append(
                    key
                    | {"points": name}
                    | {f"grad_norm_{k}": v for k, v in stats_["grad_norm"].items()}
                    | {f"abs_value_{k}": v for k, v in stats_["abs_value"].items()}
                )
            jumps.extend(key | jump for jump in row["discontinuity"])
    return pd.DataFrame(points), pd.DataFrame(jumps)


@claim
def gn_gradient_and_value_bounded(points: pd.DataFrame, tolerance: float, scale: str, evidence: str) -> Claim:
    gn = points[points["method"] == "gn"] if len(points) else points
    worst = float(max(gn["grad_norm_max"].max(), gn["abs_value_max"].max())) if len(gn) else None
    return Claim(
        study=STUDY,
        claim_id="a.gn_gradient_and_value_bounded",
        statement="The gradient-normalized critic D^ = D/(||grad D|| + |D|) has ||grad_x D^|| <= 1 and |D^| <= 1 "
        "at every probed real, generated and interpolated point.",
        metric=f"max over GN critics, point sets and points of ||grad D^|| and |D^| ({len(gn)} probe sets)",
        ours=None if worst is None else round(worst, 9),
        criterion=f"max <= 1 + {tolerance:g} (reproduced); above (not reproduced); no GN probe (inconclusive)",
        verdict=verdict(None if worst is None else worst <= 1 + tolerance),
        scale=scale,
        evidence=evidence,
        anchor="||grad D^|| = ||g||^2/(||g||+|D|)^2 <= 1 inside every linear region",
        anchor_source=f"GN-GAN (arXiv 2109.02235); {POST}",
        seeds=sorted(int(s) for s in gn["seed"].unique()) if len(gn) else (),
    )


@claim
def gn_not_globally_lipschitz(
    jumps: pd.DataFrame, dataset: str, confidence: float, scale: str, evidence: str
) -> Claim:
    """Per seed: share(s_max) - share(s_min) > 0 and log10 worst(s_min) - log10 worst(s_max) > 0."""
    gn = jumps[(jumps["method"] == "gn") & (jumps["dataset"] == dataset)] if len(jumps) else jumps
    share_drop, growth, any_violation = [], [], False
    for _, group in gn.groupby("seed", sort=True) if len(gn) else []:
        group = group.sort_values("scale")
        small, large = group.iloc[0], group.iloc[-1]
        share_drop.append(large["share_above_1"] - small["share_above_1"])
        growth.append(math.log10(small["worst_ratio"] / max(large["worst_ratio"], 1e-300)))
        any_violation |= bool((group["share_above_1"] > 0).any())
    drop_i, growth_i = t_interval(share_drop, confidence), t_interval(growth, confidence)
    parts = [
        verdict(any_violation) if len(gn) else INCONCLUSIVE,
        interval_verdict(drop_i[1], drop_i[2]) if drop_i else INCONCLUSIVE,
        interval_verdict(growth_i[1], growth_i[2]) if growth_i else INCONCLUSIVE,
    ]
    return Claim(
        study=STUDY,
        claim_id=f"b.gn_not_globally_lipschitz.{dataset}",
        statement=f"({dataset}) D^ of GN is only piecewise 1-Lipschitz: for y = x + s u the share of pairs with "
        "|D^(x)-D^(y)| > ||x-y|| falls as s shrinks while the worst ratio grows (Su's objection 1).",
        metric=f"per seed, log10 worst ratio at the smallest s minus at the largest s, {confidence:.0%} "
        f"t-interval: {describe(growth_i)}; share(largest s) - share(smallest s): {describe(drop_i)}; "
        f"violations seen: {any_violation}",
        ours=None if growth_i is None else round(growth_i[0], 6),
        interval=claim_interval(growth_i),
        criterion="violations exist, and both intervals lie above 0 (reproduced); any part contradicted "
        "(not reproduced); otherwise inconclusive",
        verdict=combine(parts),
        scale=scale,
        evidence=evidence,
        anchor="share ~ s, worst ratio ~ 1/s",
        anchor_source=POST,
        seeds=sorted(int(s) for s in gn["seed"].unique()) if len(gn) else (),
    )


@claim
def su_variant_misses_modes(
    runs: pd.DataFrame, mode_success: int, confidence: float, scale: str, evidence: str
) -> Claim:
    pairs = paired(runs, "ring", "modes_covered", "gn", "su")
    diff_i = t_interval(pairs["a"] - pairs["b"], confidence)
    parts = [INCONCLUSIVE] if pairs.empty else []
    if not pairs.empty:
        parts = [
            verdict(bool(pairs["a"].mean() >= mode_success)),
            verdict(bool(pairs["b"].mean() < mode_success)),
            interval_verdict(diff_i[1], diff_i[2]) if diff_i else INCONCLUSIVE,
        ]
    return Claim(
        study=STUDY,
        claim_id="c.su_variant_misses_modes",
        statement="On the ring of Gaussians Su's variant D^ = <grad D/||grad D||, x> fails to cover the modes "
        "while GN covers them (Su's objection 2).",
        metric=f"modes covered, mean over seeds: GN {pairs['a'].mean():.3g}, Su {pairs['b'].mean():.3g}; "
        f"paired GN - Su {confidence:.0%} t-interval {describe(diff_i)}",
        ours=None if pairs.empty else round(float(pairs["b"].mean()), 6),
        interval=claim_interval(diff_i),
        criterion=f"GN mean >= {mode_success}, Su mean < {mode_success} and the paired interval above 0 "
        "(reproduced); any part contradicted (not reproduced); otherwise inconclusive",
        verdict=combine(parts),
        scale=scale,
        evidence=evidence,
        anchor="0 of 8 modes for Su's variant (toy scale)",
        anchor_source=POST,
        seeds=sorted(int(s) for s in pairs.index),
    )


@claim
def gn_costs_more_than(
    runs: pd.DataFrame, dataset: str, baseline: str, confidence: float, scale: str, evidence: str
) -> Claim:
    pairs = paired(runs, dataset, "seconds_per_step", "gn", baseline)
    log_ratio = np.log(pairs["a"] / pairs["b"])
    interval = t_interval(log_ratio, confidence)
    ratio = None if interval is None else tuple(math.exp(v) for v in interval)
    return Claim(
        study=STUDY,
        claim_id=f"d.gn_costs_more_than_{baseline}.{dataset}",
        statement=f"({dataset}) A GN training step costs more wall time than a {baseline} step "
        "(second-order gradients in both the D and the G step; Su's objection 3).",
        metric=f"time per step GN / {baseline}, geometric mean over paired seeds with {confidence:.0%} "
        "t-interval of the log ratio (1 thread, CPU)",
        ours=None if ratio is None else round(ratio[0], 6),
        interval=None if ratio is None else (round(ratio[1], 6), round(ratio[2], 6)),
        criterion="interval above 1 (reproduced); below 1 (not reproduced); covers 1 or < 2 seeds (inconclusive)",
        verdict=INCONCLUSIVE if interval is None else interval_verdict(interval[1], interval[2]),
        scale=scale,
        evidence=evidence,
        anchor="GN costs more (double backprop in both steps)",
        anchor_source=POST,
        seeds=sorted(int(s) for s in pairs.index),
    )


@claim
def gn_worse_than_gp(
    runs: pd.DataFrame, dataset: str, anchors: pd.DataFrame, confidence: float, scale: str, evidence: str
) -> Claim:
    metric = QUALITY[dataset][0]
    pairs = paired(runs, dataset, metric, "gn", "gp")
    interval = t_interval(pairs["a"] - pairs["b"], confidence)
    published = anchors[(anchors["metric"] == "fid") & anchors["model"].isin(["GN", "WGAN-GP CNN"])]
    anchor_text = "; ".join(f"{r.model} {r.task} FID {r.value}" for r in published.itertuples())
    return Claim(
        study=STUDY,
        claim_id=f"e.gn_worse_than_gp.{dataset}",
        statement=f"({dataset}) GN gives worse samples than WGAN-GP (Su's objection 3; the GN paper reports "
        "the opposite on CIFAR-10).",
        metric=f"{metric} (lower is better), GN - GP per paired seed, {confidence:.0%} t-interval",
        ours=None if interval is None else round(interval[0], 6),
        interval=claim_interval(interval),
        criterion="interval above 0 (reproduced: GN worse); below 0 (not reproduced: GN better); "
        "covers 0 or < 2 seeds (inconclusive)",
        verdict=INCONCLUSIVE if interval is None else interval_verdict(interval[1], interval[2]),
        scale=scale,
        evidence=evidence,
        anchor=anchor_text or None,
        anchor_source="; ".join(sorted(set(published["source"]))) or None,
        seeds=sorted(int(s) for s in pairs.index),
    )


def headline_metrics(
    runs: pd.DataFrame, points: pd.DataFrame, classifier: dict[str, Any]
) -> dict[str, float]:
    metrics: dict[str, float] = {"classifier_test_accuracy": round(float(classifier["test_accuracy"]), 6)}
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=True):
        for name in (*QUALITY[dataset], "seconds_per_step"):
            value = float(group[name].mean())
            if math.isfinite(value):  # a metric no run measured is left out, never written as NaN
                metrics[f"{dataset}_{method}_{name}"] = round(value, 6)
    if len(points):
        for method, group in points.groupby("method", sort=True):
            metrics[f"{method}_max_grad_norm"] = round(float(group["grad_norm_max"].max()), 6)
    return metrics


def write_outputs(
    run_paths: Sequence[str], sample_paths: Sequence[str], probe_paths: Sequence[str], classifier_path: str,
    anchors_path: str,
    config: ClaimsConfig, tables: Path, plots: Path, claims_out: str, metrics_out: str,
    cifar_runs: Sequence[str] = (), cifar_curve_csv: str | None = None, cifar_curve_png: str | None = None,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: tables, plots, claims.json and metrics.json; with ``cifar_runs`` (full
    scale) also claims (f) and their FID-at-step table and plot."""
    if cifar_runs and not (cifar_curve_csv and cifar_curve_png):
        raise ValueError("--cifar-runs needs --cifar-curve-csv and --cifar-curve-png")
    records = read_runs(run_paths, sample_paths)
    runs = runs_table(records)
    points, jumps = probe_tables(read_json_records(probe_paths))
    with open(classifier_path, encoding="utf-8") as fh:
        classifier = json.load(fh)
    anchors = pd.read_csv(anchors_path)
    files = {name: tables / f"{name}.csv" for name in ("runs", "summary", "cost", "probes", "discontinuity")}
    write_csv(files["runs"], runs, FLOAT_FORMAT)
    write_csv(files["summary"], summary_table(runs, config.confidence), FLOAT_FORMAT)
    write_csv(files["cost"], cost_table(runs), FLOAT_FORMAT)
    write_csv(files["probes"], points, FLOAT_FORMAT)
    write_csv(files["discontinuity"], jumps, FLOAT_FORMAT)
    for dataset in DATASETS:
        chosen = sorted(
            (r for r in records if r["dataset"] == dataset), key=lambda r: (r["method"], r["seed"])
        )
        if chosen:
            plot_runs(chosen, plots / f"{dataset}_samples.png")
    plot_discontinuity(jumps, plots / "discontinuity.png")
    c, s = config.confidence, SMOKE
    ledger = [gn_gradient_and_value_bounded(points, config.tolerance, s, str(files["probes"]))]
    ledger += [gn_not_globally_lipschitz(jumps, d, c, s, str(files["discontinuity"])) for d in DATASETS]
    ledger.append(su_variant_misses_modes(runs, config.mode_success, c, s, str(files["runs"])))
    ledger += [gn_costs_more_than(runs, d, b, c, s, str(files["cost"])) for d in DATASETS for b in BASELINES]
    ledger += [gn_worse_than_gp(runs, d, anchors, c, s, str(files["runs"])) for d in DATASETS]
    headline = headline_metrics(runs, points, classifier)
    if cifar_runs:
        tolerances = {"fid": config.fid_tolerance, "inception_score": config.is_tolerance}
        ledger += full_scale_claims(
            read_json_records(cifar_runs), anchors, c, tolerances, cifar_curve_csv, cifar_curve_png, headline
        )
    write_claims(claims_out, ledger)
    write_json(metrics_out, headline)
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.runs, args.samples, args.probes, args.classifier_metrics, args.anchors, build(ClaimsConfig, args.settings, "gan.claims"),
        Path(args.tables_dir), Path(args.plots_dir), args.claims_out, args.metrics_out, args.cifar_runs,
        args.cifar_curve_csv, args.cifar_curve_png,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.gan.claims", __doc__, "gan.claims")
    parser.add_argument("--runs", nargs="+", required=True, help="the train step's run records (.json)")
    parser.add_argument("--samples", nargs="+", required=True, help="the samples step's records (.json)")
    parser.add_argument("--probes", nargs="+", required=True, help="the probe step's records (.json)")
    parser.add_argument("--classifier-metrics", required=True, help="the classifier's test accuracy (.json)")
    parser.add_argument("--anchors", required=True, help="data/anchors/gan.csv")
    parser.add_argument("--tables-dir", required=True)
    parser.add_argument("--plots-dir", required=True)
    parser.add_argument(
        "--cifar-runs", nargs="*", default=[], help="the cifar_train step's records (full scale)"
    )
    parser.add_argument("--cifar-curve-csv", help="the FID-at-step table (with --cifar-runs)")
    parser.add_argument("--cifar-curve-png", help="the FID-at-step plot (with --cifar-runs)")
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
