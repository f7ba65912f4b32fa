"""Training schedules of study 8791, and how the claims label a run."""

from __future__ import annotations

SCHEDULES = ("constant", "burda")
# How the claims label a run: (e) compares with Table 1 only under the reference schedule.
SCHEDULE_LABELS = ("smoke", "short", "reference")


def schedule_stages(
    schedule: str, lr: float, epochs: int | None = None, passes: int | None = None
) -> list[tuple[int, float]]:
    """(epochs, learning rate) per stage. burda: stage i = 0..passes-1 runs 3^i epochs at lr*10^(-i/7)."""
    if schedule == "constant":
        if epochs is None or epochs < 1:
            raise ValueError("--schedule constant needs --epochs >= 1")
        return [(epochs, lr)]
    if schedule == "burda":
        if passes is None or passes < 1:
            raise ValueError("--schedule burda needs --passes >= 1")
        return [(3**i, lr * 10 ** (-i / 7)) for i in range(passes)]
    raise ValueError(f"unknown schedule {schedule!r}; known: {SCHEDULES}")


# Burda et al.'s reference: i = 0..7, 3^i epochs each, 3280 epochs in all.
REFERENCE_PASSES = 8
REFERENCE_EPOCHS = sum(3**i for i in range(REFERENCE_PASSES))


def schedule_label(scale: str, schedule: str, epochs: int) -> str:
    """'smoke' below full scale; at full scale 'reference' for Burda's 8 passes (3280 epochs) and 'short'
    otherwise."""
    if scale != "full":
        return "smoke"
    return "reference" if schedule == "burda" and epochs == REFERENCE_EPOCHS else "short"
