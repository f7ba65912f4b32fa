"""GlobalPointer and Su's multilabel loss against direct, slow implementations (loops over spans)."""

from __future__ import annotations

import math

import pytest
import torch

from kexue_repro.clue.global_pointer import (
    GlobalPointer,
    masked_value,
    multilabel_categorical_crossentropy,
    rotary,
)


def slow_rotate(vector: list[float], position: int) -> list[float]:
    """RoPE written out: the pair (v[2j], v[2j+1]) turned by position * 10000^(-2j/d)."""
    d, out = len(vector), list(vector)
    for j in range(d // 2):
        angle = position * 10000.0 ** (-2 * j / d)
        x, y = vector[2 * j], vector[2 * j + 1]
        out[2 * j] = x * math.cos(angle) - y * math.sin(angle)
        out[2 * j + 1] = y * math.cos(angle) + x * math.sin(angle)
    return out


def slow_global_pointer(layer: GlobalPointer, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weight = layer.dense.weight.double()  # [heads * 2 * head_size, hidden], per head: q then k
    size, (batch, n, _) = layer.head_size, hidden.shape
    out = torch.empty(batch, layer.heads, n, n, dtype=torch.float64)
    for b in range(batch):
        for h in range(layer.heads):
            rows = weight[h * 2 * size : (h + 1) * 2 * size]
            for i in range(n):
                q = slow_rotate((rows[:size] @ hidden[b, i].double()).tolist(), i)
                for j in range(n):
                    k = slow_rotate((rows[size:] @ hidden[b, j].double()).tolist(), j)
                    if j < i or not (mask[b, i] and mask[b, j]):
                        out[b, h, i, j] = masked_value(torch.float32)
                    else:
                        out[b, h, i, j] = sum(a * c for a, c in zip(q, k)) / math.sqrt(size)
    return out


def test_global_pointer_logits_and_masks_match_the_slow_version():
    torch.manual_seed(0)
    layer = GlobalPointer(hidden_size=6, heads=3, head_size=4)
    hidden = torch.randn(2, 5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    logits = layer(hidden, mask)
    assert logits.shape == (2, 3, 5, 5)
    torch.testing.assert_close(
        logits.double(), slow_global_pointer(layer, hidden, mask), rtol=1e-5, atol=1e-5
    )
    masked = logits == masked_value(logits.dtype)
    assert masked[1, :, 3:, :].all() and masked[1, :, :, 3:].all()  # padding, both axes
    assert masked[0, :, 2, 1].all() and not masked[0, :, 1, 2].any()  # end before start only
    assert layer.dense.bias is None


def test_rope_depends_only_on_the_relative_position():
    torch.manual_seed(1)
    q, k = torch.randn(1, 1, 1, 8).double(), torch.randn(1, 1, 1, 8).double()
    scores = []
    for shift in (0, 3, 7):
        qs = torch.cat([torch.zeros(1, shift, 1, 8, dtype=torch.float64), q, k], dim=1)
        rotated = rotary(qs)
        scores.append(float(rotated[0, shift, 0] @ rotated[0, shift + 1, 0]))
    assert scores == pytest.approx([scores[0]] * 3)
    with pytest.raises(ValueError, match="even head_size"):
        rotary(torch.zeros(1, 2, 1, 3))


def slow_loss(logits: torch.Tensor, positive: set[int]) -> float:
    """log(1 + sum over negatives of e^s) + log(1 + sum over positives of e^-s); class 0 is padding."""
    neg = sum(math.exp(s) for c, s in enumerate(logits.tolist()) if c not in positive and c != 0)
    pos = sum(math.exp(-s) for c, s in enumerate(logits.tolist()) if c in positive)
    return math.log1p(neg) + math.log1p(pos)


def test_multilabel_loss_matches_its_definition():
    torch.manual_seed(2)
    logits = torch.randn(3, 2, 10, dtype=torch.float64) * 3
    positives = torch.tensor([[[4, 7, 0], [0, 0, 0]], [[1, 0, 0], [9, 2, 3]], [[5, 6, 8], [2, 0, 0]]])
    loss = multilabel_categorical_crossentropy(logits, positives)
    for b in range(3):
        for h in range(2):
            expected = slow_loss(logits[b, h], {int(c) for c in positives[b, h] if c})
            assert float(loss[b, h]) == pytest.approx(expected, rel=1e-9)


def test_multilabel_loss_is_softplus_with_one_positive_and_one_negative():
    logits = torch.tensor([[-5.0, 0.7, -1.3]], dtype=torch.float64)  # class 0 padding, 1 positive, 2 negative
    loss = multilabel_categorical_crossentropy(logits, torch.tensor([[1]]))
    softplus = torch.nn.functional.softplus
    assert float(loss) == pytest.approx(float(softplus(torch.tensor(-0.7)) + softplus(torch.tensor(-1.3))))


def test_multilabel_loss_on_masked_global_pointer_logits_has_finite_gradients():
    torch.manual_seed(3)
    layer = GlobalPointer(hidden_size=4, heads=2, head_size=2)
    mask = torch.tensor([[1, 1, 1, 0]])
    logits = layer(torch.randn(1, 4, 4), mask)
    positives = torch.tensor([[[1 * 4 + 2, 0], [0, 0]]])  # head 0: span (1, 2); head 1: no entity
    loss = multilabel_categorical_crossentropy(logits.flatten(2), positives).sum()
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(layer.dense.weight.grad).all()
    spans = {i * 4 + j for i in range(3) for j in range(i, 3) if (i, j) != (0, 0)}
    flat = logits.detach().flatten(2)[0].double()
    expected = slow_loss(flat[0], {6}) + math.log1p(sum(math.exp(flat[1, c]) for c in spans))
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
