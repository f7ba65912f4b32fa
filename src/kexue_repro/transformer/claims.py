"""Tables, plots, claims and headline metrics of study 8747 (and 8770's MAE identity) from the step outputs.

Every claim is decided by a test of ``common.inference`` over seeds (the unit that varies: a seed draws the
weights and the batch of a gradient measurement, or the weights and the batches of a training run; Post-LN
and Pre-LN, and the two MLM heads, share them seed by seed, so their contrasts are paired), Holm-adjusted
over the study's claims by ``write_claims``. Identities, samplers and training gates are checks. Gradient
claims are stated per named configuration (an encoder depth x width, written L<depth>_d<width>) and read the
post's own quantity: the gradient of the residual stream at the input side (entering the bottom layer)
against the top layer's, ||dL/dx_bottom|| / ||dL/dx_top||, tested on its log. Each claim id has one function
whose name it carries:

- a.init_std.<init> (checks): the sampled std of TF's truncated normal 0.02 and of Xavier on 768x768 against
  the exact std of those distributions (Su: 0.0176 and 0.0361).
- b.post_ln_std_0.02_flat.<configuration>.<init>: Post-LN at std 0.02 keeps the gradient about the same at
  the input side as at the top (equivalence, margin ``flat_log_margin``).
- c.post_ln_xavier_vanishes.<configuration>: with Xavier, Post-LN's input-side gradient is below the top's.
- d.post_ln_std_0.1_explodes.<configuration>: with std 0.1, Post-LN's input-side gradient is above the top's.
- e.pre_ln_never_vanishes.<configuration>.<init>: Pre-LN's input-side gradient is not smaller than the top's
  by more than the flatness margin (non-inferiority).
- l.pre_ln_keeps_more_gradient_than_post_ln.<configuration>: with Xavier, Pre-LN's input-side ratio is
  above Post-LN's, paired by seed (the post's contrast of the two).
- gate.runs_train.<group> (checks): the runs a claim reads trained (every final held-out loss finite and
  below the unigram entropy H1); a claim whose gate fails is inconclusive ("run failed").
- f.post_ln_stalls_without_warmup, g.pre_ln_learns_without_warmup, m.pre_ln_ends_below_post_ln_without_warmup,
  h.warmup_fixes_post_ln: the warmup sweep, final held-out loss against H1 (stuck = not below H1).
- i.last_ln_gamma_larger_without_head_dense_ln, n.last_ln_gamma_larger_than_with_head_dense_ln: the last
  LayerNorm's gamma against the others' without BERT's Dense+LN head, and against the same ratio with it.
- j.mae_expected_mask_identity, k.mae_mean_masked_attention_is_not_a (checks): 8770's MAE identity.
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
from scipy import stats

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
    equivalence,
    fixed,
    log_ratio,
    mean_difference,
)
from kexue_repro.common.settings import build
from kexue_repro.transformer import INITS
from kexue_repro.transformer.evaluate import DIVERGED, LEARNED, run_status
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
# The post's sections, paraphrased (8747: "Why BERT's initial standard deviation is 0.02"; 8770: "MLM and MAE
# from the dropout viewpoint").
POST_LN = "8747, 'what LN does': Post Norm x_{t+1} = Norm(x_t + F_t(x_t)) divides the residual path by sqrt(1 + s^2)"
PRE_LN = "8747, 'what LN does': Pre Norm x_{t+1} = x_t + F_t(Norm(x_t)) keeps the identity path"
STD_002 = "8747, 'why the std is 0.02': a small std keeps Post Norm near the identity"
WARMUP = "8747, 'why BERT needs warmup': Post Norm without warmup"
DENSE = "8747, 'why a Dense before the MLM output': the last LayerNorm's gamma"
FLAT_INITS = ("tf_truncated", "hf_normal")  # std 0.02: truncated as TF/BERT, plain as HF


@dataclass(frozen=True)
class LastLn:
    """The Post-LN runs of the LayerNorm-gamma claims (heads dense_ln and plain)."""

    lr: float
    warmup_steps: int


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``transformer.claims`` settings (params.yaml says where each number comes from)."""

    confidence: float  # 1 - alpha of every test and interval
    flat_log_margin: (
        float  # "about the same": |log(bottom/top)| within this (TOST); "never vanishes": > -this
    )
    identity_tol: float  # MAE identity: exact up to float64 rounding
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
                | {"loss": row["loss"], "bottom_grad_norm": row["grad_norm"][0]}
                | {"top_grad_norm": row["grad_norm"][-1], "bottom_rel": row["grad_rel"][0]}
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


