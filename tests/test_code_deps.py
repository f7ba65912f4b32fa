"""The import closure of a module (workflow/lib/code_deps.py), on a small package written by the test."""

from __future__ import annotations

import pytest

import code_deps


@pytest.fixture
def package(tmp_path, monkeypatch):
    files = {
        "kexue_repro/__init__.py": "",
        "kexue_repro/common/__init__.py": "",
        "kexue_repro/common/io.py": "import json\n",
        "kexue_repro/common/schema.json": "{}",
        "kexue_repro/common/unused.py": "",
        "kexue_repro/study/__init__.py": "",
        "kexue_repro/study/__main__.py": "from kexue_repro.study import train\n",
        "kexue_repro/study/model.py": "import torch\nfrom . import layers\n",
        "kexue_repro/study/layers.py": "",
        "kexue_repro/study/train.py": (
            "from kexue_repro.common.io import *\nfrom kexue_repro.study.model import Net\n\n"
            "def plot():\n    from ..common import plotting  # inside a function: still code it may run\n"
        ),
        "kexue_repro/common/plotting.py": "",
        "kexue_repro/study/claims.py": "from kexue_repro.study import train\n",
    }
    for name, text in files.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_text(text)
    monkeypatch.setattr(code_deps, "REPO", tmp_path)
    monkeypatch.setattr(code_deps, "SRC", tmp_path / "src")
    caches = (code_deps.module_closure, code_deps.imported_modules)  # what they hold is of the real package
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


def test_the_closure_follows_absolute_relative_and_function_level_imports(package):
    assert code_deps.code_of("kexue_repro.study.train") == [
        "src/kexue_repro/__init__.py",
        "src/kexue_repro/common/__init__.py",
        "src/kexue_repro/common/io.py",
        "src/kexue_repro/common/plotting.py",
        "src/kexue_repro/common/schema.json",  # data beside a package's modules travels with it
        "src/kexue_repro/study/__init__.py",
        "src/kexue_repro/study/layers.py",
        "src/kexue_repro/study/model.py",
        "src/kexue_repro/study/train.py",
    ]


def test_what_imports_a_module_is_not_in_its_closure(package):
    assert "src/kexue_repro/study/claims.py" not in code_deps.code_of("kexue_repro.study.train")
    assert "src/kexue_repro/study/train.py" in code_deps.code_of("kexue_repro.study.claims")


def test_python_dash_m_on_a_package_runs_its_main(package):
    closure = code_deps.code_of("kexue_repro.study")
    assert "src/kexue_repro/study/__main__.py" in closure and "src/kexue_repro/study/model.py" in closure


def test_an_unknown_module_is_an_error(package):
    with pytest.raises(ValueError, match="kexue_repro.nothing: no such module"):
        code_deps.code_of("kexue_repro.nothing")


def test_the_real_training_job_of_the_vae_depends_on_its_model_not_on_its_claims():
    closure = code_deps.code_of("kexue_repro.vae.train")
    assert "src/kexue_repro/vae/model.py" in closure and "src/kexue_repro/common/resume.py" in closure
    assert "src/kexue_repro/vae/claims.py" not in closure
