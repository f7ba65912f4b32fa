"""Claims (a)-(e) and headline metrics of study 8728 (CAN) from the apply and sweep records; the step that
writes them with the tables and plots.

Accuracies and gains are in percent (the anchors' unit). Intervals are t-intervals over seeds of paired
per-seed differences (after - before on the same predictions); fewer than two seeds give no interval and an
inconclusive verdict.
- a (``gain``): per task and variant, CAN with the claims setting (the post's defaults) improves dev accuracy.
- b (``tuned_gain``): per task and variant, CAN tuned on one half of dev improves accuracy on the other half.
- c (``gain_grows_with_classes``): the gain grows with the number of classes: Kendall's tau-b of per-task mean
  gain against C, one-sided tests at 1 - confidence; fewer than 3 tasks (or one value of C) cannot decide.
- d (``subset_accuracy``): per task, the baseline variant's confident predictions are more accurate than its
  unconfident ones; at full scale, on IFLYTEK and TNEWS, also within subset_tolerance points of the post's
  63/22 and 58/23.
- e (``su_gain``, full scale only): Su's IFLYTEK and TNEWS gains (BERT-base or RoBERTa rows of the anchors)
  lie within our seed interval of the baseline variant's gain, widened by anchor_tolerance points.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd
from scipy import stats

from kexue_repro.can import plots
from kexue_repro.can.tables import FLOAT_FORMAT, gain_intervals, read_json, runs_table, sweep_table
from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    claim,
    combine,
    interval_verdict,
    verdict,
    write_claims,
)
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.common.stats import Interval, claim_interval, describe, t_interval
from kexue_repro.data.clue import split_task

STUDY = "can"
POST = "https://kexue.fm/archives/8728"
SU_TASKS = ("iflytek", "tnews")


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``can.claims`` settings."""

    setting: str  # the name of the apply setting the claims judge (the post's)
    baseline_variant: str  # the fine-tuning variant compared with the post's numbers
    anchor_model: str  # the anchors' model row at full scale (BERT-base | RoBERTa-wwm-ext)
    confidence: float  # level of every interval
    subset_tolerance: float  # (d): points from the post's subset accuracies
    anchor_tolerance: float  # (e): points around our interval of the gain


def _gain_claims(
    gains: pd.DataFrame, confidence: float, scale: str, evidence: str, tuned: bool
) -> list[Claim]:
    """(a) or (b), one claim per row of a gain_intervals table."""
    what = "tuned on one half of dev, reported on the other half" if tuned else "with the post's defaults"
    ledger = []
    for row in gains.itertuples():
        has = not math.isnan(row.low)
        ledger.append(
            Claim(
                study=STUDY,
                claim_id=f"{'b.tuned_gain' if tuned else 'a.gain'}.{row.task}.{row.variant}",
                statement=f"({row.task}, {row.variant}) CAN {what} raises dev accuracy.",
                metric=f"accuracy after - before (points) per seed, {confidence:.0%} t-interval: "
                f"{describe(row_interval(row))}",
                ours=round(float(row.gain), 6),
                interval=(round(row.low, 6), round(row.high, 6)) if has else None,
                criterion="interval above 0 (reproduced); below 0 (not reproduced); covers 0 or < 2 seeds "
                "(inconclusive)",
                verdict=interval_verdict(row.low, row.high) if has else INCONCLUSIVE,
                scale=scale,
                evidence=evidence,
                anchor="IFLYTEK +0.46/+0.31, TNEWS +0.06/-0.06 (BERT/RoBERTa); larger with more classes",
                anchor_source=POST,
                seeds=[int(s) for s in row.seeds.split()],
            )
        )
    return ledger


@claim
def gain(gains: pd.DataFrame, confidence: float, scale: str, evidence: str) -> list[Claim]:
    """(a) ``a.gain.<task>.<variant>``: CAN with the claims setting raises dev accuracy (gains: all of dev)."""
    return _gain_claims(gains, confidence, scale, evidence, tuned=False)


@claim
def tuned_gain(gains: pd.DataFrame, confidence: float, scale: str, evidence: str) -> list[Claim]:
    """(b) ``b.tuned_gain.<task>.<variant>``: CAN tuned on one half of dev raises accuracy on the other half
    (gains: the report halves)."""
    return _gain_claims(gains, confidence, scale, evidence, tuned=True)


