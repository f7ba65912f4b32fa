"""How a training run ended: learned, stuck at the unigram level, or diverged.

A run is *diverged* when a training loss was not finite or its final held-out loss is above its initial
one; otherwise *stuck* when the final loss is not at least ``margin`` nats below the corpus' unigram
entropy (what a model that ignores the context achieves); otherwise it *learned*.
"""

from __future__ import annotations

import math
from typing import Sequence

LEARNED, STUCK, DIVERGED = "learned", "stuck", "diverged"


def run_status(
    curve: Sequence[float | None],
    initial_loss: float,
    final_loss: float | None,
    unigram_entropy: float,
    margin: float,
) -> str:
    if margin < 0:
        raise ValueError(f"stall margin {margin} must be >= 0")
    finite = final_loss is not None and math.isfinite(final_loss)
    if not finite or any(v is None or not math.isfinite(v) for v in curve) or final_loss > initial_loss:
        return DIVERGED
    return STUCK if final_loss > unigram_entropy - margin else LEARNED
