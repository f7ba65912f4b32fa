"""Tables, plots, claims and headline metrics of the CLUE fine-tuning studies (8739, 8764, 8770).

- Effects: per task and variant, dev accuracy minus the baseline's, paired by seed, with a t-interval;
  above 0 reproduced (the variant helps), below 0 not reproduced, covering 0 (or < 2 seeds) inconclusive.
- Anchor tables (full scale only): for each published table (CLUE baseline, Su's vanilla, grad drop,
  incre drop, DropToken) and each task we ran, the published dev accuracy must lie within our seed interval
  widened by --anchor-tolerance points.
- Su's Adam argument, from the update-size measurements (one per seed): the ChildTuning-F / vanilla update
  norm ratio is sqrt(p), and momentum moves dropped entries under F while update dropout moves only p.
Accuracies are in percent throughout (the anchors' unit).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    combine,
    interval_verdict,
    write_claims,
)
from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.common.stats import claim_interval, describe, t_interval
from kexue_repro.data.clue import split_task

STUDY = "clue"
POSTS = {"8739": "https://kexue.fm/archives/8739", "8764": "https://kexue.fm/archives/8764"}
POSTS["8770"] = "https://kexue.fm/archives/8770"
FLOAT_FORMAT = "%.8g"
# Our task names (prepared split folders) -> the anchors' task names.
ANCHOR_TASKS = {"cluewsc2020": "WSC", "wsc": "WSC"}
# What the posts say of each variant (the effect claims' anchor text when no number applies).
SU_SAYS = {
    "childtuning-f": ("8764", "grad drop (ChildTuning-F) helps BERT a little, RoBERTa hardly at all"),
    "childtuning-d": ("8764", "ChildTuning-D improves fine-tuning (the paper); Su did not run it"),
    "incre-drop": ("8764", "update dropout: small gains for BERT, none for RoBERTa"),
    "droptoken": ("8770", "DropToken clearly helps only IFLYTEK; best r 0.1-0.15"),
    "mlm-correction": ("8770", "the MLM embedding correction makes no significant change"),
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_")


def variant_kind(variant: str) -> str:
    """'childtuning-f:p=0.2' -> 'childtuning-f'; combined variants keep their first part's kind."""
    first = variant.split("+")[0]
    return first.split(":")[0]


