"""The CLUE studies' plots: each variant's dev accuracy effect per task, and Su's Adam argument measured."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from kexue_repro.common.plotting import figure, save_figure


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
