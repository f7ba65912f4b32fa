"""The pretraining corpus: any number of .jsonl and text inputs, deduplicated, held-out text unseen."""

from __future__ import annotations

import json

import pytest

from kexue_repro.bert.corpus import build, file_texts, read_corpus


def jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_fields_text_files_and_deduplication(tmp_path):
    senti = jsonl(tmp_path / "train.jsonl", [{"text": "好书", "label": 1}, {"text": " 好书 ", "label": 1}])
    pairs = jsonl(tmp_path / "afqmc.jsonl", [{"sentence1": "花呗\n还款", "sentence2": "借呗", "label": "0"}])
    plain = tmp_path / "extra.txt"
    plain.write_text("好书\n\n第三行\n", encoding="utf-8")
    held = jsonl(tmp_path / "dev.jsonl", [{"text": "借呗"}, {"text": "新句子"}])
    stats = build([senti, pairs, plain], [held], ["text", "sentence1", "sentence2"],
                  tmp_path / "train.txt", tmp_path / "dev.txt")  # fmt: skip
    assert read_corpus(tmp_path / "train.txt") == ["好书", "花呗 还款", "借呗", "第三行"]
    assert read_corpus(tmp_path / "dev.txt") == ["新句子"]
    assert stats["train_texts"] == 4 and stats["heldout_dropped_as_seen"] == 1


def test_a_file_without_text_is_an_error_naming_it(tmp_path):
    path = jsonl(tmp_path / "labels.jsonl", [{"label": 1}])
    with pytest.raises(ValueError, match="labels.jsonl: no text"):
        file_texts(path, ["text"])
