"""Gradient flow at initialisation: one MLM loss on random tokens, then per layer of the encoder:

- ``grad_norm``: ||dL/dx_l||, x_l the residual stream entering layer l (l = 0 is the bottom), and
  ``grad_rel``, the same relative to the top layer's input (the profile Su's argument is about);
- ``weight_grad_norm``: the norm of the gradient of the layer's weight matrices, and relative to the top;
- ``var_attn``, ``var_ffn``: Var F(x) / Var x of the two sublayers, x the residual stream each adds to;
- ``path_weight``: Su's prediction for Post-LN, prod over the sublayers above of (1 + Var F/Var x)^(-1/2),
  the weight of the pure residual path from x_l to the top input (1 for Pre-LN, whose path is the identity).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.runtime import choose_device, set_threads
from kexue_repro.common.settings import build
from kexue_repro.transformer.data import mask_batch, random_tokens
from kexue_repro.transformer.model import MaskedLM, ModelConfig, build_model, is_tied, masked_lm_loss

# The configuration as the record states it beside its rows (the claims step reads its name and shape).
RECORDED = "name depth width heads ffn head output vocab seq_len batch_size mask_prob".split()


@dataclass(frozen=True)
class GradflowConfig:
    """The ``transformer.gradflow`` settings of one configuration (its name and shape among them)."""

    name: str  # the configuration's name in claims and file names
    depth: int  # encoder layers
    width: int
    heads: int
    ffn: int  # feed-forward width
    norms: tuple[str, ...]
    inits: tuple[str, ...]
    vocab: int  # tokens including [MASK]
    mask_prob: float
    head: str  # MLM head: BERT's Dense+GELU+LN, or none
    output: str  # output projection tied to the embeddings or not
    seeds: tuple[int, ...]
    seq_len: int
    batch_size: int

    def model(self, norm: str, init: str) -> ModelConfig:
        return ModelConfig(
            vocab=self.vocab, seq_len=self.seq_len, depth=self.depth, width=self.width, heads=self.heads,
            ffn=self.ffn, norm=norm, init=init, head=self.head, tied=is_tied(self.output), dropout=0.0,
        )  # fmt: skip


class SublayerVariances:
    """Hooks that record Var F(x) / Var x of the attention and feed-forward sublayer of every layer."""

    def __init__(self, model: MaskedLM) -> None:
        self.seen: dict[tuple[int, str], torch.Tensor] = {}
        self.handles = []
        for i, layer in enumerate(model.layers):
            self.handles += [
                layer.register_forward_pre_hook(self._input((i, "attn_in"))),
                layer.self_attn.register_forward_hook(self._output((i, "attn_out"))),
                layer.linear2.register_forward_hook(self._output((i, "ffn_out"))),
                # The feed-forward sublayer adds to norm1's output in Post-LN, to norm2's input in Pre-LN.
                layer.norm1.register_forward_hook(self._output((i, "ffn_in")))
                if model.config.norm == "post"
                else layer.norm2.register_forward_pre_hook(self._input((i, "ffn_in"))),
            ]

    def _input(self, key: tuple[int, str]):
        return lambda module, args: self.seen.__setitem__(key, args[0].detach())

    def _output(self, key: tuple[int, str]):
        def keep(module, args, output):
            self.seen[key] = (output[0] if isinstance(output, tuple) else output).detach()

        return keep

    def ratios(self, depth: int) -> tuple[list[float], list[float]]:
        def ratio(i: int, sub: str) -> float:
            out, into = self.seen[(i, f"{sub}_out")].double(), self.seen[(i, f"{sub}_in")].double()
            return float(out.var() / into.var())

        return [ratio(i, "attn") for i in range(depth)], [ratio(i, "ffn") for i in range(depth)]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def residual_path_weights(var_attn: list[float], var_ffn: list[float], post: bool) -> list[float]:
    """Weight of the identity path from each layer's input to the top layer's input (Post-LN: each
    Norm on the way divides by sqrt(1 + s^2); Pre-LN: 1)."""
    depth = len(var_attn)
    if not post:
        return [1.0] * depth
    factors = [((1 + a) * (1 + f)) ** -0.5 for a, f in zip(var_attn, var_ffn)]
    return [float(np.prod(factors[layer : depth - 1])) for layer in range(depth)]


def measure(
    model: MaskedLM, inputs: torch.Tensor, targets: torch.Tensor, masked: torch.Tensor
) -> dict[str, Any]:
    """One forward and backward pass of the MLM loss; the per-layer profile as lists indexed by layer."""
    variances = SublayerVariances(model)
    hidden = model.embed(inputs)
    layer_inputs = []
    for layer in model.layers:
        hidden.retain_grad()
        layer_inputs.append(hidden)
        hidden = layer(hidden)
    loss = masked_lm_loss(model.logits(hidden), targets, masked)
    model.zero_grad(set_to_none=True)
    loss.backward()
    variances.remove()
    depth = len(model.layers)
    grad = [float(x.grad.double().norm()) for x in layer_inputs]
    weight_grad = [
        float(torch.sqrt(sum(p.grad.double().pow(2).sum() for p in layer.parameters() if p.dim() > 1)))
        for layer in model.layers
    ]
    var_attn, var_ffn = variances.ratios(depth)
    return {
        "loss": float(loss.detach()),
        "grad_norm": grad,
        "grad_rel": [g / grad[-1] for g in grad],
        "weight_grad_norm": weight_grad,
        "weight_grad_rel": [g / weight_grad[-1] for g in weight_grad],
        "var_attn": var_attn,
        "var_ffn": var_ffn,
        "path_weight": residual_path_weights(var_attn, var_ffn, model.config.norm == "post"),
    }


def init_batch(vocab: int, seq_len: int, batch_size: int, mask_prob: float, seed: int):
    """Random tokens with BERT's share masked; ``vocab`` counts [MASK], the last token."""
    generator = torch.Generator().manual_seed(seed)
    targets = random_tokens(batch_size, seq_len, vocab - 1, generator)
    inputs, masked = mask_batch(targets, mask_prob, vocab - 1, generator)
    return inputs, targets, masked


