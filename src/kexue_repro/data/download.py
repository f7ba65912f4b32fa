"""Fetch files by URL, with mirrors, retries and sha256 verification, and extract archives safely.

A fetched file appears at its target path verified, or not at all; an archive's contents appear in
the destination directory only after every member has been checked and extracted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

import requests
import urllib3
from tqdm import tqdm

from kexue_repro.common.atomic import atomic_path

MIRRORS_ENV = "KEXUE_REPRO_MIRRORS"

_CHUNK = 1 << 16
_PROGRESS_MIN_BYTES = 1 << 20
_TRANSIENT_STATUSES = frozenset({408, 425, 429})  # and every 5xx
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")

log = logging.getLogger(__name__)


class DownloadError(OSError):
    """A fetch or an extraction failed. The message is one line naming the URL(s) or the archive."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


class UnsafeArchiveError(DownloadError):
    """An archive member would be written outside the extraction directory."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch.

    ``mirror_path`` is the file's path relative to a mirror's base URL; it defaults to ``name``.
    ``sha256`` is None when no trusted hash is known: ``fetch`` then needs ``allow_unverified=True``,
    and the caller is responsible for recording the measured hash and saying the file is unverified.
    """

    name: str
    sha256: str | None
    url: str
    mirror_path: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if self.name in ("", ".", "..") or "/" in self.name or "\\" in self.name:
            raise ValueError(f"name must be a plain file name, got {self.name!r}")

    def urls(self, mirrors: Iterable[str] = ()) -> list[str]:
        """The official URL, then the file's URL under each mirror base, without duplicates."""
        path = (self.mirror_path or self.name).lstrip("/")
        return list(dict.fromkeys([self.url, *(f"{base.rstrip('/')}/{path}" for base in mirrors)]))


def env_mirrors() -> list[str]:
    """Mirror base URLs from ``$KEXUE_REPRO_MIRRORS`` (separated by whitespace or commas)."""
    return [base for base in re.split(r"[\s,]+", os.environ.get(MIRRORS_ENV, "")) if base]


def sha256_file(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch(
    remote: RemoteFile,
    dest_dir: str | os.PathLike,
    mirrors: Iterable[str] = (),
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = 60,
    allow_unverified: bool = False,
) -> Path:
    """Return ``dest_dir/remote.name`` holding the verified file, downloading it only if needed.

    Sources are tried in order: the official URL, then ``mirrors``, then ``$KEXUE_REPRO_MIRRORS``.
    Each source gets ``retries`` more attempts after a transient failure (connection error,
    timeout, 5xx, truncated body), waiting ``backoff * 2**k`` seconds; any other failure (404, 403,
    hash mismatch, a host name that does not resolve) moves on to the next source at once.

    A file without a known sha256 (``remote.sha256 is None``) is refused unless ``allow_unverified``;
    when allowed, it is downloaded again on every call (a present copy has nothing to be checked
    against) and only its completeness is checked.
    """
    return fetch_with_source(remote, dest_dir, mirrors, retries, backoff, timeout, allow_unverified)[0]


def fetch_with_source(
    remote: RemoteFile,
    dest_dir: str | os.PathLike,
    mirrors: Iterable[str] = (),
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = 60,
    allow_unverified: bool = False,
) -> tuple[Path, str | None]:
    """``fetch``, also returning the URL the file came from (None if a verified copy was already there)."""
    if remote.sha256 is None and not allow_unverified:
        raise ValueError(f"{remote.name}: no sha256 is known, and fetching it unverified was not allowed")
    target = Path(dest_dir) / remote.name
    if remote.sha256 is not None and target.is_file():
        if sha256_file(target) == remote.sha256:
            return target, None
        # An unverified file must never sit at the target, not even if the refetch fails.
        log.info("%s does not match its sha256; fetching it again", target)
        target.unlink()
    failures = []
    with requests.Session() as session:
        for url in remote.urls([*mirrors, *env_mirrors()]):
            try:
                _fetch_from(session, url, target, remote.sha256, retries, backoff, timeout)
                return target, url
            except _SourceError as exc:
                log.info("%s: %s", url, exc)
                failures.append(f"{url}: {exc}")
    raise DownloadError(f"could not fetch {remote.name}: " + "; ".join(failures))


class _SourceError(Exception):
    def __init__(self, reason: str, transient: bool) -> None:
        super().__init__(_one_line(reason))
        self.transient = transient


def _fetch_from(
    session: requests.Session,
    url: str,
    target: Path,
    sha256: str | None,
    retries: int,
    backoff: float,
    timeout: float,
) -> None:
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            return _download(session, url, target, sha256, timeout)
        except _SourceError as exc:
            if not exc.transient or attempt == retries:
                raise
            log.info("%s: %s; retrying", url, exc)


def _download(session: requests.Session, url: str, target: Path, sha256: str | None, timeout: float) -> None:
    try:
        # Ask for the bytes as stored, so Content-Length counts exactly what we hash.
        with session.get(
            url, stream=True, timeout=timeout, headers={"Accept-Encoding": "identity"}
        ) as response:
            status = response.status_code
            if status >= 400:
                raise _SourceError(
                    f"HTTP {status} {response.reason}",
                    transient=status >= 500 or status in _TRANSIENT_STATUSES,
                )
            expected_size = _content_length(response)
            digest, size = hashlib.sha256(), 0
            with atomic_path(target) as tmp:
                with tmp.open("wb") as out, _progress(target.name, expected_size) as bar:
                    try:
                        for chunk in response.iter_content(_CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                            bar.update(len(chunk))
                    except requests.exceptions.ChunkedEncodingError as exc:
                        raise _SourceError(
                            "truncated body: connection broken mid-body", transient=True
                        ) from exc
                if expected_size is not None and size != expected_size:
                    raise _SourceError(f"truncated body: got {size} of {expected_size} bytes", transient=True)
                if sha256 is not None and digest.hexdigest() != sha256:
                    raise _SourceError(
                        f"sha256 mismatch: expected {sha256}, got {digest.hexdigest()}", transient=False
                    )
    except (requests.ConnectionError, requests.Timeout) as exc:
        # As curl's --retry: an unknown host stays unknown (offline, or a wrong mirror), so it is not retried.
        raise _SourceError(f"{type(exc).__name__}: {exc}", transient=not _unresolved_host(exc)) from exc
    except requests.RequestException as exc:  # a malformed URL, too many redirects, ...
        raise _SourceError(f"{type(exc).__name__}: {exc}", transient=False) from exc


def _unresolved_host(exc: requests.RequestException) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NameResolutionError)


def _content_length(response: requests.Response) -> int | None:
    """The body's size in bytes, if the server states it for the bytes we will receive."""
    if response.headers.get("Content-Encoding", "identity") != "identity":
        return None
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _progress(name: str, total: int | None) -> tqdm:
    quiet = (
        bool(os.environ.get("CI"))
        or not sys.stderr.isatty()
        or (total is not None and total < _PROGRESS_MIN_BYTES)
    )
    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024, disable=quiet)


