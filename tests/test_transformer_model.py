"""Study 8747's model: the four initialisers' actual stds, the Post-LN / Pre-LN switch, tying, seeding."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kexue_repro.transformer.model import ModelConfig, build_model, init_matrix, initialise


def config(**changes) -> ModelConfig:
    base = dict(vocab=21, seq_len=8, depth=2, width=16, heads=2, ffn=32, norm="post", init="tf_truncated",
                head="dense_ln", tied=True, dropout=0.0)  # fmt: skip
    return ModelConfig(**(base | changes))


def sampled(init: str, rows: int, cols: int, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    weight = torch.empty(rows, cols)
    init_matrix(weight, init)
    return weight


def test_truncated_normal_has_tensorflows_actual_std_and_bounds():
    weight = sampled("tf_truncated", 1000, 1000).double()
    assert weight.abs().max() <= 0.04
    assert weight.std().item() == pytest.approx(0.02 * math.sqrt(0.7737413), rel=3e-3)  # 0.0175925


def test_plain_normal_xavier_and_01_stds():
    hf = sampled("hf_normal", 1000, 1000)
    assert hf.std().item() == pytest.approx(0.02, rel=3e-3) and hf.abs().max() > 0.04  # untruncated
    assert sampled("xavier", 768, 768).std().item() == pytest.approx(
        1 / math.sqrt(768), rel=3e-3
    )  # 0.0360844
    assert sampled("normal_0.1", 500, 500).std().item() == pytest.approx(0.1, rel=5e-3)


def test_xavier_treats_packed_qkv_as_three_square_matrices():
    torch.manual_seed(0)
    attention = nn.MultiheadAttention(256, 4, batch_first=True)
    initialise(attention, "xavier")
    for chunk in attention.in_proj_weight.detach().chunk(3):
        assert chunk.std().item() == pytest.approx(1 / math.sqrt(256), rel=0.02)  # not sqrt(2 / (256 + 768))
    assert torch.count_nonzero(attention.in_proj_bias) == 0


def test_biases_zero_layernorms_identity_and_output_tied():
    torch.manual_seed(0)
    model = build_model(config(init="normal_0.1"))
    for name, parameter in model.named_parameters():
        if name.endswith("bias"):
            assert torch.count_nonzero(parameter) == 0, name
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0)
    assert model.output.weight is model.tokens.weight
    assert model.tokens.weight.std().item() == pytest.approx(0.1, rel=0.1)


def test_post_pre_switch_changes_the_layers_not_the_weights():
    # std 0.1: with 0.02 both are so near the identity that their outputs agree to 1e-3 (Su's point)
    torch.manual_seed(3)
    post = build_model(config(norm="post", init="normal_0.1"))
    torch.manual_seed(3)
    pre = build_model(config(norm="pre", init="normal_0.1"))
    assert all(not layer.norm_first for layer in post.layers) and all(
        layer.norm_first for layer in pre.layers
    )
    assert isinstance(post.final_norm, nn.Identity) and isinstance(pre.final_norm, nn.LayerNorm)
    shared = post.state_dict()
    for name, value in pre.state_dict().items():
        if name in shared:
            assert torch.equal(value, shared[name]), name
    tokens = torch.randint(20, (3, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert not torch.allclose(post(tokens), pre(tokens), atol=1e-2)
    assert [name for name, _ in post.encoder_norms()][-1] == "layer1.norm2"
    assert [name for name, _ in pre.encoder_norms()][-1] == "final_norm"


def test_heads_and_bad_configs():
    torch.manual_seed(0)
    assert isinstance(build_model(config(head="plain")).head_transform, nn.Identity)
    assert not isinstance(build_model(config(head="dense_ln", tied=False)).head_transform, nn.Identity)
    with pytest.raises(ValueError, match="multiple of heads"):
        config(width=15)
    with pytest.raises(ValueError, match="init"):
        config(init="kaiming")
