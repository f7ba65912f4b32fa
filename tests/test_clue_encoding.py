"""The post's encoding: [CLS] text [SEP] (text_pair [SEP]), segment ids all 0, truncation to maxlen,
padding per batch; malformed jsonl lines are reported with file and line, broken probability files by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clue_tiny import records, tokenizer, write_jsonl

from kexue_repro.clue import data
from kexue_repro.data.clue_records import (
    Record,
    check_labels,
    read_jsonl,
    read_num_labels,
    read_probabilities,
    write_probabilities,
)


@pytest.fixture(scope="module")
def tok():
    return tokenizer()


def test_single_sentence_layout_and_zero_segments(tok):
    encoded = data.encode([Record("房间很干净", None, 1)], tok, maxlen=128)
    ids = encoded.input_ids[0]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.convert_ids_to_tokens(ids[1:-1]) == list("房间很干净")
    batch = data.collate(encoded, [0])
    assert batch["token_type_ids"].eq(0).all() and batch["labels"].tolist() == [1]


def test_pair_joined_by_sep_with_all_segment_ids_zero(tok):
    encoded = data.encode([Record("今天天气", "明天下雨", 0)], tok, maxlen=128)
    tokens = tok.convert_ids_to_tokens(encoded.input_ids[0])
    assert tokens == ["[CLS]", *"今天天气", "[SEP]", *"明天下雨", "[SEP]"]
    batch = data.collate(encoded, [0])
    assert batch["token_type_ids"].eq(0).all(), "the post sets every segment id to 0, pairs included"


def test_truncation_to_maxlen_keeps_cls_and_seps(tok):
    long_text = "好" * 300
    encoded = data.encode([Record(long_text, None, 0), Record(long_text, "差" * 5, 1)], tok, maxlen=16)
    single, pair = encoded.input_ids
    assert len(single) == 16 and single[-1] == tok.sep_token_id
    tokens = tok.convert_ids_to_tokens(pair)
    assert len(pair) == 16 and tokens.count("[SEP]") == 2
    assert tokens[-6:] == [*"差" * 5, "[SEP]"], "the longer part is truncated first"


def test_mixed_singles_and_pairs_keep_file_order(tok):
    rows = [Record("甲", None, 0), Record("乙", "丙", 1), Record("丁", None, 0)]
    encoded = data.encode(rows, tok, maxlen=32)
    assert [len(ids) for ids in encoded.input_ids] == [3, 5, 3]
    assert tok.convert_ids_to_tokens(encoded.input_ids[1])[1] == "乙"


def test_dynamic_padding_to_the_longest_in_the_batch(tok):
    encoded = data.encode(
        [Record("好", None, 0), Record("非常好的酒店", None, 1), Record("差", None, 0)], tok, 32
    )
    first = data.collate(encoded, [0, 1])
    assert first["input_ids"].shape == (2, 8)
    assert first["attention_mask"].sum(dim=1).tolist() == [3, 8]
    assert first["input_ids"][0, 3:].eq(tok.pad_token_id).all()
    assert data.collate(encoded, [0, 2])["input_ids"].shape == (2, 3)


def test_batches_follow_the_order_and_apply_the_transform(tok):
    encoded = data.encode([Record(r["text"], None, r["label"]) for r in records()[:5]], tok, 32)
    calls = []

    def transform(batch, generator):
        calls.append(generator)
        return batch | {"position_ids": torch.zeros_like(batch["input_ids"])}

    generator = torch.Generator().manual_seed(0)
    out = list(data.batches(encoded, 2, torch.tensor([4, 3, 2, 1, 0]), transform, generator))
    assert [b["labels"].tolist() for b in out] == [[1, 0], [1, 0], [1]]
    assert all("position_ids" in b for b in out) and calls == [generator] * 3


def test_reading_jsonl_and_its_errors(tmp_path):
    good = write_jsonl(
        tmp_path / "good.jsonl", [{"text": "好", "label": 1}, {"text": "甲", "text_pair": "乙", "label": 0}]
    )
    assert read_jsonl(good) == [Record("好", None, 1), Record("甲", "乙", 0)]
    bad_lines = {
        '{"text": "好", "label": 1}\n{"text": "好", "label": "1"}\n': ":2: 'label'",
        '{"text": "好", "label": 1}\n{"text": 3, "label": 1}\n': ":2: 'text'",
        '{"text": "好", "label": 1}\n\n{"text": "好", "label": 0\n': ":3: not JSON",
        '["好", 1]\n': ":1: expected a JSON object",
    }
    for content, expected in bad_lines.items():
        path = tmp_path / "bad.jsonl"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match=f"bad.jsonl{expected}"):
            read_jsonl(path)


def test_labels_checked_against_num_labels(tmp_path):
    rows = [Record("好", None, 0), Record("差", None, 2)]
    with pytest.raises(ValueError, match="record 2 has label 2 >= num_labels 2"):
        check_labels(rows, 2, "x.jsonl")
    meta = tmp_path / "meta.json"
    meta.write_text('{"num_classes": 15}')
    assert read_num_labels(meta) == 15
    meta.write_text('{"task": "x"}')
    with pytest.raises(KeyError, match="num_labels"):
        read_num_labels(meta)


def test_dev_probabilities_round_trip_and_broken_files_are_named(tmp_path):
    probs = np.random.default_rng(0).dirichlet([1, 1, 1], size=5)
    path = tmp_path / "seed0.npy"
    write_probabilities(path, probs)
    assert np.array_equal(read_probabilities(path), probs)
    whole = path.read_bytes()
    np.savez(tmp_path / "archive.npz", probs=probs)
    np.save(tmp_path / "flat.npy", probs[0])
    broken = {
        "empty.npy": (b"", "No data left in file"),
        "truncated.npy": (whole[:-8], "Failed to read all data"),
        "header.npy": (whole[:40], "reading array header"),
        "archive.npz": (None, "an .npz archive"),
        "flat.npy": (None, "shape (3,)"),
    }
    for name, (content, reason) in broken.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError) as err:
            read_probabilities(tmp_path / name)
        message = str(err.value)
        assert "\n" not in message and message.startswith(
            f"{tmp_path / name}: not a .npy array of dev probabilities"
        )
        assert reason in message, message
