"""Tables, plots, claims and headline metrics of the CLUE fine-tuning studies (8739, 8764, 8770).

What each post says, and the claim that tests it (alpha = 1 - ``confidence``; p-values Holm-adjusted over the
study's claims by ``write_claims``):

- ``effect.<task>.<variant>`` (``effect``, kind claim): where a post or its paper says the variant helps,
  the variant's dev predictions are right more often than the baseline's on the same dev examples:
  stratified exact McNemar over the examples, pooled over seeds (per seed both runs predict the same dev
  set). Su (8764): grad drop and update dropout help BERT a little; the ChildTuning paper: ChildTuning-D
  helps; Su (8770): DropToken clearly helps IFLYTEK.
- ``no_change.<task>.<variant>`` (``no_change``, kind claim): where a post says the variant changes little
  (8770: the MLM correction, "no significant change"; DropToken on the tasks other than IFLYTEK, "only
  IFLYTEK clearly improves"; 8764: grad drop and update dropout "hardly at all" for RoBERTa), the per-seed
  accuracy difference lies within +-``no_change_margin`` points: TOST over seeds.
- ``anchor.<table>...`` (``anchor``): a published dev accuracy (a single run) lies in our prediction interval
  for a single run of the same task, model and variant; only at full scale, the scale and recipe the
  anchors come from (elsewhere one fixed inconclusive row per table, saying which run decides it).
- ``single_run.<task>.<variant>`` (``single_run``): Su's single-run difference (variant minus vanilla) lies
  outside one run's seed-to-seed noise of the same difference; full scale only, likewise.
- ``adam.grad_drop_scales_update_by_sqrt_p``: with Adam, gradient dropout acts like a learning rate times
  sqrt(p): the step-size toy's drift ratio (kexue_repro.clue.update_size) is sqrt(p), by TOST on the log
  ratio over independent gradient streams with a margin of ``sqrt_p_margin`` times the log distance between
  sqrt(p) and 1 (what the gradient's unbiasedness alone predicts).
- ``adam.momentum_moves_dropped_entries``: under gradient dropout, entries whose gradient was dropped still
  move (the momentum): counted on the tiny model, every seed.
- checks (kind check): ``sanity.runs_trained`` (every run beats the best constant prediction on dev,
  exact binomial test: the training-sanity gate; a claim whose runs failed it is inconclusive, "run
  failed") and ``adam.update_dropout_moves_only_kept`` (nothing outside update dropout's mask moved).

Accuracies and their differences are in percent (points, the anchors' unit).

    python -m kexue_repro.clue.claims --settings JSON --runs JSON ... --probs NPY ... --dev JSONL ...
        --update-size JSON ... --anchors CSV --tables-dir DIR --plots-dir DIR --scale S --claims-out JSON
        --metrics-out JSON [provenance options]
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
from scipy import stats

from kexue_repro.clue import plots
from kexue_repro.clue.tables import (
    majority_share,
    paired_effect,
    read_correct,
    read_runs,
    read_update_sizes,
    slug,
    summary_table,
    toy_table,
    update_size_table,
)
from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    claim,
    write_claims,
    write_metrics,
)
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.inference import (
    Judgement,
    anchor_single_run,
    equivalence,
    fixed,
    paired_predictions,
    single_run_beyond_noise,
)
from kexue_repro.common.settings import build
from kexue_repro.data.clue import split_task

STUDY = "clue"
POSTS = {"8739": "https://kexue.fm/archives/8739", "8764": "https://kexue.fm/archives/8764"}
POSTS["8770"] = "https://kexue.fm/archives/8770"
PAPER = "https://arxiv.org/abs/2109.05687"
FLOAT_FORMAT = "%.8g"
# Our task names (prepared split folders) -> the anchors' task names.
ANCHOR_TASKS = {"cluewsc2020": "WSC", "wsc": "WSC"}
TABLES = ("runs", "summary", "effects", "anchors", "update_size", "toy")
FULL = "full"
FULL_RUN = (
    "the full-scale run (scale full: BERT-base and RoBERTa-wwm-ext fine-tuned with the post's recipe on the "
    "CLUE tasks, every variant, the scale's seeds)"
)
SECTIONS = {
    "8764-experiments": "8764, the experiments: vanilla / grad drop / incre drop with BERT and RoBERTa on 7 "
    "CLUE tasks",
    "8764-adam": "8764, the analysis of gradient dropout under Adam",
    "paper": "the ChildTuning paper (arXiv 2109.05687), its results; 8764 describes ChildTuning-D without "
    "running it",
    "8770-droptoken": "8770, DropToken: its table of drop shares r on 6 CLUE tasks",
    "8770-mlm": "8770, the MLM embedding correction ('no significant change' on CLUE)",
    "8739": "8739, the results table: the post's code beside CLUE's official baselines",
}


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``clue.claims`` settings."""

    baseline: str  # the variant the effects are measured against
    anchor_model: str  # the anchors' model for runs of unqualified task names
    confidence: float  # alpha = 1 - confidence for every test
    no_change_margin: float  # accuracy points: equivalence margin of "no significant change"
    sqrt_p_margin: float  # share of the log distance between sqrt(p) and 1: equivalence margin