def runs_table(runs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per run; nothing measured by a clock (the ledger and the hashed tables stay deterministic)."""
    rows, seen = [], set()
    for record in runs:
        key = (record["norm"], record["head"], record["lr"], record["warmup_steps"], record["seed"])
        if key in seen:
            raise ValueError(f"two runs with norm/head/lr/warmup/seed {key}")
        seen.add(key)
        status = run_status(
            record["curve"], record["initial_loss"], record["final_loss"], record["unigram_entropy"]
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
    columns = [
        "norm",
        "head",
        "lr",
        "warmup_steps",
        "seed",
        "step",
    ]  # the same table whatever the runs' order
    return pd.DataFrame(rows).sort_values(columns, kind="mergesort").reset_index(drop=True)


def anchor_row(anchors: pd.DataFrame, experiment: str, metric: str, task: str = "-") -> pd.Series | None:
    chosen = anchors[
        (anchors["experiment"] == experiment) & (anchors["metric"] == metric) & (anchors["task"] == task)
    ]
    return None if chosen.empty else chosen.iloc[0]


def _seeds(index: Any) -> list[int]:
    return sorted(int(s) for s in index)


def _ratio_interval(judged: Judgement) -> tuple[float, float] | None:
    """A judgement on log ratios (equivalence, non-inferiority) with its interval back on the ratio scale."""
    return None if judged.interval is None else (math.exp(judged.interval[0]), math.exp(judged.interval[1]))


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


# ---------------------------------------------------------------- initialisers' standard deviations


def exact_distribution(init: str, rows: int, cols: int) -> Any:
    """The distribution ``model.init_matrix`` draws each entry of a rows x cols matrix from (scipy)."""
    if init == "tf_truncated":
        return stats.truncnorm(-2.0, 2.0, scale=0.02)
    if init == "xavier":  # Glorot uniform on [-b, b], b = sqrt(6 / (fan_in + fan_out))
        bound = math.sqrt(6.0 / (rows + cols))
        return stats.uniform(loc=-bound, scale=2 * bound)
    raise ValueError(f"no exact distribution for initialiser {init!r}")


def variance_z_test(std: float, samples: int, distribution: Any, alpha: float) -> Judgement:
    """The sampled variance against the distribution's exact one: for n i.i.d. draws the sample variance is
    asymptotically normal with variance (mu4 - sigma^4) / n, mu4 the exact fourth central moment (n is in
    the millions here). A significant difference says the sampler is wrong."""
    variance = float(distribution.var())
    mu4 = float(distribution.expect(lambda x: (x - distribution.mean()) ** 4))
    se = math.sqrt((mu4 - variance**2) / samples)
    z = (std**2 - variance) / se
    half = stats.norm.ppf(1 - alpha / 2) * se
    return Judgement(
        test=f"z-test of the sample variance of {samples:,} draws against the exact variance (se from the exact "
        "fourth moment)",
        p_value=float(2 * stats.norm.sf(abs(z))), significant=NOT_REPRODUCED, otherwise=REPRODUCED,
        estimate=std, interval=(math.sqrt(max(std**2 - half, 0.0)), math.sqrt(std**2 + half)),
    )  # fmt: skip


@claim
def init_std(
    init_std: dict[str, Any], init: str, metric: str, anchors: pd.DataFrame, alpha: float, scale: str,
    evidence: str,
) -> Claim:  # fmt: skip
    """(a, check) The sampler draws what the formula says: the sampled variance against the exact one."""
    row = next((r for r in init_std["rows"] if r["init"] == init), None)
    anchor = anchor_row(anchors, "bert-init", metric)
    if anchor is None:
        raise KeyError(f"anchors: no bert-init row for metric {metric}")
    statement = {
        "tf_truncated": "A normal of std 0.02 truncated at 2 sigma (tf.random.truncated_normal, BERT's initialiser) "
        "has actual std 0.02*sqrt(0.7737413) = 0.0176.",
        "xavier": "Xavier initialisation of a 768x768 matrix has std 1/sqrt(768) = 0.0361, about twice BERT's.",
    }[init]
    if row is None:
        judged, text = fixed(INCONCLUSIVE, "no measurement", "the init_std step's row"), "no measurement"
    else:
        exact = exact_distribution(init, row["rows"], row["cols"])
        judged = variance_z_test(row["std"], row["samples"], exact, alpha)
        text = (f"sampled std of {row['samples']:,} draws ({row['rows']}x{row['cols']} matrices) against the exact "
                f"std {float(exact.std()):.7f} of the distribution (scipy); Su's value {float(anchor['value']):g}")  # fmt: skip
        if init == "xavier":
            bert = next((r["std"] for r in init_std["rows"] if r["init"] == "tf_truncated"), math.nan)
            text += f"; BERT's actual std / Xavier's = {bert / row['std']:.3f} ('about half')"
    return Claim(
        study=STUDY,
        claim_id=f"a.init_std.{init}",
        kind="check",
        statement=statement,
        metric=text,
        ours=None if row is None else round(row["std"], 8),
        criterion="the sampled variance differs from the exact variance of the initialiser's distribution at "
        "level alpha (not reproduced: the sampler is wrong); else reproduced. A sampler check: it fails only "
        "through a bug",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section="8747, 'why the std is 0.02': the actual std of the truncated normal, against Xavier's",
        anchor=float(anchor["value"]),
        anchor_source=anchor["source"],
    )


# ---------------------------------------------------------------- gradient profiles at initialisation


def bottom_over_top(profiles: pd.DataFrame, configuration: str, norm: str, init: str) -> pd.Series:
    """||dL/dx_bottom|| / ||dL/dx_top|| per seed: the input side of the residual stream against the top layer."""
    bottom = seed_values(profiles, configuration, norm, init, "bottom_grad_norm")
    top = seed_values(profiles, configuration, norm, init, "top_grad_norm")
    return (bottom / top).dropna()


def profile_text(profiles: pd.DataFrame, configuration: str, norm: str, init: str) -> str:
    """The rest of the profile, as context: the smallest and largest layer ratio (the top is 1, so these are
    bounded by 1 by construction and are not tested)."""
    low = seed_values(profiles, configuration, norm, init, "min_rel")
    high = seed_values(profiles, configuration, norm, init, "max_rel")
    if low.empty:
        return "no measurement"
    return (f"over layers (context, not tested): min ratio {low.mean():.3g}, max {high.mean():.3g}, "
            f"mean over {len(low)} seeds")  # fmt: skip


RATIO = "||dL/dx_bottom|| / ||dL/dx_top|| (residual stream entering the bottom layer vs the top layer)"


@claim
def post_ln_std_0_02_flat(
    profiles: pd.DataFrame, configuration: str, shape: str, init: str, margin: float, alpha: float, scale: str,
    evidence: str,
) -> Claim:  # fmt: skip
    """(b) Post-LN at std 0.02 (``init``): the input-side gradient is about the top's (TOST on the log ratio)."""
    ratios = bottom_over_top(profiles, configuration, "post", init)
    judged = equivalence(np.log(ratios), margin, alpha)
    how = {
        "tf_truncated": "truncated at 2 sigma, as TF/BERT",
        "hf_normal": "plain normal, as HF transformers",
    }
    return Claim(
        study=STUDY,
        claim_id=f"b.post_ln_std_0.02_flat.{configuration}.{init}",
        kind="claim",
        statement=f"({shape}, std 0.02 {how[init]}) With a small initial std, Post-LN stays close to the identity "
        "at initialisation, so its gradient does not vanish: the gradient at the input side is about as large "
        "as at the top.",
        metric=f"{RATIO}, geometric mean over seeds and its {1 - 2 * alpha:.0%} interval (TOST); "
        + profile_text(profiles, configuration, "post", init),
        ours=_rounded(None if judged.estimate is None else math.exp(judged.estimate)),
        interval=_ratio_interval(judged),
        criterion=f"equivalence of the log ratio to 0 within +-{margin:g} (a factor {math.exp(margin):.3g}; "
        "params.yaml says why), two one-sided t-tests over seeds; needed seeds and detectable effect on the log "
        "scale",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=STD_002,
        anchor="flat (ratio ~ 1)",
        anchor_source=POST,
        seeds=_seeds(ratios.index),
    )


@claim
def post_ln_xavier_vanishes(
    profiles: pd.DataFrame, configuration: str, shape: str, anchors: pd.DataFrame, alpha: float, scale: str,
    evidence: str,
) -> Claim:  # fmt: skip
    """(c) Post-LN with Xavier: the input-side gradient is smaller than the top's (log ratio < 0)."""
    ratios = bottom_over_top(profiles, configuration, "post", "xavier")
    judged = log_ratio(ratios, np.ones(len(ratios)), alpha, claimed="less")
    path = seed_values(profiles, configuration, "post", "xavier", "bottom_path_weight")
    seen = anchor_row(anchors, "gradflow", "min_rel_grad_norm", shape)
    seen_text = "" if seen is None else (
        f"; the seen figure {float(seen['value']):g} is the profile's minimum in a recipe not ours (compared, "
        "not judged)"
    )  # fmt: skip
    return Claim(
        study=STUDY,
        claim_id=f"c.post_ln_xavier_vanishes.{configuration}",
        kind="claim",
        statement=f"({shape}) With Xavier initialisation, Post-LN's gradient at initialisation vanishes: each "
        "Norm divides the residual path by sqrt(1 + Var F/Var x), and vanishing is, in the post's words, that "
        "'the closer a layer is to the input, the smaller its gradient' (8747, 'what vanishing gradients mean').",
        metric=f"{RATIO}, geometric mean over seeds and t-interval of the log; Su's residual-path weight "
        f"prod (1 + Var F/Var x)^(-1/2) from the bottom {path.mean():.3g}; "
        + profile_text(profiles, configuration, "post", "xavier")
        + seen_text,
        ours=_rounded(judged.estimate),
        criterion="the ratio below 1: paired t-test of the log ratio over seeds, two-sided; below 1 "
        "(reproduced), above 1 (not reproduced), else inconclusive",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=POST_LN,
        anchor=None if seen is None else float(seen["value"]),
        anchor_source=None if seen is None else f"{seen['source']} ({seen['note']})",
        seeds=_seeds(ratios.index),
    )


@claim
def post_ln_std_0_1_explodes(
    profiles: pd.DataFrame, configuration: str, shape: str, alpha: float, scale: str, evidence: str
) -> Claim:
    """(d) Post-LN with std 0.1: the input-side gradient is larger than the top's (log ratio > 0)."""
    ratios = bottom_over_top(profiles, configuration, "post", "normal_0.1")
    judged = log_ratio(ratios, np.ones(len(ratios)), alpha, claimed="greater")
    pre = bottom_over_top(profiles, configuration, "pre", "normal_0.1")
    loss = seed_values(profiles, configuration, "post", "normal_0.1", "loss")
    base_loss = seed_values(profiles, configuration, "post", "tf_truncated", "loss")
    return Claim(
        study=STUDY,
        claim_id=f"d.post_ln_std_0.1_explodes.{configuration}",
        kind="claim",
        statement=f"({shape}) With a large initial std (0.1), Post-LN's gradient at initialisation explodes: it "
        "grows toward the input.",
        metric=f"{RATIO}, geometric mean over seeds and t-interval of the log; Pre-LN at std 0.1 (context): "
        f"{float(np.exp(np.log(pre).mean())) if len(pre) else math.nan:.4g}; loss at init {loss.mean():.4g} "
        f"(std 0.02: {base_loss.mean():.4g}); " + profile_text(profiles, configuration, "post", "normal_0.1"),
        ours=_rounded(judged.estimate),
        criterion="the ratio above 1: paired t-test of the log ratio over seeds, two-sided; above 1 "
        "(reproduced), below 1 (not reproduced), else inconclusive",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=STD_002,
        anchor="explodes (ratio > 1)",
        anchor_source=POST,
        seeds=_seeds(ratios.index),
    )


@claim
def pre_ln_never_vanishes(
    profiles: pd.DataFrame, configuration: str, shape: str, init: str, margin: float, alpha: float, scale: str,
    evidence: str,
) -> Claim:  # fmt: skip
    """(e) Pre-LN with ``init``: the input-side gradient is not smaller than the top's by more than the flatness
    margin (one-sided test of the log ratio against -margin)."""
    ratios = bottom_over_top(profiles, configuration, "pre", init)
    judged = mean_difference(np.log(ratios), alpha, threshold=-margin, claimed="greater")
    return Claim(
        study=STUDY,
        claim_id=f"e.pre_ln_never_vanishes.{configuration}.{init}",
        kind="claim",
        statement=f"({shape}, {init}) Pre-LN (x + F(Norm(x))) keeps the identity path: its gradient at "
        "initialisation does not vanish toward the input.",
        metric=f"{RATIO}, geometric mean over seeds and t-interval of the log; "
        + profile_text(profiles, configuration, "pre", init),
        ours=_rounded(None if judged.estimate is None else math.exp(judged.estimate)),
        interval=_ratio_interval(judged),
        criterion=f"non-inferiority: the log ratio above -{margin:g} (the ratio above {math.exp(-margin):.3g}, the "
        "flatness margin of params.yaml), t-test over seeds; above (reproduced), below (not reproduced), else "
        "inconclusive; needed seeds and detectable effect on the log scale",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=PRE_LN,
        anchor="no vanishing",
        anchor_source=POST,
        seeds=_seeds(ratios.index),
    )


@claim
def pre_ln_keeps_more_gradient_than_post_ln(
    profiles: pd.DataFrame, configuration: str, shape: str, alpha: float, scale: str, evidence: str
) -> Claim:
    """(l) With Xavier, Pre-LN's input-side ratio is above Post-LN's, paired by seed (same weights and batch)."""
    pre = bottom_over_top(profiles, configuration, "pre", "xavier")
    post = bottom_over_top(profiles, configuration, "post", "xavier")
    pairs = pd.concat({"pre": pre, "post": post}, axis=1, join="inner").dropna()
    judged = log_ratio(pairs["pre"], pairs["post"], alpha, claimed="greater")
    return Claim(
        study=STUDY,
        claim_id=f"l.pre_ln_keeps_more_gradient_than_post_ln.{configuration}",
        kind="claim",
        statement=f"({shape}, Xavier) Where Post-LN's Norm weakens the residual path, Pre-LN keeps it: from the "
        "same weights, Pre-LN keeps more of the gradient at the input side than Post-LN.",
        metric=f"[{RATIO}] of Pre-LN / the same of Post-LN, per seed (same weights and batch), geometric mean and "
        "t-interval of the log",
        ours=_rounded(judged.estimate),
        criterion="the ratio of ratios above 1: paired t-test of its log over seeds, two-sided; above 1 "
        "(reproduced), below 1 (not reproduced), else inconclusive",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=PRE_LN,
        anchor="Pre-LN > Post-LN",
        anchor_source=POST,
        seeds=_seeds(pairs.index),
    )


# ---------------------------------------------------------------- warmup and the stall of Post-LN


def group_runs(runs: pd.DataFrame, norm: str, head: str, lr: float, warmup: int) -> pd.DataFrame:
    chosen = (runs["norm"] == norm) & (runs["head"] == head) & np.isclose(runs["lr"], lr)
    return runs[chosen & (runs["warmup_steps"] == warmup)]


def group_text(group: pd.DataFrame, label: str) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in group["status"].value_counts().sort_index().items())
    final = group["final_loss"].dropna()
    mean = f"mean final loss {final.mean():.4f}" if len(final) else "no final loss"
    return f"{label}: {len(group)} runs ({counts or 'none'}), {mean}"


