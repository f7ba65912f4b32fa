"""Figures of study 8747 and the MAE identity: gradient profiles, loss curves, LayerNorm gammas, MC gap."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.transformer import INITS

INIT_COLOURS = dict(zip(INITS, ("tab:blue", "tab:green", "tab:orange", "tab:red")))
NORM_STYLES = {"post": "-", "pre": "--"}


def plot_gradflow(layers: pd.DataFrame, title: str, path: str | os.PathLike, scale: str) -> None:
    """||dL/dx_l|| / ||dL/dx_top|| against the layer, mean over seeds; a line per norm x initialiser."""
    fig, ax = figure(figsize=(6.4, 4.2))
    mean = layers.groupby(["norm", "init", "layer"], sort=True)["grad_rel"].mean()
    for (norm, init), profile in mean.groupby(level=["norm", "init"], sort=True):
        ax.plot(
            profile.index.get_level_values("layer"), profile.values, NORM_STYLES.get(norm, ":"),
            color=INIT_COLOURS.get(init), marker=".", label=f"{norm}-LN, {init}",
        )  # fmt: skip
    ax.axhline(1.0, color="grey", lw=0.8)
    title = f"{title}\n(mean over {layers['seed'].nunique()} seeds)"
    ax.set(yscale="log", xlabel="layer l (0 = bottom)", ylabel="||dL/dx_l|| / ||dL/dx_top||", title=title)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path, scale)


def plot_curves(curves: pd.DataFrame, unigram_entropy: float, path: str | os.PathLike, scale: str) -> None:
    """Training loss against step, a panel per norm x warmup, a line per learning rate (mean over seeds)."""
    norms, warmups = sorted(curves["norm"].unique()), sorted(curves["warmup_steps"].unique())
    fig, axes = figure(
        len(norms), len(warmups), figsize=(4.2 * len(warmups), 3.2 * len(norms)), squeeze=False, sharey=True
    )  # fmt: skip
    for row, norm in zip(axes, norms):
        for ax, warmup in zip(row, warmups):
            panel = curves[(curves["norm"] == norm) & (curves["warmup_steps"] == warmup)]
            for lr, group in panel.groupby("lr", sort=True):
                mean = group.groupby("step")["loss"].mean()
                ax.plot(mean.index, mean.values, lw=1, label=f"lr {lr:g}")
            ax.axhline(unigram_entropy, color="black", ls="--", lw=0.8, label="unigram entropy")
            seeds = panel["seed"].nunique()
            ax.set(title=f"{norm}-LN, warmup {warmup} steps (mean of {seeds} seeds)", xlabel="step",
                   ylabel="training MLM loss (nats)")  # fmt: skip
            ax.legend(fontsize=7)
    save_figure(fig, path, scale)


def plot_last_ln(runs: list[dict[str, Any]], path: str | os.PathLike, scale: str) -> None:
    """Mean |gamma| of every encoder LayerNorm after training, mean over seeds, per MLM head."""
    fig, ax = figure(figsize=(6.4, 3.6))
    for head in sorted({run["head"] for run in runs}):
        chosen = [run for run in runs if run["head"] == head]
        frame = pd.DataFrame([run["ln_mean_abs_gamma"] for run in chosen])
        ax.plot(
            range(frame.shape[1]), frame.mean().values, marker="o", label=f"head {head} ({len(chosen)} seeds)"
        )
    ax.set(xlabel="encoder LayerNorm (last = the one the head reads)", ylabel="mean |gamma|")
    ax.legend()
    save_figure(fig, path, scale)


def plot_mae(mae: dict[str, Any], path: str | os.PathLike, scale: str) -> None:
    fig, ax = figure(figsize=(5.6, 3.8))
    rows = pd.DataFrame(mae["monte_carlo"])
    ax.plot(rows["samples"], rows["max_abs_gap"], marker="o", label="MC mean of Norm(A*M) vs A")
    ax.plot(rows["samples"], rows["max_std_error"], ls=":", label="largest MC standard error")
    if mae["exact_max_abs_gap"] is not None:
        ax.axhline(
            mae["exact_max_abs_gap"], color="black", ls="--", lw=0.8, label="exact mean over all masks vs A"
        )
    ax.axhline(max(mae["identity_max_abs_error"], 1e-17), color="tab:green", label="Norm(A*E[M]) vs A")
    ax.set(xscale="log", yscale="log", xlabel="masks drawn", ylabel="max |entry difference|")
    ax.set_title(f"n = {mae['n']}, keep p = {mae['keep_prob']}")
    ax.legend(fontsize=7)
    save_figure(fig, path, scale)
