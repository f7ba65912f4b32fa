"""Where a study's results came from: git revision, a hash of its parameters, package versions, device, seeds.

Every study's claims step writes results/<study>/provenance.json through the shared ledger options
(``kexue_repro.common.cli.add_ledger_arguments``); the Snakemake claims rules pass ``provenance_options``.
The file is kept apart from claims.json and metrics.json, whose bytes must not change with the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
from importlib import metadata
from typing import Any

from kexue_repro.common.atomic import write_json
from kexue_repro.common.params import params_block

PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "numpy",
    "pandas",
    "scipy",
    "snakemake",
    "dvc",
    "kexue-repro",
)
SEED_KEYS = ("seed", "seeds")
DVC_WRITTEN = (":(exclude)dvc.lock", ":(exclude,glob)**/.gitignore")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def params_sha256(block: Any) -> str:
    """sha256 of a params block as canonical JSON: equal parameters, equal hash, whatever the YAML layout."""
    return hashlib.sha256(canonical_json(block).encode("utf-8")).hexdigest()


def seed_params(block: Any, scale: str, prefix: str = "") -> dict[str, Any]:
    """Every seed of a params block (keys seed, seeds or *_seed), by dotted path; of `scales`, only ``scale``."""
    found: dict[str, Any] = {}
    if isinstance(block, dict):
        for key, value in block.items():
            if key == "scales" and isinstance(value, dict):
                found.update(seed_params(value.get(scale, {}), scale, f"{prefix}scales.{scale}."))
            elif key in SEED_KEYS or str(key).endswith("_seed"):
                found[f"{prefix}{key}"] = value
            else:
                found.update(seed_params(value, scale, f"{prefix}{key}."))
    elif isinstance(block, list):
        for index, item in enumerate(block):
            found.update(seed_params(item, scale, f"{prefix}{index}."))
    return found


def provenance_options(config: dict[str, Any], study: str) -> str:
    """The claims step's provenance options for ``study``, shell-quoted (a Snakemake rule's params value)."""
    block = config[params_block(study)]
    options = {
        "--provenance-study": study,
        "--provenance-params-sha256": params_sha256(block),
        "--provenance-seeds": canonical_json(seed_params(block, config["scale"])),
        "--provenance-device": config.get("device", "auto"),
    }
    return " ".join(f"{flag} {shlex.quote(str(value))}" for flag, value in options.items())


def git_state(cwd: str | os.PathLike = ".") -> dict[str, Any] | None:
    """HEAD's commit and whether tracked files differ from it, leaving out what DVC itself rewrites during a
    run (dvc.lock, the .gitignore files beside its outputs)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        revision = git("rev-parse", "HEAD")
        changes = git("status", "--porcelain", "--untracked-files=no", "--", ".", *DVC_WRITTEN)
    except (OSError, subprocess.SubprocessError):  # no git, or not a repository
        return None
    return {"revision": revision, "dirty": bool(changes)}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_state(requested: str) -> dict[str, Any]:
    """The device ``requested`` resolves to on this host (the one the claims step ran on)."""
    if requested == "cpu":
        return {"requested": requested, "resolved": "cpu", "name": platform.machine()}
    import torch  # only here: the leaderboard's claims step need not pay for importing torch

    if torch.cuda.is_available():
        return {"requested": requested, "resolved": "cuda", "name": torch.cuda.get_device_name(0)}
    resolved = "cpu" if requested == "auto" else f"{requested} (not visible on this host)"
    return {"requested": requested, "resolved": resolved, "name": platform.machine()}


def collect(study: str, scale: str, params_hash: str, seeds: dict[str, Any], device: str) -> dict[str, Any]:
    return {
        "study": study,
        "scale": scale,
        "git": git_state(),
        "params_sha256": params_hash,
        "seeds": seeds,
        "device": device_state(device),
        "packages": package_versions(),
        "platform": f"{platform.system()}-{platform.machine()}",
    }


def write_provenance(path: str | os.PathLike, record: dict[str, Any]) -> None:
    write_json(path, record)


def read_provenance(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        record = json.load(fh)
    missing = [key for key in ("study", "scale", "git", "params_sha256", "seeds", "device", "packages")
               if key not in record]  # fmt: skip
    if missing:
        raise ValueError(f"{path}: provenance record lacks key '{missing[0]}'")
    return record
