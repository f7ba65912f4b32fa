"""DropToken: a share of the tokens dropped, the rest keep their original positions; BERT runs on the batch."""

from __future__ import annotations

import pytest
import torch
from bert_fixtures import sentences, tokenizer
from transformers import BertConfig, BertForSequenceClassification, DataCollatorWithPadding

from kexue_repro.clue.droptoken import DropTokenCollator


def features(n: int, max_length: int = 48) -> list[dict]:
    tok = tokenizer()
    encoded = tok(list(sentences()[:n]), truncation=True, max_length=max_length)
    return [{key: encoded[key][i] for key in encoded} | {"labels": i % 2} for i in range(n)]


def test_kept_tokens_keep_their_positions_order_and_specials():
    tok, feats = tokenizer(), features(16)
    batch = DropTokenCollator(tok, rate=0.3, seed=0)(feats)
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "position_ids", "labels"}
    for row, feature in enumerate(feats):
        original = feature["input_ids"]
        n_kept = int(batch["attention_mask"][row].sum())
        kept, positions = batch["input_ids"][row, :n_kept], batch["position_ids"][row, :n_kept]
        assert torch.all(positions[1:] > positions[:-1]), "order and positions preserved"
        assert kept.tolist() == [original[p] for p in positions.tolist()]
        assert kept[0] == tok.cls_token_id and kept[-1] == tok.sep_token_id
        assert positions[0] == 0 and positions[-1] == len(original) - 1
        assert torch.all(batch["input_ids"][row, n_kept:] == tok.pad_token_id)
    assert batch["input_ids"].shape[1] < max(len(f["input_ids"]) for f in feats)


def test_padding_is_never_dropped_and_dropped_share_is_close_to_rate():
    tok, length = tokenizer(), 64
    padded = tok(list(sentences()[:200]), truncation=True, max_length=length, padding="max_length")
    feats = [{key: padded[key][i] for key in padded} for i in range(200)]
    batch = DropTokenCollator(tok, rate=0.2, seed=1)(feats)
    special = {tok.cls_token_id, tok.sep_token_id, tok.pad_token_id}
    ordinary_in = ordinary_out = 0
    for row, feature in enumerate(feats):
        n_in = sum(t not in special for t in feature["input_ids"])
        n_out = sum(t not in special for t in batch["input_ids"][row].tolist())
        kept = length - (n_in - n_out)
        # The kept sequence ends with every original padding position (right padding), CLS and SEP in place.
        pads = feature["input_ids"].count(tok.pad_token_id)
        assert batch["position_ids"][row, kept - pads : kept].tolist() == list(range(length - pads, length))
        assert batch["input_ids"][row, 0] == tok.cls_token_id
        assert batch["input_ids"][row].tolist().count(tok.sep_token_id) == 1
        ordinary_in, ordinary_out = ordinary_in + n_in, ordinary_out + n_out
    assert ordinary_in > 5000
    assert (ordinary_in - ordinary_out) / ordinary_in == pytest.approx(0.2, abs=0.015)


def test_rate_zero_is_the_plain_batch():
    tok, feats = tokenizer(), features(8)
    batch = DropTokenCollator(tok, rate=0.0, seed=0)(feats)
    plain = DataCollatorWithPadding(tok)(feats)
    for key in plain:
        assert torch.equal(batch[key], plain[key]), key
    assert torch.equal(
        batch["position_ids"], torch.arange(batch["input_ids"].shape[1]).expand_as(batch["input_ids"])
    )


def test_same_seed_same_drops_and_bad_rate_refused():
    tok, feats = tokenizer(), features(8)
    first, second = DropTokenCollator(tok, 0.3, 5)(feats), DropTokenCollator(tok, 0.3, 5)(feats)
    assert all(torch.equal(first[k], second[k]) for k in first)
    with pytest.raises(ValueError, match="rate"):
        DropTokenCollator(tok, 1.0, 0)


def test_bert_classifier_runs_on_the_dropped_batch():
    tok = tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=2)  # fmt: skip
    model = BertForSequenceClassification(config).eval()
    batch = DropTokenCollator(tok, rate=0.25, seed=0)(features(4))
    out = model(**batch)
    assert out.logits.shape == (4, 2) and torch.isfinite(out.loss)
    # Position ids matter: the same tokens at positions 0..n-1 give other logits.
    shifted = {k: v for k, v in batch.items() if k != "position_ids"}
    assert not torch.allclose(model(**shifted).logits, out.logits)
