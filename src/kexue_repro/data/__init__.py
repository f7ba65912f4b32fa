"""Fetching the files studies depend on: verified downloads with mirrors, and safe archive extraction."""

from kexue_repro.data.download import (
    MIRRORS_ENV,
    DownloadError,
    RemoteFile,
    UnsafeArchiveError,
    env_mirrors,
    extract,
    fetch,
    fetch_with_source,
    sha256_file,
)

__all__ = [
    "MIRRORS_ENV",
    "DownloadError",
    "RemoteFile",
    "UnsafeArchiveError",
    "env_mirrors",
    "extract",
    "fetch",
    "fetch_with_source",
    "sha256_file",
]