def variant_kind(variant: str) -> str:
    """'childtuning-f:p=0.2' -> 'childtuning-f'; combined variants keep their first part's kind."""
    first = variant.split("+")[0]
    return first.split(":")[0]


def anchor_task(task: str) -> str:
    name = task.split("@")[0]
    return ANCHOR_TASKS.get(name.lower(), name.upper())


# --- what the posts say of each variant ------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """What a post (or its paper) says a variant does on a task with a model: 'raises' or 'no change'."""

    direction: str
    says: str
    section: str
    source: str


def expectation(variant: str, task: str, model: str) -> Expectation | None:
    """The post's statement for (variant, task, model), or None if no post speaks of the variant."""
    kind = variant_kind(variant)
    roberta = model.lower().startswith("roberta")
    if kind in ("childtuning-f", "incre-drop"):
        name = "grad drop (ChildTuning-F)" if kind == "childtuning-f" else "update dropout (incre drop)"
        if roberta:
            return Expectation(
                "no change", f"{name} helps RoBERTa 'hardly at all'", "8764-experiments", "8764"
            )
        return Expectation("raises", f"{name} helps BERT 'a little'", "8764-experiments", "8764")
    if kind == "childtuning-d":
        return Expectation("raises", "ChildTuning-D improves fine-tuning (the paper; Su did not run it)",
                           "paper", PAPER)  # fmt: skip
    if kind == "droptoken":
        if anchor_task(task) == "IFLYTEK":
            return Expectation("raises", "DropToken clearly improves IFLYTEK", "8770-droptoken", "8770")
        return Expectation("no change", "only IFLYTEK clearly improves with DropToken; the other tasks move "
                           "-1.3 to +0.2 points at r 0.1", "8770-droptoken", "8770")  # fmt: skip
    if kind == "mlm-correction":
        return Expectation("no change", "the MLM correction makes 'no significant change' on CLUE",
                           "8770-mlm", "8770")  # fmt: skip
    return None


# --- Su's published numbers ------------------------------------------------------------------------------


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
    """Su's published effect (variant - vanilla, points, single runs) on the task, when his tables have both."""
    rows = anchors[(anchors["task"] == anchor_task(task)) & (anchors["model"] == model)]
    values = dict(zip(rows["experiment"], rows["value"]))
    for experiment in anchor_experiments(variant):
        base = "droptoken:r=0.00" if experiment.startswith("droptoken") else "childtuning:vanilla"
        if experiment in values and base in values and experiment != base:
            return round(float(values[experiment] - values[base]), 6)
    return None


# --- the training-sanity gate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """Whether one run learned: its dev accuracy against the best constant prediction's (the majority share)."""

    key: tuple[str, str, int]
    accuracy: float
    majority: float
    p_value: float

    def passed(self, alpha: float) -> bool:
        return self.p_value < alpha


def gates(
    correct: dict[tuple[str, str, int], np.ndarray], majority: dict[tuple[str, str, int], float]
) -> list[Gate]:
    """Per run: exact one-sided binomial test that its dev accuracy exceeds the majority share."""
    out = []
    for key in sorted(correct):
        right = correct[key]
        test = stats.binomtest(int(right.sum()), right.size, majority[key], alternative="greater")
        out.append(Gate(key, float(right.mean()), majority[key], float(test.pvalue)))
    return out


def failed_runs(found: list[Gate], alpha: float, task: str, variants: Sequence[str]) -> list[str]:
    return [
        f"{g.key[1]} seed {g.key[2]} ({100 * g.accuracy:.2f}% vs constant {100 * g.majority:.2f}%)"
        for g in found
        if g.key[0] == task and g.key[1] in variants and not g.passed(alpha)
    ]


