"""The code a job runs: a module of kexue_repro and every module of the package it imports, transitively.

Read from the import statements (``ast``), so nothing is listed by hand: a rule that runs
``python -m kexue_repro.vae.train`` takes ``code_of("kexue_repro.vae.train")`` among its inputs, and the
DVC stage of its study depends on the same files (tests/test_workflow_consistency.py checks both).
Imports inside functions count too: they are code the job may run. Each package's ``__init__.py`` on the
way counts, since importing a module runs it, and so do the data files beside a package's modules (the
claims schema of ``kexue_repro.common``), which its code reads.

    python workflow/lib/code_deps.py kexue_repro.vae.train   # prints the closure, one path a line
"""

from __future__ import annotations

import ast
import sys
from functools import lru_cache
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
PACKAGE = "kexue_repro"


def module_file(module: str) -> Path | None:
    """The source file of a module of the package (a package's ``__init__.py``), or None."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def statements(nodes: list[ast.AST]) -> Iterator[ast.AST]:
    """Every statement, nested ones included: an import is a statement, so expressions need no visit (a
    walk over every node costs a Snakemake start about a second)."""
    for node in nodes:
        yield node
        for block in ("body", "orelse", "finalbody", "handlers", "cases"):
            yield from statements(getattr(node, block, None) or [])


@lru_cache(maxsize=None)  # each file is parsed once per Snakemake start, however many rules share it
def imported_modules(module: str) -> frozenset[str]:
    """The modules of the package that ``module``'s source imports, anywhere in the file."""
    path = module_file(module)
    if path is None:
        raise ValueError(f"{module}: no such module under {SRC}")
    found: set[str] = set()
    for node in statements(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = _package_of(module, path).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from pkg import name`: name may be a submodule
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(m for m in found if m.split(".")[0] == PACKAGE and module_file(m) is not None)


def with_parents(module: str) -> set[str]:
    """``module`` and every package above it (their ``__init__`` runs on import)."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


@lru_cache(maxsize=None)
def module_closure(module: str) -> frozenset[str]:
    """Every module of the package that running ``module`` may import, ``module`` included."""
    seen: set[str] = set()
    todo = sorted(with_parents(module))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for imported in imported_modules(current):
            todo.extend(with_parents(imported) - seen)
    return frozenset(seen)


def package_data(package_dir: Path) -> set[Path]:
    return {f for f in package_dir.iterdir() if f.is_file() and f.suffix not in (".py", ".pyc")}


def entry(module: str) -> str:
    """The module ``python -m <module>`` runs: a package's ``__main__``, else the module itself."""
    path = module_file(module)
    if path is not None and path.name == "__init__.py" and (path.parent / "__main__.py").is_file():
        return f"{module}.__main__"
    return module


def files_of(modules: set[str]) -> list[str]:
    """The source files of ``modules`` and the data beside them, relative to the repository, sorted."""
    files = {module_file(m) for m in modules}
    files |= {data for f in set(files) for data in package_data(f.parent)}
    return sorted(str(f.relative_to(REPO)) for f in files)


def code_of(*modules: str) -> list[str]:
    """The source files of what ``python -m <module>`` may import, for each of ``modules``."""
    return files_of({m for module in modules for m in module_closure(entry(module))})


def imported_code(*modules: str) -> list[str]:
    """The source files of what importing ``modules`` (not running them) may import."""
    return files_of({m for module in modules for m in module_closure(module)})


if __name__ == "__main__":
    print("\n".join(code_of(*sys.argv[1:])))
