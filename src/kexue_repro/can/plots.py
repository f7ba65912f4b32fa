"""The plots of study 8728 (CAN): the gain per task and variant, and the accuracy of the confident and
unconfident predictions."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from kexue_repro.common.plotting import figure, save_figure


def plot_gains(
    default: pd.DataFrame, tuned: pd.DataFrame, path: str | os.PathLike, scale: str, alpha: float
) -> None:
    """Mean gain with its interval per task (ordered by C) and variant: defaults on all of dev, tuned on
    the report half."""
    fig, axes = figure(1, 2, figsize=(10, 3.8), squeeze=False, sharey=True)
    for ax, frame, title in (
        (axes[0][0], default, "post's defaults, all of dev"),
        (axes[0][1], tuned, "tuned, report half"),
    ):
        tasks = list(dict.fromkeys(frame.sort_values(["num_classes", "task"])["task"]))
        variants = sorted(frame["variant"].unique())
        width = 0.8 / max(len(variants), 1)
        for i, variant in enumerate(variants):
            sub = frame[frame["variant"] == variant].set_index("task").reindex(tasks)
            x = np.arange(len(tasks)) + (i - (len(variants) - 1) / 2) * width
            err = np.vstack([sub["gain"] - sub["low"], sub["high"] - sub["gain"]])
            ax.errorbar(x, sub["gain"], yerr=np.nan_to_num(err), fmt="o", capsize=3, label=variant)
        classes = frame.drop_duplicates("task").set_index("task")["num_classes"]
        ax.set_xticks(np.arange(len(tasks)), [f"{t}\nC={classes[t]}" for t in tasks])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xlim(-0.5, len(tasks) - 0.5)
        seeds = "/".join(str(n) for n in sorted(set(frame["n_seeds"])))
        ax.set(title=f"{title} ({seeds} seeds, {1 - alpha:.0%} interval)", ylabel="accuracy gain (points)")
    axes[0][0].legend()
    save_figure(fig, path, scale)


def plot_subsets(runs: pd.DataFrame, setting: str, path: str | os.PathLike, scale: str) -> None:
    """Accuracy of the confident and unconfident predictions per task and variant (mean over seeds)."""
    sub = runs[runs["setting"] == setting]
    means = sub.groupby(["num_classes", "task", "variant"], sort=True)[
        ["accuracy_confident", "accuracy_unconfident"]
    ].mean()
    fig, axes = figure(1, 1, figsize=(max(5, 0.9 * len(means) + 2), 3.8), squeeze=False)
    ax = axes[0][0]
    x = np.arange(len(means))
    ax.bar(x - 0.2, means["accuracy_confident"], 0.4, label="confident (u < tau)")
    ax.bar(x + 0.2, means["accuracy_unconfident"], 0.4, label="unconfident (u >= tau)")
    ax.set_xticks(x, [f"{task}\n{variant}" for _, task, variant in means.index], fontsize=7)
    ax.set(ylabel="accuracy before CAN (%)", title="post: 63 / 22 (IFLYTEK), 58 / 23 (TNEWS), BERT-base")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    save_figure(fig, path, scale)
