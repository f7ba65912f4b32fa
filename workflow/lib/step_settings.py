"""A step's settings: its block of a study in params.yaml, with the scale's overrides, as one JSON value.

A study's block is organised by step (``vae.train``, ``vae.evaluate``, ...); ``<study>.scales.<scale>.<step>``
overrides keys of ``<study>.<step>`` at that scale. A rule passes ``step_settings(config, study, step)`` as a
param and hands it to the job's ``--settings``: the job builds its config dataclass from it, and Snakemake
reruns a job exactly when the settings it reads change.
"""

from __future__ import annotations

import json
from typing import Any


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` merged into ``base`` key by key (as Snakemake merges a --configfile into the config)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(base[key], value) if isinstance(value, dict) and key in base else value
    return merged


def step_block(config: dict[str, Any], study: str, step: str) -> dict[str, Any]:
    """``<study>.<step>`` with ``<study>.scales.<scale>.<step>`` merged over it."""
    block = config[study]
    scaled = block.get("scales", {}).get(config["scale"], {}).get(step, {})
    return deep_merge(block.get(step, {}), scaled)


def step_settings(config: dict[str, Any], study: str, step: str) -> str:
    """The step's settings as canonical JSON, for a rule's params and the job's ``--settings``."""
    return json.dumps(step_block(config, study, step), sort_keys=True, separators=(",", ":"))
