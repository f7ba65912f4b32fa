"""Gradient dropout (ChildTuning-F), the Fisher mask (ChildTuning-D) and update dropout, each as a wrapper
around a real optimizer on the tiny BERT."""

from __future__ import annotations

import math

import pytest
import torch
from clue_tiny import make_model, records, tokenizer

from kexue_repro.clue import data
from kexue_repro.clue.evaluate import mean_loss
from kexue_repro.clue.model import load_classifier, scoped_parameters
from kexue_repro.clue.optimizers import make_optimizer
from kexue_repro.clue.variants import (
    MaskedOptimizer,
    VariantConfig,
    fisher_masks,
    fisher_scores,
    top_share_masks,
)
from kexue_repro.data.clue_records import Record

CPU = torch.device("cpu")


class GradientRecorder(torch.optim.Optimizer):
    """An inner optimizer that only records the gradients it is handed (parameters stay put)."""

    def __init__(self, params):
        super().__init__(params, {})
        self.seen: list[list[torch.Tensor]] = []

    def step(self, closure=None):
        self.seen.append([p.grad.clone() for g in self.param_groups for p in g["params"]])


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    folder = make_model(tmp_path_factory.mktemp("tiny"))
    encoded = data.encode([Record(r["text"], None, r["label"]) for r in records()], tokenizer(), 32)
    return folder, encoded


def fresh_model(folder):
    torch.manual_seed(0)
    return load_classifier(str(folder), 2)


def backward(model, encoded, indices=range(8)):
    model.zero_grad(set_to_none=True)
    mean_loss(model, data.collate(encoded, list(indices)), CPU).backward()


def test_childtuning_f_keeps_a_share_p_of_gradients_and_divides_by_p(setting):
    folder, encoded = setting
    model, p, steps = fresh_model(folder), 0.3, 12
    backward(model, encoded)
    raw = [param.grad.clone() for param in model.parameters()]
    recorder = GradientRecorder(model.parameters())
    optimizer = MaskedOptimizer(recorder, list(model.parameters()), VariantConfig("childtuning-f", p), seed=1)
    for _ in range(steps):
        for param, grad in zip(model.parameters(), raw):
            param.grad = grad.clone()
        optimizer.step()
    n = sum(int((g != 0).sum()) for g in raw)
    shares = []
    for seen in recorder.seen:
        kept = sum(int(((g != 0) & (r != 0)).sum()) for g, r in zip(seen, raw))
        shares.append(kept / n)
        for g, r in zip(seen, raw):
            torch.testing.assert_close(g[g != 0], r[g != 0] / p)  # kept entries rescaled by 1/p
            assert not g[r == 0].any()
    sigma = math.sqrt(p * (1 - p) / n)
    assert all(abs(s - p) < 5 * sigma for s in shares), (shares, sigma)
    assert abs(sum(shares) / steps - p) < 5 * sigma / math.sqrt(steps)
    masks = [torch.cat([(g != 0).flatten() for g in seen]) for seen in recorder.seen]
    assert all(not torch.equal(a, b) for a, b in zip(masks[:-1], masks[1:])), "a fresh mask every step"


def test_childtuning_d_mask_keeps_the_top_p_share_by_fisher(setting):
    folder, encoded = setting
    model, p = fresh_model(folder), 0.25
    params = [param for _, param in scoped_parameters(model, "encoder")]
    batches = list(data.batches(encoded, 4))
    scores = fisher_scores(model, params, batches, 0.0, lambda m, b: mean_loss(m, b, CPU))
    masks = top_share_masks(scores, p)
    flat_scores, flat_masks = (
        torch.cat([s.flatten() for s in scores]),
        torch.cat([m.flatten() for m in masks]),
    )
    assert int(flat_masks.sum()) == round(p * flat_scores.numel())
    assert flat_scores[flat_masks].min() >= flat_scores[~flat_masks].max()


def test_fisher_with_batch_size_one_is_the_mean_squared_per_sample_gradient(setting):
    folder, encoded = setting
    model = fresh_model(folder).eval()  # eval: dropout off, so the oracle sees the same forward passes
    model.train = lambda mode=True: model  # keep it off inside fisher_scores too
    params = [param for _, param in scoped_parameters(model, "encoder")][:3]
    forward = lambda m, b: mean_loss(m, b, CPU)  # noqa: E731
    scores = fisher_scores(model, params, data.batches(encoded, 1, torch.arange(4)), 0.0, forward)
    expected = [torch.zeros_like(param) for param in params]
    for i in range(4):
        backward(model, encoded, [i])
        for e, param in zip(expected, params):
            e += param.grad.square() / 4
    for s, e in zip(scores, expected):
        torch.testing.assert_close(s, e)


