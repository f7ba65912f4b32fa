"""Pretraining of the tiny BERT: packing, the masked-position loss, determinism, resume, the saved folder."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
from bert_fixtures import sentences, tokenizer
from transformers import BertForSequenceClassification, BertTokenizerFast

from kexue_repro.bert import pretrain
from kexue_repro.bert.pretrain import PretrainConfig


def config(steps: int = 6, **changes) -> PretrainConfig:
    tok = tokenizer()
    base = PretrainConfig(layers=1, hidden=16, heads=2, intermediate=32, max_positions=32, dropout=0.1,
                          seq_len=32, batch_size=4, steps=steps, lr=1e-3, warmup_steps=2, weight_decay=0.01, adam_beta2=0.98, max_grad_norm=1.0,
                          mlm_probability=0.15, seed=0, checkpoint_every=2, vocab_size=len(tok),
                          data_sha256=pretrain.data_fingerprint(sentences(), tok), device_type="cpu")  # fmt: skip
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def blocks() -> list[list[int]]:
    return pretrain.text_blocks(tokenizer(), sentences()[:60], 32)


def test_each_text_is_one_block_led_by_cls_and_closed_by_sep(blocks):
    tok = tokenizer()
    texts = sentences()[:60]
    long_ones = [t for t in texts if len(tok(t, add_special_tokens=False)["input_ids"]) > 30]
    assert long_ones, "the fixture should hold texts longer than a block"
    assert all(b[0] == tok.cls_token_id and b[-1] == tok.sep_token_id and len(b) <= 32 for b in blocks)
    assert [t for b in blocks for t in b[1:-1]] == [
        t for text in texts for t in tok(text, add_special_tokens=False)["input_ids"]
    ]
    assert len(blocks) > len(texts)


def test_loss_on_masked_positions_equals_the_models_own_loss(blocks):
    model = pretrain.build_model(config()).eval()
    batch = pretrain.collate(pretrain.mlm_collator(tokenizer(), 0.15, seed=0), blocks[:8])
    loss, n_masked = pretrain.masked_lm_loss(model, batch)
    assert n_masked == int((batch["labels"] != -100).sum()) > 0
    torch.testing.assert_close(loss, model(**batch).loss)


def test_batches_are_a_seeded_length_grouped_permutation_per_epoch():
    lengths = torch.randint(3, 128, (400,), generator=torch.Generator().manual_seed(0)).tolist()
    order = pretrain.BatchOrder(lengths, batch_size=4, seed=1)
    epoch = [order(step) for step in range(100)]
    assert sorted(i for batch in epoch for i in batch) == list(range(400))
    assert pretrain.BatchOrder(lengths, 4, seed=1)(40) == epoch[40]
    assert [order(step) for step in range(100, 200)] != epoch, "each epoch has its own permutation"
    padding = sum(4 * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in epoch)
    assert padding < 0.1 * sum(lengths), "similar lengths share a batch"
    with pytest.raises(ValueError, match="do not fill one batch"):
        pretrain.BatchOrder([3, 4], 3, seed=1)


def curve(live_dir) -> pd.DataFrame:
    return pd.read_csv(live_dir / "plots/metrics/loss.tsv", sep="\t")


def test_resume_ends_with_the_same_weights_and_one_curve_row_per_step(tmp_path, blocks):
    """The first run leaves its step-4 checkpoint and a curve up to step 6, as a run killed after step 6
    but before finishing would; the resumed run redoes steps 5-6 without duplicating their rows."""
    cpu, ckpt, live = torch.device("cpu"), tmp_path / "ckpt.pt", tmp_path / "live"
    straight, _, record = pretrain.pretrain(config(), tokenizer(), blocks, cpu, ckpt, live)
    assert torch.load(ckpt, weights_only=True)["progress"]["step"] == 4 and record["resumed_at_step"] == 0
    first_curve = curve(live)
    assert first_curve["step"].tolist() == [1, 2, 3, 4, 5, 6] and list(first_curve.columns) == [
        "step",
        "loss",
    ]

    # The checkpoint interval is no part of what the weights depend on: a run with another one resumes too.
    resumed, log, record = pretrain.pretrain(config(checkpoint_every=3), tokenizer(), blocks, cpu, ckpt, live)
    assert record["resumed_at_step"] == 4
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    pd.testing.assert_frame_equal(curve(live), first_curve)
    assert log.history == first_curve.values.tolist()


def test_a_checkpoint_of_another_configuration_is_not_resumed(tmp_path, blocks, capsys):
    cpu, ckpt, live = torch.device("cpu"), tmp_path / "ckpt.pt", tmp_path / "live"
    pretrain.pretrain(config(steps=3), tokenizer(), blocks, cpu, ckpt, live)
    _, _, record = pretrain.pretrain(config(steps=3, lr=2e-3), tokenizer(), blocks, cpu, ckpt, live)
    assert record["resumed_at_step"] == 0 and "another configuration" in capsys.readouterr().err
    assert curve(live)["step"].tolist() == [1, 2, 3]


def test_settings_out_of_range_are_refused():
    with pytest.raises(ValueError, match="checkpoint_every must be >= 1"):
        config(checkpoint_every=0)
    with pytest.raises(ValueError, match="not a multiple of 2 heads"):
        config(hidden=15)


def test_saved_folder_loads_as_a_classifier_with_only_the_head_new(tmp_path, blocks):
    model, _, _ = pretrain.pretrain(config(steps=2, checkpoint_every=5), tokenizer(), blocks, torch.device("cpu"),
                                    tmp_path / "ckpt.pt", tmp_path / "live")  # fmt: skip
    folder = tmp_path / "model"
    pretrain.save_pretrained_model(folder, model, tokenizer(), seed=0)
    pretrain.save_pretrained_model(
        folder, model, tokenizer(), seed=0
    )  # replacing a finished folder works too
    assert (folder / "model.safetensors").is_file() and (folder / "vocab.txt").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.")], "temporary folders left"
    classifier, info = BertForSequenceClassification.from_pretrained(
        folder, num_labels=2, output_loading_info=True
    )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert not info["mismatched_keys"]
    assert all(key.startswith("cls.") for key in info["unexpected_keys"])
    torch.testing.assert_close(classifier.bert.embeddings.word_embeddings.weight,
                               model.bert.embeddings.word_embeddings.weight)  # fmt: skip
    assert len(BertTokenizerFast.from_pretrained(folder)) == len(tokenizer())
