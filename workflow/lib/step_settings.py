"""A step's settings: its block of a study in params.yaml, with the scale's overrides, in a file a job reads.

A study's block is organised by step (``vae.train``, ``vae.evaluate``, ...); ``<study>.scales.<scale>.<step>``
overrides keys of ``<study>.<step>`` at that scale. ``step_settings(config, study, step)`` writes that block to
results/settings/<study>/<step>.json when the Snakefile is read (rewriting the file only when its content
changes) and returns the path. A rule takes the file as an input and hands it to the job's ``--settings``:
the job builds its config dataclass from it, and Snakemake reruns a job exactly when the settings it reads
change, judged like any input (dates and checksums), so a clone whose outputs came from `dvc pull` (with no
Snakemake records of their parameters) still reruns what a changed number touches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kexue_repro.common.atomic import write_text
from kexue_repro.common.settings import deep_merge, step_block  # noqa: F401 (the workflow's, re-exported)

SETTINGS_DIR = Path("results/settings")


def settings_file(name: str, settings: dict[str, Any]) -> str:
    """results/settings/<name>.json holding ``settings``, written (atomically) only if its content differs."""
    path = SETTINGS_DIR / f"{name}.json"
    text = json.dumps(settings, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)
    return str(path)


def step_settings(config: dict[str, Any], study: str, step: str) -> str:
    """The settings file of ``<study>.<step>`` at the config's scale: a rule's input, the job's ``--settings``."""
    return settings_file(f"{study}/{step}", step_block(config, study, step))
