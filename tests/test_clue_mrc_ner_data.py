"""CLUENER, C3, CMRC2018 and CHID through the data layer: fetched from a real HTTP server on 127.0.0.1 serving the
project's mirror (C3 under the dataset owners' names, the mirror aliases), an archive checked against its own
row of the table, and the prepare step's records and meta.json (the issue 18 contract) for all four tasks,
CMRC2018 and CHID from small files written in the official layout."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import stand_ins

from kexue_repro.data import sha256_file
from kexue_repro.data.checksums import Checksum
from kexue_repro.data.clue import MANIFEST, TASKS, fetch_task, load_checksums
from kexue_repro.data.clue_prepare import group_sample, prepare_task, uniform_sample
from kexue_repro.data.clue_prepare import main as prepare_main

from conftest import CLOSED_URL, REPO, serve_directory, zip_bytes

MIRROR = REPO.parent / "shared/data/clue"
CHECKSUMS = load_checksums(REPO / "data/checksums/clue.csv")
FAST = {"retries": 0, "backoff": 0, "timeout": 5}
C3_HALVES = ("m-train.json", "d-train.json", "m-dev.json", "d-dev.json")


@pytest.fixture(autouse=True)
def no_env_mirrors(monkeypatch):
    monkeypatch.delenv("KEXUE_REPRO_MIRRORS", raising=False)


@pytest.fixture(scope="module")
def mirror():
    with serve_directory(MIRROR) as httpd:
        yield httpd


@pytest.fixture(scope="module")
def fetched(mirror, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """CLUENER and C3 fetched once from the mirror (the official URL a closed port): {task: (folder, manifest)}."""
    root = tmp_path_factory.mktemp("raw")
    return {
        task: (root / task, fetch_task(task, root / task, CHECKSUMS, [mirror.base], CLOSED_URL, **FAST))
        for task in ("cluener", "c3")
    }


# --- fetching ------------------------------------------------------------------------------------------------


def test_cluener_is_fetched_file_by_file_and_every_file_verified(mirror, fetched):
    dest, manifest = fetched["cluener"]
    assert manifest["archive"]["used"] is None and CLOSED_URL in manifest["archive"]["error"]
    assert manifest["archive"]["sha256"] == CHECKSUMS[("cluener", "cluener_public.zip")].sha256
    assert sorted(manifest["files"]) == sorted(TASKS["cluener"].files) and manifest["missing"] == {}
    for name, entry in manifest["files"].items():
        assert entry == {
            "source": f"{mirror.base}/cluener/{name}",
            "sha256": CHECKSUMS[("cluener", name)].sha256,
            "bytes": (MIRROR / "cluener" / name).stat().st_size,
            "verified": True,
            "check": "sha256",
        }
        assert (dest / name).read_bytes() == (MIRROR / "cluener" / name).read_bytes()


def test_c3_comes_from_the_owners_files_under_clues_names(mirror, fetched):
    dest, manifest = fetched["c3"]
    assert sorted(manifest["files"]) == sorted(C3_HALVES)
    for name in C3_HALVES:
        entry, owners = manifest["files"][name], f"c3-{name}"
        assert entry["source"] == f"{mirror.base}/c3/{owners}" and entry["alias"] == owners
        assert entry["verified"] is True and entry["check"] == "sha256"
        assert entry["sha256"] == sha256_file(dest / name) == CHECKSUMS[("c3", owners)].sha256
        assert mirror.hits[f"/c3/{name}"] >= 1  # CLUE's own name was asked for first (404)
    tried = " ".join(manifest["missing"]["test.json"]["tried"])
    assert (
        manifest["missing"]["test.json"]["required"] is False
        and f"{mirror.base}/c3/test.json: HTTP 404" in tried
    )
    assert sorted(os.listdir(dest)) == sorted([*C3_HALVES, MANIFEST])


def test_a_second_fetch_recognises_the_aliased_files_without_downloading(mirror, fetched, tmp_path):
    dest, first = fetched["c3"]
    copy = tmp_path / "c3"
    copy.mkdir()
    for name in [*C3_HALVES, MANIFEST]:
        (copy / name).write_bytes((dest / name).read_bytes())
    halves = lambda: {p: n for p, n in mirror.hits.items() if p.endswith(C3_HALVES)}  # noqa: E731
    hits = halves()
    again = fetch_task("c3", copy, CHECKSUMS, [mirror.base], CLOSED_URL, **FAST)
    assert again["files"] == first["files"] and halves() == hits  # only the missing test.json is asked for


def _cmrc_table(archive_sha256: str | None) -> dict:
    """The project's table, the CMRC2018 archive's row pinned to ``archive_sha256``."""
    return {**CHECKSUMS, ("cmrc2018", "cmrc2018_public.zip"): Checksum(None, None, archive_sha256, None)}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """CMRC2018 and CHID files in the official layout (the dry run's stand-ins), as fetched: small/<task>/."""
    root = tmp_path_factory.mktemp("small")
    stand_ins.cmrc2018_files(
        root / "cmrc2018", {"train.json": 40, "dev.json": 12, "trial.json": 4, "test.json": 4}
    )
    stand_ins.chid_files(root / "chid", {"train.json": 30, "dev.json": 10, "test.json": 3})
    return root


@pytest.fixture(scope="module")
def cmrc_server(small, tmp_path_factory):
    """One server for the archive tests: a cmrc2018_public.zip of the small CMRC2018 files at its root (the
    official base) and the same files under cmrc2018/ (a mirror); ``.members`` holds the files."""
    root = tmp_path_factory.mktemp("official")
    shutil.copytree(small / "cmrc2018", root / "cmrc2018")
    members = {name: (small / "cmrc2018" / name).read_bytes() for name in TASKS["cmrc2018"].files}
    (root / "cmrc2018_public.zip").write_bytes(zip_bytes(members))
    with serve_directory(root) as server:
        server.members, server.archive_sha256 = members, sha256_file(root / "cmrc2018_public.zip")
        yield server


def test_archive_matching_its_row_verifies_members_without_hashes_of_their_own(cmrc_server, tmp_path):
    table, dest = _cmrc_table(cmrc_server.archive_sha256), tmp_path / "cmrc2018"
    downloads = cmrc_server.hits["/cmrc2018_public.zip"]
    manifest = fetch_task("cmrc2018", dest, table, [], cmrc_server.base, **FAST)
    archive = f"{cmrc_server.base}/cmrc2018_public.zip"
    assert manifest["archive"] == {
        "url": archive,
        "used": archive,
        "error": None,
        "sha256": cmrc_server.archive_sha256,
    }
    for name, entry in manifest["files"].items():
        assert entry["source"] == f"{archive}#{name}" and entry["verified"] is True
        assert entry["check"] == "archive-sha256" and entry["archive_sha256"] == cmrc_server.archive_sha256
        assert (dest / name).read_bytes() == cmrc_server.members[name]
    again = fetch_task("cmrc2018", dest, table, [], cmrc_server.base, **FAST)
    assert cmrc_server.hits["/cmrc2018_public.zip"] == downloads + 1  # recognised, not fetched again
    assert again["files"] == manifest["files"] and again["archive"] is None
    meta = prepare_task("cmrc2018", dest, tmp_path / "out", table, None, None, 0)
    assert all(entry["check"] == "archive-sha256" and entry["verified"] for entry in meta["inputs"].values())
    assert not any("UNVERIFIED" in note for note in meta["notes"])


def test_archive_failing_its_row_is_unusable_and_the_mirror_serves_the_files(cmrc_server, tmp_path, capsys):
    base = cmrc_server.base
    manifest = fetch_task("cmrc2018", tmp_path / "raw", _cmrc_table("0" * 64), [base], base, **FAST)
    assert manifest["archive"]["used"] is None
    assert f"{base}/cmrc2018_public.zip: sha256 mismatch: expected {'0' * 64}" in manifest["archive"]["error"]
    for name, entry in manifest["files"].items():
        assert entry["source"] == f"{base}/cmrc2018/{name}"
        assert entry["verified"] is False and entry["check"] == "none" and "archive_sha256" not in entry
    assert "official archive unusable" in capsys.readouterr().err


# --- prepare -------------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _prepare(
    task: str, raw: Path, out: Path, cap_train=None, cap_dev=None, seed=0, checksums=CHECKSUMS
) -> dict:
    return prepare_task(task, raw, out, checksums, cap_train, cap_dev, seed)