@claim
def runs_trained(found: list[Gate], alpha: float, scale: str, evidence: str) -> Claim:
    """The gate: every fine-tuning run beats the best constant prediction on its dev set."""
    failed = [g for g in found if not g.passed(alpha)]
    worst = max(found, key=lambda g: g.p_value)
    return Claim(
        study=STUDY,
        claim_id="sanity.runs_trained",
        kind="check",
        statement="Every fine-tuning run learned: its best-epoch dev accuracy exceeds what predicting the "
        "dev set's most frequent label scores. A claim comparing runs that did not is inconclusive.",
        metric=f"{len(found) - len(failed)} of {len(found)} runs pass; the weakest: {worst.key[1]} seed "
        f"{worst.key[2]} on {worst.key[0]}, {100 * worst.accuracy:.2f}% vs {100 * worst.majority:.2f}% "
        f"(p {worst.p_value:.3g})"
        + (
            "; failed: " + ", ".join(f"{g.key[0]}/{g.key[1]}/seed {g.key[2]}" for g in failed)
            if failed
            else ""
        ),
        ours=len(found) - len(failed),
        criterion=f"exact one-sided binomial test per run (correct dev examples against the majority share), "
        f"p < {alpha:g}: every run passes (reproduced), else not reproduced",
        verdict=REPRODUCED if not failed else NOT_REPRODUCED,
        no_p_reason="a gate over every run: each run's own binomial test decides it, no claim is tested",
        scale=scale,
        evidence=evidence,
        seeds=sorted({g.key[2] for g in found}),
    )


# --- effects ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """A variant against the baseline on a task: per-seed accuracy differences (points) and the dev
    examples each run got right, paired by seed."""

    task: str
    variant: str
    model: str
    diff: pd.Series  # points, indexed by seed
    correct_variant: list[np.ndarray]
    correct_baseline: list[np.ndarray]
    su_effect: float | None
    expected: Expectation | None
    failed: list[str]


def effects(
    runs: pd.DataFrame, correct: dict, anchors: pd.DataFrame, baseline: str, anchor_model: str,
    found: list[Gate], alpha: float,
) -> list[Effect]:  # fmt: skip
    """Every (task, variant) but the baseline's, in sorted order."""
    out = []
    for (task, variant), _ in runs.groupby(["task", "variant"], sort=True):
        if variant == baseline:
            continue
        diff = paired_effect(runs, task, variant, baseline)
        model = split_task(task, anchor_model)[1]
        seeds = [int(s) for s in diff.index]
        out.append(
            Effect(
                task, variant, model, diff,
                [correct[(task, variant, s)] for s in seeds], [correct[(task, baseline, s)] for s in seeds],
                su_effect(anchors, task, variant, model), expectation(variant, task, model),
                failed_runs(found, alpha, task, (variant, baseline)),
            )
        )  # fmt: skip
    return out


def _run_failed(e: Effect) -> Judgement:
    return fixed(INCONCLUSIVE, "runs failed the training-sanity gate", to_decide="run failed: "
                 + "; ".join(e.failed) + " (sanity.runs_trained); rerun them so that they learn")  # fmt: skip


def _judge_effect(e: Effect, alpha: float) -> Judgement:
    if e.failed:
        return _run_failed(e)
    return paired_predictions(e.correct_variant, e.correct_baseline, alpha, points=True)


def _judge_no_change(e: Effect, margin: float, alpha: float) -> Judgement:
    if e.failed:
        return _run_failed(e)
    return equivalence(e.diff.to_numpy(), margin, alpha)


def _per_seed(e: Effect) -> str:
    return ", ".join(f"{d:+.2f}" for d in e.diff)


@claim
def effect(found: list[Effect], baseline: str, alpha: float, scale: str, evidence: str) -> list[Claim]:
    """Where a post says a variant helps: it gets more dev examples right than the baseline (per example)."""
    claims = []
    for e in found:
        if e.expected is None or e.expected.direction != "raises":
            continue
        judged = _judge_effect(e, alpha)
        claims.append(
            Claim(
                study=STUDY,
                claim_id=f"effect.{slug(e.task)}.{slug(e.variant)}",
                kind="claim",
                section=SECTIONS[e.expected.section],
                statement=f"({e.task}) Fine-tuning with {e.variant} raises dev accuracy over {baseline} "
                f"fine-tuning ({e.expected.says}).",
                metric=f"dev accuracy, {e.variant} minus {baseline}, on the same dev examples pooled over "
                f"{len(e.diff)} seeds (points); per-seed differences: "
                f"{_per_seed(e)}",
                ours=None if judged.estimate is None else round(judged.estimate, 6),
                criterion="stratified exact McNemar over the dev examples, pooled over seeds: the variant "
                "right on significantly more examples (reproduced), on significantly fewer (not reproduced), "
                "else inconclusive",
                judgement=judged,
                scale=scale,
                evidence=evidence,
                anchor=e.su_effect if e.su_effect is not None else e.expected.says,
                anchor_source=(POSTS.get(e.expected.source, e.expected.source)
                               + (" (single run, points)" if e.su_effect is not None else "")),
                seeds=[int(s) for s in e.diff.index],
            )
        )  # fmt: skip
    return claims


