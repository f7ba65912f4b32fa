"""What the transformer rules (workflow/rules/transformer.smk) run: the gradflow configurations, each one's
settings, and the MLM runs. Plain functions of params.yaml's blocks, so the rules stay declarations.
"""

from __future__ import annotations

import itertools
from typing import Any

LAST_LN_NORM = "post"
LAST_LN_HEADS = ("dense_ln", "plain")  # the LayerNorm-gamma claim compares BERT's head with none


def configurations(gradflow: dict[str, Any]) -> list[str]:
    """The names of the configurations measured at initialisation, in params.yaml's order."""
    return list(gradflow["configurations"])


def gradflow_settings(gradflow: dict[str, Any], configuration: str) -> dict[str, Any]:
    """The gradflow block (``step_block``) for one configuration's job: ``configurations`` keeps only that one,
    so a job reruns when its own shape changes, not another's."""
    if configuration not in gradflow["configurations"]:
        raise KeyError(f"transformer.gradflow.configurations: no configuration {configuration!r}")
    return gradflow | {"configurations": {configuration: gradflow["configurations"][configuration]}}


def run_name(norm: str, head: str, lr: float, warmup_steps: int, seed: int) -> str:
    return f"{norm}_{head}_lr{lr}_w{warmup_steps}_seed{seed}"


def run_names(runs: dict[str, Any], claims: dict[str, Any]) -> list[str]:
    """The MLM runs (``step_block``s of ``runs`` and ``claims``): the warmup sweep (norms x lrs x warmup steps
    x seeds, head ``claims.sweep_head``) and the Post-LN runs of the LayerNorm-gamma claim, with and without
    BERT's extra Dense+LN in the head, at ``claims.last_ln``; runs whose settings coincide are shared."""
    sweep = itertools.product(
        runs["norms"], [claims["sweep_head"]], runs["lrs"], runs["warmup_steps"], runs["seeds"]
    )
    last_ln = claims["last_ln"]
    gamma = itertools.product(
        [LAST_LN_NORM], LAST_LN_HEADS, [last_ln["lr"]], [last_ln["warmup_steps"]], runs["seeds"]
    )
    return sorted({run_name(*run) for run in itertools.chain(sweep, gamma)})
