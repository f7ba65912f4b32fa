"""Shared fixtures: the repository, a disposable copy of it, the workflow's command-line tools, one run of
the whole pipeline at the tiny sizes (pushed to a DVC remote) for the end-to-end tests, and a real HTTP server
on 127.0.0.1 for the data layer's tests."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from step_settings import deep_merge


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster tests run last. They leave SLURM's client and /etc/slurm/slurm.conf installed, and once
    they are, every Snakemake start waits ~10 s: the SLURM executor plugin runs `scontrol show config` at
    import, which retries the stopped controller until its timeout. Last, they delay no other test."""
    items.sort(
        key=lambda item: item.get_closest_marker("cluster") is not None
    )  # stable: order kept otherwise


# The modules that read the session's tiny pipeline: under pytest-xdist they share one worker (else each
# worker would build its own pipeline), and run there in order (test_versioning's experiment changes it last).
TINY_PIPELINE_MODULES = ("tests/test_e2e.py", "tests/test_staleness.py", "tests/test_versioning.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`make test` runs two pytest-xdist workers with `--dist loadscope`: each module's tests on one worker, in
    order (its module fixtures made once), and the tiny pipeline's modules together. (pytest-xdist 3.8's own
    `loadgroup` cannot rename the node ids of pytest 9, so the groups are made here.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tiny_pipeline" if module in TINY_PIPELINE_MODULES else module

    return ByModule(config, log)


REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # ../shared beside the repository: data mirrors, reference cluster
BIN = Path(sys.executable).parent
# Nothing listens on port 1 of the loopback interface: a connection there is refused at once, offline.
CLOSED_URL = "http://127.0.0.1:1"


def tool(name: str) -> str:
    """A command-line tool of the environment running the tests (snakemake, dvc, snakefmt)."""
    return str(BIN / name)


def run(
    cmd: list[str], cwd: Path, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command with the test environment's tools first on PATH (as after `source .venv/bin/activate`),
    and ``env`` added to the environment."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def copy_repository(dest: Path) -> Path:
    """Copy the files git would carry (tracked, and new ones not ignored) to ``dest``: a fresh clone's view."""
    listing = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO).stdout
    for rel in filter(None, listing.split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return copy_repository(tmp_path / "repo")


def git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=cwd)


def make_tiny(repo: Path) -> None:
    """Write the tiny test sizes into params.yaml (DVC reads only params.yaml)."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    tiny = yaml.safe_load((repo / "tests/config/tiny.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump(deep_merge(params, tiny), sort_keys=False))


@dataclass
class Pipeline:
    root: Path  # holds origin.git, the default DVC remote (kexue-repro-dvc-storage) and the clones
    first: Path  # the clone that ran every stage with `dvc repro`, committed dvc.lock and pushed
    revision: str  # the commit the studies ran at
    repro_output: str  # what `dvc repro` printed

    def clone(self, name: str) -> Path:
        git(["clone", "-q", str(self.root / "origin.git"), str(self.root / name)], cwd=self.root)
        return self.root / name


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory) -> Pipeline:
    """The whole pipeline at the tiny sizes, once per session: a committed copy of the repository, a bare
    origin, and a clone that runs Snakemake and then `dvc repro` (every stage), commits dvc.lock, pushes it
    and `dvc push`es the outputs. Tests read `first` or clone anew; the one that changes `first` (a `dvc exp
    run`, in test_versioning.py) runs after every test that reads it."""
    root = tmp_path_factory.mktemp("pipeline")
    work = copy_repository(root / "work")
    make_tiny(work)
    git(["init", "-q", "-b", "main"], cwd=work)
    git(["add", "-A"], cwd=work)
    git(["commit", "-qm", "tiny"], cwd=work)
    git(["clone", "-q", "--bare", str(work), str(root / "origin.git")], cwd=root)
    pipeline = Pipeline(root, root / "first", "", "")
    first = pipeline.clone("first")
    pipeline.revision = git(["rev-parse", "HEAD"], cwd=first).stdout.strip()
    # The whole graph at once keeps both cores busy across studies (DVC runs its stages one after another);
    # then every stage runs, finds its Snakemake target done, and records it. The CLUE tasks tiny.yaml runs
    # come from the project's mirror of the official files, served on 127.0.0.1.
    with offline_mirror(SHARED / "data/clue") as mirror:
        run(
            [tool("snakemake"), "--profile", "workflow/profiles/local"],
            cwd=first,
            timeout=1800,
            env=mirror.env,
        )
        pipeline.repro_output = run([tool("dvc"), "repro"], cwd=first, timeout=1800, env=mirror.env).stdout
    git(["add", "dvc.lock"], cwd=first)
    git(["commit", "-qm", "results"], cwd=first)
    git(["push", "-q", "origin", "main"], cwd=first)
    run([tool("dvc"), "push"], cwd=first)
    return pipeline


def snakemake_jobs(output: str) -> dict[str, int]:
    """Jobs per rule from Snakemake's 'Job stats' table(s) in a run's (or a dry run's) output."""
    jobs: dict[str, int] = {}
    for table in re.findall(r"Job stats:\n(.*?)\ntotal", output, flags=re.S):
        for line in table.splitlines()[2:]:
            rule, count = line.split()
            jobs[rule] = jobs.get(rule, 0) + int(count)
    return jobs


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive holding ``members`` (name -> content), as bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """A ThreadingHTTPServer on a free port of 127.0.0.1, serving in a daemon thread; its URL is ``.base``.

    ``.hits`` (a Counter) and ``.lock`` are there for handlers that count requests by path."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.hits = Counter()
    httpd.lock = threading.Lock()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


class OfflineMirror(SimpleHTTPRequestHandler):
    """Serves a mirror folder; refuses (403) and records every proxied request (``server.refused``)."""

    def do_GET(self) -> None:
        if self.path.startswith(("http://", "https://")):  # absolute URI: a request for the outside
            self._refuse(self.path)
        else:
            super().do_GET()

    def do_CONNECT(self) -> None:  # the tunnel an https request through the proxy asks for
        self._refuse(f"https://{self.path}")

    def _refuse(self, target: str) -> None:
        with self.server.lock:
            self.server.refused.append(target)
        self.send_error(403, "offline: only the loopback mirror is reachable")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def offline_mirror(folder: str | os.PathLike) -> Iterator[ThreadingHTTPServer]:
    """``folder`` served on 127.0.0.1 as the data layer's mirror, the server also being every job's HTTP(S)
    proxy that refuses the rest: pass ``server.env`` to the jobs. The official URLs, which the data layer
    tries first, are refused at once, so the jobs never reach (or wait for) the internet."""
    with http_server(functools.partial(OfflineMirror, directory=str(folder))) as server:
        server.refused = []
        server.env = {"KEXUE_REPRO_MIRRORS": server.base, "HTTP_PROXY": server.base, "HTTPS_PROXY": server.base,
                      "NO_PROXY": "127.0.0.1,localhost"}  # fmt: skip
        yield server


class _QuietFileHandler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits[self.path] += 1
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


def serve_directory(root: str | os.PathLike) -> contextlib.AbstractContextManager[ThreadingHTTPServer]:
    """``http_server`` serving the files under ``root`` (404 for anything else), counting requests by path."""
    return http_server(functools.partial(_QuietFileHandler, directory=str(root)))
