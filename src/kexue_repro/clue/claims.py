"""Tables, plots, claims and headline metrics of the CLUE fine-tuning studies (8739, 8764, 8770).

- ``effect.<task>.<variant>`` (``effect``): per task and variant, dev accuracy minus the baseline's, paired
  by seed, with a t-interval; above 0 reproduced (the variant helps), below 0 not reproduced, covering 0
  (or < 2 seeds) inconclusive.
- ``anchor.<table>`` (``anchor``, full scale only): for each published table (CLUE baseline, Su's vanilla,
  grad drop, incre drop, DropToken) and each task we ran, the published dev accuracy must lie within our
  seed interval widened by anchor_tolerance points.
- Su's Adam argument, from the update-size measurements (one per seed):
  ``adam.grad_drop_scales_update_by_sqrt_p``: the ChildTuning-F / vanilla update norm ratio is sqrt(p);
  ``adam.momentum_moves_dropped_entries``: momentum moves dropped entries under F, while update dropout
  moves only p.
Accuracies are in percent throughout (the anchors' unit).

    python -m kexue_repro.clue.claims --settings JSON --runs JSON ... --update-size JSON ... --anchors CSV
        --tables-dir DIR --plots-dir DIR --scale S --claims-out JSON --metrics-out JSON [provenance options]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kexue_repro.clue import plots
from kexue_repro.clue.tables import (
    paired_effect,
    read_runs,
    read_update_sizes,
    slug,
    summary_table,
    update_size_table,
)
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
from kexue_repro.common.stats import Interval, claim_interval, describe, t_interval
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
TABLES = ("runs", "summary", "effects", "anchors", "update_size")


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``clue.claims`` settings."""

    baseline: str  # the variant the effects are measured against
    anchor_model: str  # the anchors' model for runs of unqualified task names
    confidence: float  # level of every interval
    anchor_tolerance: float  # anchor claims: accuracy points
    ratio_tolerance: float  # update norm ratio over sqrt(p): relative
    share_tolerance: float  # moved shares around p


def variant_kind(variant: str) -> str:
    """'childtuning-f:p=0.2' -> 'childtuning-f'; combined variants keep their first part's kind."""
    first = variant.split("+")[0]
    return first.split(":")[0]


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


# --- effects ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """A variant's effect on a task: per-seed differences to the baseline, their interval, Su's number."""

    task: str
    variant: str
    diff: pd.Series  # points, indexed by seed
    interval: Interval | None
    su_effect: float | None

    @property
    def verdict(self) -> str:
        return (
            INCONCLUSIVE if self.interval is None else interval_verdict(self.interval.low, self.interval.high)
        )


def effects(
    runs: pd.DataFrame, anchors: pd.DataFrame, baseline: str, anchor_model: str, confidence: float
) -> list[Effect]:
    """Every (task, variant) but the baseline's, in sorted order."""
    found = []
    for (task, variant), _ in runs.groupby(["task", "variant"], sort=True):
        if variant == baseline:
            continue
        diff = paired_effect(runs, task, variant, baseline)
        published = su_effect(anchors, task, variant, split_task(task, anchor_model)[1])
        found.append(Effect(task, variant, diff, t_interval(diff, confidence), published))
    return found


EFFECT_FIELDS = ["task", "variant", "baseline", "n_pairs", "seeds", "mean", "ci_low", "ci_high", "verdict"]
EFFECT_FIELDS += ["su_effect"]


def effects_table(found: list[Effect], baseline: str) -> pd.DataFrame:
    rows = [
        {"task": e.task, "variant": e.variant, "baseline": baseline, "n_pairs": len(e.diff)}
        | {
            "seeds": " ".join(str(s) for s in e.diff.index),
            "mean": e.diff.mean() if len(e.diff) else math.nan,
        }
        | {
            "ci_low": e.interval.low if e.interval else math.nan,
            "ci_high": e.interval.high if e.interval else math.nan,
        }
        | {"verdict": e.verdict, "su_effect": e.su_effect if e.su_effect is not None else math.nan}
        for e in found
    ]
    return pd.DataFrame(rows, columns=EFFECT_FIELDS)