def row_interval(row) -> Interval | None:
    return None if math.isnan(row.low) else Interval(float(row.gain), float(row.low), float(row.high))


def class_trend(
    gains: pd.DataFrame, confidence: float
) -> tuple[pd.DataFrame, float | None, float | None, str]:
    """Per task mean gain over variants and seeds; Kendall tau-b against C with its verdict."""
    per_task = gains.groupby(["task", "num_classes"], as_index=False)["gain"].mean()
    if len(per_task) < 3 or per_task["num_classes"].nunique() < 2:
        return per_task, None, None, INCONCLUSIVE
    tau = stats.kendalltau(per_task["num_classes"], per_task["gain"])
    greater = stats.kendalltau(per_task["num_classes"], per_task["gain"], alternative="greater").pvalue
    less = stats.kendalltau(per_task["num_classes"], per_task["gain"], alternative="less").pvalue
    level = 1 - confidence
    result = REPRODUCED if greater < level else NOT_REPRODUCED if less < level else INCONCLUSIVE
    return per_task, float(tau.statistic), float(greater), result


@claim
def gain_grows_with_classes(gains: pd.DataFrame, confidence: float, scale: str, evidence: str) -> Claim:
    """(c) ``c.gain_grows_with_classes``: the per-task mean gain rises with the number of classes."""
    per_task, tau, p_value, result = class_trend(gains, confidence)
    listing = ", ".join(f"{r.task} (C={r.num_classes}) {r.gain:+.3g}" for r in per_task.itertuples())
    if tau is None:
        why = (
            f"only {len(per_task)} task(s) with {per_task['num_classes'].nunique()} value(s) of C; a trend "
            "needs at least 3 tasks and 2 values of C"
        )
        if scale == "smoke":
            why += " (smoke runs the single 2-class sentiment task)"
        metric = f"mean gain (points) per task: {listing or 'none'}; {why}"
    else:
        metric = f"Kendall tau-b {tau:.3f} (one-sided p {p_value:.3g}) of mean gain vs C over: {listing}"
    return Claim(
        study=STUDY,
        claim_id="c.gain_grows_with_classes",
        statement="CAN's gain is larger on tasks with more classes.",
        metric=metric,
        ours=None if tau is None else round(tau, 6),
        interval=None,
        criterion=f"Kendall tau-b > 0 with one-sided p < {1 - confidence:.2g} (reproduced); < 0 with one-sided "
        "p below it (not reproduced); otherwise, or < 3 tasks, inconclusive",
        verdict=result,
        scale=scale,
        evidence=evidence,
        anchor="gain larger with more classes (IFLYTEK, 119 classes, more than TNEWS, 15)",
        anchor_source=POST,
        seeds=sorted({int(s) for seeds in gains["seeds"] for s in seeds.split()}),
    )


def subset_anchor(anchors: pd.DataFrame, task: str, metric: str, model: str) -> float | None:
    rows = anchors[
        (anchors["experiment"] == "can:subset")
        & (anchors["task"].str.lower() == task)
        & (anchors["metric"] == metric)
        & (anchors["model"] == model)
    ]
    return float(rows["value"].iloc[0]) if len(rows) else None