@dataclass(frozen=True)
class Gate:
    """Whether the runs a claim reads trained, and what failed if not."""

    passed: bool
    failure: str  # "" when passed


def gate_of(groups: Sequence[tuple[pd.DataFrame, str]]) -> Gate:
    """Every run of every group trained: final held-out loss finite and below the unigram entropy H1."""
    failed = []
    for group, label in groups:
        if group.empty:
            failed.append(f"{label}: no runs")
        elif (group["status"] != LEARNED).any():
            failed.append(
                f"{label}: {int((group['status'] != LEARNED).sum())} of {len(group)} runs did not train"
            )
    return Gate(not failed, "; ".join(failed))


TRAINED = ("a run trained if its final held-out masked-token loss is finite and below the corpus' unigram "
           "entropy H1 (what a model that ignores the context reaches); the gate passes if every run did")  # fmt: skip


@claim
def runs_train(
    name: str, groups: Sequence[tuple[pd.DataFrame, str]], purpose: str, scale: str, evidence: str
) -> Claim:
    """(gate, check) The runs a claim reads trained; a claim behind a failed gate is inconclusive."""
    gate = gate_of(groups)
    seeds = sorted({int(s) for group, _ in groups for s in group["seed"]})
    return Claim(
        study=STUDY,
        claim_id=f"gate.runs_train.{name}",
        kind="check",
        statement=f"Training-sanity gate: {purpose}",
        metric="; ".join(group_text(group, label) for group, label in groups),
        ours=int(sum((group["status"] == LEARNED).sum() for group, _ in groups)),
        criterion=TRAINED + " (reproduced), else not reproduced",
        verdict=REPRODUCED if gate.passed else NOT_REPRODUCED,
        no_p_reason="a count of runs against a fixed per-run rule",
        scale=scale,
        evidence=evidence,
        seeds=seeds,
    )