@claim
def no_change(
    found: list[Effect], baseline: str, margin: float, alpha: float, scale: str, evidence: str
) -> list[Claim]:
    """Where a post says a variant changes little: the per-seed accuracy difference lies within the margin."""
    claims = []
    for e in found:
        if e.expected is None or e.expected.direction != "no change":
            continue
        judged = _judge_no_change(e, margin, alpha)
        claims.append(
            Claim(
                study=STUDY,
                claim_id=f"no_change.{slug(e.task)}.{slug(e.variant)}",
                kind="claim",
                section=SECTIONS[e.expected.section],
                statement=f"({e.task}) Fine-tuning with {e.variant} leaves dev accuracy where {baseline} "
                f"fine-tuning has it ({e.expected.says}).",
                metric=f"best-epoch dev accuracy, {e.variant} minus {baseline}, points, paired by seed: "
                f"{_per_seed(e)}; {1 - 2 * alpha:.0%} interval of the mean",
                ours=None if judged.estimate is None else round(judged.estimate, 6),
                criterion=f"TOST over seeds with margin +-{margin:g} points (clue.claims.no_change_margin): "
                "the mean difference significantly inside (reproduced), significantly beyond (not "
                "reproduced), else inconclusive",
                judgement=judged,
                scale=scale,
                evidence=evidence,
                anchor=e.su_effect if e.su_effect is not None else e.expected.says,
                anchor_source=POSTS.get(e.expected.source, e.expected.source),
                seeds=[int(s) for s in e.diff.index],
            )
        )  # fmt: skip
    return claims


EFFECT_FIELDS = ["task", "variant", "baseline", "expected", "n_pairs", "seeds", "mean", "ci_low", "ci_high"]
EFFECT_FIELDS += ["test", "p_value", "su_effect"]


def effects_table(found: list[Effect], baseline: str, margin: float, alpha: float) -> pd.DataFrame:
    """Per (task, variant): the mean accuracy difference in points and the interval of its test, in points
    (McNemar's for 'raises', TOST's for 'no change')."""
    rows = []
    for e in found:
        direction = e.expected.direction if e.expected else None
        judged = None
        if direction == "raises":
            judged = _judge_effect(e, alpha)
        elif direction == "no change":
            judged = _judge_no_change(e, margin, alpha)
        # Both tests give their interval in accuracy points (paired_predictions with points=True).
        interval = judged.interval if judged is not None and judged.interval is not None else (math.nan,) * 2
        rows.append(
            {"task": e.task, "variant": e.variant, "baseline": baseline, "expected": direction or "none"}
            | {"n_pairs": len(e.diff), "seeds": " ".join(str(s) for s in e.diff.index)}
            | {"mean": e.diff.mean() if len(e.diff) else math.nan}
            | {"ci_low": interval[0], "ci_high": interval[1]}
            | {"test": judged.test if judged else "none", "p_value": judged.p_value if judged else None}
            | {"su_effect": e.su_effect if e.su_effect is not None else math.nan}
        )
    return pd.DataFrame(rows, columns=EFFECT_FIELDS)


# --- anchor tables ---------------------------------------------------------------------------------------

ANCHOR_TABLES = {
    # table: (post, experiment -> our variant (a pattern) or None, how the model is named in that table)
    "clue-baseline": ("8739", lambda e: "vanilla" if e == "clue-baseline" else None, "{} official"),
    "vanilla": ("8764", lambda e: "vanilla" if e == "childtuning:vanilla" else None, "{}"),
    "grad-drop": ("8764", lambda e: "childtuning-f" if e == "childtuning:grad-drop" else None, "{}"),
    "incre-drop": ("8764", lambda e: "incre-drop" if e == "childtuning:incre-drop" else None, "{}"),
    # r = 0.00 is Su's vanilla run of the 8764 table (the same numbers): compared there, not twice.
    "droptoken": (
        "8770",
        lambda e: e if e.startswith("droptoken:") and e != "droptoken:r=0.00" else None,
        "{}",
    ),
}
ANCHOR_FIELDS = [
    "table",
    "task",
    "experiment",
    "variant",
    "anchor",
    "runs",
    "note",
    "mean",
    "pi_low",
    "pi_high",
]
MEAN_OF = re.compile(r"mean of (\d+) runs")


def published_table(anchors: pd.DataFrame, table: str, model: str) -> pd.DataFrame:
    """The published dev accuracies of one table for one model (the experiments the table compares)."""
    post, ours_of, model_name = ANCHOR_TABLES[table]
    dev = anchors[anchors["split"] == "dev"]
    rows = dev[(dev["post"].astype(str) == post) & (dev["model"] == model_name.format(model))]
    return rows[rows["experiment"].map(lambda e: ours_of(e) is not None)]


def _ours_for(runs: pd.DataFrame, task: str, model: str, wanted: str, anchor_model: str) -> pd.DataFrame:
    """Our runs of a task (anchors' name) and model for a wanted variant ('childtuning-f' matches any p)."""
    of_model = runs["task"].map(lambda t: split_task(t, anchor_model)[1] == model)
    sub = runs[(runs["task"].map(anchor_task) == task) & of_model]
    if wanted in ("childtuning-f", "incre-drop"):
        return sub[sub["variant"].str.fullmatch(rf"{wanted}:p=[0-9.]+")]
    return sub[sub["variant"] == wanted]


