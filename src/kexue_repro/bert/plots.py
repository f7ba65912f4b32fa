"""The figure of the tiny BERT: its pretraining curve against the unigram baseline and the held-out loss."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from kexue_repro.common.plotting import figure, save_figure


def plot_curve(curve: pd.DataFrame, measured: dict[str, Any], path: str | os.PathLike, scale: str) -> None:
    fig, ax = figure(figsize=(5.5, 3.4))
    ax.plot(curve["step"], curve["loss"], lw=0.6, alpha=0.4, color="C0")
    window = max(1, len(curve) // 25)
    ax.plot(curve["step"], curve["loss"].rolling(window, min_periods=1).mean(), color="C0",
            label=f"training MLM loss (mean of {window} steps)")  # fmt: skip
    ax.axhline(measured["unigram_entropy"], color="C3", ls="--", label="unigram entropy of training tokens")
    ax.axhline(measured["heldout_mlm_loss"], color="C2", ls=":", label="held-out MLM loss (final model)")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per masked token")
    ax.set_title("tiny Chinese BERT: one pretraining run")
    ax.legend(fontsize=7)
    save_figure(fig, path, scale)
