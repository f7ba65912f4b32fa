"""What the CLUE rules run per scale (kexue_repro.clue.plan), read from the real params.yaml."""

from __future__ import annotations

import copy

import pytest
import yaml

from kexue_repro.clue import plan
from kexue_repro.clue.train import TrainConfig
from kexue_repro.common.settings import build

from conftest import REPO


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def at(params: dict, scale: str) -> dict:
    return params | {"scale": scale}


def test_run_tasks_per_scale(params):
    assert plan.run_tasks(at(params, "smoke")) == ["sentiment"]
    cpu = at(params, "clue-cpu")
    assert plan.run_tasks(cpu) == params["clue"]["scales"]["clue-cpu"]["runs"]["tasks"]
    full = at(params, "full")
    tasks = plan.run_tasks(full)
    assert len(tasks) == 2 * len(params["clue"]["scales"]["full"]["runs"]["tasks"])
    assert "tnews@BERT-base" in tasks and "cluewsc2020@RoBERTa-wwm-ext" in tasks
    assert plan.task_file("tnews@BERT-base", "dev.jsonl") == "data/processed/clue/tnews/dev.jsonl"
    assert plan.model(full, "tnews@RoBERTa-wwm-ext") == "hfl/chinese-roberta-wwm-ext"
    assert plan.model_inputs(full, "tnews@RoBERTa-wwm-ext") == []
    assert plan.model_inputs(at(params, "smoke"), "sentiment") == ["results/bert/model"]
    assert plan.seeds(full) == [0, 1, 2]


def test_finetune_settings_carry_the_task_epochs_and_the_variant(params):
    full = at(params, "full")
    wsc = plan.finetune_settings(full, "cluewsc2020@BERT-base", "vanilla")
    tnews = plan.finetune_settings(full, "tnews@BERT-base", "vanilla")
    assert wsc["epochs"] == 30 and tnews["epochs"] == 10 and "wsc_epochs" not in tnews
    assert (tnews["lr"], tnews["maxlen"], tnews["batch_size"]) == (5e-4, 128, 32)
    smoke = plan.finetune_settings(at(params, "smoke"), "sentiment", "childtuning-d")
    assert (smoke["lr"], smoke["maxlen"], smoke["epochs"]) == (2e-3, 64, 2)
    # The variant's own options over the defaults; the boolean stays a boolean.
    assert smoke["variant"] == params["clue"]["variant_defaults"] | {
        "method": "childtuning-d",
        "p": 0.3,
        "scope": "encoder",
        "divide_by_p": False,
        "fisher_batch_size": 16,
        "fisher_max_grad_norm": 1.0,
    }
    droptoken = plan.finetune_settings(at(params, "smoke"), "sentiment", "droptoken")
    assert droptoken["variant"]["drop_tokens"] == 0.1 and droptoken["variant"]["method"] == "vanilla"
    # They build the job's config as they are.
    fixed = {"task": "sentiment", "model": "m", "num_labels": 2, "seed": 0, "train_sha256": "t"}
    config = build(TrainConfig, smoke, "clue.finetune", **fixed, dev_sha256="d", device_type="cpu")
    assert config.variant.divide_by_p is False and config.variant.name == "childtuning-d:p=0.3"


def test_other_jobs_settings(params):
    smoke = at(params, "smoke")
    update = plan.update_size_settings(smoke)
    assert update == params["clue"]["update_size"] | {"maxlen": 64}
    assert plan.sentiment_settings(smoke) == {"max_train": 4000, "max_dev": 800, "split_seed": 0}
    assert plan.step(at(params, "full"), "prepare") == {"split_seed": 0, "max_train": "all", "max_dev": "all"}


def test_variants_and_unknown_names_are_named(params):
    smoke = at(params, "smoke")
    assert set(plan.variants(smoke)) == set(params["clue"]["variants"])
    bad = copy.deepcopy(smoke)
    bad["clue"]["runs"]["variants"] = ["vanilla", "mixout"]
    with pytest.raises(KeyError, match="'mixout' is not in clue.variants"):
        plan.variants(bad)
    bad["clue"]["scales"]["smoke"]["runs"]["models"] = ["gpt"]
    with pytest.raises(KeyError, match="'gpt' is not in clue.models"):
        plan.run_tasks(bad)


def test_reading_comprehension_and_ner_tasks_per_scale(params):
    assert plan.mrc_ner_run_tasks(at(params, "smoke")) == []  # offline
    assert plan.mrc_ner_run_tasks(at(params, "clue-cpu")) == ["cluener", "c3"]
    full = plan.mrc_ner_run_tasks(at(params, "full"))
    assert len(full) == 8 and "chid@RoBERTa-wwm-ext" in full and "cmrc2018@BERT-base" in full
    # the post's protocol (bojone/CLUE-bert4keras src/cmrc2018.py, snippets.py' optimizer2)
    cmrc = plan.mrc_ner_settings(at(params, "full"), "cmrc2018@BERT-base")
    assert cmrc == {"optimizer": "adafactor", "lr": 5.0e-4, "beta1": 0.9, "weight_decay": 0.0, "maxlen": 512,
                    "stride": 128, "batch_size": 16, "grad_accum_steps": 2, "epochs": 10}  # fmt: skip
    c3 = plan.mrc_ner_settings(at(params, "clue-cpu"), "c3")
    assert c3["maxlen"] == 128 <= params["bert"]["pretrain"]["max_positions"] and c3["lr"] == 2.0e-3
    assert "stride" not in c3
