"""Pictures of samples: ring scatters and digit grids, one panel per run, under the house style."""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from kexue_repro.common.plotting import figure, save_figure


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


def plot_runs(runs: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
    """One panel per run record (its stored samples), runs of one dataset only."""
    columns = min(len(runs), 6)
    rows = math.ceil(len(runs) / columns)
    fig, axes = figure(rows, columns, figsize=(2.2 * columns, 2.2 * rows), squeeze=False)
    for ax in axes.flat[len(runs) :]:
        ax.axis("off")
    for ax, run in zip(axes.flat, runs):
        samples = np.asarray(run["samples"], dtype=float)
        title = f"{run['method']} seed {run['seed']}"
        if run["dataset"] == "ring":
            _draw_ring(ax, samples, np.asarray(run["ring_centers"]), title)
        else:
            ax.imshow(_digit_mosaic(samples), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title)
            ax.axis("off")
    save_figure(fig, path)