def _measured(task: str, folder: Path) -> dict:
    """The project's table with rows measured from the small files (as the dry run's stand-in table)."""
    rows = stand_ins.checksum_rows(task, sorted(folder.iterdir()))
    return {**CHECKSUMS, **{(task, r["file"]): Checksum(r["bytes"], None, r["sha256"], None) for r in rows}}


def test_prepare_cluener_counts_and_records(fetched, tmp_path):
    raw, _ = fetched["cluener"]
    meta = _prepare("cluener", raw, tmp_path)
    assert meta["task"] == "cluener" and meta["kind"] == "ner"
    assert meta["counts"] == {"train": 10748, "dev": 1343}
    assert [CHECKSUMS[("cluener", f"{split}.json")].records for split in ("train", "dev")] == [10748, 1343]
    types = "address book company game government movie name organization position scene".split()
    assert meta["entity_types"] == types
    assert all(entry == {**entry, "verified": True, "check": "sha256"} for entry in meta["inputs"].values())
    assert list(meta["inputs"]) == ["train.json", "dev.json"] and meta["notes"] == []
    dev = read_jsonl(tmp_path / "dev.jsonl")
    assert dev[0] == {
        "text": "彭小军认为，国内银行现在走的是台湾的发卡模式，先通过跑马圈地再在圈的地里面选择客户，",
        "entities": [["name", 0, 2], ["address", 15, 16]],
    }
    assert all(set(r) == {"text", "entities"} for r in dev)