def failed_run(reason: str) -> Judgement:
    return fixed(
        INCONCLUSIVE, f"run failed: {reason}", to_decide=f"run failed: {reason}; fix the recipe or rerun"
    )


def loss_against_unigram(group: pd.DataFrame, gate: Gate, alpha: float, claimed: str) -> Judgement:
    """Final held-out loss - H1 over seeds ('greater': stuck at or above the unigram level; 'less': learned),
    unless the gate failed or a run of the group diverged."""
    if not gate.passed:
        return failed_run(gate.failure)
    diverged = int((group["status"] == DIVERGED).sum())
    if diverged:
        return failed_run(f"{diverged} of {len(group)} runs diverged (a non-finite loss, or a final loss above the "
                          "initial one): neither a stall nor learning")  # fmt: skip
    return mean_difference(group["final_minus_unigram"], alpha, claimed=claimed, unit="seeds")


@dataclass(frozen=True)
class Sweep:
    """The warmup sweep's runs (one MLM head): its highest and lowest learning rate, longest warmup, the
    corpus' unigram entropy, the gate, and the seen stall."""

    runs: pd.DataFrame
    head: str
    high: float
    low: float
    warmup: int
    h1: float
    gate_groups: list[tuple[pd.DataFrame, str]]
    seen: pd.Series | None

    @property
    def gate(self) -> Gate:
        return gate_of(self.gate_groups)


