"""The plot of study 8783: each verified row's rank under each (task-set rule, mean).

python -m kexue_repro.leaderboard.plots --ranks CSV --out PNG
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import matplotlib
import numpy as np
import pandas as pd

from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.plotting import figure, save_figure
from kexue_repro.leaderboard.evaluate import RANKS_FIELDS, read_table
from kexue_repro.leaderboard.model import MEANS, RULES

COMBINATIONS = [(rule, mean) for rule in RULES for mean in MEANS]


def plot_rank_changes(ranks: pd.DataFrame, path: str | os.PathLike, scale: str) -> None:
    """One panel per benchmark: each ranked row's rank (y) under each (rule, mean) (x); humans bold black."""
    benchmarks = sorted(ranks["benchmark"].unique())
    fig, axes = figure(len(benchmarks), 1, figsize=(11, 4.8 * len(benchmarks)), squeeze=False)
    palette = matplotlib.colormaps["tab20"]
    x = np.arange(len(COMBINATIONS))
    for ax, benchmark in zip(axes[:, 0], benchmarks):
        part = ranks[ranks["benchmark"] == benchmark]
        table = part.pivot(index="row", columns=["rule", "mean"], values="rank")
        table = table.reindex(columns=pd.MultiIndex.from_tuples(COMBINATIONS))
        # Legend order follows the rows' average rank, so it reads like the leaderboard.
        table = table.loc[table.mean(axis=1).sort_values(kind="mergesort").index]
        humans = set(part.loc[part["is_human"], "row"])
        for i, (label, row_ranks) in enumerate(table.iterrows()):
            if label in humans:
                ax.plot(
                    x,
                    row_ranks.to_numpy(),
                    color="black",
                    linewidth=3,
                    marker="o",
                    zorder=3,
                    label=f"{label} (human baseline)",
                )
            else:
                ax.plot(
                    x,
                    row_ranks.to_numpy(),
                    color=palette(i % palette.N),
                    linewidth=1.3,
                    marker="o",
                    markersize=4,
                    linestyle="-" if i < palette.N else "--",
                    label=label,
                )
        for boundary in (2.5, 5.5):
            ax.axvline(boundary, color="grey", linewidth=0.8, alpha=0.6)
        ax.set_xticks(x, [f"{rule}\n{mean}" for rule, mean in COMBINATIONS])
        ax.set_yticks(range(1, int(np.nanmax(table.to_numpy())) + 1))
        ax.invert_yaxis()
        ax.set_ylabel("rank (1 = best)")
        ax.set_title(f"{benchmark}: rank of each verified row under each (task-set rule, mean)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    save_figure(fig, path, scale)


def _main(args: argparse.Namespace) -> None:
    plot_rank_changes(read_table(args.ranks, RANKS_FIELDS), args.out, args.scale)


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.leaderboard.plots", __doc__)
    parser.add_argument("--ranks", required=True, help="tables/ranks.csv")
    parser.add_argument("--out", required=True, help="PNG path")
    parser.add_argument("--scale", required=True, help="the run's scale, which the plot's title names")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
