"""Study 8747 at initialisation: the gradient profile, the sublayer variances, and the gradflow CLI."""

from __future__ import annotations

import json

import pytest
import torch

from kexue_repro.transformer.__main__ import main
from kexue_repro.transformer.gradflow import init_batch, measure, residual_path_weights
from kexue_repro.transformer.model import ModelConfig, build_model


def measured(norm: str, init: str, depth: int = 6, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    config = ModelConfig(vocab=51, seq_len=16, depth=depth, width=32, heads=2, ffn=64, norm=norm, init=init,
                         head="dense_ln", tied=True, dropout=0.0)  # fmt: skip
    return measure(build_model(config), *init_batch(51, 16, 4, 0.15, seed))


def test_profile_is_relative_to_the_top_layer_input():
    result = measured("post", "xavier")
    assert len(result["grad_rel"]) == len(result["var_attn"]) == len(result["weight_grad_rel"]) == 6
    assert result["grad_rel"][-1] == pytest.approx(1.0) and result["weight_grad_rel"][-1] == pytest.approx(
        1.0
    )
    assert result["grad_rel"][0] == pytest.approx(result["grad_norm"][0] / result["grad_norm"][-1])
    assert all(v > 0 for v in result["var_attn"] + result["var_ffn"])
    assert result["loss"] > 0


def test_variance_ratios_follow_the_initial_std():
    small, large = measured("post", "tf_truncated"), measured("post", "normal_0.1")
    assert max(small["var_ffn"]) < 0.01 < min(large["var_ffn"])  # 0.02 keeps F(x) small next to x
    assert min(measured("pre", "tf_truncated")["path_weight"]) == 1.0


def test_residual_path_weights():
    # From layer l's input to the top layer's input the path crosses layers l .. depth-2.
    weights = residual_path_weights([1.0, 3.0, 0.0], [0.0, 0.0, 5.0], post=True)
    assert weights == pytest.approx([2**-0.5 / 2, 1 / 2, 1])
    assert residual_path_weights([1.0, 3.0], [1.0, 1.0], post=False) == [1.0, 1.0]


def test_gradflow_cli_writes_every_norm_init_seed(tmp_path):
    out = tmp_path / "gradflow.json"
    argv = [
        "gradflow",
        "--name",
        "small",
        "--depth",
        "3",
        "--width",
        "16",
        "--heads",
        "2",
        "--ffn",
        "32",
        "--head",
        "plain",
    ]
    argv += [
        "--output",
        "untied",
        "--vocab",
        "30",
        "--seq-len",
        "8",
        "--batch-size",
        "2",
        "--mask-prob",
        "0.15",
    ]
    argv += ["--norms", "post", "pre", "--inits", "hf_normal", "xavier", "--seeds", "0", "1"]
    assert main([*argv, "--threads", "1", "--device", "cpu", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["configuration"]["name"] == "small" and record["configuration"]["depth"] == 3
    assert len(record["rows"]) == 8
    keys = {(r["norm"], r["init"], r["seed"]) for r in record["rows"]}
    assert len(keys) == 8 and all(len(r["grad_rel"]) == 3 for r in record["rows"])


def test_init_std_cli(tmp_path):
    out = tmp_path / "std.json"
    assert main(["init-std", "--width", "256", "--matrices", "2", "--seed", "0", "--out", str(out)]) == 0
    rows = {r["init"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["tf_truncated"]["std"] == pytest.approx(0.0175925, rel=0.01)
    assert (
        rows["xavier"]["std"] == pytest.approx(1 / 16, rel=0.01)
        and rows["xavier"]["samples"] == 2 * 256 * 256
    )