def warmup_sweep(runs: pd.DataFrame, head: str, anchors: pd.DataFrame) -> Sweep:
    sweep = runs[runs["head"] == head]
    lrs = sorted(sweep["lr"].unique())
    high, low = (lrs[-1], lrs[0]) if lrs else (math.nan, math.nan)
    warmup = int(sweep["warmup_steps"].max()) if len(sweep) else 0
    h1 = float(sweep["unigram_entropy"].iloc[0]) if len(sweep) else math.nan
    gate = [
        (group_runs(sweep, norm, head, low, 0), f"{norm} lr {low:g} warmup 0") for norm in ("post", "pre")
    ]
    if low == high:  # no lower learning rate to show the recipe trains
        gate = [(sweep.iloc[0:0], "a learning rate below the highest")]
    return Sweep(sweep, head, high, low, warmup, h1, gate, anchor_row(anchors, "warmup", "stall_lr"))


STUCK_RULE = ("stuck = the final held-out loss is not below the unigram entropy H1 (no margin: the seeds' "
              "spread decides); ")  # fmt: skip


def sweep_claim(
    sweep: Sweep, claim_id: str, statement: str, group: pd.DataFrame, label: str, judged: Judgement,
    criterion: str, alpha: float, scale: str, evidence: str, *, metric: str | None = None,
    seeds: Sequence[int] | None = None,
) -> Claim:  # fmt: skip
    """A claim of the warmup sweep on ``group``'s runs: by default its final loss against H1; a contrast
    passes its own ``metric`` and ``seeds``."""
    seen, gated = sweep.seen, ", ".join(gate_label for _, gate_label in sweep.gate_groups)
    if metric is None:
        metric = f"final held-out loss - H1 ({sweep.h1:.4f}), mean over seeds and t-interval; "
        metric += group_text(group, label)
        criterion = STUCK_RULE + criterion
    return Claim(
        study=STUDY,
        claim_id=claim_id,
        kind="claim",
        statement=statement,
        metric=metric,
        ours=_rounded(judged.estimate),
        criterion=f"{criterion}; gated by {gated} having trained (gate.runs_train.sweep)",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=WARMUP,
        anchor=None if seen is None else f"stall seen at lr {seen['value']:g} ({seen['model']})",
        anchor_source=None if seen is None else seen["source"],
        seeds=_seeds(group["seed"]) if seeds is None else list(seeds),
    )


@claim
def post_ln_stalls_without_warmup(sweep: Sweep, alpha: float, scale: str, evidence: str) -> Claim:
    """(f) Without warmup, at the highest learning rate, Post-LN's final loss is not below H1."""
    group = group_runs(sweep.runs, "post", sweep.head, sweep.high, 0)
    return sweep_claim(
        sweep,
        "f.post_ln_stalls_without_warmup",
        f"Without warmup, Post-LN stalls at a constant loss (the unigram level, context unused) at the higher "
        f"learning rate ({sweep.high:g}), where the same recipe trains at a lower one ({sweep.low:g}).",
        group, f"post lr {sweep.high:g} warmup 0", loss_against_unigram(group, sweep.gate, alpha, "greater"),
        "final - H1 above 0: t-test over seeds, two-sided; above (reproduced: stuck), below (not reproduced: it "
        "learned), else inconclusive",
        alpha, scale, evidence,
    )  # fmt: skip


@claim
def pre_ln_learns_without_warmup(sweep: Sweep, alpha: float, scale: str, evidence: str) -> Claim:
    """(g) Without warmup, at the highest learning rate, Pre-LN's final loss is below H1."""
    group = group_runs(sweep.runs, "pre", sweep.head, sweep.high, 0)
    return sweep_claim(
        sweep,
        "g.pre_ln_learns_without_warmup",
        f"Without warmup, Pre-LN does not stall at the learning rate where Post-LN does ({sweep.high:g}).",
        group, f"pre lr {sweep.high:g} warmup 0", loss_against_unigram(group, sweep.gate, alpha, "less"),
        "final - H1 below 0: t-test over seeds, two-sided; below (reproduced: it learned), above (not "
        "reproduced), else inconclusive",
        alpha, scale, evidence,
    )  # fmt: skip


@claim
def pre_ln_ends_below_post_ln_without_warmup(sweep: Sweep, alpha: float, scale: str, evidence: str) -> Claim:
    """(m) Without warmup, at the highest learning rate, Pre-LN's final loss is below Post-LN's, paired by seed."""
    pre = group_runs(sweep.runs, "pre", sweep.head, sweep.high, 0)
    post = group_runs(sweep.runs, "post", sweep.head, sweep.high, 0)
    pairs = pd.concat(
        {"pre": pre.set_index("seed")["final_loss"], "post": post.set_index("seed")["final_loss"]},
        axis=1, join="inner",
    )  # fmt: skip
    diverged = int((pre["status"] == DIVERGED).sum() + (post["status"] == DIVERGED).sum())
    if not sweep.gate.passed:
        judged = failed_run(sweep.gate.failure)
    elif diverged:
        judged = failed_run(f"{diverged} runs diverged")
    else:
        judged = mean_difference(pairs["pre"] - pairs["post"], alpha, claimed="less")
    pre_label, post_label = f"pre lr {sweep.high:g} warmup 0", f"post lr {sweep.high:g} warmup 0"
    return sweep_claim(
        sweep,
        "m.pre_ln_ends_below_post_ln_without_warmup",
        f"Without warmup, at the learning rate where Post-LN stalls ({sweep.high:g}), Pre-LN does not: from the "
        "same weights and batches, Pre-LN ends at a lower loss than Post-LN.",
        pre, pre_label, judged,
        "Pre-LN's final loss - Post-LN's, paired by seed, below 0: t-test, two-sided; below (reproduced), above "
        "(not reproduced), else inconclusive",
        alpha, scale, evidence,
        metric="Pre-LN's final held-out loss - Post-LN's, paired by seed, mean and t-interval; "
        + group_text(pre, pre_label) + "; " + group_text(post, post_label),
        seeds=_seeds(pairs.index),
    )  # fmt: skip


