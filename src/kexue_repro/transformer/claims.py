"""Tables, plots, claims and headline metrics of study 8747 (and 8770's MAE identity) from the step outputs.

Intervals over seeds are Student-t intervals (common.stats); a claim with fewer than two seeds, or whose
runs are missing, is inconclusive. Gradient-profile claims are stated per named configuration (an encoder
depth x width, written L<depth>_d<width>; the seen figures are matched by that shape). Each claim id has one
function of the same name:
- a.init_std.<init>: the actual std of TF's truncated normal 0.02 (0.0176) and of Xavier on 768x768 (0.0361).
- b.post_ln_std_0.02_flat, c.post_ln_xavier_vanishes, d.post_ln_std_0.1_explodes (per configuration):
  Post-LN's gradient profile at initialisation with std 0.02, Xavier and std 0.1.
- e.pre_ln_never_vanishes: Pre-LN's gradient never vanishes toward the input, whatever the initialiser.
- f.post_ln_stalls_without_warmup, g.pre_ln_learns_without_warmup, h.warmup_fixes_post_ln: the warmup sweep.
- i.last_ln_gamma_larger_without_head_dense_ln: the last LayerNorm's gamma, with and without BERT's head.
- j.mae_expected_mask_identity, k.mae_mean_masked_attention_is_not_a: 8770's MAE identity.
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
from kexue_repro.transformer.evaluate import LEARNED, STUCK, run_status
from kexue_repro.transformer.plots import plot_curves, plot_gradflow, plot_last_ln, plot_mae

STUDY = "transformer"
POST = "https://kexue.fm/archives/8747"
MAE_POST = "https://kexue.fm/archives/8770"
FLOAT_FORMAT = "%.8g"
PROFILE_COLUMNS = [
    "grad_norm",
    "grad_rel",
    "weight_grad_norm",
    "weight_grad_rel",
    "var_attn",
    "var_ffn",
    "path_weight",
]


@dataclass(frozen=True)
class LastLn:
    """The Post-LN runs of the LayerNorm-gamma claim (heads dense_ln and plain)."""

    lr: float
    warmup_steps: int


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``transformer.claims`` settings."""

    confidence: float  # level of every interval
    std_rel_tol: float  # init stds: relative tolerance
    flat_min: float  # flat: every layer's gradient >= this x top
    flat_max: float  # flat: every layer's gradient <= this x top
    vanish_threshold: float  # vanished: some layer < this x top
    explode_ratio: float  # exploded: some layer > this x top
    stall_margin: float  # learned: final loss this far below H1
    identity_tol: float  # MAE identity: exact up to this
    mc_z: float  # MAE: Monte-Carlo gap beyond this many standard errors
    sweep_head: str  # the head of the warmup sweep's runs
    last_ln: LastLn


def read_json(path: str | os.PathLike) -> Any:
    """A step's output; an empty or truncated file is a ValueError naming it."""
    with open(path, encoding="utf-8") as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a JSON record ({err})") from None


def configuration_shape(configuration: dict[str, Any]) -> str:
    return f"L{configuration['depth']}_d{configuration['width']}"