def read_runs(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    rows, seen = [], {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            run = json.load(fh)
        try:
            key = (run["task"], run["variant"], int(run["seed"]))
            row = {"task": key[0], "variant": key[1], "seed": key[2]}
            row |= {"best_epoch": run["best_epoch"], "accuracy": 100 * float(run["best_dev_accuracy"])}
            row |= {
                "seconds_per_epoch": run["seconds_per_epoch"],
                "sequences_per_second": run["sequences_per_second"],
            }
        except KeyError as err:
            raise KeyError(f"{path}: run record lacks {err}") from None
        if key in seen:
            raise ValueError(f"{path} and {seen[key]} both hold task/variant/seed {key}")
        seen[key] = path
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(["task", "variant", "seed"], kind="mergesort").reset_index(drop=True)


def summary_table(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    rows = []
    for (task, variant), group in runs.groupby(["task", "variant"], sort=True):
        interval = t_interval(group["accuracy"], confidence)
        rows.append(
            {"task": task, "variant": variant, "n_seeds": len(group), "mean": group["accuracy"].mean()}
            | {
                "ci_low": interval.low if interval else math.nan,
                "ci_high": interval.high if interval else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=["task", "variant", "n_seeds", "mean", "ci_low", "ci_high"])


def paired_effect(runs: pd.DataFrame, task: str, variant: str, baseline: str) -> pd.Series:
    """Per seed both have: variant accuracy minus baseline accuracy (points)."""
    sub = runs[runs["task"] == task]
    a = sub[sub["variant"] == variant].set_index("seed")["accuracy"]
    b = sub[sub["variant"] == baseline].set_index("seed")["accuracy"]
    both = pd.concat({"a": a, "b": b}, axis=1, join="inner").sort_index()
    return both["a"] - both["b"]


def anchor_task(task: str) -> str:
    name = task.split("@")[0]
    return ANCHOR_TASKS.get(name.lower(), name.upper())


def anchor_experiments(variant: str) -> list[str]:
    """The anchors' experiment names our variant corresponds to (Su's own dev runs)."""
    if variant == "vanilla":
        return ["childtuning:vanilla", "droptoken:r=0.00"]
    if re.fullmatch(r"childtuning-f:p=[0-9.]+", variant):
        return ["childtuning:grad-drop"]
    if re.fullmatch(r"incre-drop:p=[0-9.]+", variant):
        return ["childtuning:incre-drop"]
    if re.fullmatch(r"droptoken:r=[0-9.]+", variant):
        return [variant]
    return []


def su_effect(anchors: pd.DataFrame, task: str, variant: str, model: str) -> float | None:
    """Su's published effect (variant - vanilla, points) on the task, when his tables have both."""
    rows = anchors[(anchors["task"] == anchor_task(task)) & (anchors["model"] == model)]
    values = dict(zip(rows["experiment"], rows["value"]))
    for experiment in anchor_experiments(variant):
        base = "droptoken:r=0.00" if experiment.startswith("droptoken") else "childtuning:vanilla"
        if experiment in values and base in values:
            return round(float(values[experiment] - values[base]), 6)
    return None


def effect_claims(
    runs: pd.DataFrame, anchors: pd.DataFrame, args: argparse.Namespace, evidence: str
) -> tuple[list[Claim], pd.DataFrame]:
    claims, rows = [], []
    for (task, variant), _ in runs.groupby(["task", "variant"], sort=True):
        if variant == args.baseline:
            continue
        diff = paired_effect(runs, task, variant, args.baseline)
        interval = t_interval(diff, args.confidence)
        verdict_ = INCONCLUSIVE if interval is None else interval_verdict(interval.low, interval.high)
        post, says = SU_SAYS.get(variant_kind(variant), SU_SAYS["mlm-correction"])
        published = su_effect(anchors, task, variant, split_task(task, args.anchor_model)[1])
        rows.append(
            {"task": task, "variant": variant, "baseline": args.baseline, "n_pairs": len(diff)}
            | {"seeds": " ".join(str(s) for s in diff.index), "mean": diff.mean() if len(diff) else math.nan}
            | {
                "ci_low": interval.low if interval else math.nan,
                "ci_high": interval.high if interval else math.nan,
            }
            | {"verdict": verdict_, "su_effect": published if published is not None else math.nan}
        )
        claims.append(
            Claim(
                study=STUDY,
                claim_id=f"effect.{slug(task)}.{slug(variant)}",
                statement=f"({task}) Fine-tuning with {variant} raises dev accuracy over {args.baseline} "
                f"fine-tuning (Su: {says}).",
                metric=f"best-epoch dev accuracy, {variant} minus {args.baseline}, points, paired by seed, "
                f"{args.confidence:.0%} t-interval: {describe(interval, '+.3g')}",
                ours=None if interval is None else round(interval.mean, 6),
                interval=claim_interval(interval),
                criterion="interval above 0 (reproduced); below 0 (not reproduced); covers 0 or < 2 paired "
                "seeds (inconclusive)",
                verdict=verdict_,
                scale=args.scale,
                evidence=evidence,
                anchor=published if published is not None else says,
                anchor_source=f"{POSTS[post]} ({args.anchor_model}, single run)"
                if published is not None
                else POSTS[post],
                seeds=[int(s) for s in diff.index],
            )
        )
    columns = [
        "task",
        "variant",
        "baseline",
        "n_pairs",
        "seeds",
        "mean",
        "ci_low",
        "ci_high",
        "verdict",
        "su_effect",
    ]
    return claims, pd.DataFrame(rows, columns=columns)


ANCHOR_TABLES = {
    # table: (post, experiments, our variant for an experiment, how the model is named in that table)
    "clue-baseline": ("8739", lambda e: "vanilla" if e == "clue-baseline" else None, "{} official"),
    "vanilla": ("8764", lambda e: "vanilla" if e == "childtuning:vanilla" else None, "{}"),
    "grad-drop": ("8764", lambda e: "childtuning-f" if e == "childtuning:grad-drop" else None, "{}"),
    "incre-drop": ("8764", lambda e: "incre-drop" if e == "childtuning:incre-drop" else None, "{}"),
    "droptoken": ("8770", lambda e: e if e.startswith("droptoken:") else None, "{}"),
}


def _ours_for(summary: pd.DataFrame, task: str, wanted: str, model: str) -> pd.DataFrame:
    """Our summary rows of a task and model for a wanted variant ('childtuning-f' matches any p;
    'droptoken:r=0.00' is the vanilla run)."""
    of_model = summary["task"].map(lambda t: split_task(t, model)[1] == model)
    sub = summary[(summary["task"].map(anchor_task) == task) & of_model]
    if wanted == "droptoken:r=0.00":
        wanted = "vanilla"
    if wanted in ("childtuning-f", "incre-drop"):
        return sub[sub["variant"].str.fullmatch(rf"{wanted}:p=[0-9.]+")]
    return sub[sub["variant"] == wanted]


def anchor_claims(
    summary: pd.DataFrame, anchors: pd.DataFrame, args: argparse.Namespace, evidence: str
) -> tuple[list[Claim], pd.DataFrame]:
    claims, rows = [], []
    dev = anchors[anchors["split"] == "dev"]
    for table, (post, ours_of, model_name) in ANCHOR_TABLES.items():
        published = dev[
            (dev["post"].astype(str) == post) & (dev["model"] == model_name.format(args.anchor_model))
        ]
        verdicts = []
        for row in published.itertuples():
            wanted = ours_of(row.experiment)
            if wanted is None:
                continue
            for ours in _ours_for(summary, row.task, wanted, args.anchor_model).itertuples():
                low, high = ours.ci_low - args.anchor_tolerance, ours.ci_high + args.anchor_tolerance
                within = None if math.isnan(ours.ci_low) else bool(low <= row.value <= high)
                verdicts.append(
                    INCONCLUSIVE if within is None else (REPRODUCED if within else NOT_REPRODUCED)
                )
                rows.append(
                    {"table": table, "task": row.task, "experiment": row.experiment, "variant": ours.variant}
                    | {"anchor": row.value, "mean": ours.mean, "ci_low": ours.ci_low, "ci_high": ours.ci_high}
                    | {"within": within}
                )
        reasons = []
        if args.scale != "full":
            reasons.append(f"scale {args.scale}: the anchors are full-scale numbers")
        if not verdicts:
            reasons.append("no task and variant of ours in this table")
        mine = [r for r in rows if r["table"] == table]
        shown = "; ".join(
            f"{r['task']} {r['variant']}: {r['anchor']:g} vs {r['mean']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
            for r in mine
        )
        claims.append(
            Claim(
                study=STUDY,
                claim_id=f"anchor.{table}",
                statement=f"Our dev accuracies reproduce the published {table} table ({args.anchor_model}) on "
                "the tasks we ran.",
                metric=f"published dev accuracy vs our mean [{args.confidence:.0%} t-interval] over seeds, "
                f"points: {shown or 'none'}" + ("; inconclusive: " + "; ".join(reasons) if reasons else ""),
                ours=round(float(np.mean([r["mean"] for r in mine])), 6) if mine else None,
                criterion=f"every published value within our interval widened by {args.anchor_tolerance:g} "
                "points (reproduced); any outside (not reproduced); inconclusive below full scale, without "
                "overlap or with < 2 seeds",
                verdict=INCONCLUSIVE if reasons else combine(verdicts),
                scale=args.scale,
                evidence=evidence,
                anchor="; ".join(f"{r.task} {r.experiment} {r.value:g}" for r in published.itertuples())
                or None,
                anchor_source=POSTS[post]
                if post != "8739"
                else "https://github.com/CLUEbenchmark/CLUE README",
            )
        )
    columns = ["table", "task", "experiment", "variant", "anchor", "mean", "ci_low", "ci_high", "within"]
    return claims, pd.DataFrame(rows, columns=columns)


def read_update_sizes(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    if len({r["p"] for r in records}) > 1:
        raise ValueError(f"update-size files {list(map(str, paths))} were measured at different p")
    return records


def update_size_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for r in records:
        for step in range(r["steps"]):
            rows.append(
                {"seed": r["seed"], "step": step + 1, "ratio_f": r["ratio_f"][step]}
                | {"ratio_incre": r["ratio_incre"][step]}
                | {
                    f"moved_{m}": r["runs"][m]["moved_share"][step]
                    for m in ("vanilla", "childtuning-f", "incre-drop")
                }
            )
    return pd.DataFrame(rows)


def adam_claims(records: list[dict[str, Any]], args: argparse.Namespace, evidence: str) -> list[Claim]:
    p = records[0]["p"]
    seeds = sorted(int(r["seed"]) for r in records)
    relative = [r["mean_ratio_f_over_sqrt_p"] for r in records]
    interval = t_interval(relative, args.confidence)
    tol = args.ratio_tolerance
    if interval is None:
        ratio_verdict = INCONCLUSIVE
    elif 1 - tol <= interval.low and interval.high <= 1 + tol:
        ratio_verdict = REPRODUCED
    elif interval.high < 1 - tol or interval.low > 1 + tol:
        ratio_verdict = NOT_REPRODUCED
    else:
        ratio_verdict = INCONCLUSIVE
    share_f = [r["moved_share_f"] for r in records]
    share_u = [r["moved_share_incre"] for r in records]
    share_verdicts = [
        REPRODUCED if f > p + args.share_tolerance and abs(u - p) <= args.share_tolerance else NOT_REPRODUCED
        for f, u in zip(share_f, share_u)
    ]
    return [
        Claim(
            study=STUDY,
            claim_id="adam.grad_drop_scales_update_by_sqrt_p",
            statement=f"With Adam, gradient dropout at keep share p acts like a learning rate times sqrt(p): "
            f"the update norm under ChildTuning-F is sqrt(p) = {math.sqrt(p):.4g} times the vanilla one.",
            metric=f"mean over steps of ||update F|| / ||update vanilla|| divided by sqrt(p), same start and "
            f"batches, {records[0]['steps']} AdamW steps, {args.confidence:.0%} t-interval over seeds: "
            f"{describe(interval, '.4g')}; at step 1 (empty momentum): "
            + ", ".join(f"{r['first_ratio_f'] / math.sqrt(p):.3f}" for r in records),
            ours=None if interval is None else round(interval.mean, 6),
            interval=claim_interval(interval),
            criterion=f"interval inside [1 - {tol:g}, 1 + {tol:g}] (reproduced); entirely outside (not "
            "reproduced); otherwise or < 2 seeds (inconclusive)",
            verdict=ratio_verdict,
            scale=args.scale,
            evidence=evidence,
            anchor=1.0,
            anchor_source=POSTS["8764"],
            seeds=seeds,
        ),
        Claim(
            study=STUDY,
            claim_id="adam.momentum_moves_dropped_entries",
            statement="Under Adam, gradient dropout still moves parameters whose gradient was dropped (through "
            "the momentum), while update dropout moves only the kept share p: only the latter trains a "
            "subnetwork.",
            metric=f"share of encoder entries moved per step (from step 2), mean over steps, per seed: F "
            f"{', '.join(f'{v:.3f}' for v in share_f)}; update dropout {', '.join(f'{v:.3f}' for v in share_u)}; "
            f"p = {p:g}",
            ours=round(float(np.mean(share_f)), 6),
            criterion=f"for every seed: F's share > p + {args.share_tolerance:g} and update dropout's within "
            f"{args.share_tolerance:g} of p (reproduced); otherwise not reproduced",
            verdict=combine(share_verdicts),
            scale=args.scale,
            evidence=evidence,
            anchor=f"F moves ~all entries, update dropout p = {p:g}",
            anchor_source=POSTS["8764"],
            seeds=seeds,
        ),
    ]


def plot_effects(effects: pd.DataFrame, path: str | os.PathLike) -> None:
    tasks = sorted(effects["task"].unique()) if len(effects) else []
    fig, axes = figure(1, max(len(tasks), 1), figsize=(4.5 * max(len(tasks), 1), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        sub = effects[effects["task"] == task].reset_index(drop=True)
        err = np.array([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]]).clip(min=0)
        ax.errorbar(sub["mean"], range(len(sub)), xerr=np.nan_to_num(err), fmt="o", capsize=3)
        ax.scatter(sub["su_effect"], range(len(sub)), marker="x", color="grey", label="Su (anchor)")
        ax.set_yticks(range(len(sub)), sub["variant"])
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set(title=f"{task}: dev accuracy effect", xlabel="points vs baseline (paired by seed)")
    save_figure(fig, path)


def plot_update_size(table: pd.DataFrame, p: float, path: str | os.PathLike) -> None:
    fig, (left, right) = figure(1, 2, figsize=(10, 3.6))
    for seed, group in table.groupby("seed", sort=True):
        left.plot(group["step"], group["ratio_f"], linewidth=1, label=f"F / vanilla, seed {seed}")
        right.plot(group["step"], group["moved_childtuning-f"], color="C0", linewidth=1)
        right.plot(group["step"], group["moved_incre-drop"], color="C1", linewidth=1)
    left.axhline(math.sqrt(p), color="grey", linestyle="--", label="sqrt(p)")
    left.set(title="update norm ratio (AdamW)", xlabel="step")
    left.legend()
    right.axhline(p, color="grey", linestyle="--")
    right.set(title="share of entries moved: F (C0), update dropout (C1)", xlabel="step", ylim=(0, 1.05))
    save_figure(fig, path)


def headline_metrics(summary: pd.DataFrame, effects: pd.DataFrame, updates: list[dict[str, Any]]) -> dict:
    metrics: dict[str, float] = {}
    for row in summary.itertuples():
        metrics[f"{slug(row.task)}.{slug(row.variant)}.dev_accuracy"] = round(float(row.mean), 4)
    for row in effects.itertuples():
        if not math.isnan(row.mean):
            metrics[f"{slug(row.task)}.{slug(row.variant)}.effect"] = round(float(row.mean), 4)
    metrics["adam.ratio_f_over_sqrt_p"] = round(
        float(np.mean([u["mean_ratio_f_over_sqrt_p"] for u in updates])), 4
    )
    metrics["adam.moved_share_f"] = round(float(np.mean([u["moved_share_f"] for u in updates])), 4)
    metrics["adam.moved_share_incre"] = round(float(np.mean([u["moved_share_incre"] for u in updates])), 4)
    return metrics


def run(args: argparse.Namespace) -> None:
    runs = read_runs(args.runs)
    if args.baseline not in set(runs["variant"]):
        raise ValueError(f"--baseline {args.baseline!r}: no run of that variant among --runs")
    anchors = pd.read_csv(args.anchors)
    updates = read_update_sizes(args.update_size)
    tables, plots = Path(args.tables_dir), Path(args.plots_dir)
    files = {n: tables / f"{n}.csv" for n in ("runs", "summary", "effects", "anchors", "update_size")}
    summary = summary_table(runs, args.confidence)
    effect_ledger, effects = effect_claims(runs, anchors, args, str(files["effects"]))
    anchor_ledger, anchor_rows = anchor_claims(summary, anchors, args, str(files["anchors"]))
    update_rows = update_size_table(updates)
    for name, frame in (("runs", runs), ("summary", summary), ("effects", effects), ("anchors", anchor_rows)):
        write_csv(files[name], frame, FLOAT_FORMAT)
    write_csv(files["update_size"], update_rows, FLOAT_FORMAT)
    plot_effects(effects, plots / "effects.png")
    plot_update_size(update_rows, updates[0]["p"], plots / "update_size.png")
    ledger = effect_ledger + anchor_ledger + adam_claims(updates, args, str(files["update_size"]))
    write_claims(args.claims_out, ledger)
    write_json(args.metrics_out, headline_metrics(summary, effects, updates))
    for claim in ledger:
        print(f"{claim.claim_id}: {claim.verdict} (ours {claim.ours}, interval {claim.interval})")
