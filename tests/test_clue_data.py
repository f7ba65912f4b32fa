"""CLUE data through the real download code (a real HTTP server on 127.0.0.1 serving the project's mirror of
the official files, the official URL a closed port), the readers on the real files, and the prepare step."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kexue_repro.data import DownloadError, UnsafeArchiveError, sha256_file
from kexue_repro.data.clue import MANIFEST, TASKS, Checksum, fetch_task, git_blob_sha1, load_checksums
from kexue_repro.data.clue_prepare import prepare_task, stratified_sample
from kexue_repro.data.clue_readers import json_lines, read_split, task_labels

from conftest import CLOSED_URL, REPO, serve_directory, zip_bytes

MIRROR = REPO.parent / "shared/data/clue"
CHECKSUMS_CSV = REPO / "data/checksums/clue.csv"
CHECKSUMS = load_checksums(CHECKSUMS_CSV)
FAST = {"retries": 0, "backoff": 0, "timeout": 5}


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The records of a prepared split, as written."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def mirror():
    with serve_directory(MIRROR) as httpd:
        yield httpd


@pytest.fixture(autouse=True)
def no_env_mirrors(monkeypatch):
    monkeypatch.delenv("KEXUE_REPRO_MIRRORS", raising=False)


def _fetch_from_mirror(task: str, dest: Path, base: str, checksums=CHECKSUMS) -> dict:
    return fetch_task(task, dest, checksums, mirrors=[base], official_base=CLOSED_URL, **FAST)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".part" in p.name]


# --- the checksums table ---------------------------------------------------------------------------------


def test_checksums_agree_with_the_manifest_and_the_registry():
    manifest = (MIRROR / "MANIFEST.md").read_text()
    rows = re.findall(r"^\| (\w+)/(\S+) \| (\d+) \| (\d+) \| ([0-9a-f]{64}) \|$", manifest, re.M)
    rows = [row for row in rows if row[0] in TASKS]  # C3's rows count documents and questions: not matched
    assert len(rows) == 23
    for task, name, size, records, sha in rows:
        assert CHECKSUMS[(task, name)] == Checksum(int(size), int(records), sha, None)
        assert (MIRROR / task / name).stat().st_size == int(size)
    assert CHECKSUMS[("cmnli", "dev.json")].sha256 == (
        "05386d604ccb00a3a5ccab59849b35b75eb5fdab61f662f0ab1e18a477b0d9d8"
    )
    assert CHECKSUMS[("iflytek", "train.json")] == Checksum(
        None, 12133, None, "7594864a2efb5865061dd68a66f69c68cb86d027"
    )
    unknown = {key for key, row in CHECKSUMS.items() if row.sha256 is None}
    assert unknown == {("iflytek", "train.json"), ("cmnli", "train.json"), ("cmnli", "test.json")} | {
        (task, name) for task in ("csl", "c3", "cmrc2018", "chid") for name in TASKS[task].files
    }
    archives = {(task, f"{task}_public.zip") for task in ("cluener", "c3", "cmrc2018")}
    owners = {("c3", f"c3-{half}-{split}.json") for half in "md" for split in ("train", "dev", "test")}
    files = {(task.name, name) for task in TASKS.values() for name in task.files}
    assert set(CHECKSUMS) == files | archives | owners


def test_git_blob_id_is_the_one_git_computes(tmp_path):
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert git_blob_sha1(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`


# --- fetching --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["afqmc", "cluewsc2020", "iflytek"])
def test_fetch_falls_back_to_the_mirror_file_by_file_and_verifies_each(mirror, tmp_path, capsys, task):
    dest = tmp_path / task
    manifest = _fetch_from_mirror(task, dest, mirror.base)
    assert json.loads((dest / MANIFEST).read_text()) == manifest
    assert manifest["archive"]["used"] is None and CLOSED_URL in manifest["archive"]["error"]
    present = sorted(p.name for p in (MIRROR / task).iterdir())
    assert sorted(manifest["files"]) == present
    assert sorted(os.listdir(dest)) == sorted([*present, MANIFEST])
    for name, entry in manifest["files"].items():
        assert entry["source"] == f"{mirror.base}/{task}/{name}"
        assert entry["verified"] is True and entry["check"] == "sha256"
        assert entry["sha256"] == sha256_file(dest / name) == CHECKSUMS[(task, name)].sha256
    stderr = capsys.readouterr().err
    if task == "iflytek":
        tried = manifest["missing"]["train.json"]["tried"]
        assert manifest["missing"]["train.json"]["required"] is False
        assert any(f"{mirror.base}/iflytek/train.json: HTTP 404" in reason for reason in tried)
        assert "warning: clue task iflytek: train.json is missing from every source" in stderr
    else:
        assert manifest["missing"] == {} and "warning" not in stderr


def test_second_fetch_reuses_verified_files_without_downloading(mirror, tmp_path):
    first = _fetch_from_mirror("cluewsc2020", tmp_path, mirror.base)
    hits = sum(mirror.hits.values())
    second = _fetch_from_mirror("cluewsc2020", tmp_path, mirror.base)
    assert sum(mirror.hits.values()) == hits
    assert second["files"] == first["files"] and second["archive"] is None


def _tampered_mirror(tmp_path: Path, task: str, name: str) -> Path:
    root = tmp_path / "mirror"
    shutil.copytree(MIRROR / task, root / task)
    path = root / task / name
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    return root


def test_tampered_required_file_is_rejected_naming_both_hashes_and_leaving_nothing(tmp_path):
    root = _tampered_mirror(tmp_path, "afqmc", "dev.json")
    dest = tmp_path / "raw" / "afqmc"
    with serve_directory(root) as server, pytest.raises(DownloadError) as info:
        _fetch_from_mirror("afqmc", dest, server.base)
    message = str(info.value)
    assert "\n" not in message
    assert "afqmc" in message and "dev.json" in message and f"{server.base}/afqmc/dev.json" in message
    assert CHECKSUMS[("afqmc", "dev.json")].sha256 in message
    assert sha256_file(root / "afqmc/dev.json") in message
    assert os.listdir(dest) == []


def test_tampered_optional_file_is_reported_missing_with_the_reason(tmp_path):
    root = _tampered_mirror(tmp_path, "afqmc", "test.json")
    with serve_directory(root) as server:
        manifest = _fetch_from_mirror("afqmc", tmp_path / "afqmc", server.base)
    assert sorted(manifest["files"]) == ["dev.json", "train.json"]
    assert "sha256 mismatch" in " ".join(manifest["missing"]["test.json"]["tried"])
    assert not (tmp_path / "afqmc/test.json").exists()


def test_official_archive_members_are_verified_and_a_bad_one_comes_from_the_mirror(mirror, tmp_path):
    wsc = {name: (MIRROR / "cluewsc2020" / name).read_bytes() for name in TASKS["cluewsc2020"].files}
    official = tmp_path / "official"
    official.mkdir()
    members = {**wsc, "test.json": wsc["test.json"][:-10], "README.md": b"not kept"}
    (official / "cluewsc2020_public.zip").write_bytes(zip_bytes(members))
    dest = tmp_path / "raw"
    with serve_directory(official) as server:
        manifest = fetch_task(
            "cluewsc2020", dest, CHECKSUMS, mirrors=[mirror.base], official_base=server.base, **FAST
        )
    archive = f"{server.base}/cluewsc2020_public.zip"
    assert manifest["archive"] == {"url": archive, "used": archive, "error": None}
    assert manifest["files"]["train.json"]["source"] == f"{archive}#train.json"
    assert manifest["files"]["dev.json"]["source"] == f"{archive}#dev.json"
    assert manifest["files"]["test.json"]["source"] == f"{mirror.base}/cluewsc2020/test.json"
    assert all(entry["verified"] for entry in manifest["files"].values())
    assert {name: (dest / name).read_bytes() for name in wsc} == wsc
    assert sorted(os.listdir(dest)) == sorted([*wsc, MANIFEST])


def test_archive_member_escaping_the_folder_is_refused(tmp_path):
    official = tmp_path / "official"
    official.mkdir()
    dev = (MIRROR / "afqmc/dev.json").read_bytes()
    (official / "afqmc_public.zip").write_bytes(zip_bytes({"dev.json": dev, "../evil.json": b"{}"}))
    dest = tmp_path / "raw" / "afqmc"
    with serve_directory(official) as server, pytest.raises(UnsafeArchiveError, match=r"\.\./evil\.json"):
        fetch_task("afqmc", dest, CHECKSUMS, official_base=server.base, **FAST)
    assert os.listdir(dest) == []
    assert sorted(os.listdir(tmp_path)) == ["official", "raw"] and os.listdir(tmp_path / "raw") == ["afqmc"]


def _csl_line(keywords: list, abstract: str, label: str, **extra) -> bytes:
    row = {"id": 1, "abst": abstract, "keyword": keywords, "label": label, **extra}
    return json.dumps(row, ensure_ascii=False).encode()


def test_file_without_known_hash_is_fetched_unverified_with_its_measured_hash_and_a_warning(tmp_path, capsys):
    root = tmp_path / "mirror"
    (root / "csl").mkdir(parents=True)
    for name in TASKS["csl"].files:
        (root / "csl" / name).write_bytes(_csl_line(["深度学习", "图像"], f"{name} 摘要", "1") + b"\n")
    with serve_directory(root) as server:
        manifest = _fetch_from_mirror("csl", tmp_path / "csl", server.base)
    stderr = capsys.readouterr().err
    for name, entry in manifest["files"].items():
        assert entry["verified"] is False and entry["check"] == "none"
        assert entry["sha256"] == sha256_file(root / "csl" / name)
        assert f"csl: {name} has no known hash; fetched UNVERIFIED" in stderr and entry["sha256"] in stderr


def test_git_blob_id_checks_a_file_without_sha256(tmp_path):
    root = tmp_path / "mirror"
    shutil.copytree(MIRROR / "iflytek", root / "iflytek")
    fake_train = root / "iflytek/train.json"
    fake_train.write_bytes((MIRROR / "iflytek/dev.json").read_bytes()[:5000])
    with serve_directory(root) as server:
        rejected = _fetch_from_mirror("iflytek", tmp_path / "a", server.base)
        trusted = {
            **CHECKSUMS,
            ("iflytek", "train.json"): Checksum(None, None, None, git_blob_sha1(fake_train)),
        }
        accepted = _fetch_from_mirror("iflytek", tmp_path / "b", server.base, checksums=trusted)
    assert "git blob id mismatch: expected 7594864a" in " ".join(rejected["missing"]["train.json"]["tried"])
    assert not (tmp_path / "a/train.json").exists()
    assert accepted["files"]["train.json"]["verified"] is True
    assert accepted["files"]["train.json"]["check"] == "git-blob-sha1"


# --- readers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "task, name, records, dropped",
    [
        ("afqmc", "train.json", 34334, 0),
        ("afqmc", "dev.json", 4316, 0),
        ("tnews", "train.json", 53360, 0),
        ("tnews", "dev.json", 10000, 0),
        ("iflytek", "dev.json", 2599, 0),
        ("ocnli", "train.50k.json", 50437, 49),
        ("ocnli", "dev.json", 2950, 50),
        ("cluewsc2020", "train.json", 1244, 0),
        ("cluewsc2020", "dev.json", 304, 0),
    ],
)
def test_record_counts_of_the_real_files(task, name, records, dropped):
    labels = task_labels(task, MIRROR / task)
    split = read_split(task, MIRROR / task / name, labels)
    assert (len(split.records), split.dropped) == (records, dropped)
    assert len(split.records) + split.dropped == CHECKSUMS[(task, name)].records
    assert {r["label"] for r in split.records} == set(range(len(labels)))
    assert all(isinstance(r["text"], str) and r["text"] for r in split.records)
    pairs = task in ("afqmc", "ocnli")
    assert all((r["text_pair"] is not None) == pairs for r in split.records)


def test_tnews_has_15_classes_without_105_and_111():
    labels = task_labels("tnews", MIRROR / "tnews")
    assert labels.names == tuple(str(code) for code in range(100, 117) if code not in (105, 111))
    assert labels.descriptions[0] == "news_story" and len(labels) == 15


def test_iflytek_has_119_classes_and_a_text_with_a_line_separator_is_read_intact():
    labels = task_labels("iflytek", MIRROR / "iflytek")
    assert labels.names == tuple(str(i) for i in range(119)) and labels.descriptions[0] == "打车"
    raw = (MIRROR / "iflytek/dev.json").read_bytes().split(b"\n")[428]  # line 429 holds U+2028
    expected = json.loads(raw)["sentence"]
    assert "\u2028" in expected
    records = read_split("iflytek", MIRROR / "iflytek/dev.json", labels).records
    assert records[428] == {"text": expected, "text_pair": None, "label": 96}


def test_cluewsc_marks_both_spans_in_a_real_record():
    records = read_split(
        "cluewsc2020", MIRROR / "cluewsc2020/dev.json", task_labels("cluewsc2020", "")
    ).records
    assert records[0] == {
        "text": "有些这样的“_洋人_”就站在大众之间，如同鹤立鸡群，毫不掩饰自己的优越感。"
        "[他们]排在非凡的甲菜盆后面，虽然人数寥寥无几，但却特别惹眼。",
        "text_pair": None,
        "label": 1,
    }
    assert records[1]["label"] == 0 and records[1]["text"].startswith("有些这样的“洋人”就站在_大众_之间")


def _wsc_line(text: str, s1: int, t1: str, s2: int, t2: str, label: str = "true") -> bytes:
    target = {"span1_index": s1, "span1_text": t1, "span2_index": s2, "span2_text": t2}
    return json.dumps({"target": target, "idx": 0, "label": label, "text": text}, ensure_ascii=False).encode()


def test_cluewsc_marks_a_pronoun_before_its_antecedent(tmp_path):
    path = tmp_path / "dev.json"
    path.write_bytes(_wsc_line("他说小明来了", 2, "小明", 0, "他"))
    record = read_split("cluewsc2020", path, task_labels("cluewsc2020", tmp_path)).records[0]
    assert record["text"] == "[他]说_小明_来了"


def test_csl_joins_keywords_and_pairs_the_abstract(tmp_path):
    path = tmp_path / "dev.json"
    path.write_bytes(
        _csl_line(["卷积网络", "图像分类"], "本文提出一种方法。", "1") + b"\n" + _csl_line([], "无", "0")
    )
    records = read_split("csl", path, task_labels("csl", tmp_path)).records
    assert records == [
        {"text": "卷积网络；图像分类", "text_pair": "本文提出一种方法。", "label": 1},
        {"text": "", "text_pair": "无", "label": 0},
    ]


@pytest.mark.parametrize(
    "task, line, field",
    [
        ("afqmc", b'{"sentence1": "a", "sentence2": "b", "label": "0"', None),
        ("afqmc", b'{"sentence1": "a", "label": "0"}', "sentence2"),
        ("afqmc", b'{"sentence1": "a", "sentence2": "b", "label": "2"}', "label"),
        ("afqmc", b'{"sentence1": "a", "sentence2": "b", "label": 1}', "label"),
        ("cluewsc2020", _wsc_line("他说小明来了", 2, "小红", 0, "他"), "target.span1_text"),
        ("cluewsc2020", _wsc_line("他说小明来了", 2, "小明", 2, "小"), "target"),
        ("csl", _csl_line("深度", "x", "1"), "keyword"),
    ],
)
def test_malformed_record_names_file_line_and_field(tmp_path, task, line, field):
    path = tmp_path / "dev.json"
    good = {
        "afqmc": b'{"sentence1": "a", "sentence2": "b", "label": "1"}',
        "cluewsc2020": _wsc_line("他说小明来了", 2, "小明", 0, "他"),
        "csl": _csl_line(["深度"], "x", "1"),
    }[task]
    path.write_bytes(good + b"\n" + line + b"\n")
    with pytest.raises(ValueError) as info:
        read_split(task, path, task_labels(task, tmp_path))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:2: ")
    assert (f"field {field!r}" in message) if field else "not a JSON record" in message


def test_blank_line_inside_a_file_is_an_error_but_a_trailing_one_is_not(tmp_path):
    path = tmp_path / "dev.json"
    path.write_bytes(b'{"a": 1}\n\n{"a": 2}\n')
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}:2: not a JSON record"):
        list(json_lines(path))
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n')
    assert [line.row["a"] for line in json_lines(path)] == [1, 2]


# --- prepare ---------------------------------------------------------------------------------------------


def test_stratified_sample_keeps_label_shares_and_is_seeded():
    labels = np.repeat(np.arange(4), [500, 300, 150, 50])
    rng = lambda seed: np.random.default_rng(seed)  # noqa: E731
    chosen = stratified_sample(labels, 100, rng(0))
    assert np.bincount(labels[chosen]).tolist() == [50, 30, 15, 5]
    assert np.array_equal(chosen, stratified_sample(labels, 100, rng(0)))
    assert not np.array_equal(chosen, stratified_sample(labels, 100, rng(1)))
    assert np.all(np.diff(chosen) > 0)
    # quotas 9/7, 9/7, 3/7: one seat each, the last one to the largest remainder (label 2)
    odd = np.array([0, 0, 0, 1, 1, 1, 2])
    assert np.bincount(odd[stratified_sample(odd, 3, rng(0))]).tolist() == [1, 1, 1]


def _prepare(
    task: str, out: Path, seed: int = 0, max_train: int | None = 300, max_dev: int | None = 100
) -> dict:
    return prepare_task(task, MIRROR / task, out, CHECKSUMS, max_train, max_dev, seed)


def test_prepare_subsamples_with_a_seed(tmp_path):
    meta = _prepare("afqmc", tmp_path / "a")
    _prepare("afqmc", tmp_path / "b")
    _prepare("afqmc", tmp_path / "c", seed=1)
    for name in ("train.jsonl", "dev.jsonl", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a/train.jsonl").read_bytes() != (tmp_path / "c/train.jsonl").read_bytes()
    train = read_jsonl(tmp_path / "a/train.jsonl")
    assert meta["counts"] == {"train": 300, "dev": 100} and len(train) == 300
    assert meta["label_counts"]["train"] == [208, 92]  # 23761 : 10573 of the full train set
    assert meta["num_classes"] == 2 and meta["label_names"] == ["0", "1"] and not meta["train_from_dev_split"]
    assert all(entry["verified"] for entry in meta["inputs"].values())


def test_prepare_ocnli_counts_the_dropped_records(tmp_path):
    meta = _prepare("ocnli", tmp_path, max_train=None, max_dev=None)
    assert meta["counts"] == {"train": 50437, "dev": 2950} and meta["dropped"] == {"train": 49, "dev": 50}
    assert meta["label_names"] == ["entailment", "neutral", "contradiction"]
    assert any("'-'" in note for note in meta["notes"])


def test_prepare_splits_iflytek_dev_in_two_and_says_so(tmp_path, capsys):
    meta = _prepare("iflytek", tmp_path, max_train=None, max_dev=None)
    assert meta["train_from_dev_split"] and meta["counts"] == {"train": 1299, "dev": 1300}
    assert "train.json is unavailable" in meta["notes"][0] and "seed 0" in meta["notes"][0]
    assert "warning: clue task iflytek: train.json is unavailable" in capsys.readouterr().err
    train, dev = read_jsonl(tmp_path / "train.jsonl"), read_jsonl(tmp_path / "dev.jsonl")
    full = read_split(
        "iflytek", MIRROR / "iflytek/dev.json", task_labels("iflytek", MIRROR / "iflytek")
    ).records
    as_rows = lambda records: Counter(json.dumps(r, sort_keys=True) for r in records)  # noqa: E731
    assert as_rows(train) + as_rows(dev) == as_rows(full)  # the two halves partition dev
    assert all(abs(a - b) <= 1 for a, b in zip(*meta["label_counts"].values()))  # stratified
    # Line separators survive in the records but not as raw characters in the jsonl files.
    assert sum("\u2028" in r["text"] for r in train + dev) == 5
    assert "\u2028" not in (tmp_path / "train.jsonl").read_text() + (tmp_path / "dev.jsonl").read_text()


def test_prepare_refuses_a_changed_input_and_a_malformed_one_writing_nothing(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(MIRROR / "cluewsc2020", raw)
    (raw / "dev.json").chmod(0o644)
    with open(raw / "dev.json", "ab") as fh:
        fh.write(b"\n")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="sha256 mismatch: expected 1f62c77d"):
        prepare_task("cluewsc2020", raw, out, CHECKSUMS, None, None, 0)
    lenient = {**CHECKSUMS, ("cluewsc2020", "dev.json"): Checksum(None, None, None, None)}
    malformed = b'{"target": {}, "label": "true", "text": "abc"}'
    (raw / "dev.json").write_bytes(_wsc_line("他说小明来了", 2, "小明", 0, "他") + b"\n" + malformed)
    with pytest.raises(ValueError, match=r"dev\.json:2: field 'target\.span1_index': missing"):
        prepare_task("cluewsc2020", raw, out, lenient, None, None, 0)
    assert not out.exists() or os.listdir(out) == []


# --- command line ----------------------------------------------------------------------------------------


def _cli(module: str, settings: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KEXUE_REPRO_MIRRORS"}
    return subprocess.run(
        [sys.executable, "-m", module, "--settings", json.dumps(settings), *args],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_cli_fetches_and_prepares_cluewsc_through_the_local_server(mirror, tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "processed"
    fetched = _cli(
        "kexue_repro.data.clue", {"retries": 0}, "--task", "cluewsc2020", "--out-dir", str(raw),
        "--checksums", str(CHECKSUMS_CSV), "--mirror", mirror.base, "--official-base", CLOSED_URL,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert (
        f"{raw / 'cluewsc2020/dev.json'}: verified (sha256), from {mirror.base}/cluewsc2020/dev.json"
        in fetched.stdout
    )
    prepared = _cli(
        "kexue_repro.data.clue_prepare", {"split_seed": 3, "max_train": 500, "max_dev": "all"},
        "--task", "cluewsc2020", "--raw-dir", str(raw), "--out-dir", str(out), "--checksums", str(CHECKSUMS_CSV),
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    assert prepared.stdout == f"{out / 'cluewsc2020'}: train 500, dev 304 records, 2 classes\n"
    meta = json.loads((out / "cluewsc2020/meta.json").read_text())
    assert meta["subsampling"]["seed"] == 3 and meta["subsampling"]["max_dev"] == "all"
    assert len(read_jsonl(out / "cluewsc2020/train.jsonl")) == 500
    assert sorted(os.listdir(out / "cluewsc2020")) == ["dev.jsonl", "meta.json", "train.jsonl"]


def test_cli_missing_required_file_is_one_error_line(mirror, tmp_path):
    result = _cli(
        "kexue_repro.data.clue", {"retries": 0}, "--task", "csl", "--out-dir", str(tmp_path),
        "--checksums", str(CHECKSUMS_CSV), "--mirror", mirror.base, "--official-base", CLOSED_URL,
    )  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "csl" in lines[0] and "dev.json" in lines[0] and f"{mirror.base}/csl/dev.json" in lines[0]
    assert f"{CLOSED_URL}/csl_public.zip" in lines[0]