def gradflow_tables(records: Sequence[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per configuration, norm, init, seed and layer; one summary row per measurement)."""
    layers, profiles, names = [], [], set()
    for record in records:
        name, shape = record["configuration"]["name"], configuration_shape(record["configuration"])
        if name in names:
            raise ValueError(f"two gradflow records for configuration {name}")
        names.add(name)
        for row in record["rows"]:
            key = {"configuration": name, "shape": shape, "norm": row["norm"], "init": row["init"]}
            key["seed"] = row["seed"]
            depth = len(row["grad_rel"])
            layers += [key | {"layer": i} | {c: row[c][i] for c in PROFILE_COLUMNS} for i in range(depth)]
            weight_total = math.sqrt(sum(g * g for g in row["weight_grad_norm"]))
            profiles.append(
                key
                | {"loss": row["loss"], "bottom_rel": row["grad_rel"][0]}
                | {"min_rel": min(row["grad_rel"]), "max_rel": max(row["grad_rel"])}
                | {"bottom_path_weight": row["path_weight"][0], "weight_grad_total": weight_total}
                | {"bottom_weight_rel": row["weight_grad_rel"][0]}
                | {
                    "mean_var_attn": float(np.mean(row["var_attn"])),
                    "mean_var_ffn": float(np.mean(row["var_ffn"])),
                }
            )
    return pd.DataFrame(layers), pd.DataFrame(profiles)


def seed_values(profiles: pd.DataFrame, configuration: str, norm: str, init: str, column: str) -> pd.Series:
    if profiles.empty:
        return pd.Series(dtype=float)
    chosen = profiles[
        (profiles["configuration"] == configuration) & (profiles["norm"] == norm) & (profiles["init"] == init)
    ]
    return chosen.set_index("seed")[column].sort_index()


def runs_table(runs: Sequence[dict[str, Any]], margin: float) -> pd.DataFrame:
    rows, seen = [], set()
    for record in runs:
        key = (record["norm"], record["head"], record["lr"], record["warmup_steps"], record["seed"])
        if key in seen:
            raise ValueError(f"two runs with norm/head/lr/warmup/seed {key}")
        seen.add(key)
        status = run_status(
            record["curve"], record["initial_loss"], record["final_loss"], record["unigram_entropy"], margin
        )
        final = math.nan if record["final_loss"] is None else record["final_loss"]
        rows.append(
            dict(zip(("norm", "head", "lr", "warmup_steps", "seed"), key))
            | {
                "initial_loss": record["initial_loss"],
                "final_loss": final,
                "unigram_entropy": record["unigram_entropy"],
            }
            | {
                "topic_entropy": record["topic_entropy"],
                "final_minus_unigram": final - record["unigram_entropy"],
            }
            | {"status": status, "steps_run": len(record["curve"]), "last_ln_ratio": record["last_ln_ratio"]}
            | {"seconds_per_step": record["seconds_per_step"]}
        )
    columns = ["norm", "head", "lr", "warmup_steps", "seed"]
    return pd.DataFrame(rows).sort_values(columns, kind="mergesort").reset_index(drop=True)


def curves_table(runs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        {
            "norm": r["norm"],
            "head": r["head"],
            "lr": r["lr"],
            "warmup_steps": r["warmup_steps"],
            "seed": r["seed"],
        }
        | {"step": step + 1, "loss": math.nan if loss is None else loss}
        for r in runs
        for step, loss in enumerate(r["curve"])
    ]
    return pd.DataFrame(rows)


def anchor_row(anchors: pd.DataFrame, experiment: str, metric: str, task: str = "-") -> pd.Series | None:
    chosen = anchors[
        (anchors["experiment"] == experiment) & (anchors["metric"] == metric) & (anchors["task"] == task)
    ]
    return None if chosen.empty else chosen.iloc[0]


# ---------------------------------------------------------------- initialisers' standard deviations


@claim
def init_std(
    init_std: dict[str, Any],
    init: str,
    metric: str,
    anchors: pd.DataFrame,
    tol: float,
    scale: str,
    evidence: str,
) -> Claim:
    """(a) Within ``tol`` (relative) of the anchor; inconclusive when the sample cannot resolve ``tol`` (three
    standard errors of the std above it) or, for Xavier, when the matrices are not 768 x 768."""
    row = next((r for r in init_std["rows"] if r["init"] == init), None)
    anchor = anchor_row(anchors, "bert-init", metric)
    if anchor is None:
        raise KeyError(f"anchors: no bert-init row for metric {metric}")
    value = float(anchor["value"])
    if row is None:
        outcome, text = INCONCLUSIVE, "no measurement"
    else:
        std_error = row["std"] / math.sqrt(2 * (row["samples"] - 1))
        text = f"std of {row['samples']} draws ({row['rows']}x{row['cols']} matrices), standard error {std_error:.2g}"
        if init == "xavier":
            bert = next((r["std"] for r in init_std["rows"] if r["init"] == "tf_truncated"), math.nan)
            text += f"; BERT's actual std / Xavier's = {bert / row['std']:.3f} ('about half')"
        if 3 * std_error > tol * value or (init == "xavier" and (row["rows"], row["cols"]) != (768, 768)):
            outcome = INCONCLUSIVE
        else:
            outcome = verdict(abs(row["std"] - value) / value <= tol)
    return Claim(
        study=STUDY,
        claim_id=f"a.init_std.{init}",
        statement={
            "tf_truncated": "A normal of std 0.02 truncated at 2 sigma (TensorFlow, BERT) has actual std "
            "0.02*sqrt(0.7737413) = 0.0176.",
            "xavier": "Xavier initialisation of a 768x768 matrix has std 1/sqrt(768) = 0.0361, about twice BERT's.",
        }[init],
        metric=text,
        ours=None if row is None else round(row["std"], 8),
        criterion=f"|ours - anchor| / anchor <= {tol:g} (reproduced), else not reproduced; inconclusive if 3 "
        "standard errors exceed the tolerance or (Xavier) the matrices are not 768x768",
        verdict=outcome,
        scale=scale,
        evidence=evidence,
        anchor=value,
        anchor_source=anchor["source"],
    )


# ---------------------------------------------------------------- gradient profiles at initialisation


def ratio_interval(ratios: pd.Series, confidence: float) -> Interval | None:
    """Geometric mean of gradient ratios over seeds with the t-interval of their log, back on the ratio scale."""
    interval = t_interval(np.log10(ratios.astype(float)), confidence)
    return None if interval is None else Interval(*(10.0**v for v in interval))


def above(ratios: pd.Series, threshold: float, confidence: float) -> tuple[str, Interval | None]:
    """Verdict for 'the ratio lies above threshold' from the interval over seeds, and the interval."""
    interval = ratio_interval(ratios, confidence)
    return (
        INCONCLUSIVE if interval is None else interval_verdict(interval.low, interval.high, threshold)
    ), interval


def below(ratios: pd.Series, threshold: float, confidence: float) -> tuple[str, Interval | None]:
    interval = ratio_interval(ratios, confidence)
    if interval is None:
        return INCONCLUSIVE, None
    return interval_verdict(-interval.high, -interval.low, -threshold), interval


@claim
def post_ln_std_0_02_flat(
    profiles: pd.DataFrame, configuration: str, shape: str, flat_min: float, flat_max: float, confidence: float,
    scale: str, evidence: str,
) -> Claim:  # fmt: skip
    """(b) With std 0.02 (truncated or plain), every layer's gradient is within [flat_min, flat_max] x the
    top's."""
    parts, texts, seeds = [], [], set()
    for init in ("tf_truncated", "hf_normal"):
        low_part, low = above(
            seed_values(profiles, configuration, "post", init, "min_rel"), flat_min, confidence
        )
        high_part, high = below(
            seed_values(profiles, configuration, "post", init, "max_rel"), flat_max, confidence
        )
        parts += [low_part, high_part]
        texts.append(f"{init}: min {describe(low, '.4g')}, max {describe(high, '.4g')}")
        seeds |= set(seed_values(profiles, configuration, "post", init, "min_rel").index)
    tf_min = ratio_interval(
        seed_values(profiles, configuration, "post", "tf_truncated", "min_rel"), confidence
    )
    return Claim(
        study=STUDY,
        claim_id=f"b.post_ln_std_0.02_flat.{configuration}",
        statement=f"({shape}) At initialisation with std 0.02 (truncated as TF/BERT, or plain as HF), "
        "Post-LN's residual-stream gradient is about as large at every layer as at the top (a flat profile).",
        metric=f"over layers, min and max of ||dL/dx_l|| / ||dL/dx_top||, geometric mean over seeds and "
        f"{confidence:.0%} t-interval of the log: " + "; ".join(texts) + "; ours = tf_truncated's min",
        ours=None if tf_min is None else round(tf_min.mean, 6),
        interval=claim_interval(tf_min),
        criterion=f"for both initialisers the min interval above {flat_min:g} and the max interval below "
        f"{flat_max:g} (reproduced); any part on the wrong side (not reproduced); else inconclusive",
        verdict=combine(parts),
        scale=scale,
        evidence=evidence,
        anchor="flat (ratio ~ 1 at every layer)",
        anchor_source=POST,
        seeds=sorted(int(s) for s in seeds),
    )


@claim
def post_ln_xavier_vanishes(
    profiles: pd.DataFrame, configuration: str, shape: str, threshold: float, anchors: pd.DataFrame,
    confidence: float,
    scale: str, evidence: str,
) -> Claim:  # fmt: skip
    """(c) With Xavier, some layer's gradient is below ``threshold`` x the top's."""
    mins = seed_values(profiles, configuration, "post", "xavier", "min_rel")
    part, interval = below(mins, threshold, confidence)
    bottom = seed_values(profiles, configuration, "post", "xavier", "bottom_rel")
    path = seed_values(profiles, configuration, "post", "xavier", "bottom_path_weight")
    seen = anchor_row(anchors, "gradflow", "min_rel_grad_norm", shape)
    return Claim(
        study=STUDY,
        claim_id=f"c.post_ln_xavier_vanishes.{configuration}",
        statement=f"({shape}) With Xavier initialisation, Post-LN's residual-stream gradient at "
        "initialisation vanishes toward the input (Norm divides the residual path by sqrt(1 + Var F/Var x) "
        "at every sublayer).",
        metric=f"min over layers of ||dL/dx_l|| / ||dL/dx_top||, geometric mean over seeds and {confidence:.0%} "
        f"t-interval of the log {describe(interval, '.4g')}; at the bottom layer {bottom.mean():.4g}; Su's "
        f"residual-path weight prod (1 + Var F/Var x)^(-1/2) from the bottom {path.mean():.3g}",
        ours=None if interval is None else round(interval.mean, 6),
        interval=claim_interval(interval),
        criterion=f"min interval below {threshold:g} (reproduced); above it (not reproduced); straddling or "
        "< 2 seeds (inconclusive). The seen figure is compared, not judged",
        verdict=part,
        scale=scale,
        evidence=evidence,
        anchor=None if seen is None else float(seen["value"]),
        anchor_source=None if seen is None else f"{seen['source']} ({seen['note']})",
        seeds=sorted(int(s) for s in mins.index),
    )


@claim
def post_ln_std_0_1_explodes(
    profiles: pd.DataFrame,
    configuration: str,
    shape: str,
    ratio: float,
    confidence: float,
    scale: str,
    evidence: str,
) -> Claim:
    """(d) With std 0.1, some layer's gradient is more than ``ratio`` x the top's."""
    maxes = seed_values(profiles, configuration, "post", "normal_0.1", "max_rel")
    part, interval = above(maxes, ratio, confidence)
    loss = seed_values(profiles, configuration, "post", "normal_0.1", "loss")
    base_loss = seed_values(profiles, configuration, "post", "tf_truncated", "loss")
    weights = seed_values(profiles, configuration, "post", "normal_0.1", "weight_grad_total")
    base_weights = seed_values(profiles, configuration, "post", "tf_truncated", "weight_grad_total")
    weight_ratio = (weights / base_weights).dropna()
    return Claim(
        study=STUDY,
        claim_id=f"d.post_ln_std_0.1_explodes.{configuration}",
        statement=f"({shape}) With std 0.1, Post-LN's gradient at initialisation explodes.",
        metric=f"max over layers of ||dL/dx_l|| / ||dL/dx_top||, geometric mean over seeds and {confidence:.0%} "
        f"t-interval of the log {describe(interval, '.4g')}; loss at init {loss.mean():.4g} (std 0.02: "
        f"{base_loss.mean():.4g}); weight-gradient norm / std 0.02's {weight_ratio.mean():.3g}",
        ours=None if interval is None else round(interval.mean, 6),
        interval=claim_interval(interval),
        criterion=f"'explodes' read as: the gradient entering some layer is more than {ratio:g} times the top "
        "layer's (growth toward the input); max interval above it (reproduced), below it (not reproduced), "
        "straddling or < 2 seeds (inconclusive)",
        verdict=part,
        scale=scale,
        evidence=evidence,
        anchor="explodes",
        anchor_source=POST,
        seeds=sorted(int(s) for s in maxes.index),
    )


@claim
def pre_ln_never_vanishes(
    profiles: pd.DataFrame, threshold: float, confidence: float, scale: str, evidence: str
) -> Claim:
    """(e) For every configuration and initialiser, Pre-LN's lowest gradient is above ``threshold`` x the
    top's."""
    parts, texts, lowest = [], [], math.inf
    pre = profiles[profiles["norm"] == "pre"] if len(profiles) else profiles
    for (configuration, init), group in pre.groupby(["configuration", "init"], sort=True) if len(pre) else []:
        part, interval = above(group["min_rel"], threshold, confidence)
        parts.append(part)
        texts.append(f"{configuration} {init} {describe(interval, '.4g')}")
        lowest = min(lowest, float(group["min_rel"].min()))
    return Claim(
        study=STUDY,
        claim_id="e.pre_ln_never_vanishes",
        statement="Pre-LN (x + F(Norm(x))) keeps the identity path: its gradient at initialisation never "
        "vanishes toward the input, whatever the initialiser.",
        metric=f"min over layers of ||dL/dx_l|| / ||dL/dx_top||, geometric mean over seeds and {confidence:.0%} "
        "t-interval of the log: " + ("; ".join(texts) or "no Pre-LN measurement") + "; ours = lowest seen",
        ours=None if not texts else round(lowest, 6),
        criterion=f"every configuration x initialiser interval above {threshold:g} (reproduced); any below "
        "(not reproduced); otherwise inconclusive",
        verdict=combine(parts) if parts else INCONCLUSIVE,
        scale=scale,
        evidence=evidence,
        anchor="no vanishing",
        anchor_source=POST,
        seeds=sorted(int(s) for s in pre["seed"].unique()) if len(pre) else (),
    )


# ---------------------------------------------------------------- warmup and the stall of Post-LN


def group_runs(runs: pd.DataFrame, norm: str, head: str, lr: float, warmup: int) -> pd.DataFrame:
    chosen = (runs["norm"] == norm) & (runs["head"] == head) & np.isclose(runs["lr"], lr)
    return runs[chosen & (runs["warmup_steps"] == warmup)]


def status_verdict(group: pd.DataFrame, expected: str) -> str:
    """All seeds ``expected`` (reproduced); none (not reproduced); mixed, or no runs (inconclusive)."""
    if group.empty:
        return INCONCLUSIVE
    hits = (group["status"] == expected).sum()
    if expected == STUCK:  # "stalls" is contradicted by seeds that learned, not by seeds that diverged
        return (
            REPRODUCED
            if hits == len(group)
            else NOT_REPRODUCED
            if (group["status"] == LEARNED).all()
            else INCONCLUSIVE
        )
    return REPRODUCED if hits == len(group) else NOT_REPRODUCED if hits == 0 else INCONCLUSIVE


def group_text(group: pd.DataFrame, label: str, confidence: float) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in group["status"].value_counts().sort_index().items())
    interval = t_interval(group["final_minus_unigram"].dropna(), confidence)
    return f"{label}: {counts or 'no runs'}; final loss - H1 {describe(interval, '+.4g')}"


