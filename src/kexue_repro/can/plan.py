"""What the CAN rules (workflow/rules/can.smk) hand each job: its step's settings, from the ``can`` block of
params.yaml (written to the job's settings file by workflow/lib/step_settings.py).

- apply reads ``can.apply``: the named settings (each applied to every run) and how a run's probabilities are
  read;
- sweep reads ``can.sweep`` and ``can.apply`` with only the one named setting it tunes around (so a change to
  another named setting does not rerun it);
- claims read ``can.claims``.

``can.sweep.setting`` and ``can.claims.setting`` must name a setting of ``can.apply.settings``: a ValueError
while the workflow is planned, before any job runs (the jobs check again).
"""

from __future__ import annotations

from typing import Any

STEPS = ("apply", "sweep", "claims")


def named_setting(can: dict[str, Any], step: str) -> str:
    """``can.<step>.setting``, checked against the names of ``can.apply.settings``."""
    name, known = can[step]["setting"], can["apply"]["settings"]
    if name not in known:
        raise ValueError(
            f"config: key 'can.{step}.setting': '{name}' is not one of can.apply.settings ({', '.join(known)})"
        )
    return name


def step_block(config: dict[str, Any], step: str) -> dict[str, Any]:
    """What the CAN step ``step`` reads of the config."""
    can = config["can"]
    if step not in STEPS:
        raise ValueError(f"can has no step {step!r} (steps: {', '.join(STEPS)})")
    names = {s: named_setting(can, s) for s in ("sweep", "claims")}
    if step != "sweep":
        return dict(can[step])
    # can.apply with its named settings narrowed to the sweep's, then can.sweep
    apply = can["apply"]
    return apply | {"settings": {names["sweep"]: apply["settings"][names["sweep"]]}} | can["sweep"]