def extract(archive: str | os.PathLike, dest_dir: str | os.PathLike) -> list[Path]:
    """Extract a .zip or .tar[.gz|.bz2|.xz]/.tgz archive into ``dest_dir``; return the extracted files.

    Every member is checked before anything is written. The archive is extracted into a temporary
    sibling of ``dest_dir`` and then renamed into place: as a whole if ``dest_dir`` does not exist,
    else entry by top-level entry, replacing entries of the same name and keeping all others.
    """
    archive, dest = Path(archive), Path(dest_dir)
    lower = archive.name.lower()
    if not lower.endswith((".zip", *_TAR_SUFFIXES)):
        raise DownloadError(f"{archive}: unsupported archive type (expected .zip, .tar, .tar.gz or .tgz)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part"))
    try:
        tree, replaced = staging / "tree", staging / "replaced"
        tree.mkdir()
        replaced.mkdir()
        try:
            if lower.endswith(".zip"):
                members = _extract_zip(archive, tree)
            else:
                members = _extract_tar(archive, tree)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise DownloadError(f"{archive}: cannot read archive: {type(exc).__name__}: {exc}") from exc
        if dest.exists():
            for entry in tree.iterdir():
                existing = dest / entry.name
                if existing.exists() or existing.is_symlink():
                    os.replace(existing, replaced / entry.name)
                os.replace(entry, existing)
        else:
            os.replace(tree, dest)
        return [dest / member for member in members]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract_zip(archive: Path, tree: Path) -> list[PurePosixPath]:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        paths = [_member_path(archive, info.filename) for info in infos]
        zf.extractall(tree, members=infos)
    return list(dict.fromkeys(path for path, info in zip(paths, infos) if not info.is_dir()))


def _extract_tar(archive: Path, tree: Path) -> list[PurePosixPath]:
    with tarfile.open(archive, "r:*") as tf:
        members = tf.getmembers()
        paths = [_check_tar_member(archive, member) for member in members]
        try:
            # The data filter also resolves links against what is already on disk, catching
            # chains of individually harmless links that together escape.
            tf.extractall(tree, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise UnsafeArchiveError(f"{archive}: unsafe member {exc.tarinfo.name!r}: {exc}") from exc
    return list(dict.fromkeys(path for path, member in zip(paths, members) if not member.isdir()))


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> PurePosixPath:
    path = _member_path(archive, member.name)
    if member.issym():
        link_target = posixpath.join(posixpath.dirname(member.name), member.linkname)
    elif member.islnk():
        link_target = member.linkname  # hard links are relative to the archive's root
    elif member.isfile() or member.isdir():
        return path
    else:
        raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a device, fifo or other special file")
    if posixpath.isabs(member.linkname) or _escapes(link_target):
        raise UnsafeArchiveError(
            f"{archive}: member {member.name!r} links to {member.linkname!r}, outside the destination"
        )
    return path


def _member_path(archive: Path, name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} would be written outside the destination")
    return path


def _escapes(relative: str) -> bool:
    normalized = posixpath.normpath(relative)
    return normalized == ".." or normalized.startswith("../")


def _one_line(text: str) -> str:
    return " ".join(text.split())