@claim
def effect(
    found: list[Effect], baseline: str, anchor_model: str, confidence: float, scale: str, evidence: str
) -> list[Claim]:
    """Each variant raises dev accuracy over the baseline on each task (paired by seed)."""
    claims = []
    for e in found:
        post, says = SU_SAYS.get(variant_kind(e.variant), SU_SAYS["mlm-correction"])
        claims.append(
            Claim(
                study=STUDY,
                claim_id=f"effect.{slug(e.task)}.{slug(e.variant)}",
                statement=f"({e.task}) Fine-tuning with {e.variant} raises dev accuracy over {baseline} "
                f"fine-tuning (Su: {says}).",
                metric=f"best-epoch dev accuracy, {e.variant} minus {baseline}, points, paired by seed, "
                f"{confidence:.0%} t-interval: {describe(e.interval, '+.3g')}",
                ours=None if e.interval is None else round(e.interval.mean, 6),
                interval=claim_interval(e.interval),
                criterion="interval above 0 (reproduced); below 0 (not reproduced); covers 0 or < 2 paired "
                "seeds (inconclusive)",
                verdict=e.verdict,
                scale=scale,
                evidence=evidence,
                anchor=e.su_effect if e.su_effect is not None else says,
                anchor_source=f"{POSTS[post]} ({anchor_model}, single run)"
                if e.su_effect is not None
                else POSTS[post],
                seeds=[int(s) for s in e.diff.index],
            )
        )
    return claims


# --- anchor tables ---------------------------------------------------------------------------------------

ANCHOR_TABLES = {
    # table: (post, experiments, our variant for an experiment, how the model is named in that table)
    "clue-baseline": ("8739", lambda e: "vanilla" if e == "clue-baseline" else None, "{} official"),
    "vanilla": ("8764", lambda e: "vanilla" if e == "childtuning:vanilla" else None, "{}"),
    "grad-drop": ("8764", lambda e: "childtuning-f" if e == "childtuning:grad-drop" else None, "{}"),
    "incre-drop": ("8764", lambda e: "incre-drop" if e == "childtuning:incre-drop" else None, "{}"),
    "droptoken": ("8770", lambda e: e if e.startswith("droptoken:") else None, "{}"),
}
ANCHOR_FIELDS = ["table", "task", "experiment", "variant", "anchor", "mean", "ci_low", "ci_high", "within"]


def published_table(anchors: pd.DataFrame, table: str, anchor_model: str) -> pd.DataFrame:
    """The published dev accuracies of one table for the anchor model."""
    post, _, model_name = ANCHOR_TABLES[table]
    dev = anchors[anchors["split"] == "dev"]
    return dev[(dev["post"].astype(str) == post) & (dev["model"] == model_name.format(anchor_model))]


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


def anchor_comparisons(
    summary: pd.DataFrame, anchors: pd.DataFrame, anchor_model: str, tolerance: float
) -> list[dict[str, Any]]:
    """Each published value of each table against our summary row of the same task and variant: within
    our interval widened by ``tolerance`` (None without an interval)."""
    rows = []
    for table, (_, ours_of, _) in ANCHOR_TABLES.items():
        for row in published_table(anchors, table, anchor_model).itertuples():
            wanted = ours_of(row.experiment)
            if wanted is None:
                continue
            for ours in _ours_for(summary, row.task, wanted, anchor_model).itertuples():
                low, high = ours.ci_low - tolerance, ours.ci_high + tolerance
                within = None if math.isnan(ours.ci_low) else bool(low <= row.value <= high)
                rows.append(
                    {"table": table, "task": row.task, "experiment": row.experiment, "variant": ours.variant}
                    | {"anchor": row.value, "mean": ours.mean, "ci_low": ours.ci_low, "ci_high": ours.ci_high}
                    | {"within": within}
                )
    return rows


