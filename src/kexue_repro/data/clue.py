"""CLUE tasks: which files each task has, what they must hash to, and fetching a task through the data layer.

Sources of a task's files, in order:
1. the official archive ``<official base>/<task>_public.zip`` (also looked for as ``<base>/<task>/<task>_public.zip``
   under each mirror), downloaded with ``fetch`` and unpacked with the safe ``extract``; every member we keep is
   checked against the checksum table (``data/checksums/clue.csv``) before it is moved into place;
2. for each file the archive could not supply (unreachable, member absent, member failing its check), the
   mirrors file by file: ``<base>/<task>/<file>``, through ``fetch``.
Every file is fetched into a staging folder, checked, then renamed into ``dest_dir``: a file at its final path
has passed its check. ``fetch.json`` beside the files says, per file, where it came from, its sha256 and whether
it was verified, and which files are missing (with every URL tried).

Required files are the labelled dev set (C3: both halves; CHID: with its answer file) and labels.json where the
task has one; a required file missing everywhere is an error. Any other file missing everywhere (IFLYTEK's
train.json on the project's mirror) is a warning and an entry in ``fetch.json``: the prepare step then splits
dev (see ``clue_prepare``; the reading-comprehension and NER tasks refuse instead).

Archive checksum. Where the table has a row for the archive itself (``<task>_public.zip``: CLUENER, C3,
CMRC2018), the downloaded archive must match it: a mismatch makes the archive unusable (recorded in
``fetch.json``; the mirrors are then tried file by file, as for an unreachable archive). A member with no sha256
of its own (CLUE's C3 and CMRC2018 files) taken from a verified archive is verified by it (``check:
archive-sha256``); ``fetch.json`` keeps the archive's sha256 beside the member's, so a later fetch and the
prepare step recognise the same bytes again.

Mirror aliases (C3). The project's mirror holds the dataset owners' C3 files (nlpdata/c3) under their own names,
``c3-m-train.json`` for CLUE's ``m-train.json`` and so on: CLUE's repackaging (it adds question ids) has no
reachable copy, while the owners' files have known hashes. So a C3 file is looked for on the mirrors under
CLUE's name first, then under the owners' name, which is checked against the owners' row of the table; the file
is stored under CLUE's name, and ``fetch.json`` names the alias (``"alias": "c3-m-train.json"``) beside the
check. The map lives in the task's definition (``Task.mirror_aliases``), its one home: fetching, recognising a
file already present, and the prepare step all read it there.

Files without a known sha256 (CSL; CMNLI train and test; IFLYTEK train.json; CHID; CLUE's CMRC2018 and C3
files outside a verified archive). A careful engineer cannot obtain
the hash other than by downloading from the official source, so refusing would only make every full-scale run
pass a flag. Instead such a file is never called verified unless something checks it:
- where its git blob id is known (IFLYTEK train.json: a SHA-1 of the content, from public git copies), the
  file must match it or is rejected like a sha256 mismatch; a match is recorded as ``check: git-blob-sha1``;
- otherwise it is fetched, recorded in ``fetch.json`` with its measured sha256 and ``verified: false``, and a
  one-line warning goes to stderr; the prepare step carries the flag into meta.json, so every result built on
  it says so. Commit the measured hash to the checksums once a trusted copy confirms it.

    python -m kexue_repro.data.clue --settings JSON --task T --out-dir DIR --checksums CSV [--mirror BASE ...]
                                    [--official-base URL]          (the clue.fetch block; files to DIR/T/)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.data.checksums import Checksum, Table, dataset_checksums, load_checksums
from kexue_repro.data.download import (
    DownloadError,
    RemoteFile,
    UnsafeArchiveError,
    env_mirrors,
    extract,
    fetch_with_source,
    sha256_file,
)

OFFICIAL_BASE = "https://storage.googleapis.com/cluebenchmark/tasks"
MANIFEST = "fetch.json"


@dataclass(frozen=True)
class Task:
    """A CLUE task: the files we keep from its official archive, and which of them hold the labelled splits.

    ``kind`` is ``classification`` for the seven sentence tasks, else the reading-comprehension or NER task's
    kind (``ner``, ``choice``, ``span``, ``chid``); ``extra_train`` / ``extra_dev`` are the files read with
    ``train`` / ``dev`` (C3's d- half, CHID's answer files); ``mirror_aliases`` maps a file to the names it
    also has on the mirrors (see the module docstring)."""

    name: str
    train: str
    files: tuple[str, ...]
    labels_file: str | None = None
    dev: str = "dev.json"
    kind: str = "classification"
    extra_train: tuple[str, ...] = ()
    extra_dev: tuple[str, ...] = ()
    mirror_aliases: tuple[tuple[str, str], ...] = ()  # (file, its name on the mirrors)

    @property
    def train_files(self) -> tuple[str, ...]:
        return (self.train, *self.extra_train)

    @property
    def dev_files(self) -> tuple[str, ...]:
        return (self.dev, *self.extra_dev)

    @property
    def required(self) -> tuple[str, ...]:
        """Without these the task cannot be used: the labelled dev set and the label list."""
        return (*self.dev_files, self.labels_file) if self.labels_file else self.dev_files

    @property
    def archive(self) -> str:
        return f"{self.name}_public.zip"

    def aliases(self, name: str) -> tuple[str, ...]:
        """The other names ``name`` has on the mirrors, in the order they are tried."""
        return tuple(alias for file, alias in self.mirror_aliases if file == name)


_SPLITS = ("train.json", "dev.json", "test.json")
_C3_FILES = ("m-train.json", "d-train.json", "m-dev.json", "d-dev.json")
TASKS = {
    task.name: task
    for task in (
        Task(
            "tnews",
            "train.json",
            (*_SPLITS, "test1.0.json", "labels.json", "README.txt"),
            labels_file="labels.json",
        ),
        Task("iflytek", "train.json", (*_SPLITS, "labels.json"), labels_file="labels.json"),
        Task("afqmc", "train.json", _SPLITS),
        Task("ocnli", "train.50k.json", ("train.50k.json", "dev.json", "test.json")),
        Task("cmnli", "train.json", _SPLITS),
        Task("cluewsc2020", "train.json", _SPLITS),
        Task("csl", "train.json", _SPLITS),
        Task("cluener", "train.json", (*_SPLITS, "cluener_predict.json", "README.md"), kind="ner"),
        Task(
            "c3",
            "m-train.json",
            (*_C3_FILES, "test.json"),
            dev="m-dev.json",
            kind="choice",
            extra_train=("d-train.json",),
            extra_dev=("d-dev.json",),
            mirror_aliases=tuple((name, f"c3-{name}") for name in _C3_FILES),
        ),
        Task("cmrc2018", "train.json", ("train.json", "dev.json", "trial.json", "test.json"), kind="span"),
        Task(
            "chid",
            "train.json",
            ("train.json", "train_answer.json", "dev.json", "dev_answer.json", "test.json"),
            kind="chid",
            extra_train=("train_answer.json",),
            extra_dev=("dev_answer.json",),
        ),
    )
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown CLUE task {name!r}; known: {', '.join(TASKS)}") from None


def task_checksums(task: Task, checksums: Table) -> dict[str, Checksum]:
    """The rows of the task's files and of their mirror aliases; each must have one (empty: unknown)."""
    return dataset_checksums(
        checksums, task.name, [*task.files, *(alias for _, alias in task.mirror_aliases)]
    )