@dataclass(frozen=True)
class Sweep:
    """The warmup sweep's runs (one MLM head) and what its three claims share: the highest and lowest
    learning rate, the longest warmup, the criterion's definitions and the seen stall."""

    runs: pd.DataFrame
    head: str
    high: float
    low: float
    warmup: int
    criterion: str
    seen: pd.Series | None


def warmup_sweep(runs: pd.DataFrame, head: str, margin: float, anchors: pd.DataFrame) -> Sweep:
    sweep = runs[runs["head"] == head]
    lrs = sorted(sweep["lr"].unique())
    high, low = (lrs[-1], lrs[0]) if lrs else (math.nan, math.nan)
    warmup = int(sweep["warmup_steps"].max()) if len(sweep) else 0
    h1 = float(sweep["unigram_entropy"].iloc[0]) if len(sweep) else math.nan
    criterion = (
        f"a run is stuck if its final held-out loss is not {margin:g} nats below the unigram entropy H1 "
        f"({h1:.4f}), diverged if a loss is not finite or the final loss exceeds the initial one, else learned; "
    )
    return Sweep(sweep, head, high, low, warmup, criterion, anchor_row(anchors, "warmup", "stall_lr"))


def sweep_claim(
    sweep: Sweep, claim_id: str, statement: str, groups: list[tuple[pd.DataFrame, str]], parts: list[str],
    rule: str, interval_group: pd.DataFrame, confidence: float, scale: str, evidence: str,
) -> Claim:  # fmt: skip
    """A claim of the warmup sweep: ``groups`` of runs described in the metric, ``parts`` of the verdict,
    and the final loss (with the interval of final loss - H1) of ``interval_group``."""
    seen = sweep.seen
    return Claim(
        study=STUDY,
        claim_id=claim_id,
        statement=statement,
        metric="; ".join(group_text(g, label, confidence) for g, label in groups),
        ours=None if interval_group.empty else round(float(interval_group["final_loss"].mean()), 6),
        interval=claim_interval(t_interval(interval_group["final_minus_unigram"].dropna(), confidence)),
        criterion=sweep.criterion + rule,
        verdict=combine(parts),
        scale=scale,
        evidence=evidence,
        anchor=None if seen is None else f"stall seen at lr {seen['value']:g} ({seen['model']})",
        anchor_source=None if seen is None else seen["source"],
        seeds=sorted(int(s) for s in interval_group["seed"]),
    )