@claim
def anchor(
    comparisons: list[dict[str, Any]],
    anchors: pd.DataFrame,
    anchor_model: str,
    confidence: float,
    tolerance: float,
    scale: str,
    evidence: str,
) -> list[Claim]:
    """Each published table is reproduced on the tasks we ran (full scale only)."""
    claims = []
    for table, (post, _, _) in ANCHOR_TABLES.items():
        published = published_table(anchors, table, anchor_model)
        mine = [r for r in comparisons if r["table"] == table]
        verdicts = [
            INCONCLUSIVE if r["within"] is None else (REPRODUCED if r["within"] else NOT_REPRODUCED)
            for r in mine
        ]
        reasons = []
        if scale != "full":
            reasons.append(f"scale {scale}: the anchors are full-scale numbers")
        if not verdicts:
            reasons.append("no task and variant of ours in this table")
        shown = "; ".join(
            f"{r['task']} {r['variant']}: {r['anchor']:g} vs {r['mean']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
            for r in mine
        )
        claims.append(
            Claim(
                study=STUDY,
                claim_id=f"anchor.{table}",
                statement=f"Our dev accuracies reproduce the published {table} table ({anchor_model}) on "
                "the tasks we ran.",
                metric=f"published dev accuracy vs our mean [{confidence:.0%} t-interval] over seeds, "
                f"points: {shown or 'none'}" + ("; inconclusive: " + "; ".join(reasons) if reasons else ""),
                ours=round(float(np.mean([r["mean"] for r in mine])), 6) if mine else None,
                criterion=f"every published value within our interval widened by {tolerance:g} "
                "points (reproduced); any outside (not reproduced); inconclusive below full scale, without "
                "overlap or with < 2 seeds",
                verdict=INCONCLUSIVE if reasons else combine(verdicts),
                scale=scale,
                evidence=evidence,
                anchor="; ".join(f"{r.task} {r.experiment} {r.value:g}" for r in published.itertuples())
                or None,
                anchor_source=POSTS[post]
                if post != "8739"
                else "https://github.com/CLUEbenchmark/CLUE README",
            )
        )
    return claims


# --- Su's Adam argument ----------------------------------------------------------------------------------


@claim
def grad_drop_scales_update_by_sqrt_p(
    records: list[dict[str, Any]], confidence: float, tolerance: float, scale: str, evidence: str
) -> Claim:
    """Under Adam, the ChildTuning-F update norm is sqrt(p) times the vanilla one."""
    p = records[0]["p"]
    relative = [r["mean_ratio_f_over_sqrt_p"] for r in records]
    interval = t_interval(relative, confidence)
    if interval is None:
        ratio_verdict = INCONCLUSIVE
    elif 1 - tolerance <= interval.low and interval.high <= 1 + tolerance:
        ratio_verdict = REPRODUCED
    elif interval.high < 1 - tolerance or interval.low > 1 + tolerance:
        ratio_verdict = NOT_REPRODUCED
    else:
        ratio_verdict = INCONCLUSIVE
    return Claim(
        study=STUDY,
        claim_id="adam.grad_drop_scales_update_by_sqrt_p",
        statement=f"With Adam, gradient dropout at keep share p acts like a learning rate times sqrt(p): "
        f"the update norm under ChildTuning-F is sqrt(p) = {math.sqrt(p):.4g} times the vanilla one.",
        metric=f"mean over steps of ||update F|| / ||update vanilla|| divided by sqrt(p), same start and "
        f"batches, {records[0]['steps']} AdamW steps, {confidence:.0%} t-interval over seeds: "
        f"{describe(interval, '.4g')}; at step 1 (empty momentum): "
        + ", ".join(f"{r['first_ratio_f'] / math.sqrt(p):.3f}" for r in records),
        ours=None if interval is None else round(interval.mean, 6),
        interval=claim_interval(interval),
        criterion=f"interval inside [1 - {tolerance:g}, 1 + {tolerance:g}] (reproduced); entirely outside (not "
        "reproduced); otherwise or < 2 seeds (inconclusive)",
        verdict=ratio_verdict,
        scale=scale,
        evidence=evidence,
        anchor=1.0,
        anchor_source=POSTS["8764"],
        seeds=sorted(int(r["seed"]) for r in records),
    )


