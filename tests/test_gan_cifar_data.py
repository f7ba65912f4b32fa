"""CIFAR-10 through the data layer: a real HTTP server on 127.0.0.1 serving a small archive built here in the
official cifar-10-python.tar.gz layout (pickled batches with bytes keys, uint8 rows in channel-major order)."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import stand_ins

from kexue_repro.data import cifar10
from kexue_repro.data.download import DownloadError, RemoteFile
from kexue_repro.gan import cifar_data

from conftest import REPO, serve_directory

PER_BATCH = 6


def build_archive(path: Path, **kwargs) -> dict:
    return stand_ins.cifar10_archive(path, PER_BATCH, **kwargs)


@pytest.fixture
def mirror(tmp_path):
    """A mirror base serving <base>/cifar10/cifar-10-python.tar.gz; the 'official' URL 404s on it."""
    root = tmp_path / "mirror"
    (root / "cifar10").mkdir(parents=True)
    truth = build_archive(root / "cifar10" / cifar10.ARCHIVE)
    with serve_directory(root) as server:
        server.truth = truth
        yield server


@pytest.fixture(autouse=True)
def no_env_mirrors(monkeypatch):
    monkeypatch.delenv("KEXUE_REPRO_MIRRORS", raising=False)


def remotes(server, sha256: str) -> tuple[RemoteFile, ...]:
    return (
        RemoteFile(cifar10.ARCHIVE, sha256, f"{server.base}/official/{cifar10.ARCHIVE}", f"cifar10/{cifar10.ARCHIVE}"),
    )  # fmt: skip


def test_official_constants_are_the_published_ones():
    assert cifar10.OFFICIAL_URL == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    official = cifar10.remotes(REPO / "data/checksums/cifar10.csv")
    assert official[0].sha256 == "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    assert cifar10.MD5 == "c58f30108f718f92721af3b95e74349a"
    assert official[0].urls(["https://m.example"])[1] == f"https://m.example/cifar10/{cifar10.ARCHIVE}"


def test_a_checksum_table_without_the_archive_sha256_is_refused(tmp_path):
    table = stand_ins.write_table(tmp_path / "t.csv", [{"dataset": "cifar10", "file": cifar10.ARCHIVE}])
    with pytest.raises(ValueError, match=r"t\.csv: no sha256 for cifar10/cifar-10-python.tar.gz"):
        cifar10.remotes(table)


def test_fetch_through_the_mirror_extracts_and_reads_the_official_layout(mirror, tmp_path):
    batches = cifar10.fetch_cifar10(
        tmp_path / "raw", [mirror.base], 0, remotes(mirror, mirror.truth["sha256"])
    )
    assert (
        mirror.hits[f"/cifar10/{cifar10.ARCHIVE}"] == 1 and mirror.hits[f"/official/{cifar10.ARCHIVE}"] == 1
    )
    arrays = cifar10.read_cifar10(batches)
    assert (
        arrays["train_images"].shape == (5 * PER_BATCH, 3, 32, 32)
        and arrays["train_images"].dtype == np.uint8
    )
    for key in ("train_images", "train_labels", "test_images", "test_labels"):
        np.testing.assert_array_equal(arrays[key], mirror.truth[key])
    assert arrays["label_names"].tolist()[:2] == ["airplane", "automobile"]
    # A verified copy is not downloaded again.
    cifar10.fetch_cifar10(tmp_path / "raw", [mirror.base], 0, remotes(mirror, mirror.truth["sha256"]))
    assert mirror.hits[f"/cifar10/{cifar10.ARCHIVE}"] == 1


def test_wrong_sha256_fails_in_one_line_and_leaves_no_archive(mirror, tmp_path):
    with pytest.raises(DownloadError, match="sha256 mismatch") as err:
        cifar10.fetch_cifar10(tmp_path / "raw", [mirror.base], 0, remotes(mirror, "0" * 64))
    assert "\n" not in str(err.value) and not (tmp_path / "raw" / cifar10.ARCHIVE).exists()


def test_archive_without_a_batch_is_refused_naming_it(tmp_path):
    root = tmp_path / "mirror"
    (root / "cifar10").mkdir(parents=True)
    truth = build_archive(root / "cifar10" / cifar10.ARCHIVE, drop="data_batch_3")
    with serve_directory(root) as server:
        with pytest.raises(DownloadError, match="data_batch_3"):
            cifar10.fetch_cifar10(tmp_path / "raw", [server.base], 0, remotes(server, truth["sha256"]))


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_pickle_calling_any_other_global_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": []}))
    with pytest.raises(ValueError, match="builtins.print is not allowed"):
        cifar10.read_batch(path)


def test_prepare_writes_the_arrays_and_the_checks(mirror, tmp_path):
    out = tmp_path / "cifar10.npz"
    summary = cifar_data.prepare_cifar10(
        tmp_path / "raw", out, [mirror.base], 0, remotes(mirror, mirror.truth["sha256"])
    )
    assert summary["sha256"] == mirror.truth["sha256"] and summary["sha256_verified"]
    assert summary["official_md5_matches"] is False  # not the real archive
    assert (summary["train_images"], summary["test_images"]) == (5 * PER_BATCH, PER_BATCH)
    arrays, sha256 = cifar_data.load_cifar10(out)
    assert sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    np.testing.assert_array_equal(arrays["train_images"].numpy(), mirror.truth["train_images"])


def test_cli_fetch_failure_is_one_error_line(tmp_path):
    """The cifar_data step with nothing reachable (official URLs unreachable offline, a dead mirror) exits 1."""
    proc = subprocess.run(
        [sys.executable, "-m", "kexue_repro.gan.cifar_data", "--settings", '{"fetch_retries": 0}',
         "--raw-dir", str(tmp_path / "raw"), "--mirror", "http://127.0.0.1:9", "--out", str(tmp_path / "c.npz"),
         "--checksums", "data/checksums/cifar10.csv",
         "--summary-out", str(tmp_path / "s.json")],
        capture_output=True, text=True, cwd=REPO, timeout=120, env={"PATH": "", "HTTPS_PROXY": "http://127.0.0.1:9"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cifar10/cifar-10-python.tar.gz" in lines[0]
    assert not (tmp_path / "c.npz").exists() and not (tmp_path / "s.json").exists()


def test_a_truncated_or_empty_cifar_file_is_one_line_naming_it(mirror, tmp_path):
    out = tmp_path / "cifar10.npz"
    cifar_data.prepare_cifar10(
        tmp_path / "raw", out, [mirror.base], 0, remotes(mirror, mirror.truth["sha256"])
    )
    whole = out.read_bytes()
    for name, content in (("empty.npz", b""), ("cut.npz", whole[: len(whole) // 2])):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError) as err:
            cifar_data.load_cifar10(tmp_path / name)
        message = str(err.value)
        assert message.startswith(f"{tmp_path / name}: not a prepared CIFAR-10 file") and "\n" not in message
