"""Study 8747 at initialisation: the gradient profile, the sublayer variances, and the gradflow CLI."""

from __future__ import annotations

import json

import pytest
import torch

from kexue_repro.transformer import gradflow, init_std
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


SETTINGS = {  # a transformer.gradflow block at a tiny size; a job reads only its own configuration
    "configurations": {"small": {"depth": 3, "width": 16, "heads": 2, "ffn": 32}, "other": {"depth": 1}},
    "norms": ["post", "pre"], "inits": ["hf_normal", "xavier"], "vocab": 30, "mask_prob": 0.15, "head": "plain",
    "output": "untied", "seeds": [0, 1], "seq_len": 8, "batch_size": 2,
}  # fmt: skip


def run_gradflow(tmp_path, configuration: str) -> int:
    argv = ["--settings", json.dumps(SETTINGS), "--configuration", configuration, "--threads", "1"]
    return gradflow.main([*argv, "--device", "cpu", "--out", str(tmp_path / "gradflow.json")])


def test_gradflow_cli_writes_every_norm_init_seed(tmp_path):
    assert run_gradflow(tmp_path, "small") == 0
    record = json.loads((tmp_path / "gradflow.json").read_text())
    assert record["configuration"]["name"] == "small" and record["configuration"]["depth"] == 3
    assert record["configuration"]["output"] == "untied" and record["configuration"]["seq_len"] == 8
    assert len(record["rows"]) == 8
    keys = {(r["norm"], r["init"], r["seed"]) for r in record["rows"]}
    assert len(keys) == 8 and all(len(r["grad_rel"]) == 3 for r in record["rows"])


def test_gradflow_cli_names_a_configuration_it_does_not_have(tmp_path, capsys):
    assert run_gradflow(tmp_path, "missing") == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: transformer.gradflow: no configuration 'missing' in the settings"


def test_init_std_cli(tmp_path):
    out = tmp_path / "std.json"
    settings = json.dumps({"width": 256, "matrices": 2, "seed": 0})
    assert init_std.main(["--settings", settings, "--out", str(out)]) == 0
    rows = {r["init"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["tf_truncated"]["std"] == pytest.approx(0.0175925, rel=0.01)
    assert (
        rows["xavier"]["std"] == pytest.approx(1 / 16, rel=0.01)
        and rows["xavier"]["samples"] == 2 * 256 * 256
    )
