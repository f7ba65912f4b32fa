"""Tables, plots, claims and headline metrics of study 8728 (CAN) from the apply and sweep records.

Accuracies and gains are in percent (the anchors' unit). Intervals are t-intervals over seeds of paired
per-seed differences (after - before on the same predictions); fewer than two seeds give no interval and an
inconclusive verdict.
- a: per task and variant, CAN with the claims setting (the post's defaults) improves dev accuracy.
- b: per task and variant, CAN tuned on one half of dev improves accuracy on the other half.
- c: the gain grows with the number of classes: Kendall's tau-b of per-task mean gain against C, one-sided
  tests at 1 - confidence; fewer than 3 tasks (or one value of C) cannot decide.
- d: per task, the baseline variant's confident predictions are more accurate than its unconfident ones; at
  full scale, on IFLYTEK and TNEWS, also within --subset-tolerance points of the post's 63/22 and 58/23.
- e (full scale only): Su's IFLYTEK and TNEWS gains (BERT-base or RoBERTa rows of the anchors) lie within
  our seed interval of the baseline variant's gain, widened by --anchor-tolerance points.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    combine,
    interval_verdict,
    verdict,
    write_claims,
)
from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.common.stats import Interval, claim_interval, describe, t_interval
from kexue_repro.data.clue import split_task

STUDY = "can"
POST = "https://kexue.fm/archives/8728"
FLOAT_FORMAT = "%.8g"
PERCENT = ("accuracy_before", "accuracy_after", "gain", "accuracy_confident", "accuracy_unconfident")
PERCENT += ("accuracy_unconfident_after",)
COUNTS = ("n", "n_confident", "n_unconfident", "n_reference", "n_changed")
COUNTS += ("wrong_to_right", "right_to_wrong", "wrong_to_wrong")
SU_TASKS = ("iflytek", "tnews")


def read_json(paths: Sequence[str | os.PathLike]) -> list[dict]:
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    return records


def percent(value: float | None) -> float:
    return math.nan if value is None else 100 * value


def runs_table(applied: list[dict]) -> pd.DataFrame:
    """One row per (task, variant, seed, setting)."""
    rows, seen = [], set()
    for record in applied:
        key = (record["task"], record["variant"], record["seed"])
        if key in seen:
            raise ValueError(f"two apply records for task/variant/seed {key}")
        seen.add(key)
        for name, result in record["settings"].items():
            row = {"task": key[0], "num_classes": record["num_classes"], "variant": key[1], "seed": key[2]}
            row |= {"model": record.get("model"), "setting": name}
            row |= {f: result["setting"][f] for f in ("tau", "alpha", "iterations", "mode", "confusion")}
            row |= {"reference": result["setting"]["reference"], "k_used": result["k_used"]}
            row |= {f: percent(result[f]) for f in PERCENT} | {f: result[f] for f in COUNTS}
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(
        ["num_classes", "task", "variant", "setting", "seed"], kind="mergesort"
    ).reset_index(drop=True)


def sweep_table(sweeps: list[dict]) -> pd.DataFrame:
    """One row per (task, variant, seed): the chosen setting and the report half before/after."""
    rows = []
    for record in sweeps:
        split = record["split"]
        for variant, result in record["variants"].items():
            for run in result["runs"]:
                rows.append(
                    {"task": record["task"], "num_classes": record["num_classes"], "variant": variant}
                    | {"seed": run["seed"], **result["chosen"], "n_tune": split["n_tune"]}
                    | {"n_report": split["n_report"], "tune_accuracy": 100 * result["tune_accuracy"]}
                    | {"tune_accuracy_before": 100 * result["tune_accuracy_before"]}
                    | {k: 100 * run[k] for k in ("accuracy_before", "accuracy_tuned", "gain_tuned")}
                    | {k: 100 * run[k] for k in ("accuracy_default", "gain_default")}
                )
    return pd.DataFrame(rows)


def gain_intervals(frame: pd.DataFrame, gain: str, confidence: float) -> pd.DataFrame:
    """Per (task, variant): seeds, mean gain and its t-interval (NaN with fewer than two seeds)."""
    rows = []
    for (classes, task, variant), group in frame.groupby(["num_classes", "task", "variant"], sort=True):
        interval = t_interval(group[gain], confidence)
        rows.append(
            {"task": task, "num_classes": classes, "variant": variant, "n_seeds": len(group)}
            | {"seeds": " ".join(str(s) for s in sorted(group["seed"])), "gain": group[gain].mean()}
            | {"low": interval.low if interval else math.nan, "high": interval.high if interval else math.nan}
        )
    return pd.DataFrame(
        rows, columns=["task", "num_classes", "variant", "n_seeds", "seeds", "gain", "low", "high"]
    )


def gain_claims(
    gains: pd.DataFrame, confidence: float, scale: str, evidence: str, tuned: bool
) -> list[Claim]:
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


def trend_claim(gains: pd.DataFrame, confidence: float, scale: str, evidence: str) -> Claim:
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


def subset_claims(
    runs: pd.DataFrame, anchors: pd.DataFrame, args: argparse.Namespace, evidence: str
) -> list[Claim]:
    ledger = []
    chosen = runs[(runs["setting"] == args.setting) & (runs["variant"] == args.baseline_variant)]
    for task, group in chosen.groupby("task", sort=True):
        both = group.dropna(subset=["accuracy_confident", "accuracy_unconfident"])
        interval = t_interval(both["accuracy_confident"] - both["accuracy_unconfident"], args.confidence)
        parts = [interval_verdict(interval.low, interval.high) if interval else INCONCLUSIVE]
        mean_conf, mean_unconf = group["accuracy_confident"].mean(), group["accuracy_unconfident"].mean()
        name, model = split_task(task, args.anchor_model)
        published = {m: subset_anchor(anchors, name, m, model) for m in ("acc_confident", "acc_unconfident")}
        anchor_text = "confident 63 / unconfident 22 (IFLYTEK), 58 / 23 (TNEWS), BERT-base"
        if args.scale == "full" and name in SU_TASKS and None not in published.values():
            for ours, value in (
                (mean_conf, published["acc_confident"]),
                (mean_unconf, published["acc_unconfident"]),
            ):
                parts.append(
                    verdict(None if math.isnan(ours) else bool(abs(ours - value) <= args.subset_tolerance))
                )
            anchor_text = (
                f"confident {published['acc_confident']:g} / unconfident {published['acc_unconfident']:g}"
            )
            criterion = (
                f"confident - unconfident interval above 0, and each mean within {args.subset_tolerance:g} points "
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
                f"tau={group['tau'].iloc[0]:g} are far more accurate than the rest ({args.baseline_variant}).",
                metric=f"accuracy (%) mean over seeds: confident {mean_conf:.4g}, unconfident {mean_unconf:.4g} "
                f"(unconfident share {group['n_unconfident'].sum() / group['n'].sum():.3f}); "
                f"confident - unconfident per seed, {args.confidence:.0%} t-interval: {describe(interval)}",
                ours=None if interval is None else round(interval.mean, 6),
                interval=claim_interval(interval),
                criterion=criterion,
                verdict=combine(parts),
                scale=args.scale,
                evidence=evidence,
                anchor=anchor_text,
                anchor_source=POST,
                seeds=sorted(int(s) for s in group["seed"]),
            )
        )
    return ledger


def su_gain(anchors: pd.DataFrame, task: str, model: str) -> float | None:
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


def su_claims(
    gains: pd.DataFrame, anchors: pd.DataFrame, args: argparse.Namespace, evidence: str
) -> list[Claim]:
    ledger = []
    # Run tasks of several models are named <task>@<model> (data.clue.split_task); each meets its model's row.
    run_tasks = [t for t in sorted(gains["task"].unique()) if split_task(t, args.anchor_model)[0] in SU_TASKS]
    for task in run_tasks or SU_TASKS:
        name, model = split_task(task, args.anchor_model)
        anchor = su_gain(anchors, name, model)
        if anchor is None:
            raise ValueError(f"{args.anchors}: no can:none/can:CAN acc rows for {name} and {model}")
        row = gains[(gains["task"] == task) & (gains["variant"] == args.baseline_variant)]
        has = len(row) == 1 and not math.isnan(row["low"].iloc[0])
        low, high = (float(row["low"].iloc[0]), float(row["high"].iloc[0])) if has else (math.nan, math.nan)
        tol = args.anchor_tolerance
        ledger.append(
            Claim(
                study=STUDY,
                claim_id=f"e.su_gain.{task}",
                statement=f"({task}) CAN changes {model}'s dev accuracy by Su's {anchor:+.2f} points.",
                metric=f"gain (points) of {args.baseline_variant}, {args.confidence:.0%} t-interval over seeds: "
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
                scale=args.scale,
                evidence=evidence,
                anchor=round(anchor, 6),
                anchor_source=f"{POST} ({model}, CAN - none, single run)",
                seeds=[int(s) for s in row["seeds"].iloc[0].split()] if len(row) else [],
            )
        )
    return ledger


def plot_gains(default: pd.DataFrame, tuned: pd.DataFrame, path: str | os.PathLike) -> None:
    """Mean gain with its interval per task (ordered by C) and variant: defaults on all of dev, tuned on
    the report half."""
    fig, axes = figure(1, 2, figsize=(10, 3.8), squeeze=False, layout="constrained", sharey=True)
    for ax, frame, title in (
        (axes[0][0], default, "post's defaults, all of dev"),
        (axes[0][1], tuned, "tuned, report half"),
    ):
        tasks = list(dict.fromkeys(frame.sort_values(["num_classes", "task"])["task"]))
        variants = sorted(frame["variant"].unique())
        width = 0.8 / max(len(variants), 1)
        for i, variant in enumerate(variants):
            sub = frame[frame["variant"] == variant].set_index("task").reindex(tasks)
            x = np.arange(len(tasks)) + (i - (len(variants) - 1) / 2) * width
            err = np.vstack([sub["gain"] - sub["low"], sub["high"] - sub["gain"]])
            ax.errorbar(x, sub["gain"], yerr=np.nan_to_num(err), fmt="o", capsize=3, label=variant)
        classes = frame.drop_duplicates("task").set_index("task")["num_classes"]
        ax.set_xticks(np.arange(len(tasks)), [f"{t}\nC={classes[t]}" for t in tasks])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xlim(-0.5, len(tasks) - 0.5)
        ax.set(title=title, ylabel="accuracy gain (points)")
    axes[0][0].legend()
    save_figure(fig, path)


def plot_subsets(runs: pd.DataFrame, setting: str, path: str | os.PathLike) -> None:
    """Accuracy of the confident and unconfident predictions per task and variant (mean over seeds)."""
    sub = runs[runs["setting"] == setting]
    means = sub.groupby(["num_classes", "task", "variant"], sort=True)[
        ["accuracy_confident", "accuracy_unconfident"]
    ].mean()
    fig, axes = figure(1, 1, figsize=(max(5, 0.9 * len(means) + 2), 3.8), squeeze=False, layout="constrained")
    ax = axes[0][0]
    x = np.arange(len(means))
    ax.bar(x - 0.2, means["accuracy_confident"], 0.4, label="confident (u < tau)")
    ax.bar(x + 0.2, means["accuracy_unconfident"], 0.4, label="unconfident (u >= tau)")
    ax.set_xticks(x, [f"{task}\n{variant}" for _, task, variant in means.index], fontsize=7)
    ax.set(ylabel="accuracy before CAN (%)", title="post: 63 / 22 (IFLYTEK), 58 / 23 (TNEWS), BERT-base")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    save_figure(fig, path)


def headline_metrics(default: pd.DataFrame, tuned: pd.DataFrame, runs: pd.DataFrame, setting: str) -> dict:
    metrics = {}
    for name, frame in (("gain", default), ("tuned_gain", tuned)):
        for row in frame.itertuples():
            metrics[f"{row.task}_{row.variant}_{name}"] = round(float(row.gain), 6)
    chosen = runs[runs["setting"] == setting]
    for (task, variant), group in chosen.groupby(["task", "variant"], sort=True):
        metrics[f"{task}_{variant}_accuracy_before"] = round(float(group["accuracy_before"].mean()), 6)
    return metrics


def run(args: argparse.Namespace) -> None:
    runs = runs_table(read_json(args.applied))
    if args.setting not in set(runs["setting"]):
        raise ValueError(f"--setting {args.setting}: the apply records hold {sorted(set(runs['setting']))}")
    sweeps = sweep_table(read_json(args.sweeps))
    anchors = pd.read_csv(args.anchors)
    default = gain_intervals(runs[runs["setting"] == args.setting], "gain", args.confidence)
    tuned = gain_intervals(sweeps, "gain_tuned", args.confidence)
    tables, plots = Path(args.tables_dir), Path(args.plots_dir)
    files = {name: tables / f"{name}.csv" for name in ("runs", "gains", "sweep", "tuned_gains")}
    write_csv(files["runs"], runs, FLOAT_FORMAT)
    write_csv(files["gains"], default, FLOAT_FORMAT)
    write_csv(files["sweep"], sweeps, FLOAT_FORMAT)
    write_csv(files["tuned_gains"], tuned, FLOAT_FORMAT)
    plot_gains(default, tuned, plots / "gains.png")
    plot_subsets(runs, args.setting, plots / "subsets.png")
    c, s = args.confidence, args.scale
    ledger = gain_claims(default, c, s, str(files["gains"]), tuned=False)
    ledger += gain_claims(tuned, c, s, str(files["tuned_gains"]), tuned=True)
    ledger.append(trend_claim(default, c, s, str(files["gains"])))
    ledger += subset_claims(runs, anchors, args, str(files["runs"]))
    if s == "full":
        ledger += su_claims(default, anchors, args, str(files["gains"]))
    write_claims(args.claims_out, ledger)
    write_json(args.metrics_out, headline_metrics(default, tuned, runs, args.setting))
    for claim in ledger:
        print(f"{claim.claim_id}: {claim.verdict} (ours {claim.ours}, interval {claim.interval})")
