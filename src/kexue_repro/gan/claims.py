"""Tables, plots, claims (a)-(e) and headline metrics of study 8757 from the train and probe records.

Intervals across seeds are t-intervals (of paired same-seed differences where two methods are compared);
a claim whose inputs are missing, or that has fewer than two seeds, is inconclusive.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    Claim,
    combine,
    interval_verdict,
    verdict,
    write_claims,
)
from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.common.stats import claim_interval, describe, t_interval
from kexue_repro.gan.plots import plot_runs

STUDY = "gan"
POST = "https://kexue.fm/archives/8757"
RUN_FIELDS = [
    "dataset", "method", "seed", "steps", "modes_covered", "high_quality_share", "energy_distance",
    "frechet_distance", "seconds_per_step", "peak_rss_growth_mib", "saved_for_backward_mib",
]  # fmt: skip
QUALITY = {"ring": ("energy_distance", "modes_covered", "high_quality_share"), "mnist": ("frechet_distance",)}
FLOAT_FORMAT = "%.8g"


def read_json_records(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    return records


def read_runs(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    runs, seen = read_json_records(paths), {}
    for path, run in zip(paths, runs):
        key = (run["dataset"], run["method"], run["seed"])
        if key in seen:
            raise ValueError(f"{path} and {seen[key]} both hold dataset/method/seed {key}")
        seen[key] = path
    return runs


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


def claim_gn_bounded(points: pd.DataFrame, tolerance: float, scale: str, evidence: str) -> Claim:
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


def claim_discontinuity(
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


def claim_su_modes(
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


def claim_cost(
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


def claim_quality(
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


def plot_discontinuity(jumps: pd.DataFrame, path: str | os.PathLike) -> None:
    """Share of pairs above ratio 1 and worst ratio against s, per dataset and method (mean over seeds)."""
    datasets = sorted(jumps["dataset"].unique()) if len(jumps) else []
    fig, axes = figure(
        max(len(datasets), 1),
        2,
        figsize=(9, 3.6 * max(len(datasets), 1)),
        squeeze=False,
        layout="constrained",
    )
    for row, dataset in zip(axes, datasets):
        sub = jumps[jumps["dataset"] == dataset]
        for method, group in sub.groupby("method", sort=True):
            mean = group.groupby("scale")[["share_above_1", "worst_ratio"]].mean()
            row[0].plot(mean.index, mean["share_above_1"], marker="o", label=method)
            row[1].plot(mean.index, mean["worst_ratio"], marker="o", label=method)
        row[0].set(xscale="log", title=f"{dataset}: share |dD^| > |dx|", xlabel="s")
        row[1].set(xscale="log", yscale="log", title=f"{dataset}: worst |dD^|/|dx|", xlabel="s")
        row[1].legend()
    save_figure(fig, path)


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


def full_scale(args: argparse.Namespace, anchors: pd.DataFrame, headline: dict[str, float]) -> list[Claim]:
    """Claim (f) from the CIFAR-10 runs, their FID-at-step table and plot; adds their means to ``headline``."""
    from kexue_repro.gan import cifar_claims

    if not (args.cifar_curve_csv and args.cifar_curve_png and args.fid_tolerance and args.is_tolerance):
        raise ValueError(
            "--cifar-runs needs --cifar-curve-csv, --cifar-curve-png, --fid-tolerance, --is-tolerance"
        )
    records = read_json_records(args.cifar_runs)
    curve = cifar_claims.curve_table(records)
    write_csv(args.cifar_curve_csv, curve, FLOAT_FORMAT)
    cifar_claims.plot_curve(curve, args.cifar_curve_png)
    per_seed = cifar_claims.official_protocol(curve)
    for column in ("fid", "inception_score", "fid_ema_last", "is_ema_last"):
        headline[f"cifar10_gn_{column}"] = round(float(per_seed[column].mean()), 6)
    return [
        cifar_claims.claim_full_scale(
            records, anchors, metric, tolerance, args.confidence, args.cifar_curve_csv
        )
        for metric, tolerance in (("fid", args.fid_tolerance), ("inception_score", args.is_tolerance))
    ]


def run(args: argparse.Namespace) -> None:
    records = read_runs(args.runs)
    runs = runs_table(records)
    points, jumps = probe_tables(read_json_records(args.probes))
    with open(args.classifier_metrics, encoding="utf-8") as fh:
        classifier = json.load(fh)
    anchors = pd.read_csv(args.anchors)
    tables, plots = Path(args.tables_dir), Path(args.plots_dir)
    files = {name: tables / f"{name}.csv" for name in ("runs", "summary", "cost", "probes", "discontinuity")}
    write_csv(files["runs"], runs, FLOAT_FORMAT)
    write_csv(files["summary"], summary_table(runs, args.confidence), FLOAT_FORMAT)
    write_csv(files["cost"], cost_table(runs), FLOAT_FORMAT)
    write_csv(files["probes"], points, FLOAT_FORMAT)
    write_csv(files["discontinuity"], jumps, FLOAT_FORMAT)
    for dataset in ("ring", "mnist"):
        chosen = sorted(
            (r for r in records if r["dataset"] == dataset), key=lambda r: (r["method"], r["seed"])
        )
        if chosen:
            plot_runs(chosen, plots / f"{dataset}_samples.png")
    plot_discontinuity(jumps, plots / "discontinuity.png")
    c, s = args.confidence, args.scale
    ledger = [claim_gn_bounded(points, args.tolerance, s, str(files["probes"]))]
    ledger += [claim_discontinuity(jumps, d, c, s, str(files["discontinuity"])) for d in ("ring", "mnist")]
    ledger.append(claim_su_modes(runs, args.mode_success, c, s, str(files["runs"])))
    ledger += [
        claim_cost(runs, d, b, c, s, str(files["cost"])) for d in ("ring", "mnist") for b in ("gp", "ns")
    ]
    ledger += [claim_quality(runs, d, anchors, c, s, str(files["runs"])) for d in ("ring", "mnist")]
    headline = headline_metrics(runs, points, classifier)
    if args.cifar_runs:
        ledger += full_scale(args, anchors, headline)
    write_claims(args.claims_out, ledger)
    write_json(args.metrics_out, headline)
    for claim in ledger:
        print(f"{claim.claim_id}: {claim.verdict} (ours {claim.ours}, interval {claim.interval})")