def test_childtuning_d_updates_exactly_the_masked_encoder_entries_under_adafactor(setting):
    folder, encoded = setting
    model = fresh_model(folder)
    before = {name: param.detach().clone() for name, param in model.named_parameters()}
    inner = make_optimizer("adafactor", model.parameters(), 5e-4, 0.9, None, 0.0)
    variant = VariantConfig(
        "childtuning-d", 0.3, scope="encoder", fisher_batch_size=2, fisher_max_grad_norm=1.0
    )
    params = [param for _, param in scoped_parameters(model, variant.scope)]
    optimizer = MaskedOptimizer(inner, params, variant, 0)
    assert optimizer.needs_masks
    with pytest.raises(ValueError, match="childtuning-d needs its Fisher mask"):
        optimizer.step()
    optimizer.set_fixed_masks(
        fisher_masks(model, variant, data.batches(encoded, 2), lambda m, b: mean_loss(m, b, CPU))
    )
    model.train()
    for step in range(4):
        backward(model, encoded, range(step * 6, step * 6 + 6))
        optimizer.step()
    encoder = dict(scoped_parameters(model, "encoder"))
    changed_in, total_in = 0, 0
    for (name, param), mask in zip(encoder.items(), optimizer.fixed_masks):
        moved = param.detach() != before[name]
        assert not moved[~mask].any(), f"{name}: an entry outside the mask moved"
        changed_in += int(moved[mask].sum())
        total_in += int(mask.sum())
    assert changed_in / total_in > 0.95, changed_in / total_in
    assert not torch.equal(model.classifier.weight, before["classifier.weight"]), "outside the scope: updated"


@pytest.mark.parametrize("divide", [True, False])
def test_childtuning_d_divides_by_p_only_when_asked(setting, divide):
    folder, encoded = setting
    model = fresh_model(folder)
    params = [param for _, param in scoped_parameters(model, "encoder")]
    masks = [
        torch.rand(param.shape, generator=torch.Generator().manual_seed(i)) < 0.5
        for i, param in enumerate(params)
    ]
    recorder = GradientRecorder(params)
    optimizer = MaskedOptimizer(
        recorder, params, VariantConfig("childtuning-d", 0.5, "encoder", divide), 0, masks
    )
    backward(model, encoded)
    raw = [param.grad.clone() for param in params]
    optimizer.step()
    for seen, grad, mask in zip(recorder.seen[0], raw, masks):
        torch.testing.assert_close(seen, grad * mask / (0.5 if divide else 1.0))


def test_update_dropout_moves_only_the_kept_entries(setting):
    folder, encoded = setting
    model, p, lr = fresh_model(folder), 0.4, 0.1
    params = list(model.parameters())
    optimizer = MaskedOptimizer(
        torch.optim.SGD(params, lr=lr), params, VariantConfig("incre-drop", p), seed=3
    )
    before = [param.detach().clone() for param in params]
    backward(model, encoded)
    grads = [param.grad.clone() for param in params]
    optimizer.step()
    moved, n = 0, 0
    for param, old, grad in zip(params, before, grads):
        kept = param.detach() != old
        torch.testing.assert_close(param[kept], old[kept] - lr * grad[kept] / p)  # rescaled by 1/p
        moved += int(kept.sum())
        n += int((grad != 0).sum())
    assert abs(moved / n - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_update_dropout_under_adamw_moves_a_share_p_every_step_despite_momentum(setting):
    folder, encoded = setting
    model, p = fresh_model(folder), 0.2
    params = [param for _, param in scoped_parameters(model, "encoder")]
    inner = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    optimizer = MaskedOptimizer(
        inner, params, VariantConfig("incre-drop", p, "encoder", divide_by_p=False), 5
    )
    n = sum(param.numel() for param in params)
    for step in range(5):
        before = [param.detach().clone() for param in params]
        backward(model, encoded, range(step * 4, step * 4 + 8))
        optimizer.step()
        moved = sum(int((param.detach() != old).sum()) for param, old in zip(params, before))
        assert abs(moved / n - p) < 5 * math.sqrt(p * (1 - p) / n), (step, moved / n)


def test_masked_optimizer_state_round_trips(setting):
    folder, encoded = setting
    runs = []
    for interrupt in (False, True):
        model = fresh_model(folder)
        inner = make_optimizer("adamw", model.parameters(), 1e-3, 0.9, 0.999, 0.01)
        optimizer = MaskedOptimizer(inner, list(model.parameters()), VariantConfig("childtuning-f", 0.5), 7)
        for step in range(4):
            if interrupt and step == 2:
                state = optimizer.state_dict()
                inner = make_optimizer("adamw", model.parameters(), 1e-3, 0.9, 0.999, 0.01)
                optimizer = MaskedOptimizer(
                    inner, list(model.parameters()), VariantConfig("childtuning-f", 0.5), 99
                )
                optimizer.load_state_dict(state)
            backward(model, encoded, range(step, step + 8))
            optimizer.step()
        runs.append([param.detach().clone() for param in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_variant_names_and_checks():
    assert VariantConfig().name == "vanilla"
    assert VariantConfig("childtuning-f", 0.2, drop_tokens=0.1).name == "childtuning-f:p=0.2+droptoken:r=0.10"
    assert VariantConfig(embedding_correction="mlm").name == "mlm-correction"
    with pytest.raises(ValueError, match="p must lie in"):
        VariantConfig("incre-drop", 0.0)
    with pytest.raises(ValueError, match="scope"):
        VariantConfig("childtuning-d", 0.3, scope="decoder")