def anchor_comparisons(runs: pd.DataFrame, anchors: pd.DataFrame, anchor_model: str) -> list[dict[str, Any]]:
    """Each published value of each table against our runs (points, one per seed) of the same task, model
    and variant, for every model we ran."""
    models = sorted({split_task(t, anchor_model)[1] for t in runs["task"]})
    rows = []
    for table, (_, ours_of, _) in ANCHOR_TABLES.items():
        for model in models:
            for row in published_table(anchors, table, model).itertuples():
                wanted = ours_of(row.experiment)
                if wanted is None:
                    continue
                mine = _ours_for(runs, row.task, model, wanted, anchor_model)
                for (task, variant), group in mine.groupby(["task", "variant"], sort=True):
                    note = row.note if isinstance(row.note, str) else ""
                    rows.append(
                        {"table": table, "task": task, "experiment": row.experiment, "variant": variant}
                        | {"anchor": float(row.value), "runs": int(MEAN_OF.search(note).group(1))
                           if MEAN_OF.search(note) else 1, "note": note}
                        | {"values": group.sort_values("seed")["accuracy"].tolist(),
                           "seeds": group.sort_values("seed")["seed"].tolist()}
                    )  # fmt: skip
    return rows


@claim
def anchor(
    comparisons: list[dict[str, Any]], anchors: pd.DataFrame, anchor_model: str, alpha: float, scale: str,
    evidence: str,
) -> list[Claim]:  # fmt: skip
    """Each published dev accuracy is what one run of ours gives (full scale); elsewhere, one row per table."""
    claims = []
    for table, (post, _, model_name) in ANCHOR_TABLES.items():
        source = POSTS[post] if post != "8739" else "https://github.com/CLUEbenchmark/CLUE README"
        section = SECTIONS[
            "8739" if post == "8739" else ("8770-droptoken" if post == "8770" else "8764-experiments")
        ]
        statement = (
            "The post's recipe scores on dev what CLUE's official baseline scores"
            if table == "clue-baseline"
            else f"Su's published dev accuracies of the {table} table are what one run of the same recipe gives"
        )
        mine = [r for r in comparisons if r["table"] == table]
        if scale != FULL or not mine:
            why = (
                f"scale {scale}: the anchors are full-scale single runs (the posts' models, data and recipe)"
                if scale != FULL
                else "no task, model and variant of ours in this table"
            )
            published = published_table(anchors, table, anchor_model)
            claims.append(
                Claim(
                    study=STUDY, claim_id=f"anchor.{table}", kind="claim", section=section,
                    statement=f"{statement} ({model_name.format(anchor_model)}).",
                    metric=f"not compared: {why}", ours=None,
                    criterion="the published value inside our prediction interval for a single run "
                    "(reproduced), significantly outside (not reproduced); full scale only",
                    verdict=INCONCLUSIVE, no_p_reason=why,
                    to_decide=f"needs {FULL_RUN}" if scale != FULL else "needs full-scale runs of the "
                    f"table's variant on its tasks (add it to clue.runs.variants): {table}",
                    scale=scale, evidence=evidence,
                    anchor="; ".join(f"{r.task} {r.experiment} {r.value:g}" for r in published.itertuples())
                    or None,
                    anchor_source=source,
                )
            )  # fmt: skip
            continue
        for r in mine:
            judged = anchor_single_run(r["values"], r["anchor"], alpha, runs=r["runs"])
            what = "a single run" if r["runs"] == 1 else f"a mean of {r['runs']} runs"
            claims.append(
                Claim(
                    study=STUDY, claim_id=f"anchor.{table}.{slug(r['task'])}.{slug(r['variant'])}",
                    kind="claim", section=section,
                    statement=f"({r['task']}, {r['variant']}) {statement}: {r['experiment']} {r['anchor']:g}.",
                    metric=f"dev accuracy, points, per seed: {', '.join(f'{v:.2f}' for v in r['values'])}; "
                    f"{1 - alpha:.0%} prediction interval for {what}",
                    ours=round(float(np.mean(r["values"])), 6),
                    criterion=f"the published value ({what}) inside our prediction interval (reproduced); "
                    "significantly outside (not reproduced)",
                    judgement=judged, scale=scale, evidence=evidence, anchor=r["anchor"],
                    anchor_source=source + (f" ({r['note']})" if r["note"] else ""), seeds=r["seeds"],
                )
            )  # fmt: skip
    return claims


