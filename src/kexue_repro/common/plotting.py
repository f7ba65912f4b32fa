"""One plotting style for every study, and an atomic figure writer."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from kexue_repro.common.atomic import atomic_path  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "svg.hashsalt": "kexue-repro",
}


def figure(*args, **kwargs):
    """plt.subplots under the house style; constrained layout, so that the title save_figure adds clears the
    axes' own titles."""
    plt.rcParams.update(STYLE)
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: str | os.PathLike, scale: str, title: str | None = None) -> None:
    """Save a figure as PNG atomically, without timestamps in the metadata, and close it. Its title (the
    figure's suptitle: ``title``, then the scale) names the scale its numbers come from, so that a plot read
    alone says whether it shows a smoke run or the posts' scale."""
    fig.suptitle(f"{title}\n({scale} scale)" if title else f"{scale} scale")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