def profiles(config: GradflowConfig, device: torch.device) -> list[dict[str, Any]]:
    """The profile of every seed x initialiser x norm; Post-LN and Pre-LN start from the same weights."""
    rows = []
    for seed in config.seeds:
        batch = [
            t.to(device)
            for t in init_batch(config.vocab, config.seq_len, config.batch_size, config.mask_prob, seed)
        ]
        for init in config.inits:
            for norm in config.norms:
                torch.manual_seed(seed)  # the same seed gives Post-LN and Pre-LN the same weights
                started = time.perf_counter()
                result = measure(build_model(config.model(norm, init)).to(device), *batch)
                rows.append({"norm": norm, "init": init, "seed": seed} | result)
                print(
                    f"{norm} {init} seed {seed}: loss {result['loss']:.3f}, gradient at the bottom "
                    f"{result['grad_rel'][0]:.3g} of the top, min {min(result['grad_rel']):.3g}, "
                    f"max {max(result['grad_rel']):.3g} ({time.perf_counter() - started:.1f} s)"
                )
    return rows


def _main(args: argparse.Namespace) -> None:
    settings = dict(args.settings)
    shapes = settings.pop("configurations", {})
    if args.configuration not in shapes:
        raise ValueError(f"transformer.gradflow: no configuration {args.configuration!r} in the settings")
    config = build(
        GradflowConfig,
        settings,
        "transformer.gradflow",
        name=args.configuration,
        **shapes[args.configuration],
    )
    set_threads(args.threads)
    rows = profiles(config, choose_device(args.device))
    write_json(args.out, {"configuration": {key: getattr(config, key) for key in RECORDED}, "rows": rows})


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.transformer.gradflow", __doc__, "transformer.gradflow")
    parser.add_argument("--configuration", required=True, help="the name of the configuration to measure")
    add_compute_arguments(parser)
    parser.add_argument("--out", required=True, help="the gradient-flow results to write (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
