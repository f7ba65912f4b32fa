"""What the GAN rules (workflow/rules/gan.smk) hand each job of one dataset: the settings of its step.

The ``train`` and ``probe`` blocks of ``gan`` in params.yaml hold keys every dataset shares and one block per
dataset (``ring``, ``mnist``); a job of one dataset reads the shared keys with its dataset's block merged over
them, and nothing of the other dataset's, so changing a digit run's size reruns no ring job. Plain functions
without torch, so the rules stay declarations and planning the workflow stays fast.
"""

from __future__ import annotations

from typing import Any

DATASETS = ("ring", "mnist")


def dataset_block(block: dict[str, Any], dataset: str) -> dict[str, Any]:
    """A step's block for ``dataset``: its shared keys with the dataset's own block merged over them."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    return {k: v for k, v in block.items() if k not in DATASETS} | block[dataset]


def dataset_settings(config: dict[str, Any], step: str, dataset: str) -> dict[str, Any]:
    """``gan.<step>`` for one dataset: what a job of that dataset reads."""
    return dataset_block(config["gan"][step], dataset)


def cost_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What the cost job reads: ``gan.cost`` and, per dataset, the ``gan.train`` settings its runs train with."""
    return config["gan"]["cost"] | {"train": {d: dataset_settings(config, "train", d) for d in DATASETS}}