@claim
def post_ln_stalls_without_warmup(
    runs: pd.DataFrame, head: str, margin: float, anchors: pd.DataFrame, confidence: float, scale: str,
    evidence: str,
) -> Claim:  # fmt: skip
    """(f) Without warmup, Post-LN is stuck at the highest learning rate and learns at the lowest."""
    sweep = warmup_sweep(runs, head, margin, anchors)
    high, low = sweep.high, sweep.low
    post_high = group_runs(sweep.runs, "post", head, high, 0)
    post_low = group_runs(sweep.runs, "post", head, low, 0)
    low_part = status_verdict(post_low, LEARNED) if low != high else INCONCLUSIVE
    return sweep_claim(
        sweep,
        "f.post_ln_stalls_without_warmup",
        f"Without warmup, Post-LN stalls at a constant loss (the unigram level) at the higher learning rate "
        f"({high:g}) while it learns at the lower one ({low:g}).",
        [(post_high, f"post lr {high:g}"), (post_low, f"post lr {low:g}")],
        [status_verdict(post_high, STUCK), low_part],
        "every seed stuck at the high lr and every seed learned at the low lr (reproduced); any seed learning "
        "at the high lr, or none at the low lr (not reproduced); otherwise inconclusive",
        post_high,
        confidence,
        scale,
        evidence,
    )