def git_blob_sha1(path: str | os.PathLike) -> str:
    """The id git gives the file's content: sha1 of ``blob <size>\\0`` followed by the bytes."""
    digest = hashlib.sha1(b"blob %d\0" % os.path.getsize(path))
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileCheck:
    sha256: str
    bytes: int
    verified: bool
    check: str  # sha256 | git-blob-sha1 | archive-sha256 | none
    problem: str | None = None  # why the file must be rejected
    alias: str | None = None  # the mirror name whose row verified it (C3)
    archive_sha256: str | None = None  # the verified archive it was taken from (check archive-sha256)


def check_file(path: str | os.PathLike, expected: Checksum) -> FileCheck:
    """Compare a file with what it is known to be; ``problem`` names both values on a mismatch."""
    sha256, size = sha256_file(path), os.path.getsize(path)
    if expected.sha256:
        if sha256 != expected.sha256:
            return FileCheck(
                sha256, size, False, "sha256", f"sha256 mismatch: expected {expected.sha256}, got {sha256}"
            )
        return FileCheck(sha256, size, True, "sha256")
    if expected.git_blob_sha1:
        blob = git_blob_sha1(path)
        if blob != expected.git_blob_sha1:
            problem = f"git blob id mismatch: expected {expected.git_blob_sha1}, got {blob}"
            return FileCheck(sha256, size, False, "git-blob-sha1", problem)
        return FileCheck(sha256, size, True, "git-blob-sha1")
    return FileCheck(sha256, size, False, "none")


