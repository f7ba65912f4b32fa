"""The data layer against a real HTTP server on 127.0.0.1: downloads, mirrors, retries, archives, CLI."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import sys
import tarfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from kexue_repro.data import DownloadError, RemoteFile, UnsafeArchiveError, extract, fetch, sha256_file

from conftest import CLOSED_URL, http_server, zip_bytes


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD = b"the good file\n" * 100
OTHER = b"not the file you expected\n"
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
GOOD_ZIP = zip_bytes({"data/a.txt": b"alpha", "data/sub/b.txt": b"beta", "top.txt": b"top"})
EVIL_ZIP = zip_bytes({"fine.txt": b"fine", "../evil.txt": b"evil"})
EVIL_TAR_GZ = _tar_gz({"fine.txt": b"fine", "../evil.txt": b"evil"})

FILES = {
    "/good.bin": GOOD,
    "/mirror/data/good.bin": GOOD,
    "/wrong.bin": OTHER,
    "/good.zip": GOOD_ZIP,
    "/evil.zip": EVIL_ZIP,
    "/evil.tar.gz": EVIL_TAR_GZ,
}


class _Handler(BaseHTTPRequestHandler):
    """Serves FILES; ``/flaky/N/...`` answers 503 to its first N requests, then GOOD;
    ``/truncated/...`` promises more bytes than it sends; anything else is 404.
    Every request is counted in ``server.hits`` by path."""

    def do_GET(self) -> None:
        hits = self.server.hits
        with self.server.lock:
            hits[self.path] += 1
            count = hits[self.path]
        if self.path in FILES:
            self._send(200, FILES[self.path])
        elif self.path.startswith("/flaky/"):
            failures = int(self.path.split("/")[2])
            if count <= failures:
                self._send(503, b"busy")
            else:
                self._send(200, GOOD)
        elif self.path.startswith("/truncated/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD[:100])
            self.close_connection = True
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    with http_server(_Handler) as httpd:
        yield httpd


@pytest.fixture(autouse=True)
def no_env_mirrors(monkeypatch):
    monkeypatch.delenv("KEXUE_REPRO_MIRRORS", raising=False)


def _remote(
    url: str, sha: str | None = GOOD_SHA, name: str = "good.bin", mirror_path: str | None = None
) -> RemoteFile:
    return RemoteFile(name, sha, url, mirror_path)


def _fetch_error(remote: RemoteFile, dest: Path, **kwargs) -> str:
    with pytest.raises(DownloadError) as info:
        fetch(remote, dest, backoff=0, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_file_is_verified_and_second_fetch_is_offline(server, tmp_path):
    remote = _remote(f"{server.base}/good.bin")
    path = fetch(remote, tmp_path)
    assert path == tmp_path / "good.bin"
    assert path.read_bytes() == GOOD and sha256_file(path) == GOOD_SHA
    hits = sum(server.hits.values())
    assert fetch(remote, tmp_path) == path
    assert sum(server.hits.values()) == hits
    assert os.listdir(tmp_path) == ["good.bin"]


def test_404_names_url_and_leaves_nothing(server, tmp_path):
    url = f"{server.base}/missing.bin"
    message = _fetch_error(_remote(url), tmp_path)
    assert url in message and "404" in message
    assert server.hits["/missing.bin"] == 1  # not retried
    assert os.listdir(tmp_path) == []


def test_hash_mismatch_names_both_hashes_and_leaves_nothing(server, tmp_path):
    url = f"{server.base}/wrong.bin"
    message = _fetch_error(_remote(url), tmp_path)
    assert url in message and GOOD_SHA in message and hashlib.sha256(OTHER).hexdigest() in message
    assert os.listdir(tmp_path) == []


def test_truncated_body_is_retried_then_fails_leaving_nothing(server, tmp_path):
    url = f"{server.base}/truncated/1"
    message = _fetch_error(_remote(url), tmp_path, retries=1)
    assert url in message and "truncated body" in message
    assert server.hits["/truncated/1"] == 2
    assert os.listdir(tmp_path) == []


def test_mirror_argument_is_used_after_official_404(server, tmp_path):
    remote = _remote(f"{server.base}/missing/good.bin", mirror_path="data/good.bin")
    path = fetch(remote, tmp_path, mirrors=[f"{server.base}/mirror/"])
    assert path.read_bytes() == GOOD


def test_env_mirrors_are_used_after_argument_mirrors(server, tmp_path, monkeypatch):
    monkeypatch.setenv("KEXUE_REPRO_MIRRORS", f" {server.base}/env-empty ,\n{server.base}/mirror ")
    remote = _remote(f"{server.base}/missing/good.bin", mirror_path="/data/good.bin")
    path = fetch(remote, tmp_path, mirrors=[f"{server.base}/arg-empty"])
    assert path.read_bytes() == GOOD
    assert server.hits["/arg-empty/data/good.bin"] == 1 and server.hits["/env-empty/data/good.bin"] == 1


def test_all_sources_failing_names_each_url_and_reason(server, tmp_path):
    remote = _remote(f"{server.base}/missing/x.bin", mirror_path="wrong.bin")
    message = _fetch_error(remote, tmp_path, mirrors=[server.base])
    assert f"{server.base}/missing/x.bin: HTTP 404" in message
    assert f"{server.base}/wrong.bin: sha256 mismatch" in message
    assert os.listdir(tmp_path) == []


def test_flaky_source_recovers_with_retries(server, tmp_path):
    path = fetch(_remote(f"{server.base}/flaky/2/a"), tmp_path, retries=2, backoff=0.001)
    assert path.read_bytes() == GOOD
    assert server.hits["/flaky/2/a"] == 3


def test_flaky_source_fails_when_retries_are_exhausted(server, tmp_path):
    url = f"{server.base}/flaky/5/b"
    message = _fetch_error(_remote(url), tmp_path, retries=2)
    assert url in message and "503" in message
    assert server.hits["/flaky/5/b"] == 3
    assert os.listdir(tmp_path) == []


def test_corrupted_target_is_replaced_by_verified_download(server, tmp_path):
    (tmp_path / "good.bin").write_bytes(b"corrupted")
    path = fetch(_remote(f"{server.base}/good.bin"), tmp_path)
    assert path.read_bytes() == GOOD
    assert os.listdir(tmp_path) == ["good.bin"]


def test_corrupted_target_is_removed_even_if_refetch_fails(server, tmp_path):
    (tmp_path / "good.bin").write_bytes(b"corrupted")
    _fetch_error(_remote(f"{server.base}/missing.bin"), tmp_path)
    assert os.listdir(tmp_path) == []


def test_unreachable_source_is_one_line_error(tmp_path):
    url = f"{CLOSED_URL}/good.bin"
    message = _fetch_error(_remote(url), tmp_path, retries=0, timeout=2)
    assert url in message


def test_a_host_that_does_not_resolve_is_not_retried(server, tmp_path, caplog):
    unknown = "http://mirror.invalid/good.bin"  # .invalid never resolves (RFC 6761)
    with caplog.at_level(logging.INFO, logger="kexue_repro.data.download"):
        message = _fetch_error(_remote(unknown), tmp_path, mirrors=[f"{server.base}/flaky/5"], retries=2)
    assert f"{unknown}: ConnectionError" in message and "resolve" in message
    assert server.hits["/flaky/5/good.bin"] == 3, "a 503 is transient: tried again, twice"
    retrying = [record.getMessage() for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retrying) == 2 and not any(line.startswith(unknown) for line in retrying)


def test_unknown_hash_is_refused_unless_allowed_then_fetched_again_each_time(server, tmp_path):
    remote = _remote(f"{server.base}/good.bin", sha=None)
    with pytest.raises(ValueError, match="good.bin"):
        fetch(remote, tmp_path)
    assert os.listdir(tmp_path) == []
    path = fetch(remote, tmp_path, allow_unverified=True)
    assert sha256_file(path) == GOOD_SHA
    hits = server.hits["/good.bin"]
    fetch(remote, tmp_path, allow_unverified=True)
    assert server.hits["/good.bin"] == hits + 1


def test_remote_file_rejects_bad_hash_and_path_names():
    with pytest.raises(ValueError):
        RemoteFile("good.bin", "ABC", "http://x/good.bin")
    with pytest.raises(ValueError):
        RemoteFile("../good.bin", GOOD_SHA, "http://x/good.bin")


def test_good_zip_extracts(server, tmp_path):
    archive = fetch(
        _remote(f"{server.base}/good.zip", hashlib.sha256(GOOD_ZIP).hexdigest(), "good.zip"),
        tmp_path / "downloads",
    )
    dest = tmp_path / "out"
    files = extract(archive, dest)
    assert sorted(files) == sorted([dest / "data/a.txt", dest / "data/sub/b.txt", dest / "top.txt"])
    assert (dest / "data/sub/b.txt").read_bytes() == b"beta"
    assert sorted(os.listdir(tmp_path)) == ["downloads", "out"]


def test_extract_into_existing_dir_keeps_other_entries_and_replaces_same_names(tmp_path):
    archive = tmp_path / "good.zip"
    archive.write_bytes(GOOD_ZIP)
    (tmp_path / "top.txt").write_bytes(b"old")
    extract(archive, tmp_path)
    extract(archive, tmp_path)  # idempotent
    assert (tmp_path / "top.txt").read_bytes() == b"top"
    assert sorted(os.listdir(tmp_path)) == ["data", "good.zip", "top.txt"]


@pytest.mark.parametrize("name, data", [("evil.zip", EVIL_ZIP), ("evil.tar.gz", EVIL_TAR_GZ)])
def test_unsafe_archive_is_refused_before_writing_anything(tmp_path, name, data):
    archive = tmp_path / "in" / name
    archive.parent.mkdir()
    archive.write_bytes(data)
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("kept")
    with pytest.raises(UnsafeArchiveError) as info:
        extract(archive, dest)
    message = str(info.value)
    assert "\n" not in message and name in message and "../evil.txt" in message
    assert os.listdir(dest) == ["keep.txt"]
    assert sorted(os.listdir(tmp_path)) == ["in", "out"]


def _tar_with_link(tmp_path: Path, name: str, link: str, kind: bytes) -> Path:
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        tf.addfile(info)
    return archive


@pytest.mark.parametrize(
    "link, kind",
    [
        ("../../etc/passwd", tarfile.SYMTYPE),
        ("/etc/passwd", tarfile.SYMTYPE),
        ("../outside", tarfile.LNKTYPE),
    ],
)
def test_tar_links_pointing_outside_are_refused(tmp_path, link, kind):
    archive = _tar_with_link(tmp_path, "sub/link", link, kind)
    with pytest.raises(UnsafeArchiveError, match="sub/link"):
        extract(archive, tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["links.tar"]


def test_tar_link_chain_escaping_together_is_refused(tmp_path):
    archive = tmp_path / "chain.tar"
    with tarfile.open(archive, "w") as tf:
        for name, link in [("l1", "."), ("l2", "l1/..")]:  # each looks inside; l2 resolves to out/..
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, link
            tf.addfile(info)
    with pytest.raises(UnsafeArchiveError, match="l2"):
        extract(archive, tmp_path / "out")
    assert os.listdir(tmp_path) == ["chain.tar"]


def test_tar_link_inside_is_allowed(tmp_path):
    archive = _tar_with_link(tmp_path, "sub/link", "../top.txt", tarfile.SYMTYPE)
    assert extract(archive, tmp_path / "out") == [tmp_path / "out/sub/link"]
    assert os.readlink(tmp_path / "out/sub/link") == "../top.txt"


def test_unreadable_archive_is_one_line_error(tmp_path):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"not a tarball")
    with pytest.raises(DownloadError) as info:
        extract(archive, tmp_path / "out")
    assert "\n" not in str(info.value) and "broken.tar.gz" in str(info.value)
    assert os.listdir(tmp_path) == ["broken.tar.gz"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KEXUE_REPRO_MIRRORS"}
    return subprocess.run(
        [sys.executable, "-m", "kexue_repro.data", *args], capture_output=True, text=True, env=env, timeout=30
    )


def test_cli_fetch_prints_path(server, tmp_path):
    result = _cli(
        "fetch",
        "--url",
        f"{server.base}/missing/good.bin",
        "--sha256",
        GOOD_SHA,
        "--name",
        "good.bin",
        "--dest",
        str(tmp_path),
        "--mirror",
        f"{server.base}/mirror",
        "--mirror-path",
        "data/good.bin",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'good.bin'}\n"
    assert (tmp_path / "good.bin").read_bytes() == GOOD


def test_cli_wrong_hash_exits_1_with_one_stderr_line(server, tmp_path):
    url = f"{server.base}/wrong.bin"
    result = _cli("fetch", "--url", url, "--sha256", GOOD_SHA, "--name", "x.bin", "--dest", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and url in result.stderr and GOOD_SHA in result.stderr
    assert os.listdir(tmp_path) == []