@claim
def pre_ln_learns_without_warmup(
    runs: pd.DataFrame, head: str, margin: float, anchors: pd.DataFrame, confidence: float, scale: str,
    evidence: str,
) -> Claim:  # fmt: skip
    """(g) Without warmup, Pre-LN learns at the highest learning rate."""
    sweep = warmup_sweep(runs, head, margin, anchors)
    pre_high = group_runs(sweep.runs, "pre", head, sweep.high, 0)
    return sweep_claim(
        sweep,
        "g.pre_ln_learns_without_warmup",
        f"Without warmup, Pre-LN does not stall at the learning rate where Post-LN does ({sweep.high:g}).",
        [(pre_high, f"pre lr {sweep.high:g}")],
        [status_verdict(pre_high, LEARNED)],
        "every seed learned (reproduced); none (not reproduced); otherwise inconclusive",
        pre_high,
        confidence,
        scale,
        evidence,
    )


@claim
def warmup_fixes_post_ln(
    runs: pd.DataFrame, head: str, margin: float, anchors: pd.DataFrame, confidence: float, scale: str,
    evidence: str,
) -> Claim:  # fmt: skip
    """(h) With the longest warmup, Post-LN learns at the highest learning rate."""
    sweep = warmup_sweep(runs, head, margin, anchors)
    high, warmup = sweep.high, sweep.warmup
    post_warm = group_runs(sweep.runs, "post", head, high, warmup) if warmup > 0 else sweep.runs.iloc[0:0]
    return sweep_claim(
        sweep,
        "h.warmup_fixes_post_ln",
        f"With a linear warmup ({warmup} steps), Post-LN learns at the learning rate where it stalls without "
        f"warmup ({high:g}).",
        [(post_warm, f"post lr {high:g} warmup {warmup}")],
        [status_verdict(post_warm, LEARNED)],
        "every seed learned (reproduced); none (not reproduced); otherwise inconclusive",
        post_warm,
        confidence,
        scale,
        evidence,
    )