@claim
def warmup_fixes_post_ln(sweep: Sweep, alpha: float, scale: str, evidence: str) -> Claim:
    """(h) With the longest warmup, at the highest learning rate, Post-LN's final loss is below H1."""
    warmup = sweep.warmup
    group = (
        group_runs(sweep.runs, "post", sweep.head, sweep.high, warmup) if warmup > 0 else sweep.runs.iloc[0:0]
    )
    judged = (
        loss_against_unigram(group, sweep.gate, alpha, "less")
        if warmup > 0
        else fixed(INCONCLUSIVE, "no warmup in the sweep", "a sweep with warmup_steps > 0")
    )
    return sweep_claim(
        sweep,
        "h.warmup_fixes_post_ln",
        f"With a linear warmup ({warmup} steps), Post-LN learns at the learning rate where it stalls without "
        f"warmup ({sweep.high:g}).",
        group, f"post lr {sweep.high:g} warmup {warmup}", judged,
        "final - H1 below 0: t-test over seeds, two-sided; below (reproduced: it learned), above (not "
        "reproduced), else inconclusive",
        alpha, scale, evidence,
    )  # fmt: skip


# ---------------------------------------------------------------- the last LayerNorm's gamma


def gamma_ratios(runs: pd.DataFrame, head: str, last_ln: LastLn) -> pd.DataFrame:
    return group_runs(runs, "post", head, last_ln.lr, last_ln.warmup_steps)


def last_ln_gate(runs: pd.DataFrame, last_ln: LastLn) -> list[tuple[pd.DataFrame, str]]:
    where = f"lr {last_ln.lr:g} warmup {last_ln.warmup_steps}"
    return [
        (gamma_ratios(runs, head, last_ln), f"post head {head} {where}") for head in ("plain", "dense_ln")
    ]


GAMMA = ("mean |gamma| of the last encoder LayerNorm (the one the head reads) / mean over the other encoder "
         "LayerNorms, after training")  # fmt: skip


@claim
def last_ln_gamma_larger_without_head_dense_ln(
    runs: pd.DataFrame, last_ln: LastLn, alpha: float, scale: str, evidence: str
) -> Claim:
    """(i) Post-LN trained without BERT's Dense+LN head: the last LayerNorm's gamma is above the others'."""
    plain = gamma_ratios(runs, "plain", last_ln)
    gate = gate_of(last_ln_gate(runs, last_ln))
    judged = (
        log_ratio(plain["last_ln_ratio"], np.ones(len(plain)), alpha, claimed="greater")
        if gate.passed
        else failed_run(gate.failure)
    )
    return Claim(
        study=STUDY,
        claim_id="i.last_ln_gamma_larger_without_head_dense_ln",
        kind="claim",
        statement="Trained Post-LN MLM whose head lacks BERT's extra Dense+LayerNorm: the last encoder "
        "LayerNorm's gamma grows larger than the other LayerNorms'.",
        metric=f"{GAMMA} at lr {last_ln.lr:g} with {last_ln.warmup_steps} warmup steps, head plain; geometric mean "
        "over seeds and t-interval of the log",
        ours=_rounded(judged.estimate),
        criterion="the ratio above 1: t-test of its log over seeds, two-sided; above (reproduced), below (not "
        "reproduced), else inconclusive; gated by both heads' runs having trained (gate.runs_train.last_ln)",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=DENSE,
        anchor="larger than the others",
        anchor_source=POST,
        seeds=_seeds(plain["seed"]),
    )


@claim
def last_ln_gamma_larger_than_with_head_dense_ln(
    runs: pd.DataFrame, last_ln: LastLn, alpha: float, scale: str, evidence: str
) -> Claim:
    """(n) The same gamma ratio is larger with the plain head than with BERT's Dense+LN head, paired by seed."""
    pairs = pd.concat(
        {head: gamma_ratios(runs, head, last_ln).set_index("seed")["last_ln_ratio"] for head in ("plain", "dense_ln")},
        axis=1, join="inner",
    ).dropna()  # fmt: skip
    gate = gate_of(last_ln_gate(runs, last_ln))
    judged = (
        log_ratio(pairs["plain"], pairs["dense_ln"], alpha, claimed="greater")
        if gate.passed
        else failed_run(gate.failure)
    )
    return Claim(
        study=STUDY,
        claim_id="n.last_ln_gamma_larger_than_with_head_dense_ln",
        kind="claim",
        statement="The extra Dense+LayerNorm of BERT's MLM head is what spares the last encoder LayerNorm: "
        "without it that LayerNorm's gamma (relative to the others) ends larger than with it.",
        metric=f"{GAMMA}, head plain / head dense_ln per paired seed (same weights and batches), at lr "
        f"{last_ln.lr:g} with {last_ln.warmup_steps} warmup steps: plain {pairs['plain'].mean():.4g}, dense_ln "
        f"{pairs['dense_ln'].mean():.4g}; geometric mean and t-interval of the log",
        ours=_rounded(judged.estimate),
        criterion="the ratio above 1: paired t-test of its log over seeds, two-sided; above (reproduced), below "
        "(not reproduced), else inconclusive; gated by gate.runs_train.last_ln",
        judgement=judged,
        scale=scale,
        evidence=evidence,
        section=DENSE,
        anchor="larger without the extra Dense+LN",
        anchor_source=POST,
        seeds=_seeds(pairs.index),
    )


