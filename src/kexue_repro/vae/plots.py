"""The VAE study's plots: L_k against k per trained model, training curves, and the exact model's gap."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.common.stats import t_interval
from kexue_repro.vae.tables import paired_difference


def model_name(k_train: int) -> str:
    return "VAE" if k_train == 1 else f"IWAE-{k_train}"


def plot_bounds(bounds: pd.DataFrame, confidence: float, path: str | os.PathLike, scale: str) -> None:
    """L_k against k_eval per trained model (mean over seeds with t-interval), and L_k minus the VAE's."""
    fig, (left, right) = figure(1, 2, figsize=(10, 4))
    baseline_k = min(bounds["k_train"], default=1)
    for k_train, group in bounds.groupby("k_train", sort=True):
        means = group.groupby("k_eval")["mean"]
        ks = np.array(sorted(group["k_eval"].unique()))
        intervals = [t_interval(means.get_group(k), confidence) for k in ks]
        center = np.array([means.get_group(k).mean() for k in ks])
        err = np.array([[c - i.low, i.high - c] if i else [0, 0] for c, i in zip(center, intervals)]).T
        label = model_name(k_train)
        left.errorbar(ks, center, yerr=err, marker="o", capsize=3, label=label)
        diffs = [paired_difference(bounds, k_train, baseline_k, int(k), confidence) for k in ks]
        right.errorbar(
            ks,
            [row["mean"] for row, _ in diffs],
            yerr=np.array([[r["mean"] - i.low, i.high - r["mean"]] if i else [0, 0] for r, i in diffs]).T,
            marker="o",
            capsize=3,
            label=label,
        )
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("k (importance samples at evaluation)")
        ax.legend()
    left.set_ylabel("test L_k (nats)")
    seeds = bounds["seed"].nunique()
    left.set_title(f"L_k per trained model (mean over {seeds} seeds, {confidence:.0%} t-interval)")
    right.axhline(0, color="grey", linewidth=0.8)
    right.set_ylabel(f"L_k minus the k_train={baseline_k} model's, same seed (nats)")
    right.set_title(f"paired differences ({confidence:.0%} t-interval)")
    save_figure(fig, path, scale)


def plot_curves(curve_paths: Sequence[str | os.PathLike], path: str | os.PathLike, scale: str) -> None:
    """Training objective per epoch, one colour per k_train, one line per seed."""
    fig, ax = figure(figsize=(6, 4))
    curves = [pd.read_csv(p) for p in curve_paths]
    for k_train in sorted({int(c["k_train"].iloc[0]) for c in curves if len(c)}):
        label = model_name(k_train)
        colour = None
        for curve in curves:
            if len(curve) and curve["k_train"].iloc[0] == k_train:
                line = ax.plot(curve["epoch"], curve["train_bound"], color=colour, linewidth=1, label=label)[
                    0
                ]
                colour, label = line.get_color(), None
    ax.set_xlabel("epoch")
    ax.set_ylabel("training L_k (nats, dynamic binarization)")
    ax.set_title("training curves (one line per seed)")
    if curves:
        ax.legend()
    save_figure(fig, path, scale)


def plot_exact(exact: pd.DataFrame, confidence: float, path: str | os.PathLike, scale: str) -> None:
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    fig, ax = figure(figsize=(5, 4))
    ax.errorbar(
        exact["k"], exact["gap_mean"], yerr=z * exact["gap_sem"], marker="o", capsize=3, label="measured"
    )
    if "gap_large_k_closed_form" in exact:
        ax.plot(
            exact["k"],
            exact["gap_large_k_closed_form"],
            "--",
            color="grey",
            label="Var(w) / (2k), closed form",
        )
    ax.legend()
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("k")
    ax.set_ylabel("log p(x) - L_k (nats)")
    ax.set_title(f"linear-Gaussian model: gap of L_k ({confidence:.0%} interval)")
    save_figure(fig, path, scale)