# ---------------------------------------------------------------- the last LayerNorm's gamma


@claim
def last_ln_gamma_larger_without_head_dense_ln(
    runs: pd.DataFrame, lr: float, warmup: int, confidence: float, scale: str, evidence: str
) -> Claim:
    """(i) Post-LN at ``lr`` and ``warmup``: the last LayerNorm's gamma ratio is larger with the plain head than
    with BERT's Dense+LN head, paired by seed."""

    def ratios(head: str) -> pd.Series:
        return group_runs(runs, "post", head, lr, warmup).set_index("seed")["last_ln_ratio"]

    pairs = pd.concat(
        {"plain": ratios("plain"), "dense_ln": ratios("dense_ln")}, axis=1, join="inner"
    ).dropna()
    interval = t_interval(np.log(pairs["plain"] / pairs["dense_ln"]), confidence)
    exp_interval = None if interval is None else tuple(math.exp(v) for v in interval)
    return Claim(
        study=STUDY,
        claim_id="i.last_ln_gamma_larger_without_head_dense_ln",
        statement="Trained Post-LN MLM: when the MLM head lacks BERT's extra Dense+LayerNorm, the last encoder "
        "LayerNorm's gamma grows larger than the other LayerNorms'.",
        metric=f"mean |gamma| of the last encoder LayerNorm / mean over the other encoder LayerNorms, after "
        f"training at lr {lr:g} with {warmup} warmup steps: head plain {pairs['plain'].mean():.4g}, head "
        f"dense_ln {pairs['dense_ln'].mean():.4g}; plain/dense_ln per paired seed, geometric mean and "
        f"{confidence:.0%} t-interval of the log",
        ours=None if exp_interval is None else round(exp_interval[0], 6),
        interval=None if exp_interval is None else (round(exp_interval[1], 6), round(exp_interval[2], 6)),
        criterion="interval of the ratio above 1 (reproduced); below 1 (not reproduced); covering 1 or < 2 "
        "paired seeds (inconclusive)",
        verdict=INCONCLUSIVE if interval is None else interval_verdict(interval.low, interval.high),
        scale=scale,
        evidence=evidence,
        anchor="larger without the extra Dense+LN",
        anchor_source=POST,
        seeds=sorted(int(s) for s in pairs.index),
    )


# ---------------------------------------------------------------- 8770: the MAE identity


def mae_setup(mae: dict[str, Any]) -> str:
    return f"random {mae['n']}x{mae['n']} attention (logit std {mae['logit_std']:g}), keep p = {mae['keep_prob']:g}"


def mae_last(mae: dict[str, Any]) -> dict[str, Any]:
    """The Monte-Carlo row with the most masks."""
    return max(mae["monte_carlo"], key=lambda row: row["samples"])