# ---------------------------------------------------------------- 8770: the MAE identity


def mae_setup(mae: dict[str, Any]) -> str:
    return f"random {mae['n']}x{mae['n']} attention (logit std {mae['logit_std']:g}), keep p = {mae['keep_prob']:g}"


def mae_last(mae: dict[str, Any]) -> dict[str, Any]:
    """The Monte-Carlo row with the most masks."""
    return max(mae["monte_carlo"], key=lambda row: row["samples"])


MAE_SECTION = (
    "8770, the MAE section: removing masked tokens = zeroing their attention columns and renormalising"
)


@claim
def mae_expected_mask_identity(mae: dict[str, Any], tol: float, scale: str, evidence: str) -> Claim:
    """(j, check) Norm(A * E[M]) = A, to float64 rounding."""
    error = mae["identity_max_abs_error"]
    return Claim(
        study=STUDY,
        claim_id="j.mae_expected_mask_identity",
        kind="check",
        statement="MAE = zeroing the attention columns of dropped tokens and renormalising the rows; with the "
        "expected mask, Norm(A * p) = A exactly, so MAE's all-token inference is consistent.",
        metric=f"max |Norm(A * p) - A| in float64, {mae_setup(mae)}",
        ours=error,
        criterion=f"<= {tol:g}, float64 rounding (reproduced), else not reproduced. An identity: it fails only "
        "through a bug",
        verdict=REPRODUCED if error <= tol else NOT_REPRODUCED,
        no_p_reason="an exact computation in float64",
        scale=scale,
        evidence=evidence,
        section=MAE_SECTION,
        anchor="exact",
        anchor_source=MAE_POST,
    )


