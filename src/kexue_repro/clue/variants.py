"""Gradient and update dropout as a wrapper around any torch optimizer (AdaFactor, AdamW, ...).

- ``childtuning-f``: before the step every gradient entry is kept with probability p (a fresh Bernoulli
  mask each step) and divided by p.
- ``childtuning-d``: a fixed mask, computed once before training, keeps the top-p share of parameters by
  Fisher information F_i = mean over training batches of (d log p(y|x) / d theta_i)^2 (batch size 1 gives
  the post's per-sample Fisher; the official code uses mini-batches, clips each parameter's gradient, and
  scores only encoder layers). Gradients outside the mask are zeroed; dividing the kept ones by p is the
  post's choice (the official code does not).
- ``incre-drop`` (Su's "update dropout"): after the inner optimizer's step, each parameter entry keeps its
  update with probability p (fresh each step) and returns to its old value otherwise. By default the kept
  updates are divided by p (inverted dropout), so the expected update equals the vanilla one and the variant
  changes only WHICH entries move, not the step size; without it the expected update is p times smaller,
  a learning-rate change mixed into the comparison (the confound Su points out in gradient dropout).

Under Adam-type optimizers a masked gradient still moves its parameter through the momentum (and the
second-moment normalisation makes gradient dropout act like a learning rate times sqrt(p)); only the update
mask trains a genuine subnetwork. ``scope`` restricts masking to the encoder layers; others always update.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

import torch
from torch import nn

from kexue_repro.clue.model import SCOPES, scoped_parameters

METHODS = ("vanilla", "childtuning-f", "childtuning-d", "incre-drop")
CORRECTIONS = ("none", "mlm")


@dataclass(frozen=True)
class VariantConfig:
    """What distinguishes a run from the post's vanilla fine-tuning."""

    method: str = "vanilla"
    p: float = 1.0  # share of entries kept (updated); ignored by vanilla
    scope: str = "all"
    divide_by_p: bool = True  # F: yes in the post and the official code; D: post yes, official no
    fisher_batch_size: int = 1
    fisher_max_grad_norm: float = 0.0  # > 0: clip each parameter's gradient to this norm (official: 1)
    drop_tokens: float = 0.0  # DropToken share r (a batch transform); 0: off
    embedding_correction: str = "none"  # "mlm": the MLM-dropout correction of the token embeddings

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"variant {self.method!r} is not one of {METHODS}")
        if self.scope not in SCOPES:
            raise ValueError(f"scope {self.scope!r} is not one of {SCOPES}")
        if self.method != "vanilla" and not 0 < self.p <= 1:
            raise ValueError(f"p must lie in (0, 1] for {self.method}, got {self.p}")
        if self.fisher_batch_size < 1 or self.fisher_max_grad_norm < 0:
            raise ValueError("fisher batch size must be >= 1 and the Fisher clipping norm >= 0")
        if not 0 <= self.drop_tokens < 1:
            raise ValueError(f"DropToken share must lie in [0, 1), got {self.drop_tokens}")
        if self.embedding_correction not in CORRECTIONS:
            raise ValueError(
                f"embedding correction {self.embedding_correction!r} is not one of {CORRECTIONS}"
            )

    @property
    def name(self) -> str:
        """Short label: 'vanilla', 'childtuning-f:p=0.2', 'incre-drop:p=0.2+droptoken:r=0.10', ..."""
        parts = []
        if self.method != "vanilla":
            parts.append(f"{self.method}:p={self.p:g}")
        if self.drop_tokens > 0:
            parts.append(f"droptoken:r={self.drop_tokens:.2f}")
        if self.embedding_correction != "none":
            parts.append(f"{self.embedding_correction}-correction")
        return "+".join(parts) or "vanilla"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _keep_mask(like: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    return torch.empty_like(like, dtype=torch.float32).bernoulli_(p, generator=generator).to(like.dtype)


class MaskedOptimizer:
    """``optimizer`` with the variant's gradient mask before each step, or its update mask after it.

    ``params`` are the (scoped) parameters masked; the inner optimizer may hold more, which update normally.
    Masks are drawn from this wrapper's own generator, so the model's dropout stream is the same across
    variants; its state (inner state, generator, fixed mask) goes into ``state_dict``. ChildTuning-D's fixed
    mask comes with ``fixed_masks``, ``set_fixed_masks`` (see ``fisher_masks``) or ``load_state_dict``.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        params: Iterable[nn.Parameter],
        config: VariantConfig,
        seed: int,
        fixed_masks: list[torch.Tensor] | None = None,
        keep_masks: bool = False,
    ) -> None:
        self.optimizer = optimizer
        self.config = config
        self.params = list(params)
        self.fixed_masks: list[torch.Tensor] | None = None
        # keep_masks: the last step's random keep masks (F's gradient masks, update dropout's update masks)
        # stay in ``last_masks``, for measurements of which entries moved (kexue_repro.clue.update_size).
        self.keep_masks = keep_masks
        self.last_masks: list[torch.Tensor] | None = None
        if fixed_masks is not None:
            self.set_fixed_masks(fixed_masks)
        device = self.params[0].device if self.params else torch.device("cpu")
        self.generator = torch.Generator(device=device).manual_seed(seed)

    @property
    def needs_masks(self) -> bool:
        """childtuning-d before its Fisher mask is set (computed, or restored by ``load_state_dict``)."""
        return self.config.method == "childtuning-d" and self.fixed_masks is None

    def set_fixed_masks(self, masks: list[torch.Tensor]) -> None:
        if [m.shape for m in masks] != [p.shape for p in self.params]:
            raise ValueError("the fixed masks do not match the masked parameters' shapes")
        self.fixed_masks = masks

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self) -> None:
        c = self.config
        if self.needs_masks:
            raise ValueError("childtuning-d needs its Fisher mask")
        scale = 1.0 / c.p if c.divide_by_p else 1.0
        kept = []
        if c.method == "childtuning-f":
            for param in self.params:
                if param.grad is None:
                    kept.append(None)
                    continue
                mask = _keep_mask(param.grad, c.p, self.generator)
                param.grad.mul_(mask)
                kept.append(mask)
                if scale != 1.0:
                    param.grad.mul_(scale)
            self.last_masks = self._kept(kept)
        elif c.method == "childtuning-d":
            for param, mask in zip(self.params, self.fixed_masks):
                if param.grad is not None:
                    param.grad.mul_(mask.to(param.grad.dtype))
                    if scale != 1.0:
                        param.grad.mul_(scale)
        if c.method != "incre-drop":
            self.optimizer.step()
            return
        before = [param.detach().clone() for param in self.params]
        self.optimizer.step()
        for param, old in zip(self.params, before):
            keep = _keep_mask(param, c.p, self.generator).bool()
            new = old + (param - old) * scale if scale != 1.0 else param
            param.copy_(torch.where(keep, new, old))
            kept.append(keep)
        self.last_masks = self._kept(kept)

    def _kept(self, masks: list[torch.Tensor | None]) -> list[torch.Tensor] | None:
        """Boolean keep masks aligned with ``params`` (a parameter without a gradient kept nothing), when
        ``keep_masks``."""
        if not self.keep_masks:
            return None
        return [
            torch.zeros_like(param, dtype=torch.bool) if mask is None else mask.bool()
            for param, mask in zip(self.params, masks)
        ]

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "fixed_masks": [m.cpu() for m in self.fixed_masks] if self.fixed_masks is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        if state["fixed_masks"] is not None:
            device = self.params[0].device
            self.fixed_masks = [m.to(device) for m in state["fixed_masks"]]


def fisher_scores(
    model: nn.Module,
    params: list[nn.Parameter],
    batches: Iterable[dict[str, torch.Tensor]],
    max_grad_norm: float,
    forward: Callable[[nn.Module, dict[str, torch.Tensor]], torch.Tensor],
) -> list[torch.Tensor]:
    """Mean over ``batches`` of the squared gradient of the mean log-likelihood, per entry of ``params``.

    ``forward(model, batch)`` returns the batch's mean cross-entropy. The model stays in training mode
    (dropout on) as in the official code; with ``max_grad_norm`` > 0 each parameter's gradient is clipped to
    that norm before squaring (official: 1.0).
    """
    model.train()
    scores = [torch.zeros_like(p, dtype=torch.float32) for p in params]
    n_batches = 0
    for batch in batches:
        model.zero_grad(set_to_none=True)
        forward(model, batch).backward()
        for score, param in zip(scores, params):
            if param.grad is None:
                continue
            if max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(param, max_grad_norm)
            score.add_(param.grad.float().square())
        n_batches += 1
    model.zero_grad(set_to_none=True)
    if n_batches == 0:
        raise ValueError("no training batches to estimate the Fisher information from")
    return [score / n_batches for score in scores]


def top_share_masks(scores: list[torch.Tensor], p: float) -> list[torch.Tensor]:
    """Boolean masks keeping the entries whose score is at least the global top-p threshold (the k-th
    largest score, k = round(p n)); ties at the threshold are kept, as the official percentile rule does."""
    flat = torch.cat([s.detach().flatten().float().cpu() for s in scores])
    keep = min(max(1, round(p * flat.numel())), flat.numel())
    threshold = torch.kthvalue(flat, flat.numel() - keep + 1).values
    return [s >= threshold.to(s.device) for s in scores]


def fisher_masks(
    model: nn.Module,
    config: VariantConfig,
    batches: Iterable[dict[str, torch.Tensor]],
    forward: Callable[[nn.Module, dict[str, torch.Tensor]], torch.Tensor],
) -> list[torch.Tensor]:
    """ChildTuning-D's mask of the scoped parameters: the top-p share by Fisher information over ``batches``."""
    params = [p for _, p in scoped_parameters(model, config.scope)]
    return top_share_masks(
        fisher_scores(model, params, batches, config.fisher_max_grad_norm, forward), config.p
    )


def kept_share(masks: list[torch.Tensor]) -> float:
    kept = sum(int(m.sum()) for m in masks)
    return kept / max(1, sum(m.numel() for m in masks))