@claim
def mae_expected_mask_identity(mae: dict[str, Any], tol: float, scale: str, evidence: str) -> Claim:
    """(j) Norm(A * E[M]) = A, to ``tol`` in float64."""
    return Claim(
        study=STUDY,
        claim_id="j.mae_expected_mask_identity",
        statement="MAE = zeroing the attention columns of dropped tokens and renormalising the rows; with the "
        "expected mask, Norm(A * p) = A exactly, so MAE's all-token inference is consistent.",
        metric=f"max |Norm(A * p) - A| in float64, {mae_setup(mae)}",
        ours=mae["identity_max_abs_error"],
        criterion=f"<= {tol:g} (reproduced), else not reproduced",
        verdict=verdict(mae["identity_max_abs_error"] <= tol),
        scale=scale,
        evidence=evidence,
        anchor="exact",
        anchor_source=MAE_POST,
    )


@claim
def mae_mean_masked_attention_is_not_a(
    mae: dict[str, Any], tol: float, z: float, scale: str, evidence: str
) -> Claim:
    """(k) The mean over masks of Norm(A * M) is more than ``z`` standard errors (Monte Carlo) and more than
    ``tol`` (exact enumeration, when small enough) away from A."""
    last = mae_last(mae)
    parts = [verdict(last["max_z"] > z)]
    if mae["exact_max_abs_gap"] is not None:
        parts.append(verdict(mae["exact_max_abs_gap"] > tol))
    return Claim(
        study=STUDY,
        claim_id="k.mae_mean_masked_attention_is_not_a",
        statement="The average over random masks of the renormalised masked attention Norm(A * M) is not A.",
        metric=f"after {last['samples']} masks: max |MC mean - A| {last['max_abs_gap']:.4g} = {last['max_z']:.1f} "
        f"standard errors; exact mean over all masks: max |gap| {mae['exact_max_abs_gap']}; {mae_setup(mae)}",
        ours=round(last["max_abs_gap"], 9),
        criterion=f"MC gap above {z:g} standard errors and the exact gap above {tol:g} (reproduced); "
        "otherwise not reproduced",
        verdict=combine(parts),
        scale=scale,
        evidence=evidence,
        anchor="not A (the renormalisation is not linear in M)",
        anchor_source=MAE_POST,
    )


# ---------------------------------------------------------------- assembly


def headline_metrics(
    profiles: pd.DataFrame, init_std: dict[str, Any], runs: pd.DataFrame, mae: dict[str, Any]
) -> dict[str, float]:
    metrics: dict[str, float] = {
        f"init_std_{r['init']}_{r['rows']}": round(r["std"], 8) for r in init_std["rows"]
    }
    if len(profiles):
        for (configuration, norm, init), group in profiles.groupby(
            ["configuration", "norm", "init"], sort=True
        ):
            for column in ("min_rel", "max_rel", "loss"):
                metrics[f"gradflow_{configuration}_{norm}_{init}_{column}"] = round(
                    float(group[column].mean()), 6
                )
    for (norm, head, lr, warmup), group in runs.groupby(["norm", "head", "lr", "warmup_steps"], sort=True):
        key = f"mlm_{norm}_{head}_lr{lr:g}_w{warmup}"
        value = float(group["final_loss"].mean())
        if math.isfinite(value):  # a loss no run reached is left out, never written as NaN
            metrics[f"{key}_final_loss"] = round(value, 6)
        metrics[f"{key}_share_learned"] = round(float((group["status"] == LEARNED).mean()), 6)
        metrics[f"{key}_last_ln_ratio"] = round(float(group["last_ln_ratio"].mean()), 6)
    metrics["mae_identity_max_abs_error"] = mae["identity_max_abs_error"]
    metrics["mae_mc_max_abs_gap"] = round(mae_last(mae)["max_abs_gap"], 9)
    return metrics


TABLES = ("gradflow_layers", "gradflow_profiles", "init_std", "mlm_runs", "mlm_curves", "mae")


