"""The WordPiece tokenizer trained by the pipeline, and the loader shared with hub-style checkpoints."""

from __future__ import annotations

import shutil

import pytest
from bert_fixtures import sentences, tokenizer

from kexue_repro.bert.tokenizer import (
    SPECIAL_TOKENS,
    as_bert_tokenizer,
    load_tokenizer,
    save_tokenizer,
    train_wordpiece,
)

from conftest import REPO

SHARED_VOCAB = REPO.parent / "shared/data/vocab/bert-base-chinese-vocab.txt"


def test_bert_tokenizer_has_the_trained_vocabulary():
    wordpiece = train_wordpiece(sentences(), vocab_size=2000, min_frequency=2)
    bert = as_bert_tokenizer(wordpiece)
    assert len(bert) == wordpiece.get_vocab_size() > 1000
    assert bert.get_vocab() == wordpiece.get_vocab()
    assert [bert.convert_ids_to_tokens(i) for i in range(len(SPECIAL_TOKENS))] == list(SPECIAL_TOKENS)
    assert bert.mask_token_id == SPECIAL_TOKENS.index("[MASK]")


def test_training_twice_gives_the_same_vocabulary():
    """Guards the workaround for huggingface/tokenizers#1794 (hash-map order numbering ## tokens)."""
    first = train_wordpiece(sentences(), vocab_size=2000, min_frequency=2).get_vocab()
    assert all(train_wordpiece(sentences(), 2000, 2).get_vocab() == first for _ in range(3))


def test_chinese_is_split_one_character_per_token():
    tok = tokenizer()
    text = next(s for s in sentences() if len(s) > 10 and all("\u4e00" <= c <= "\u9fff" for c in s[:8]))[:8]
    assert tok.tokenize(text) == list(text)
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id and len(ids) == len(text) + 2
    assert tok.unk_token_id not in ids


def test_save_and_load_keep_the_vocabulary(tmp_path):
    tok = tokenizer()
    save_tokenizer(tok, tmp_path)
    lines = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(tok) and lines[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    loaded = load_tokenizer(tmp_path)
    assert len(loaded) == len(tok)
    assert loaded(list(sentences()[:20]))["input_ids"] == tok(list(sentences()[:20]))["input_ids"]
    vocab_only = tmp_path / "vocab_only"
    vocab_only.mkdir()
    shutil.copy(tmp_path / "vocab.txt", vocab_only / "vocab.txt")
    assert len(load_tokenizer(vocab_only)) == len(tok)


def test_loader_reads_the_real_bert_base_chinese_vocabulary(tmp_path):
    shutil.copy(SHARED_VOCAB, tmp_path / "vocab.txt")
    tok = load_tokenizer(tmp_path)
    assert len(tok) == 21128
    assert tok.tokenize("我们在北京学习中文。") == list("我们在北京学习中文。")
    assert tok.convert_tokens_to_ids("[MASK]") == tok.mask_token_id == 103


def test_loader_refuses_a_folder_without_vocabulary(tmp_path):
    with pytest.raises(OSError, match="neither tokenizer.json nor vocab.txt"):
        load_tokenizer(tmp_path)