def anchors_table(comparisons: list[dict[str, Any]], alpha: float) -> pd.DataFrame:
    rows = []
    for r in comparisons:
        judged = anchor_single_run(r["values"], r["anchor"], alpha, runs=r["runs"])
        low, high = judged.interval if judged.interval is not None else (math.nan, math.nan)
        rows.append({k: r[k] for k in ANCHOR_FIELDS[:7]} | {"mean": np.mean(r["values"]), "pi_low": low,
                                                             "pi_high": high})  # fmt: skip
    return pd.DataFrame(rows, columns=ANCHOR_FIELDS)


# --- Su's single-run differences -------------------------------------------------------------------------


@claim
def single_run(
    found: list[Effect], variants: Sequence[str], anchors: pd.DataFrame, anchor_model: str, alpha: float,
    scale: str, evidence: str,
) -> list[Claim]:  # fmt: skip
    """Su's single-run difference (variant minus vanilla) shows an effect beyond one run's noise."""
    claims = []
    published = [v for v in variants if variant_kind(v) in ("childtuning-f", "incre-drop", "droptoken")]
    if scale != FULL:
        for variant in published:
            kind = variant_kind(variant)
            post = "8770" if kind == "droptoken" else "8764"
            tasks = sorted(set(anchors.loc[anchors["post"].astype(str) == post, "task"]))
            differences = {t: su_effect(anchors, t, variant, anchor_model) for t in tasks}
            claims.append(
                Claim(
                    study=STUDY, claim_id=f"single_run.{slug(variant)}", kind="claim",
                    section=SECTIONS["8770-droptoken" if post == "8770" else "8764-experiments"],
                    statement=f"Su's single-run differences of {variant} against vanilla on each CLUE task show "
                    "effects, not run-to-run noise.",
                    metric=f"not compared: scale {scale}; Su's differences are full-scale single runs",
                    ours=None,
                    criterion="Su's difference outside our prediction interval of one run's difference "
                    "under no effect (reproduced), else inconclusive; at the same scale only",
                    verdict=INCONCLUSIVE, no_p_reason=f"scale {scale}: a different scale from Su's runs",
                    to_decide=f"needs {FULL_RUN}", scale=scale, evidence=evidence,
                    anchor="; ".join(f"{t} {d:+.2f}" for t, d in differences.items() if d is not None)
                    or None,
                    anchor_source=f"{POSTS[post]} ({anchor_model}, single runs, points)",
                )
            )  # fmt: skip
        return claims
    for e in found:
        if e.su_effect is None:
            continue
        post = "8770" if variant_kind(e.variant) == "droptoken" else "8764"
        judged = (
            _run_failed(e) if e.failed else single_run_beyond_noise(e.diff.to_numpy(), e.su_effect, alpha)
        )
        claims.append(
            Claim(
                study=STUDY, claim_id=f"single_run.{slug(e.task)}.{slug(e.variant)}", kind="claim",
                section=SECTIONS["8770-droptoken" if post == "8770" else "8764-experiments"],
                statement=f"({e.task}) Su's single-run difference of {e.variant} against vanilla, "
                f"{e.su_effect:+.2f} points, shows an effect, not run-to-run noise.",
                metric=f"our per-seed differences (points): {_per_seed(e)}; {1 - alpha:.0%} interval of one "
                "run's difference under no effect",
                ours=round(float(e.diff.mean()), 6),
                criterion="Su's difference outside one run's noise (reproduced), else inconclusive",
                judgement=judged, scale=scale, evidence=evidence, anchor=e.su_effect,
                anchor_source=f"{POSTS[post]} (single runs)", seeds=[int(s) for s in e.diff.index],
            )
        )  # fmt: skip
    return claims


# --- Su's Adam argument ----------------------------------------------------------------------------------


def toy_ratios(records: list[dict[str, Any]]) -> np.ndarray:
    return np.array([ratio for r in records for ratio in r["toy"]["drift_ratio_f"]], dtype=float)