def recognise_file(
    path: str | os.PathLike, task: Task, name: str, checksums: Table, entry: dict | None = None
) -> FileCheck:
    """What the file ``name`` of ``task`` found at ``path`` is known to be: checked against its own row; where
    that row has no hash, against its mirror aliases' rows, and then as the member of a verified archive that
    ``entry`` (the file's record in fetch.json) says it is, if the bytes and the archive's row are unchanged."""
    check = check_file(path, checksums[(task.name, name)])
    if check.verified or check.problem or check.check != "none":
        return check
    for alias in task.aliases(name):
        by_alias = check_file(path, checksums[(task.name, alias)])
        if by_alias.verified:
            return replace(by_alias, alias=alias)
    archive = checksums.get((task.name, task.archive))
    entry = entry if isinstance(entry, dict) else {}
    if (
        archive is not None
        and archive.sha256
        and entry.get("check") == "archive-sha256"
        and entry.get("archive_sha256") == archive.sha256
        and entry.get("sha256") == check.sha256
    ):
        return replace(check, verified=True, check="archive-sha256", archive_sha256=archive.sha256)
    return check


def fetch_task(
    task: str,
    dest_dir: str | os.PathLike,
    checksums: Table,
    mirrors: Iterable[str] = (),
    official_base: str = OFFICIAL_BASE,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = 60,
) -> dict:
    """Bring every file of ``task`` into ``dest_dir`` (see the module docstring); return the manifest written
    to ``dest_dir/fetch.json``. Mirrors are ``mirrors`` then ``$KEXUE_REPRO_MIRRORS``."""
    spec = get_task(task)
    expected = task_checksums(spec, checksums)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    mirrors = list(dict.fromkeys([*mirrors, *env_mirrors()]))
    previous = read_manifest_entries(dest / MANIFEST)
    (dest / MANIFEST).unlink(missing_ok=True)
    download = {"retries": retries, "backoff": backoff, "timeout": timeout}

    files, missing = {}, {}
    todo = []
    for name in [*spec.required, *(f for f in spec.files if f not in spec.required)]:
        present = dest / name
        if present.is_file():
            check = recognise_file(present, spec, name, checksums, previous.get(name))
            if check.verified:
                files[name] = _entry(previous.get(name, {}).get("source", "already present"), check)
                continue
            present.unlink()  # unverified copies are fetched again; a stale one must not be mistaken for new
        todo.append(name)

    archive = None
    if todo:
        staging = Path(tempfile.mkdtemp(dir=dest, prefix=".fetch.", suffix=".part"))
        try:
            archive_row = checksums.get((spec.name, spec.archive))
            archive, members = _fetch_archive(spec, official_base, mirrors, staging, download, archive_row)
            for name in todo:
                tried = []
                if name in members:
                    check = check_file(members[name], expected[name])
                    if check.check == "none" and archive.get("sha256"):  # the archive passed its sha256
                        check = replace(
                            check, verified=True, check="archive-sha256", archive_sha256=archive["sha256"]
                        )
                    if check.problem is None:
                        os.replace(members[name], dest / name)
                        files[name] = _entry(f"{archive['used']}#{name}", check)
                        continue
                    tried.append(f"{archive['used']}#{name}: {check.problem}")
                else:
                    tried.append(archive["error"] or f"{archive['used']}: no member named {name}")
                found = _fetch_from_mirrors(spec, name, checksums, mirrors, staging, download, tried)
                if found is not None:
                    source, check = found
                    os.replace(staging / name, dest / name)
                    files[name] = _entry(source, check)
                elif name in spec.required:
                    raise DownloadError(
                        f"clue task {task}: required file {name} is unavailable; tried {'; '.join(tried)}"
                    )
                else:
                    missing[name] = {"required": False, "tried": tried}
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    for name, entry in files.items():
        if not entry["verified"]:
            _warn(
                f"clue task {task}: {name} has no known hash; fetched UNVERIFIED from {entry['source']}"
                f" (sha256 {entry['sha256']}, recorded in {dest / MANIFEST})"
            )
    for name, entry in missing.items():
        _warn(f"clue task {task}: {name} is missing from every source ({'; '.join(entry['tried'])})")
    manifest = {"task": task, "archive": archive, "files": files, "missing": missing}
    write_json(dest / MANIFEST, manifest)
    return manifest


def _entry(source: str, check: FileCheck) -> dict:
    entry = {
        "source": source,
        "sha256": check.sha256,
        "bytes": check.bytes,
        "verified": check.verified,
        "check": check.check,
    }
    if check.alias is not None:
        entry["alias"] = check.alias
    if check.archive_sha256 is not None:
        entry["archive_sha256"] = check.archive_sha256
    return entry


