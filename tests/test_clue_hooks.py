"""The two bindings of kexue_repro.clue.hooks: DropToken on a real training batch (a share r of the ordinary
tokens gone, the kept ones at their original positions) and the MLM embedding correction on a loaded
classifier (the closed form), then both through the finetune command."""

from __future__ import annotations

import json

import pytest
import torch
from bert_fixtures import sentences
from clue_tiny import make_model, make_task, tokenizer
from test_clue_finetune import finetune_cli

from kexue_repro.clue import data, hooks
from kexue_repro.clue.model import load_classifier
from kexue_repro.data import clue_records as records


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("clue_hooks") / "tiny")


def training_batch(n: int = 200, maxlen: int = 64) -> dict[str, torch.Tensor]:
    split = [records.Record(text, None, i % 2) for i, text in enumerate(sentences()[:n])]
    batch = data.collate(data.encode(split, tokenizer(), maxlen), range(n))
    batch.pop("labels")
    return batch


def test_droptoken_drops_a_share_r_and_keeps_positions():
    tok, batch, rate = tokenizer(), training_batch(), 0.1
    transform = hooks.drop_token_transform(rate, tok)
    out = transform(batch, torch.Generator().manual_seed(0))
    assert set(out) == {"input_ids", "attention_mask", "token_type_ids", "position_ids"}
    special = {tok.cls_token_id, tok.sep_token_id, tok.pad_token_id}
    ordinary_in = ordinary_out = 0
    for row in range(len(batch["input_ids"])):
        original = batch["input_ids"][row, : int(batch["attention_mask"][row].sum())].tolist()
        n_kept = int(out["attention_mask"][row].sum())
        kept, positions = out["input_ids"][row, :n_kept], out["position_ids"][row, :n_kept]
        assert kept.tolist() == [original[p] for p in positions.tolist()], "ids at their original positions"
        assert torch.all(positions[1:] > positions[:-1])
        assert kept[0] == tok.cls_token_id and kept[-1] == tok.sep_token_id
        assert positions[-1] == len(original) - 1
        ordinary_in += sum(t not in special for t in original)
        ordinary_out += sum(t not in special for t in kept.tolist())
    assert torch.all(out["token_type_ids"] == 0)
    assert ordinary_in > 3000
    assert (ordinary_in - ordinary_out) / ordinary_in == pytest.approx(rate, abs=0.02)


def test_droptoken_follows_the_runs_generator():
    tok, batch = tokenizer(), training_batch(40)
    transform = hooks.drop_token_transform(0.3, tok)
    first, again, other = (transform(batch, torch.Generator().manual_seed(seed)) for seed in (5, 5, 6))
    assert torch.equal(first["input_ids"], again["input_ids"])
    assert not torch.equal(first["input_ids"], other["input_ids"])
    assert hooks.drop_token_transform(0.0, tok) is None


def test_correction_changes_the_embedding_table_by_the_closed_form(model_dir):
    tok = tokenizer()
    torch.manual_seed(0)
    plain = load_classifier(str(model_dir), 2).get_input_embeddings().weight.detach()
    transform = hooks.embedding_correction_transform("mlm", tok)
    corrected = load_classifier(str(model_dir), 2, transform).get_input_embeddings().weight.detach()
    mask = plain[tok.mask_token_id]
    expected = 0.85 * plain + 0.15 * (0.8 * mask + 0.1 * plain + 0.1 * plain.mean(0))
    torch.testing.assert_close(corrected, expected, rtol=0, atol=1e-6)
    assert (corrected - plain).abs().max() > 1e-3
    assert hooks.embedding_correction_transform("none", tok) is None
    with pytest.raises(ValueError, match="unknown correction"):
        hooks.embedding_correction_transform("mse", tok)


def test_finetune_runs_with_droptoken_and_the_correction(model_dir, tmp_path):
    task = make_task(tmp_path / "sentiment") | {"model": model_dir}
    out = tmp_path / "run"
    out.mkdir()
    code, _, run_path = finetune_cli(task, out, seed=0, epochs=1, drop_tokens=0.1, embedding_correction="mlm")
    assert code == 0
    assert json.loads(run_path.read_text())["variant"] == "droptoken:r=0.10+mlm-correction"
