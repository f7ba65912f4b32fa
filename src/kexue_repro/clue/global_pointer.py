"""GlobalPointer span scores and Su's multilabel categorical cross-entropy, as in bert4keras and the post's
CLUE code (bojone/CLUE-bert4keras, src/cmrc2018.py and src/cluener.py: ``GlobalPointer(heads, head_size,
use_bias=False)``; kexue.fm/archives/8373 and 7359).

For hidden states ``h`` [batch, n, hidden], each head projects every token to a query and a key of
``head_size`` (one dense layer to heads x 2 x head_size, no bias), rotates both by RoPE and scores the span
(start m, end n) as ``q_m . k_n / sqrt(head_size)``. Spans touching padding, and spans that end before they
start, get ``masked_value(dtype)`` (bert4keras subtracts 1e12; the most negative finite value of the dtype
does the same in float16 too).
"""

from __future__ import annotations

import torch
from torch import nn


def masked_value(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).min


def rotary(x: torch.Tensor) -> torch.Tensor:
    """RoPE over [batch, n, heads, d], position i = 0..n-1: each pair (x[2j], x[2j+1]) turns by the angle
    ``i * 10000^(-2j/d)`` (bert4keras' SinusoidalPositionEmbedding in 'zero' mode, interleaved sin/cos; the
    same rotation as transformers' RoFormer)."""
    n, d = x.shape[1], x.shape[-1]
    if d % 2:
        raise ValueError(f"RoPE needs an even head_size, got {d}")
    frequencies = torch.pow(10000.0, -2 * torch.arange(d // 2, dtype=torch.float32, device=x.device) / d)
    angles = torch.arange(n, dtype=torch.float32, device=x.device)[:, None] * frequencies  # [n, d/2]
    cos, sin = angles.cos()[:, None, :].to(x.dtype), angles.sin()[:, None, :].to(x.dtype)  # over heads
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, odd * cos + even * sin], dim=-1).flatten(-2)


class GlobalPointer(nn.Module):
    """Span logits [batch, heads, n, n] (start, end) from hidden states [batch, n, hidden]."""

    def __init__(
        self, hidden_size: int, heads: int, head_size: int, rope: bool = True, tril_mask: bool = True
    ):
        super().__init__()
        self.heads, self.head_size, self.rope, self.tril_mask = heads, head_size, rope, tril_mask
        self.dense = nn.Linear(hidden_size, heads * 2 * head_size, bias=False)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        batch, n, _ = hidden.shape
        qk = self.dense(hidden).view(batch, n, self.heads, 2 * self.head_size)
        q, k = qk[..., : self.head_size], qk[..., self.head_size :]
        if self.rope:
            q, k = rotary(q), rotary(k)
        logits = torch.einsum("bmhd,bnhd->bhmn", q, k) / self.head_size**0.5
        keep = torch.ones(batch, 1, n, n, dtype=torch.bool, device=hidden.device)
        if attention_mask is not None:
            valid = attention_mask.bool()
            keep = keep & valid[:, None, :, None] & valid[:, None, None, :]
        if self.tril_mask:
            keep = keep & torch.ones(n, n, dtype=torch.bool, device=hidden.device).triu()
        return logits.masked_fill(~keep, masked_value(logits.dtype))


def multilabel_categorical_crossentropy(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Su's loss ``log(1 + sum_neg e^s) + log(1 + sum_pos e^-s)`` in the sparse form of bert4keras
    (``sparse_multilabel_categorical_crossentropy(..., mask_zero=True)``).

    ``logits`` [..., C] (for GlobalPointer: [batch, heads, n * n], the (start, end) pairs flattened as
    ``start * n + end``); ``positives`` [..., P] long, the indices of the positive classes, padded with 0
    (class 0 is out of both sums: for GlobalPointer it is the [CLS]-[CLS] span, never an entity). Returns the
    loss over [...]. The post's cluener.py uses the dense form (a 0/1 target per pair, the same value but for
    the [CLS]-[CLS] pair, there a negative) averaged over batch and heads.

    The negative part needs the log-sum-exp of all classes but the positives, taken as
    ``log(sum_all e^s) + log(1 - sum_pos e^s / sum_all e^s)`` so that only the positives are gathered.
    """
    zeros = torch.zeros_like(logits[..., :1])
    logits = torch.cat([logits, zeros], dim=-1)  # the "1 +" of both terms
    is_pad = positives == 0
    positive = logits.gather(-1, positives)
    pos_loss = torch.logsumexp(
        torch.cat([(-positive).masked_fill(is_pad, -torch.inf), zeros], dim=-1), dim=-1
    )
    everything = logits.clone()
    everything[..., 0] = -torch.inf  # class 0 is padding: out of every sum
    all_loss = torch.logsumexp(everything, dim=-1)
    share = torch.logsumexp(positive.masked_fill(is_pad, -torch.inf), dim=-1) - all_loss
    eps = torch.finfo(logits.dtype).eps
    neg_loss = all_loss + torch.log(torch.clamp(1 - torch.exp(share), min=eps, max=1))
    return pos_loss + neg_loss