@claim
def mae_mean_masked_attention_is_not_a(mae: dict[str, Any], tol: float, scale: str, evidence: str) -> Claim:
    """(k, check) The mean over all masks of Norm(A * M), enumerated exactly, differs from A beyond rounding."""
    last, exact = mae_last(mae), mae["exact_max_abs_gap"]
    if exact is None:
        outcome, reason = INCONCLUSIVE, "no exact enumeration (n > 16)"
    else:
        outcome, reason = (REPRODUCED if exact > tol else NOT_REPRODUCED), "an exact enumeration of all masks"
    return Claim(
        study=STUDY,
        claim_id="k.mae_mean_masked_attention_is_not_a",
        kind="check",
        statement="The average over random masks of the renormalised masked attention Norm(A * M) is not A "
        "(the renormalisation is not linear in M), unlike Norm(A * E[M]).",
        metric=f"exact mean over all 2^n - 1 masks: max |gap to A| {exact}; Monte Carlo after {last['samples']} "
        f"masks (context): max |gap| {last['max_abs_gap']:.4g}, {last['max_z']:.1f} standard errors, max |MC - "
        f"exact| {last['max_abs_to_exact']}; {mae_setup(mae)}",
        ours=None if exact is None else round(exact, 9),
        criterion=f"the exact gap above {tol:g}, float64 rounding (reproduced), else not reproduced. A "
        "mathematical fact computed exactly: it fails only through a bug",
        verdict=outcome,
        no_p_reason=reason,
        to_decide="n <= 16, for the exact enumeration" if outcome == INCONCLUSIVE else None,
        scale=scale,
        evidence=evidence,
        section=MAE_SECTION,
        anchor="not A",
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
            ratio = float(np.exp(np.log(group["bottom_grad_norm"] / group["top_grad_norm"]).mean()))
            metrics[f"gradflow_{configuration}_{norm}_{init}_bottom_over_top"] = round(ratio, 6)
            for column in ("min_rel", "max_rel", "loss"):
                metrics[f"gradflow_{configuration}_{norm}_{init}_{column}"] = round(
                    float(group[column].mean()), 6
                )
    for (norm, head, lr, warmup), group in runs.groupby(["norm", "head", "lr", "warmup_steps"], sort=True):
        key = f"mlm_{norm}_{head}_lr{lr:g}_w{warmup}"
        value = float(group["final_loss"].mean())
        if math.isfinite(value):  # a loss no run reached is left out, never written as NaN
            metrics[f"{key}_final_loss"] = round(value, 6)
        metrics[f"{key}_share_below_unigram"] = round(float((group["status"] == LEARNED).mean()), 6)
        metrics[f"{key}_last_ln_ratio"] = round(float(group["last_ln_ratio"].mean()), 6)
    metrics["mae_identity_max_abs_error"] = mae["identity_max_abs_error"]
    metrics["mae_mc_max_abs_gap"] = round(mae_last(mae)["max_abs_gap"], 9)
    return metrics


def headline(numbers: dict[str, float]) -> dict[str, float | None]:
    """For `dvc exp show`: Post-LN's gradient norm at the bottom layer over the top's at initialisation with
    BERT's std 0.02 (tf_truncated), the geometric mean over configurations (about 1: the flow is flat)."""
    ratios = [value for key, value in numbers.items()
              if key.startswith("gradflow_") and key.endswith("_post_tf_truncated_bottom_over_top")]  # fmt: skip
    return {"ln_flow": round(float(np.exp(np.mean(np.log(ratios)))), 4) if ratios else None}


TABLES = ("gradflow_layers", "gradflow_profiles", "init_std", "mlm_runs", "mlm_curves", "mae")


def build_claims(
    stds: dict[str, Any], profiles: pd.DataFrame, shapes: dict[str, str], runs: pd.DataFrame,
    mae: dict[str, Any], anchors: pd.DataFrame, config: ClaimsConfig, scale: str, files: dict[str, Path],
) -> list[Claim]:  # fmt: skip
    """Every claim and check, in the ledger's order; ``shapes`` maps each gradflow configuration to its shape."""
    alpha, s, margin = round(1 - config.confidence, 12), scale, config.flat_log_margin
    stds_csv, evidence, runs_csv, mae_csv = (
        str(files[name]) for name in ("init_std", "gradflow_profiles", "mlm_runs", "mae")
    )
    ledger = [
        init_std(stds, "tf_truncated", "truncated_normal_0.02_actual_std", anchors, alpha, s, stds_csv),
        init_std(stds, "xavier", "xavier_std_768x768", anchors, alpha, s, stds_csv),
    ]
    for n, sh in shapes.items():
        ledger += [
            post_ln_std_0_02_flat(profiles, n, sh, init, margin, alpha, s, evidence) for init in FLAT_INITS
        ]
        ledger.append(post_ln_xavier_vanishes(profiles, n, sh, anchors, alpha, s, evidence))
        ledger.append(post_ln_std_0_1_explodes(profiles, n, sh, alpha, s, evidence))
        measured = set(profiles.loc[(profiles["configuration"] == n) & (profiles["norm"] == "pre"), "init"])
        inits = [init for init in INITS if init in measured]
        ledger += [pre_ln_never_vanishes(profiles, n, sh, init, margin, alpha, s, evidence) for init in inits]
        ledger.append(pre_ln_keeps_more_gradient_than_post_ln(profiles, n, sh, alpha, s, evidence))
    sweep = warmup_sweep(runs, config.sweep_head, anchors)
    ledger += [
        runs_train(
            "sweep",
            sweep.gate_groups,
            "the warmup sweep's recipe trains at its lower learning rate "
            "without warmup, for both norms, so a stall at the higher one is the learning rate's doing",
            s,
            runs_csv,
        ),  # fmt: skip
        post_ln_stalls_without_warmup(sweep, alpha, s, runs_csv),
        pre_ln_learns_without_warmup(sweep, alpha, s, runs_csv),
        pre_ln_ends_below_post_ln_without_warmup(sweep, alpha, s, runs_csv),
        warmup_fixes_post_ln(sweep, alpha, s, runs_csv),
    ]
    last_ln = config.last_ln
    ledger += [
        runs_train(
            "last_ln",
            last_ln_gate(runs, last_ln),
            "the runs whose LayerNorm gammas are compared trained, with both heads",
            s,
            runs_csv,
        ),  # fmt: skip
        last_ln_gamma_larger_without_head_dense_ln(runs, last_ln, alpha, s, runs_csv),
        last_ln_gamma_larger_than_with_head_dense_ln(runs, last_ln, alpha, s, runs_csv),
    ]
    ledger.append(mae_expected_mask_identity(mae, config.identity_tol, s, mae_csv))
    ledger.append(mae_mean_masked_attention_is_not_a(mae, config.identity_tol, s, mae_csv))
    return ledger


def write_outputs(
    gradflow_paths: Sequence[str], init_std_path: str, run_paths: Sequence[str], mae_path: str,
    anchors_path: str, config: ClaimsConfig, scale: str, tables: Path, plots: Path, claims_out: str,
    metrics_out: str, numbers_out: str,
) -> list[Claim]:  # fmt: skip
    """Every output of the claims step: tables, plots, claims.json, metrics.json and numbers.json."""
    gradflow_records = [read_json(path) for path in gradflow_paths]
    stds, mae = read_json(init_std_path), read_json(mae_path)
    run_records = [read_json(path) for path in run_paths]
    anchors = pd.read_csv(anchors_path)
    layers, profiles = gradflow_tables(gradflow_records)
    runs = runs_table(run_records)
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
        plot_gradflow(layers[layers["configuration"] == name], title, plots / f"gradflow_{name}.png", scale)
    plot_curves(
        curves[curves["head"] == config.sweep_head],
        float(runs["unigram_entropy"].iloc[0]),
        plots / "mlm_curves.png",
        scale,
    )
    last_ln = config.last_ln
    gamma_runs = [
        r
        for r in run_records
        if r["norm"] == "post"
        and math.isclose(r["lr"], last_ln.lr)
        and r["warmup_steps"] == last_ln.warmup_steps
    ]
    plot_last_ln(gamma_runs, plots / "last_ln_gamma.png", scale)
    plot_mae(mae, plots / "mae_gap.png", scale)
    ledger = build_claims(stds, profiles, shapes, runs, mae, anchors, config, scale, files)
    rows = write_claims(claims_out, ledger, round(1 - config.confidence, 12))
    numbers = headline_metrics(profiles, stds, runs, mae)
    write_json(numbers_out, numbers)
    write_metrics(metrics_out, rows, headline(numbers))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.gradflow, args.init_std, args.runs, args.mae, args.anchors,
        build(ClaimsConfig, args.settings, "transformer.claims"), args.scale, Path(args.tables_dir),
        Path(args.plots_dir), args.claims_out, args.metrics_out, args.numbers_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.transformer.claims", __doc__, "transformer.claims")
    parser.add_argument(
        "--gradflow", nargs="+", required=True, help="gradflow outputs, one per configuration"
    )
    parser.add_argument("--init-std", required=True, help="the init-std results (.json)")
    parser.add_argument("--runs", nargs="+", required=True, help="mlm run records")
    parser.add_argument("--mae", required=True, help="the MAE identity results (.json)")
    parser.add_argument("--anchors", required=True, help="data/anchors/transformer.csv")
    parser.add_argument("--tables-dir", required=True, help="where the study's tables (.csv) go")
    parser.add_argument("--plots-dir", required=True, help="where the study's plots (.png) go")
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