@claim
def grad_drop_scales_update_by_sqrt_p(
    records: list[dict[str, Any]], margin_share: float, alpha: float, scale: str, evidence: str
) -> Claim:
    """Under Adam, gradient dropout acts like a learning rate times sqrt(p) (the toy's drift ratio)."""
    p = records[0]["p"]
    toy = records[0]["toy"]
    ratios = toy_ratios(records)
    distance = math.log(1 / math.sqrt(p))  # log distance between sqrt(p) and 1
    margin = margin_share * distance
    judged = equivalence(np.log(ratios / math.sqrt(p)), margin, alpha, unit="gradient streams")
    ours = float(np.exp(np.mean(np.log(ratios))))
    low, high = judged.interval if judged.interval is not None else (0.0, 0.0)
    return Claim(
        study=STUDY,
        claim_id="adam.grad_drop_scales_update_by_sqrt_p",
        kind="claim",
        section=SECTIONS["8764-adam"],
        statement=f"With Adam, gradient dropout at keep share p acts like a learning rate times sqrt(p) "
        f"(= {math.sqrt(p):.4g} at p = {p:g}): the kept gradients are divided by p, so Adam's second moment "
        "grows by 1/p while its first keeps its expectation.",
        metric=f"AdamW on a toy gradient stream (mean + noise, {toy['entries']} entries), {toy['steps']} steps "
        f"= {toy['steps'] / toy['horizon_steps']:g} horizons 1/(1 - beta2), drift after the first "
        f"{toy['burn_in_steps']} steps projected on the mean gradient, ChildTuning-F over vanilla on the same "
        f"stream: geometric mean {ours:.4f} = {ours / math.sqrt(p):.4f} sqrt(p) over {len(ratios)} independent "
        f"streams ({len(records)} seeds x {toy['repeats']}); {1 - 2 * alpha:.0%} interval of the ratio over "
        f"sqrt(p): [{math.exp(low):.4f}, {math.exp(high):.4f}]",
        ours=round(ours, 6),
        interval=(round(math.sqrt(p) * math.exp(low), 6), round(math.sqrt(p) * math.exp(high), 6)),
        criterion=f"TOST on log(ratio / sqrt(p)) over the streams, margin +-{margin:.4g} = {margin_share:g} x "
        f"log(1/sqrt(p)) (clue.claims.sqrt_p_margin: nearer sqrt(p) than 1, the ratio the gradient's "
        "unbiasedness alone predicts): inside (reproduced), beyond (not reproduced), else inconclusive",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        anchor=round(math.sqrt(p), 6),
        anchor_source=POSTS["8764"],
        seeds=sorted(int(r["seed"]) for r in records),
    )


@claim
def momentum_moves_dropped_entries(records: list[dict[str, Any]], scale: str, evidence: str) -> Claim:
    """Under Adam with gradient dropout, entries whose gradient was dropped still move (the momentum)."""
    p = records[0]["p"]
    per_seed = [(r["model"]["dropped_moved_f"], r["model"]["dropped_f"]) for r in records]
    moved_all = all(moved > 0 for moved, _ in per_seed)
    total_moved, total = sum(m for m, _ in per_seed), sum(d for _, d in per_seed)
    steps = records[0]["model"]["steps"]
    return Claim(
        study=STUDY,
        claim_id="adam.momentum_moves_dropped_entries",
        kind="claim",
        section=SECTIONS["8764-adam"],
        statement="With Adam, gradient dropout still moves parameters whose gradient was dropped, through the "
        "momentum: it does not train a subnetwork.",
        metric=f"tiny model, encoder entries, AdamW steps 2-{steps} at p = {p:g}: entries whose gradient was "
        f"dropped in a step that moved in it, per seed: "
        + ", ".join(f"{m:,} of {d:,} ({m / d:.3f})" for m, d in per_seed),
        ours=round(total_moved / total, 6) if total else None,
        criterion="in every seed some entries with a dropped gradient moved (reproduced); in some seed none "
        "did (not reproduced)",
        verdict=REPRODUCED if moved_all else NOT_REPRODUCED,
        no_p_reason="an exact count of the entries that moved, on fixed batches: no sampling statistic",
        scale=scale,
        evidence=evidence,
        anchor="dropped entries move",
        anchor_source=POSTS["8764"],
        seeds=sorted(int(r["seed"]) for r in records),
    )