@claim
def momentum_moves_dropped_entries(
    records: list[dict[str, Any]], tolerance: float, scale: str, evidence: str
) -> Claim:
    """Under Adam, gradient dropout moves almost every entry (momentum); update dropout only the share p."""
    p = records[0]["p"]
    share_f = [r["moved_share_f"] for r in records]
    share_u = [r["moved_share_incre"] for r in records]
    share_verdicts = [
        REPRODUCED if f > p + tolerance and abs(u - p) <= tolerance else NOT_REPRODUCED
        for f, u in zip(share_f, share_u)
    ]
    return Claim(
        study=STUDY,
        claim_id="adam.momentum_moves_dropped_entries",
        statement="Under Adam, gradient dropout still moves parameters whose gradient was dropped (through "
        "the momentum), while update dropout moves only the kept share p: only the latter trains a "
        "subnetwork.",
        metric=f"share of encoder entries moved per step (from step 2), mean over steps, per seed: F "
        f"{', '.join(f'{v:.3f}' for v in share_f)}; update dropout {', '.join(f'{v:.3f}' for v in share_u)}; "
        f"p = {p:g}",
        ours=round(float(np.mean(share_f)), 6),
        criterion=f"for every seed: F's share > p + {tolerance:g} and update dropout's within "
        f"{tolerance:g} of p (reproduced); otherwise not reproduced",
        verdict=combine(share_verdicts),
        scale=scale,
        evidence=evidence,
        anchor=f"F moves ~all entries, update dropout p = {p:g}",
        anchor_source=POSTS["8764"],
        seeds=sorted(int(r["seed"]) for r in records),
    )


# --- the step --------------------------------------------------------------------------------------------


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


def write_outputs(
    run_paths: Sequence[str], update_paths: Sequence[str], anchors_path: str, config: ClaimsConfig,
    scale: str, tables_dir: Path, plots_dir: Path, claims_out: str, metrics_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: tables, plots, claims.json and metrics.json."""
    runs = read_runs(run_paths)
    if config.baseline not in set(runs["variant"]):
        raise ValueError(f"clue.claims: baseline {config.baseline!r}: no run of that variant among --runs")
    anchors = pd.read_csv(anchors_path)
    updates = read_update_sizes(update_paths)
    files = {name: tables_dir / f"{name}.csv" for name in TABLES}
    summary = summary_table(runs, config.confidence)
    found = effects(runs, anchors, config.baseline, config.anchor_model, config.confidence)
    comparisons = anchor_comparisons(summary, anchors, config.anchor_model, config.anchor_tolerance)
    frames = {
        "runs": runs,
        "summary": summary,
        "effects": effects_table(found, config.baseline),
        "anchors": pd.DataFrame(comparisons, columns=ANCHOR_FIELDS),
        "update_size": update_size_table(updates),
    }
    for name, frame in frames.items():
        write_csv(files[name], frame, FLOAT_FORMAT)
    plots.plot_effects(frames["effects"], plots_dir / "effects.png")
    plots.plot_update_size(frames["update_size"], updates[0]["p"], plots_dir / "update_size.png")
    evidence = {name: str(path) for name, path in files.items()}
    ledger = [
        *effect(found, config.baseline, config.anchor_model, config.confidence, scale, evidence["effects"]),
        *anchor(
            comparisons, anchors, config.anchor_model, config.confidence, config.anchor_tolerance, scale,
            evidence["anchors"],
        ),
        grad_drop_scales_update_by_sqrt_p(
            updates, config.confidence, config.ratio_tolerance, scale, evidence["update_size"]
        ),
        momentum_moves_dropped_entries(updates, config.share_tolerance, scale, evidence["update_size"]),
    ]  # fmt: skip
    write_claims(claims_out, ledger)
    write_json(metrics_out, headline_metrics(summary, frames["effects"], updates))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.runs, args.update_size, args.anchors, build(ClaimsConfig, args.settings, "clue.claims"), args.scale,
        Path(args.tables_dir), Path(args.plots_dir), args.claims_out, args.metrics_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.claims", __doc__, "clue.claims")
    parser.add_argument("--runs", nargs="+", required=True, help="the fine-tuning run records (.json)")
    parser.add_argument(
        "--update-size", nargs="+", required=True, help="the update-size records (one per seed)"
    )
    parser.add_argument("--anchors", required=True, help="data/anchors/clue_finetune.csv")
    parser.add_argument("--tables-dir", required=True)
    parser.add_argument("--plots-dir", required=True)
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