def test_prepare_cluener_subsamples_uniformly_with_a_seed_in_source_order(fetched, tmp_path):
    raw, _ = fetched["cluener"]
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        meta = _prepare("cluener", raw, tmp_path / name, 300, 100, seed)
    assert meta["counts"] == {"train": 300, "dev": 100} and meta["subsampling"]["seed"] == 1
    for name in ("train.jsonl", "dev.jsonl", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a/dev.jsonl").read_bytes() != (tmp_path / "c/dev.jsonl").read_bytes()
    full = [line.rstrip("\n") for line in (MIRROR / "cluener/dev.json").read_text("utf-8").splitlines()]
    texts = [json.loads(line)["text"] for line in full]
    kept = [texts.index(r["text"]) for r in read_jsonl(tmp_path / "a/dev.jsonl")]
    assert kept == sorted(kept)


def test_prepare_c3_m_then_d_with_the_owners_files(fetched, tmp_path):
    raw, _ = fetched["c3"]
    meta = _prepare("c3", raw, tmp_path)
    assert meta["kind"] == "choice" and meta["num_choices"] == 4
    assert meta["counts"] == {"train": 11869, "dev": 3816}
    owners = {
        split: sum(CHECKSUMS[("c3", f"c3-{h}-{split}.json")].records for h in "md")
        for split in ("train", "dev")
    }
    assert owners == meta["counts"]  # the table's question counts, from MANIFEST.md
    assert meta["sources"]["train"] == {"files": ["m-train.json", "d-train.json"], "records": 11869}
    assert meta["sources"]["dev"] == {"files": ["m-dev.json", "d-dev.json"], "records": 3816}
    for name in C3_HALVES:
        assert meta["inputs"][name] == {
            "sha256": CHECKSUMS[("c3", f"c3-{name}")].sha256, "verified": True, "check": "sha256", "alias": f"c3-{name}"
        }  # fmt: skip
    assert not any("UNVERIFIED" in note for note in meta["notes"])
    train, dev = read_jsonl(tmp_path / "train.jsonl"), read_jsonl(tmp_path / "dev.jsonl")
    assert [r["id"].split(":")[0] for r in train] == ["m-train"] * 6013 + ["d-train"] * 5856
    assert [r["id"].split(":")[0] for r in dev] == ["m-dev"] * 1991 + ["d-dev"] * 1825
    assert len({r["id"] for r in train + dev}) == len(train) + len(dev)
    assert dev[0]["id"] == "m-dev:11-67:0" and dev[0]["question"] == "梅兰芳是一个什么样的人?"
    assert dev[0]["choices"][dev[0]["label"]] == "他是一个很虚心的人"
    assert all(list(r) == ["id", "passage", "question", "choices", "label"] for r in dev)
    assert all(isinstance(r["passage"], list) and 2 <= len(r["choices"]) <= 4 for r in train)


def test_prepare_cmrc2018_one_record_per_question(small, tmp_path, capsys):
    raw = small / "cmrc2018"
    meta = _prepare("cmrc2018", raw, tmp_path, 30, None, checksums=_measured("cmrc2018", raw))
    assert meta["kind"] == "span" and meta["counts"] == {"train": 30, "dev": 12}
    assert meta["sources"]["dev"] == {"files": ["dev.json"], "records": 12, "misplaced_answers": 0}
    assert all(entry["verified"] for entry in meta["inputs"].values())
    dev = read_jsonl(tmp_path / "dev.jsonl")
    document = json.loads((raw / "dev.json").read_text("utf-8"))
    qa = document["data"][0]["paragraphs"][0]["qas"][0]
    assert dev[0] == {
        "id": qa["id"],
        "question": qa["question"],
        "context": document["data"][0]["paragraphs"][0]["context"],
        "answers": [[a["text"], a["answer_start"]] for a in qa["answers"]],
    }
    for r in dev:
        assert all(r["context"][start : start + len(text)] == text for text, start in r["answers"])
    unverified = _prepare("cmrc2018", raw, tmp_path / "u")  # the project's table: no hash for these files
    assert {entry["check"] for entry in unverified["inputs"].values()} == {"none"}
    assert "train.json is UNVERIFIED" in " ".join(unverified["notes"])


def test_prepare_chid_blanks_and_whole_lines(small, tmp_path):
    raw = small / "chid"
    table = _measured("chid", raw)
    meta = _prepare("chid", raw, tmp_path / "a", 25, None, checksums=table)
    again = _prepare("chid", raw, tmp_path / "b", 25, None, checksums=table)
    assert (
        meta == again
        and (tmp_path / "a/train.jsonl").read_bytes() == (tmp_path / "b/train.jsonl").read_bytes()
    )
    assert meta["kind"] == "chid" and meta["num_choices"] == 10
    full = read_jsonl(tmp_path / "a/dev.jsonl")
    answers = json.loads((raw / "dev_answer.json").read_text())
    assert len(full) == len(answers) == meta["counts"]["dev"] and meta["sources"]["dev"]["groups"] == 10
    for r in full:
        assert list(r) == ["group", "tag", "passage", "candidates", "label"]
        assert r["tag"] in r["passage"] and r["label"] == answers[r["tag"]] and len(r["candidates"]) == 10
    train = read_jsonl(tmp_path / "a/train.jsonl")
    lines = (raw / "train.json").read_text("utf-8").splitlines()
    blanks = {g: len(re.findall(r"#idiom\d{6}#", line)) for g, line in enumerate(lines, start=1)}
    kept = [r["group"] for r in train]
    assert len(train) <= 25 and meta["counts"]["train"] == len(train) == sum(blanks[g] for g in set(kept))
    assert kept == sorted(kept)  # whole lines, their blanks consecutive, in source order
    assert meta["subsampling"]["groups"]["train"] == len(set(kept))


def test_group_sample_keeps_whole_groups_within_the_cap_and_is_seeded():
    groups = [1, 1, 1, 2, 3, 3, 4, 5, 5, 5, 5, 6]
    rng = lambda seed: np.random.default_rng(seed)  # noqa: E731
    for seed in range(20):
        chosen = group_sample(groups, 6, rng(seed))
        kept = {groups[i] for i in chosen}
        assert 1 <= len(chosen) <= 6 and list(chosen) == [i for i, g in enumerate(groups) if g in kept]
        assert np.array_equal(chosen, group_sample(groups, 6, rng(seed)))
    assert len(group_sample(groups, 1, rng(0))) >= 1  # a cap below every group still keeps one group
    assert list(group_sample(groups, None, rng(0))) == list(range(12))
    assert list(uniform_sample(5, 9, rng(0))) == list(range(5)) and len(uniform_sample(50, 7, rng(0))) == 7


def test_prepare_refuses_a_missing_train_file_and_a_bad_record(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(MIRROR / "cluener/dev.json", raw / "dev.json")
    with pytest.raises(FileNotFoundError, match=rf"^{re.escape(str(raw / 'train.json'))}: required file"):
        _prepare("cluener", raw, tmp_path / "out")
    (raw / "dev.json").chmod(0o644)
    bad = '{"text": "张三", "label": {"name": {"李四": [[0, 1]]}}}\n'
    (raw / "train.json").write_text(
        (MIRROR / "cluener/dev.json").read_text("utf-8").split("\n", 1)[0] + "\n" + bad
    )
    lenient = {**CHECKSUMS, ("cluener", "dev.json"): Checksum(None, None, None, None)}
    lenient[("cluener", "train.json")] = lenient[("cluener", "dev.json")]
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(raw / 'train.json'))}:2: field 'label.name.李四'"
    ):
        _prepare("cluener", raw, tmp_path / "out", checksums=lenient)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


