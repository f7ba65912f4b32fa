"""The CLUE studies' plots: each variant's dev accuracy effect per task, and Su's Adam argument measured."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from kexue_repro.common.plotting import figure, save_figure


def plot_effects(effects: pd.DataFrame, path: str | os.PathLike, scale: str, alpha: float) -> None:
    """Per task: each variant's mean accuracy difference (points) with its test's interval (McNemar's for
    'raises', at 1 - alpha; TOST's for 'no change', at 1 - 2 alpha), and Su's single-run difference."""
    tasks = sorted(effects["task"].unique()) if len(effects) else []
    fig, axes = figure(1, max(len(tasks), 1), figsize=(4.8 * max(len(tasks), 1), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        sub = effects[effects["task"] == task].reset_index(drop=True)
        err = np.array([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]]).clip(min=0)
        ax.errorbar(sub["mean"], range(len(sub)), xerr=np.nan_to_num(err), fmt="o", capsize=3,
                    label="ours: mean over paired seeds")  # fmt: skip
        ax.scatter(sub["su_effect"], range(len(sub)), marker="x", color="grey", label="Su (single run)")
        ax.set_yticks(range(len(sub)), [f"{v} ({e})" for v, e in zip(sub["variant"], sub["expected"])])
        ax.axvline(0, color="grey", linewidth=0.8)
        seeds = sorted(set(sub["n_pairs"]))
        ax.set(title=f"{task}: dev accuracy, variant minus {sub['baseline'].iloc[0]} ({'/'.join(map(str, seeds))} seeds)",
               xlabel="accuracy difference (points, paired by seed)")  # fmt: skip
        ax.legend(fontsize=7)
    title = f"Studies 8764/8770: intervals {1 - alpha:.0%} (McNemar, 'raises') and {1 - 2 * alpha:.0%} (TOST, 'no change')"
    save_figure(fig, path, scale, title)


def plot_update_size(
    toy: pd.DataFrame, steps: pd.DataFrame, p: float, path: str | os.PathLike, scale: str
) -> None:
    """Left: the toy's drift ratio F / vanilla over sqrt(p), per stream and seed. Right: on the tiny model,
    the share of F's dropped-gradient entries that moved per step (against 1 - (1-p)^(t-1), the share kept at
    least once before) and the share update dropout moved."""
    fig, (left, right) = figure(1, 2, figsize=(10, 3.6))
    for seed, group in toy.groupby("seed", sort=True):
        left.scatter(group["stream"], group["over_sqrt_p"], label=f"seed {seed}", s=14)
    left.axhline(1.0, color="grey", linestyle="--", label="Su: sqrt(p)")
    left.axhline(1 / math.sqrt(p), color="grey", linestyle=":", label="unchanged step (ratio 1)")
    left.set(title="toy: drift ratio F / vanilla over sqrt(p)", xlabel="gradient stream", yscale="log",
             ylabel="(|drift F| / |drift vanilla|) / sqrt(p)")  # fmt: skip
    left.legend(fontsize="small")
    for seed, group in steps.groupby("seed", sort=True):
        dropped = group["dropped_f"].where(group["dropped_f"] > 0)
        right.plot(group["step"], group["dropped_moved_f"] / dropped, color="C0", linewidth=1)
        right.plot(group["step"], group["moved_incre-drop"], color="C1", linewidth=1)
    t = np.arange(1, int(steps["step"].max()) + 1) if len(steps) else np.arange(1, 2)
    right.plot(t, 1 - (1 - p) ** (t - 1), color="grey", linestyle="--")
    right.axhline(p, color="grey", linestyle=":")
    right.set(title="moved: F's dropped entries (C0), update dropout (C1)", xlabel="step", ylim=(0, 1.05),
              ylabel="share of entries moved")  # fmt: skip
    save_figure(fig, path, scale)
