"""How a training run ended: learned, stuck at the unigram level, or diverged.

A run is *diverged* when a training loss was not finite or its final held-out loss is above its initial
one (it ended worse than its initialisation); otherwise *stuck* when its final held-out loss is not below
the corpus' unigram entropy H1 (what a model that ignores the context reaches: it has not used the
context); otherwise it *learned*. No margin: the claims test the final loss against H1 over seeds, so the
seeds' spread, not a fixed cut-off, says whether a group of runs is below it.
"""

from __future__ import annotations

import math
from typing import Sequence

LEARNED, STUCK, DIVERGED = "learned", "stuck", "diverged"


def run_status(
    curve: Sequence[float | None], initial_loss: float, final_loss: float | None, unigram_entropy: float
) -> str:
    finite = final_loss is not None and math.isfinite(final_loss)
    if not finite or any(v is None or not math.isfinite(v) for v in curve) or final_loss > initial_loss:
        return DIVERGED
    return STUCK if final_loss >= unigram_entropy else LEARNED