# --- the dry run's mirror ------------------------------------------------------------------------------------


def test_stand_in_mirror_serves_cmrc2018_and_chid_verified_and_they_prepare(tmp_path, capsys):
    served = stand_ins.clue_files(tmp_path / "mirror", ["cmrc2018", "chid"])
    table = stand_ins.write_table(tmp_path / "clue.csv", stand_ins.clue_table(served))
    checksums = load_checksums(table)
    with serve_directory(tmp_path / "mirror") as server:
        for task in ("cmrc2018", "chid"):
            manifest = fetch_task(task, tmp_path / "raw" / task, checksums, [server.base], CLOSED_URL, **FAST)
            assert sorted(manifest["files"]) == sorted(TASKS[task].files) and manifest["missing"] == {}
            assert all(entry["verified"] for entry in manifest["files"].values())
    settings = json.dumps({"split_seed": 0, "max_train": 50, "max_dev": "all"})
    argv = ["--settings", settings, "--task", "chid", "--raw-dir", str(tmp_path / "raw"),
            "--out-dir", str(tmp_path / "out"), "--checksums", str(table)]  # fmt: skip
    assert prepare_main(argv) == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "out/chid/meta.json").read_text())
    counts = meta["counts"]
    expected = f"{tmp_path / 'out/chid'}: train {counts['train']}, dev {counts['dev']} records, kind chid\n"
    assert capsys.readouterr().out == expected and counts["dev"] == meta["sources"]["dev"]["records"]
    assert all(entry["verified"] for entry in meta["inputs"].values())
