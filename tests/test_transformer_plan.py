"""What the transformer rules run: the MLM runs and each gradflow job's settings, from params.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from kexue_repro.transformer import plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "lib"))
from step_settings import step_block  # noqa: E402

CONFIG = yaml.safe_load(Path("params.yaml").read_text())


def test_smoke_runs_are_the_sweep_and_the_layernorm_runs():
    names = plan.run_names(
        step_block(CONFIG, "transformer", "runs"), step_block(CONFIG, "transformer", "claims")
    )
    assert len(names) == len(set(names)) == 36  # 2 norms x 2 lrs x 2 warmups x 4 seeds, and 4 plain-head runs
    assert names == sorted(names) and "post_dense_ln_lr0.001_w40_seed0" in names
    assert [n for n in names if "_plain_" in n] == [f"post_plain_lr0.001_w40_seed{s}" for s in range(4)]


def test_a_gradflow_job_reads_only_its_own_configuration():
    block = step_block(CONFIG, "transformer", "gradflow")
    assert plan.configurations(block) == ["bert_base", "deep_narrow"]
    settings = plan.gradflow_settings(block, "deep_narrow")
    assert settings["configurations"] == {"deep_narrow": {"depth": 48, "width": 256, "heads": 4, "ffn": 1024}}
    assert settings["seeds"] == list(range(6)) and settings["vocab"] == 1000  # the scale's, the block's
    other = block | {"configurations": block["configurations"] | {"bert_base": {"depth": 1}}}
    assert plan.gradflow_settings(other, "deep_narrow") == plan.gradflow_settings(block, "deep_narrow")
    with pytest.raises(KeyError, match="no configuration 'wide'"):
        plan.gradflow_settings(block, "wide")
