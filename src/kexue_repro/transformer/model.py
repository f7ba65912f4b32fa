"""A BERT-like masked language model on torch's TransformerEncoderLayer: Post-LN or Pre-LN, four initialisers.

Embeddings (token + position) pass through a LayerNorm, as in BERT, then ``depth`` encoder layers; Pre-LN
adds a final LayerNorm. The MLM head is BERT's (Dense + GELU + LayerNorm, then the output projection)
or plain (the projection only); the projection is tied to the token embeddings or not.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from kexue_repro.transformer import HEADS, INITS, NORMS, OUTPUTS

BERT_STD = 0.02


@dataclass(frozen=True)
class ModelConfig:
    vocab: int  # including the [MASK] token
    seq_len: int
    depth: int
    width: int
    heads: int
    ffn: int
    norm: str
    init: str
    head: str
    tied: bool
    dropout: float

    def __post_init__(self) -> None:
        if self.norm not in NORMS or self.init not in INITS or self.head not in HEADS:
            raise ValueError(
                f"norm {self.norm!r}, init {self.init!r}, head {self.head!r}: expected norm in {NORMS}, "
                f"init in {INITS}, head in {HEADS}"
            )
        if min(self.vocab, self.seq_len, self.depth, self.width, self.heads, self.ffn) < 1:
            raise ValueError("vocab, seq_len, depth, width, heads and ffn must be >= 1")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not a multiple of heads {self.heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout {self.dropout} is not in [0, 1)")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_tied(output: str) -> bool:
    """A step's ``output`` setting (tied | untied) as ModelConfig's ``tied``."""
    if output not in OUTPUTS:
        raise ValueError(f"output {output!r}: expected one of {OUTPUTS}")
    return output == "tied"


def truncated_normal_(weight: torch.Tensor, std: float) -> None:
    """tf.random.truncated_normal (BERT's initialiser): draws beyond 2 std are redrawn; actual std 0.0176
    for std 0.02. Only the rejected entries are redrawn: torch's trunc_normal_ redraws the whole tensor
    each round, about 20 times slower on BERT-size matrices."""
    flat = weight.view(-1)
    flat.normal_(0.0, std)
    outside = (flat.abs() > 2 * std).nonzero().squeeze(1)
    while outside.numel():
        redrawn = torch.empty(outside.numel()).normal_(0.0, std)
        flat[outside] = redrawn
        outside = outside[redrawn.abs() > 2 * std]


def init_matrix(weight: torch.Tensor, init: str, fans: tuple[int, int] | None = None) -> None:
    """Fill one weight matrix in place; ``fans`` (fan_in, fan_out) for Xavier, default the matrix's own."""
    with torch.no_grad():
        if init == "tf_truncated":
            truncated_normal_(weight, BERT_STD)
        elif init == "hf_normal":
            nn.init.normal_(weight, 0.0, BERT_STD)
        elif init == "normal_0.1":
            nn.init.normal_(weight, 0.0, 0.1)
        elif init == "xavier":  # Glorot uniform: std sqrt(2 / (fan_in + fan_out)), 1/sqrt(768) for 768x768
            fan_in, fan_out = fans if fans is not None else (weight.shape[1], weight.shape[0])
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            nn.init.uniform_(weight, -bound, bound)
        else:
            raise ValueError(f"unknown initialiser {init!r}; expected one of {INITS}")


def initialise(model: nn.Module, init: str) -> None:
    """Embeddings and every Linear weight from ``init``; biases 0; LayerNorm gamma 1, beta 0.

    The attention's packed q/k/v projection (3d x d) is three d x d matrices, each initialised on its own.
    """
    for module in model.modules():
        if isinstance(module, nn.MultiheadAttention):
            for chunk in module.in_proj_weight.chunk(3, dim=0):
                init_matrix(chunk, init)
            nn.init.zeros_(module.in_proj_bias)
        elif isinstance(module, nn.Linear):
            init_matrix(module.weight, init)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init_matrix(module.weight, init, fans=(module.num_embeddings, module.embedding_dim))
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class MaskedLM(nn.Module):
    """Embeddings + LayerNorm, the encoder layers, (Pre-LN: a final LayerNorm), the MLM head.

    Made with torch's default initialisation; ``build_model`` gives it the config's initialiser.
    """

    def __init__(self, config: ModelConfig, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.config = config
        width, on = config.width, {"device": device}
        self.tokens = nn.Embedding(config.vocab, width, **on)
        self.positions = nn.Embedding(config.seq_len, width, **on)
        self.embedding_norm = nn.LayerNorm(width, **on)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                width,
                config.heads,
                config.ffn,
                dropout=config.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=config.norm == "pre",
                **on,
            )
            for _ in range(config.depth)
        )
        self.final_norm = nn.LayerNorm(width, **on) if config.norm == "pre" else nn.Identity()
        self.head_transform = (
            nn.Sequential(nn.Linear(width, width, **on), nn.GELU(), nn.LayerNorm(width, **on))
            if config.head == "dense_ln"
            else nn.Identity()
        )
        self.output = nn.Linear(width, config.vocab, **on)
        self.tie()

    def tie(self) -> None:
        if self.config.tied:
            self.output.weight = self.tokens.weight

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        return self.embedding_norm(self.tokens(tokens) + self.positions(positions))

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.output(self.head_transform(self.final_norm(hidden)))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(tokens)
        for layer in self.layers:
            hidden = layer(hidden)
        return self.logits(hidden)

    def encoder_norms(self) -> list[tuple[str, nn.LayerNorm]]:
        """The encoder's LayerNorms in the order the residual stream meets them; the last is the one the
        head reads (Post-LN: the top layer's norm2; Pre-LN: the final norm)."""
        norms = [
            (f"layer{i}.{n}", getattr(layer, n))
            for i, layer in enumerate(self.layers)
            for n in ("norm1", "norm2")
        ]
        if isinstance(self.final_norm, nn.LayerNorm):
            norms.append(("final_norm", self.final_norm))
        return norms


def build_model(config: ModelConfig) -> MaskedLM:
    """The model on the CPU with the config's initialiser, from the global seed. Its modules are made on
    the meta device first, which skips torch's default initialisation (as costly as ours at width 768)."""
    model = MaskedLM(config, device="meta").to_empty(device="cpu")
    initialise(model, config.init)
    model.tie()
    return model


def masked_lm_loss(logits: torch.Tensor, targets: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the masked positions only."""
    return nn.functional.cross_entropy(logits[masked], targets[masked])