@claim
def subset_accuracy(
    runs: pd.DataFrame,
    anchors: pd.DataFrame,
    *,
    setting: str,
    baseline_variant: str,
    anchor_model: str,
    confidence: float,
    subset_tolerance: float,
    scale: str,
    evidence: str,
) -> list[Claim]:
    """(d) ``d.subset_accuracy.<task>``: the baseline variant's confident predictions (under ``setting``) are
    more accurate than its unconfident ones; at full scale also near the post's values."""
    ledger = []
    chosen = runs[(runs["setting"] == setting) & (runs["variant"] == baseline_variant)]
    for task, group in chosen.groupby("task", sort=True):
        both = group.dropna(subset=["accuracy_confident", "accuracy_unconfident"])
        interval = t_interval(both["accuracy_confident"] - both["accuracy_unconfident"], confidence)
        parts = [interval_verdict(interval.low, interval.high) if interval else INCONCLUSIVE]
        mean_conf, mean_unconf = group["accuracy_confident"].mean(), group["accuracy_unconfident"].mean()
        name, model = split_task(task, anchor_model)
        published = {m: subset_anchor(anchors, name, m, model) for m in ("acc_confident", "acc_unconfident")}
        anchor_text = "confident 63 / unconfident 22 (IFLYTEK), 58 / 23 (TNEWS), BERT-base"
        if scale == "full" and name in SU_TASKS and None not in published.values():
            for ours, value in (
                (mean_conf, published["acc_confident"]),
                (mean_unconf, published["acc_unconfident"]),
            ):
                parts.append(
                    verdict(None if math.isnan(ours) else bool(abs(ours - value) <= subset_tolerance))
                )
            anchor_text = (
                f"confident {published['acc_confident']:g} / unconfident {published['acc_unconfident']:g}"
            )
            criterion = (
                f"confident - unconfident interval above 0, and each mean within {subset_tolerance:g} points "
                f"of the post's {model} value (reproduced); any part contradicted (not reproduced); "
                "otherwise inconclusive"
            )
        else:
            criterion = (
                "confident - unconfident interval above 0 (reproduced); below 0 (not reproduced); covers 0 or "
                "< 2 seeds with both subsets non-empty (inconclusive); the post's values are compared at full "
                "scale only (IFLYTEK, TNEWS)"
            )
        ledger.append(
            Claim(
                study=STUDY,
                claim_id=f"d.subset_accuracy.{task}",
                statement=f"({task}) Predictions with top-{int(group['k_used'].iloc[0])} uncertainty below "
                f"tau={group['tau'].iloc[0]:g} are far more accurate than the rest ({baseline_variant}).",
                metric=f"accuracy (%) mean over seeds: confident {mean_conf:.4g}, unconfident {mean_unconf:.4g} "
                f"(unconfident share {group['n_unconfident'].sum() / group['n'].sum():.3f}); "
                f"confident - unconfident per seed, {confidence:.0%} t-interval: {describe(interval)}",
                ours=None if interval is None else round(interval.mean, 6),
                interval=claim_interval(interval),
                criterion=criterion,
                verdict=combine(parts),
                scale=scale,
                evidence=evidence,
                anchor=anchor_text,
                anchor_source=POST,
                seeds=sorted(int(s) for s in group["seed"]),
            )
        )
    return ledger


def su_anchor_gain(anchors: pd.DataFrame, task: str, model: str) -> float | None:
    """Su's CAN - none accuracy of ``model`` on ``task`` (points), or None without both rows."""
    value = {}
    for experiment in ("can:none", "can:CAN"):
        rows = anchors[
            (anchors["experiment"] == experiment)
            & (anchors["task"].str.lower() == task)
            & (anchors["model"] == model)
            & (anchors["metric"] == "acc")
        ]
        if rows.empty:
            return None
        value[experiment] = float(rows["value"].iloc[0])
    return value["can:CAN"] - value["can:none"]


@claim
def su_gain(
    gains: pd.DataFrame,
    anchors: pd.DataFrame,
    *,
    anchors_source: str,
    baseline_variant: str,
    anchor_model: str,
    confidence: float,
    anchor_tolerance: float,
    scale: str,
    evidence: str,
) -> list[Claim]:
    """(e) ``e.su_gain.<task>`` (full scale): Su's IFLYTEK and TNEWS gains lie within our interval of the
    baseline variant's gain, widened by ``anchor_tolerance``; ``anchors_source`` names the anchors file."""
    ledger = []
    # Run tasks of several models are named <task>@<model> (data.clue.split_task); each meets its model's row.
    run_tasks = [t for t in sorted(gains["task"].unique()) if split_task(t, anchor_model)[0] in SU_TASKS]
    for task in run_tasks or SU_TASKS:
        name, model = split_task(task, anchor_model)
        anchor = su_anchor_gain(anchors, name, model)
        if anchor is None:
            raise ValueError(f"{anchors_source}: no can:none/can:CAN acc rows for {name} and {model}")
        row = gains[(gains["task"] == task) & (gains["variant"] == baseline_variant)]
        has = len(row) == 1 and not math.isnan(row["low"].iloc[0])
        low, high = (float(row["low"].iloc[0]), float(row["high"].iloc[0])) if has else (math.nan, math.nan)
        tol = anchor_tolerance
        ledger.append(
            Claim(
                study=STUDY,
                claim_id=f"e.su_gain.{task}",
                statement=f"({task}) CAN changes {model}'s dev accuracy by Su's {anchor:+.2f} points.",
                metric=f"gain (points) of {baseline_variant}, {confidence:.0%} t-interval over seeds: "
                + (
                    f"{row['gain'].iloc[0]:+.4g} [{low:+.4g}, {high:+.4g}]"
                    if has
                    else "n/a (fewer than 2 seeds)"
                ),
                ours=round(float(row["gain"].iloc[0]), 6) if len(row) else None,
                interval=(round(low, 6), round(high, 6)) if has else None,
                criterion=f"Su's gain within our interval widened by {tol:g} points (reproduced); outside "
                "(not reproduced); no interval (inconclusive)",
                verdict=verdict(bool(low - tol <= anchor <= high + tol)) if has else INCONCLUSIVE,
                scale=scale,
                evidence=evidence,
                anchor=round(anchor, 6),
                anchor_source=f"{POST} ({model}, CAN - none, single run)",
                seeds=[int(s) for s in row["seeds"].iloc[0].split()] if len(row) else [],
            )
        )
    return ledger