def build_claims(
    stds: dict[str, Any], profiles: pd.DataFrame, shapes: dict[str, str], runs: pd.DataFrame,
    mae: dict[str, Any], anchors: pd.DataFrame, config: ClaimsConfig, scale: str, files: dict[str, Path],
) -> list[Claim]:  # fmt: skip
    """Every claim, in the ledger's order; ``shapes`` maps each gradflow configuration to its shape."""
    c, s, tol = config.confidence, scale, config.std_rel_tol
    stds_csv, evidence, runs_csv, mae_csv = (
        str(files[name]) for name in ("init_std", "gradflow_profiles", "mlm_runs", "mae")
    )
    ledger = [
        init_std(stds, "tf_truncated", "truncated_normal_0.02_actual_std", anchors, tol, s, stds_csv),
        init_std(stds, "xavier", "xavier_std_768x768", anchors, tol, s, stds_csv),
    ]
    ledger += [
        post_ln_std_0_02_flat(profiles, n, sh, config.flat_min, config.flat_max, c, s, evidence)
        for n, sh in shapes.items()
    ]
    ledger += [
        post_ln_xavier_vanishes(profiles, n, sh, config.vanish_threshold, anchors, c, s, evidence)
        for n, sh in shapes.items()
    ]
    ledger += [
        post_ln_std_0_1_explodes(profiles, n, sh, config.explode_ratio, c, s, evidence)
        for n, sh in shapes.items()
    ]
    ledger.append(pre_ln_never_vanishes(profiles, config.vanish_threshold, c, s, evidence))
    sweep = (runs, config.sweep_head, config.stall_margin, anchors, c, s, runs_csv)
    ledger += [
        post_ln_stalls_without_warmup(*sweep),
        pre_ln_learns_without_warmup(*sweep),
        warmup_fixes_post_ln(*sweep),
    ]
    last_ln = config.last_ln
    ledger.append(
        last_ln_gamma_larger_without_head_dense_ln(runs, last_ln.lr, last_ln.warmup_steps, c, s, runs_csv)
    )
    ledger.append(mae_expected_mask_identity(mae, config.identity_tol, s, mae_csv))
    ledger.append(mae_mean_masked_attention_is_not_a(mae, config.identity_tol, config.mc_z, s, mae_csv))
    return ledger


def write_outputs(
    gradflow_paths: Sequence[str], init_std_path: str, run_paths: Sequence[str], mae_path: str,
    anchors_path: str, config: ClaimsConfig, scale: str, tables: Path, plots: Path, claims_out: str,
    metrics_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: tables, plots, claims.json and metrics.json."""
    gradflow_records = [read_json(path) for path in gradflow_paths]
    stds, mae = read_json(init_std_path), read_json(mae_path)
    run_records = [read_json(path) for path in run_paths]
    anchors = pd.read_csv(anchors_path)
    layers, profiles = gradflow_tables(gradflow_records)
    runs = runs_table(run_records, config.stall_margin)
    files = {name: tables / f"{name}.csv" for name in TABLES}
    write_csv(files["gradflow_layers"], layers, FLOAT_FORMAT)
    write_csv(files["gradflow_profiles"], profiles, FLOAT_FORMAT)
    write_csv(files["init_std"], pd.DataFrame(stds["rows"]), FLOAT_FORMAT)
    write_csv(files["mlm_runs"], runs, FLOAT_FORMAT)
    curves = curves_table(run_records)
    write_csv(files["mlm_curves"], curves, FLOAT_FORMAT)
    write_csv(files["mae"], pd.DataFrame(mae["monte_carlo"]), "%.10g")
    shapes = {
        record["configuration"]["name"]: configuration_shape(record["configuration"])
        for record in gradflow_records
    }
    for name, shape in shapes.items():
        title = f"{name} ({shape}): gradient at initialisation"
        plot_gradflow(layers[layers["configuration"] == name], title, plots / f"gradflow_{name}.png")
    plot_curves(
        curves[curves["head"] == config.sweep_head],
        float(runs["unigram_entropy"].iloc[0]),
        config.stall_margin,
        plots / "mlm_curves.png",
    )
    last_ln = config.last_ln
    gamma_runs = [
        r
        for r in run_records
        if r["norm"] == "post"
        and math.isclose(r["lr"], last_ln.lr)
        and r["warmup_steps"] == last_ln.warmup_steps
    ]
    plot_last_ln(gamma_runs, plots / "last_ln_gamma.png")
    plot_mae(mae, plots / "mae_gap.png")
    ledger = build_claims(stds, profiles, shapes, runs, mae, anchors, config, scale, files)
    write_claims(claims_out, ledger)
    write_json(metrics_out, headline_metrics(profiles, stds, runs, mae))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.gradflow, args.init_std, args.runs, args.mae, args.anchors,
        build(ClaimsConfig, args.settings, "transformer.claims"), args.scale, Path(args.tables_dir),
        Path(args.plots_dir), args.claims_out, args.metrics_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.transformer.claims", __doc__, "transformer.claims")
    parser.add_argument(
        "--gradflow", nargs="+", required=True, help="gradflow outputs, one per configuration"
    )
    parser.add_argument("--init-std", required=True)
    parser.add_argument("--runs", nargs="+", required=True, help="mlm run records")
    parser.add_argument("--mae", required=True)
    parser.add_argument("--anchors", required=True, help="data/anchors/transformer.csv")
    parser.add_argument("--tables-dir", required=True)
    parser.add_argument("--plots-dir", required=True)
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
