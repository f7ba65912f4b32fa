"""The plots of study 8757: samples (ring scatters and digit grids, one panel per run), the discontinuity of
D^ against the scale of the step, and at full scale the FID/IS-at-step curve of CIFAR-10."""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.gan.model import METHOD_NAMES


def _draw_ring(ax, samples: np.ndarray, centers: np.ndarray, title: str) -> None:
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5)
    ax.scatter(centers[:, 0], centers[:, 1], s=20, marker="x", color="black")
    ax.set_title(title)
    ax.set_aspect("equal")


def _digit_mosaic(images: np.ndarray) -> np.ndarray:
    """(N, 784) in [-1, 1] -> one square mosaic in [0, 1]."""
    side = math.ceil(math.sqrt(len(images)))
    mosaic = np.ones((side * 28, side * 28))
    for i, image in enumerate(images):
        r, c = divmod(i, side)
        mosaic[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28] = (np.clip(image, -1, 1).reshape(28, 28) + 1) / 2
    return mosaic


def plot_runs(runs: Sequence[dict[str, Any]], path: str | os.PathLike, scale: str) -> None:
    """One panel per run record (its stored samples), runs of one dataset only; a run that failed the training
    gate (``trained`` False) says so in its title."""
    columns = min(len(runs), 6)
    rows = math.ceil(len(runs) / columns)
    fig, axes = figure(rows, columns, figsize=(2.2 * columns, 2.2 * rows), squeeze=False)
    for ax in axes.flat[len(runs) :]:
        ax.axis("off")
    for ax, run in zip(axes.flat, runs):
        samples = np.asarray(run["samples"], dtype=float)
        title = f"{run['method']} seed {run['seed']}" + (
            " (untrained)" if run.get("trained") is False else ""
        )
        if run["dataset"] == "ring":
            _draw_ring(ax, samples, np.asarray(run["ring_centers"]), title)
        else:
            ax.imshow(_digit_mosaic(samples), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title)
            ax.axis("off")
    save_figure(fig, path, scale)


def plot_discontinuity(jumps: pd.DataFrame, path: str | os.PathLike, scale: str) -> None:
    """Per dataset: the share of probe pairs whose critic value jumps more than their distance, and the worst
    such ratio, against the step s between the points of a pair (mean over seeds), one line per method."""
    datasets = sorted(jumps["dataset"].unique()) if len(jumps) else []
    fig, axes = figure(
        max(len(datasets), 1),
        2,
        figsize=(10, 3.8 * max(len(datasets), 1)),
        squeeze=False,
    )
    for row, dataset in zip(axes, datasets):
        sub = jumps[jumps["dataset"] == dataset]
        seeds = sub["seed"].nunique() if "seed" in sub else 1
        for method, group in sub.groupby("method", sort=True):
            mean = group.groupby("scale")[["share_above_1", "worst_ratio"]].mean()
            label = f"{method}: {METHOD_NAMES.get(method, method)}"
            row[0].plot(mean.index, mean["share_above_1"], marker="o", label=label)
            row[1].plot(mean.index, mean["worst_ratio"], marker="o", label=label)
        step = "s = |x - y|, the step between the two points of a pair (log scale)"
        row[0].set(xscale="log", xlabel=step, ylabel="share of pairs with |D(x) - D(y)| > |x - y|",
                   title=f"{dataset}: pairs beyond 1-Lipschitz (mean of {seeds} seeds)")  # fmt: skip
        row[1].set(xscale="log", yscale="log", xlabel=step, ylabel="worst |D(x) - D(y)| / |x - y| (log scale)",
                   title=f"{dataset}: worst ratio (mean of {seeds} seeds)")  # fmt: skip
        row[1].legend(fontsize=7)
    title = "Study 8757, Su's objection 1: where each critic, as its loss sees it (D), is steeper than 1"
    save_figure(fig, path, scale, title)


def plot_curve(curve: pd.DataFrame, path: str | os.PathLike, scale: str) -> None:
    """Full scale: FID and IS of G (solid) and of its EMA (dashed) against the step, per seed."""
    fig, axes = figure(1, 2, figsize=(10, 3.8))
    for seed, group in curve.groupby("seed", sort=True):
        for ax, column in zip(axes, ("fid", "is_mean")):
            (line,) = ax.plot(group["step"], group[f"{column}_g"], marker="o", label=f"G seed {seed}")
            ax.plot(
                group["step"],
                group[f"{column}_ema"],
                ls="--",
                color=line.get_color(),
                label=f"EMA seed {seed}",
            )
    axes[0].set(xlabel="generator step", ylabel="FID (lower is better)", title="CIFAR-10: FID at step")
    axes[1].set(xlabel="generator step", ylabel="Inception Score", title="CIFAR-10: IS at step")
    axes[0].legend(fontsize="small")
    save_figure(fig, path, scale)