def headline_metrics(default: pd.DataFrame, tuned: pd.DataFrame, runs: pd.DataFrame, setting: str) -> dict:
    metrics = {}
    for name, frame in (("gain", default), ("tuned_gain", tuned)):
        for row in frame.itertuples():
            metrics[f"{row.task}_{row.variant}_{name}"] = round(float(row.gain), 6)
    chosen = runs[runs["setting"] == setting]
    for (task, variant), group in chosen.groupby(["task", "variant"], sort=True):
        metrics[f"{task}_{variant}_accuracy_before"] = round(float(group["accuracy_before"].mean()), 6)
    return metrics


def write_outputs(
    applied: Sequence[str], sweeps_paths: Sequence[str], anchors_path: str, config: ClaimsConfig, scale: str,
    tables: Path, plots_dir: Path, claims_out: str, metrics_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: tables, plots, claims.json and metrics.json."""
    runs = runs_table(read_json(applied))
    if config.setting not in set(runs["setting"]):
        raise ValueError(
            f"can.claims.setting: {config.setting!r}, but the apply records hold {sorted(set(runs['setting']))}"
        )
    sweeps = sweep_table(read_json(sweeps_paths))
    anchors = pd.read_csv(anchors_path)
    default = gain_intervals(runs[runs["setting"] == config.setting], "gain", config.confidence)
    tuned = gain_intervals(sweeps, "gain_tuned", config.confidence)
    files = {name: tables / f"{name}.csv" for name in ("runs", "gains", "sweep", "tuned_gains")}
    write_csv(files["runs"], runs, FLOAT_FORMAT)
    write_csv(files["gains"], default, FLOAT_FORMAT)
    write_csv(files["sweep"], sweeps, FLOAT_FORMAT)
    write_csv(files["tuned_gains"], tuned, FLOAT_FORMAT)
    plots.plot_gains(default, tuned, plots_dir / "gains.png")
    plots.plot_subsets(runs, config.setting, plots_dir / "subsets.png")
    c, s = config.confidence, scale
    ledger = gain(default, c, s, str(files["gains"]))
    ledger += tuned_gain(tuned, c, s, str(files["tuned_gains"]))
    ledger.append(gain_grows_with_classes(default, c, s, str(files["gains"])))
    shared = {"baseline_variant": config.baseline_variant, "anchor_model": config.anchor_model}
    shared |= {"confidence": c, "scale": s}
    ledger += subset_accuracy(
        runs, anchors, setting=config.setting, subset_tolerance=config.subset_tolerance,
        evidence=str(files["runs"]), **shared,
    )  # fmt: skip
    if scale == "full":
        ledger += su_gain(
            default, anchors, anchors_source=str(anchors_path), anchor_tolerance=config.anchor_tolerance,
            evidence=str(files["gains"]), **shared,
        )  # fmt: skip
    write_claims(claims_out, ledger)
    write_json(metrics_out, headline_metrics(default, tuned, runs, config.setting))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.applied, args.sweeps, args.anchors, build(ClaimsConfig, args.settings, "can.claims"), args.scale,
        Path(args.tables_dir), Path(args.plots_dir), args.claims_out, args.metrics_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.can.claims", __doc__, "can.claims")
    parser.add_argument("--applied", nargs="+", required=True, help="apply records (.json)")
    parser.add_argument("--sweeps", nargs="+", required=True, help="sweep records (.json)")
    parser.add_argument("--anchors", required=True, help="data/anchors/can.csv")
    parser.add_argument("--tables-dir", required=True)
    parser.add_argument("--plots-dir", required=True)
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