@claim
def update_dropout_moves_only_kept(records: list[dict[str, Any]], scale: str, evidence: str) -> Claim:
    """Update dropout moves no entry outside its mask (by construction: a check of the implementation)."""
    outside = [r["model"]["moved_outside_mask_incre"] for r in records]
    return Claim(
        study=STUDY,
        claim_id="adam.update_dropout_moves_only_kept",
        kind="check",
        statement="Update dropout (incre drop) moves only the entries its mask keeps, so it trains a "
        "subnetwork at every step.",
        metric="tiny model, encoder entries, every step: entries that moved outside the step's update mask, "
        f"per seed: {', '.join(str(o) for o in outside)}; share moved per step (mean) "
        + ", ".join(f"{r['model']['moved_share_incre']:.4f}" for r in records)
        + f" against p = {records[0]['p']:g}",
        ours=int(sum(outside)),
        criterion="no entry moved outside the mask in any seed (reproduced), else not reproduced",
        verdict=REPRODUCED if sum(outside) == 0 else NOT_REPRODUCED,
        no_p_reason="an identity of the implementation (the update is reset outside the mask)",
        scale=scale,
        evidence=evidence,
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
    ratios = toy_ratios(updates)
    metrics["adam.toy_drift_ratio_over_sqrt_p"] = round(
        float(np.exp(np.mean(np.log(ratios)))) / math.sqrt(updates[0]["p"]), 4
    )
    moved = sum(u["model"]["dropped_moved_f"] for u in updates)
    metrics["adam.dropped_moved_share_f"] = round(moved / sum(u["model"]["dropped_f"] for u in updates), 4)
    metrics["adam.moved_share_incre"] = round(
        float(np.mean([u["model"]["moved_share_incre"] for u in updates])), 4
    )
    return metrics


def headline(effects: pd.DataFrame) -> dict[str, float | None]:
    """For `dvc exp show`: ChildTuning-D's dev accuracy minus the baseline's, in points, the mean over tasks
    (the effects table's means; a variant is labelled "name:settings")."""
    chosen = effects[(effects["variant"].str.split(":").str[0] == "childtuning-d") & effects["mean"].notna()]
    return {"ctd_gain": round(float(chosen["mean"].mean()), 4) if len(chosen) else None}


def write_outputs(
    run_paths: Sequence[str], probs_paths: Sequence[str], dev_paths: Sequence[str], update_paths: Sequence[str],
    anchors_path: str, config: ClaimsConfig, scale: str, tables_dir: Path, plots_dir: Path, claims_out: str,
    metrics_out: str, numbers_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: tables, plots, claims.json, metrics.json and numbers.json."""
    alpha = round(1 - config.confidence, 12)
    runs = read_runs(run_paths)
    if config.baseline not in set(runs["variant"]):
        raise ValueError(f"clue.claims: baseline {config.baseline!r}: no run of that variant among --runs")
    correct, dev_of = read_correct(run_paths, probs_paths, dev_paths)
    shares = majority_share(dev_paths)
    found_gates = gates(correct, {key: shares[dev_of[key]] for key in correct})
    anchors = pd.read_csv(anchors_path)
    updates = read_update_sizes(update_paths)
    files = {name: tables_dir / f"{name}.csv" for name in TABLES}
    summary = summary_table(runs, config.confidence)
    found = effects(runs, correct, anchors, config.baseline, config.anchor_model, found_gates, alpha)
    comparisons = anchor_comparisons(runs, anchors, config.anchor_model)
    frames = {
        "runs": runs,
        "summary": summary,
        "effects": effects_table(found, config.baseline, config.no_change_margin, alpha),
        "anchors": anchors_table(comparisons, alpha),
        "update_size": update_size_table(updates),
        "toy": toy_table(updates),
    }
    for name, frame in frames.items():
        write_csv(files[name], frame, FLOAT_FORMAT)
    plots.plot_effects(frames["effects"], plots_dir / "effects.png", scale, alpha)
    plots.plot_update_size(
        frames["toy"], frames["update_size"], updates[0]["p"], plots_dir / "update_size.png", scale
    )
    evidence = {name: str(path) for name, path in files.items()}
    variants = sorted(set(runs["variant"]))
    ledger = [
        runs_trained(found_gates, alpha, scale, evidence["runs"]),
        *effect(found, config.baseline, alpha, scale, evidence["effects"]),
        *no_change(found, config.baseline, config.no_change_margin, alpha, scale, evidence["effects"]),
        *anchor(comparisons, anchors, config.anchor_model, alpha, scale, evidence["anchors"]),
        *single_run(found, variants, anchors, config.anchor_model, alpha, scale, evidence["effects"]),
        grad_drop_scales_update_by_sqrt_p(updates, config.sqrt_p_margin, alpha, scale, evidence["toy"]),
        momentum_moves_dropped_entries(updates, scale, evidence["update_size"]),
        update_dropout_moves_only_kept(updates, scale, evidence["update_size"]),
    ]  # fmt: skip
    rows = write_claims(claims_out, ledger, alpha)
    numbers = headline_metrics(summary, frames["effects"], updates)
    write_json(numbers_out, numbers)
    write_metrics(metrics_out, rows, headline(frames["effects"]))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.runs, args.probs, args.dev, args.update_size, args.anchors,
        build(ClaimsConfig, args.settings, "clue.claims"), args.scale, Path(args.tables_dir),
        Path(args.plots_dir), args.claims_out, args.metrics_out, args.numbers_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.claims", __doc__, "clue.claims")
    parser.add_argument("--runs", nargs="+", required=True, help="the fine-tuning run records (.json)")
    parser.add_argument(
        "--probs", nargs="+", required=True, help="their best epoch's dev probabilities (.npy), same order"
    )
    parser.add_argument("--dev", nargs="+", required=True, help="the dev files the run records name (.jsonl)")
    parser.add_argument(
        "--update-size", nargs="+", required=True, help="the update-size records (one per seed)"
    )
    parser.add_argument("--anchors", required=True, help="data/anchors/clue_finetune.csv")
    parser.add_argument("--tables-dir", required=True, help="where the study's tables (.csv) go")
    parser.add_argument("--plots-dir", required=True, help="where the study's plots (.png) go")
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