def read_manifest_entries(manifest: str | os.PathLike) -> dict[str, dict]:
    """The file entries of an earlier fetch.json (where each file came from, how it was checked), so a reused
    file keeps its provenance; {} if there is none or it is unreadable."""
    try:
        files = json.loads(Path(manifest).read_text())["files"]
        return {name: {**entry, "source": entry["source"]} for name, entry in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _fetch_archive(
    spec: Task,
    official_base: str,
    mirrors: list[str],
    staging: Path,
    download: dict,
    expected: Checksum | None = None,
) -> tuple[dict, dict[str, Path]]:
    """Download (checked against ``expected``, the archive's row, if any) and safely unpack the task's archive
    into ``staging``: (its record, {file name: member path}).

    An unreachable, mismatching or unreadable archive is recorded and answered with no members; an unsafe one is
    an error.
    """
    name = spec.archive
    sha256 = expected.sha256 if expected is not None else None
    remote = RemoteFile(
        name, sha256, f"{official_base.rstrip('/')}/{name}", mirror_path=f"{spec.name}/{name}"
    )
    record = {"url": remote.url, "used": None, "error": None}
    if expected is not None:
        record["sha256"] = sha256
    try:
        path, record["used"] = fetch_with_source(
            remote, staging / "archive", mirrors, allow_unverified=sha256 is None, **download
        )
        extracted = extract(path, staging / "tree")
    except UnsafeArchiveError:
        raise
    except DownloadError as exc:
        record["error"] = str(exc)
        _note(f"clue task {spec.name}: official archive unusable, trying the mirrors file by file ({exc})")
        return record, {}
    by_name: dict[str, list[Path]] = {}
    for member in extracted:
        by_name.setdefault(member.name, []).append(member)
    # The archives hold their files at the top level; a single copy in a subfolder is accepted too.
    return record, {
        name: paths[0] for name, paths in by_name.items() if len(paths) == 1 and name in spec.files
    }


def _fetch_from_mirrors(
    spec: Task,
    name: str,
    checksums: Table,
    mirrors: list[str],
    staging: Path,
    download: dict,
    tried: list[str],
) -> tuple[str, FileCheck] | None:
    """Fetch ``name`` from the mirrors into ``staging/name``, under its own name and then under each alias
    (checked against the alias's row); return (its URL, its check), or None (reasons in ``tried``)."""
    if not mirrors:
        tried.append("no mirror configured")
        return None
    for mirror_name in (name, *spec.aliases(name)):
        expected = checksums[(spec.name, mirror_name)]
        path = f"{spec.name}/{mirror_name}"
        remote = RemoteFile(name, expected.sha256, f"{mirrors[0].rstrip('/')}/{path}", mirror_path=path)
        try:
            fetched, url = fetch_with_source(
                remote, staging, mirrors, allow_unverified=expected.sha256 is None, **download
            )
        except DownloadError as exc:
            tried.append(str(exc))
            continue
        check = check_file(fetched, expected)
        if check.problem is not None:  # only a git blob id can disagree here: fetch verified any sha256
            fetched.unlink()
            tried.append(f"{url}: {check.problem}")
            continue
        return url, check if mirror_name == name else replace(check, alias=mirror_name)
    return None


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def split_task(task: str, default_model: str) -> tuple[str, str]:
    """A run task 'tnews@RoBERTa-wwm-ext' (scales with several models) -> ('tnews', 'RoBERTa-wwm-ext');
    a plain 'tnews' is a run of ``default_model``."""
    name, _, model = task.partition("@")
    return name, model or default_model


@dataclass(frozen=True)
class FetchConfig:
    """The ``clue.fetch`` settings."""

    retries: int  # extra attempts per source after a transient failure


def _main(args: argparse.Namespace) -> None:
    config = build(FetchConfig, args.settings, "clue.fetch")
    dest = Path(args.out_dir) / args.task
    manifest = fetch_task(
        args.task,
        dest,
        load_checksums(args.checksums),
        mirrors=args.mirror,
        official_base=args.official_base,
        retries=config.retries,
    )
    for name, entry in manifest["files"].items():
        state = f"verified ({entry['check']})" if entry["verified"] else "UNVERIFIED"
        if "alias" in entry:
            state += f" as {entry['alias']}"
        print(f"{dest / name}: {state}, from {entry['source']}")
    for name in manifest["missing"]:
        print(f"{dest / name}: missing")
    print(dest / MANIFEST)


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.data.clue", __doc__, "clue.fetch")
    parser.add_argument("--task", required=True, choices=list(TASKS), help="the CLUE task")
    parser.add_argument("--out-dir", required=True, help="root of the raw CLUE files (data/raw/clue)")
    parser.add_argument("--checksums", required=True, help="data/checksums/clue.csv")
    parser.add_argument(
        "--mirror", action="append", default=[], metavar="BASE", help="mirror base URL (<base>/<task>/<file>)"
    )
    parser.add_argument("--official-base", default=OFFICIAL_BASE, help="where <task>_public.zip lives")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
