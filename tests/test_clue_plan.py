"""What the CLUE rules run per scale (kexue_repro.clue.plan), read from the real params.yaml."""

from __future__ import annotations

import copy

import pytest
import yaml

from kexue_repro.clue import plan

from conftest import REPO


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())["clue"]


def test_run_tasks_per_scale(cfg):
    assert plan.run_tasks(cfg, "smoke") == ["sentiment"]
    assert plan.run_tasks(cfg, "clue-cpu") == cfg["scales"]["clue-cpu"]["tasks"]
    full = plan.run_tasks(cfg, "full")
    assert len(full) == 2 * len(cfg["scales"]["full"]["tasks"])
    assert "tnews@BERT-base" in full and "cluewsc2020@RoBERTa-wwm-ext" in full
    assert plan.task_file("tnews@BERT-base", "dev.jsonl") == "data/processed/clue/tnews/dev.jsonl"
    assert plan.model(cfg, "full", "tnews@RoBERTa-wwm-ext") == "hfl/chinese-roberta-wwm-ext"
    assert plan.model_inputs(cfg, "full", "tnews@RoBERTa-wwm-ext") == []
    assert plan.model_inputs(cfg, "smoke", "sentiment") == ["results/bert/model"]
    assert plan.epochs(cfg, "full", "cluewsc2020@BERT-base") == 30
    assert plan.epochs(cfg, "full", "tnews@BERT-base") == 10


def test_variant_options_fill_in_the_defaults(cfg):
    assert set(plan.variants(cfg, "smoke")) == set(cfg["variants"])
    vanilla = plan.variant_options(cfg, "vanilla").split()
    assert vanilla[:2] == ["--variant", "vanilla"] and "--drop-tokens" in vanilla
    d = plan.variant_options(cfg, "childtuning-d")
    assert "--variant childtuning-d --p 0.3 --scope encoder --divide-by-p no" in d
    assert "--drop-tokens 0.1" in plan.variant_options(cfg, "droptoken")
    assert "--embedding-correction mlm" in plan.variant_options(cfg, "mlm-correction")


def test_unknown_names_are_named(cfg):
    bad = copy.deepcopy(cfg)
    bad["finetune"]["smoke"]["variants"] = ["vanilla", "mixout"]
    with pytest.raises(KeyError, match="'mixout' is not in clue.variants"):
        plan.variants(bad, "smoke")
    bad["finetune"]["smoke"]["models"] = ["gpt"]
    with pytest.raises(KeyError, match="'gpt' is not in clue.models"):
        plan.run_tasks(bad, "smoke")
