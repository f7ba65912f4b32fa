"""workflow/lib/lock_guard.py: before a DVC stage runs Snakemake, params are checked and outputs that neither
dvc.lock nor Snakemake vouches for are removed (so they are rebuilt, never built upon)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import yaml
from snakemake.persistence import MetadataRecord
from snakemake.persistence.file import FilePersistence

import lock_guard
from conftest import REPO


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def workspace(tmp_path):
    """A stage `study` whose dvc.lock records claims.json and a folder runs/ (a.json, b.json), all present."""
    (tmp_path / "workflow").mkdir()
    os.symlink(REPO / "workflow/schemas", tmp_path / "workflow/schemas")
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    files = {
        "results/study/claims.json": "[1]",
        "results/study/runs/a.json": "a",
        "results/study/runs/b.json": "b",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    listing = json.dumps(
        [{"md5": md5(files[f"results/study/runs/{n}"]), "relpath": n} for n in ("a.json", "b.json")]
    )
    folder = md5(listing)
    (tmp_path / ".dvc/cache/files/md5" / folder[:2]).mkdir(parents=True)
    (tmp_path / ".dvc/cache/files/md5" / folder[:2] / f"{folder[2:]}.dir").write_text(listing)
    outs = [
        {"path": "results/study/claims.json", "hash": "md5", "md5": md5("[1]")},
        {"path": "results/study/runs", "hash": "md5", "md5": f"{folder}.dir"},
    ]
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {"study": {"outs": outs}}}))
    return tmp_path


def snakemake_wrote(root, name: str) -> None:
    """Record ``name`` as Snakemake records a finished job's output: its end time is the file's mtime."""
    record = MetadataRecord(rule="r", incomplete=False, endtime=(root / name).stat().st_mtime)
    FilePersistence(nolock=True, path=root / ".snakemake")._write_record(name, record)


def present(root) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / "results").rglob("*") if p.is_file()}


def test_outputs_equal_to_the_lock_are_kept(workspace):
    assert lock_guard.guard("study", workspace) == []
    assert len(present(workspace)) == 3


def test_an_output_edited_by_hand_is_removed(workspace):
    (workspace / "results/study/runs/a.json").write_text("tampered")
    (workspace / "results/study/claims.json").write_text("[2]")
    removed = lock_guard.guard("study", workspace)
    assert sorted(str(p.relative_to(workspace)) for p in removed) == [
        "results/study/claims.json",
        "results/study/runs/a.json",
    ]
    assert present(workspace) == {"results/study/runs/b.json"}


def test_a_newer_result_snakemake_wrote_is_kept_and_an_edit_after_it_is_not(workspace):
    (workspace / "results/study/runs/a.json").write_text("rerun with new settings")
    snakemake_wrote(workspace, "results/study/runs/a.json")
    assert lock_guard.guard("study", workspace) == []
    os.utime(workspace / "results/study/runs/a.json", (1, 1))  # changed after Snakemake wrote it
    assert lock_guard.guard("study", workspace) == [workspace / "results/study/runs/a.json"]


def test_files_the_lock_does_not_list_are_left_to_snakemake(workspace):
    (workspace / "results/study/runs/c.json").write_text("a run the lock has not seen yet")
    for listing in (workspace / ".dvc/cache").rglob("*.dir"):
        listing.unlink()  # a clone that never pulled: the folder's listing is unknown
    (workspace / "results/study/runs/a.json").write_text("unknown")
    assert lock_guard.guard("study", workspace) == []
    assert len(present(workspace)) == 4


def test_bad_params_are_refused_before_any_output_is_touched(workspace):
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["vae"]["train"]["hiden"] = 3
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    (workspace / "results/study/claims.json").write_text("tampered")
    with pytest.raises(ValueError, match=r"^params.yaml: key 'vae.train.hiden': unknown key$"):
        lock_guard.guard("study", workspace)
    assert (workspace / "results/study/claims.json").read_text() == "tampered"


def test_a_yaml_syntax_error_names_the_file_and_line(workspace, capsys, monkeypatch):
    text = (workspace / "params.yaml").read_text().replace("scale: smoke", "scale: [smoke")
    (workspace / "params.yaml").write_text(text)
    line = text.splitlines().index("scale: [smoke") + 1
    monkeypatch.chdir(workspace)
    assert lock_guard.main(["study"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: params.yaml, line ")
    assert err.rstrip().endswith(f"while parsing a flow sequence at line {line})")
    assert len(present(workspace)) == 3
