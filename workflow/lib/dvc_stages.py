"""What each DVC stage depends on, derived from the workflow: written into dvc.yaml, checked by the tests.

A stage (one per study, same name as its target rule) runs ``lock_guard.py`` and then Snakemake for that
target. It depends on the workflow's own files (Snakefile, workflow/lib, its rules file, the top-level
schema and its study's schema), on the code closure of every module its rules run or import
(``code_deps``), and on the data files and other stages' outputs listed by hand in dvc.yaml (these are
inputs of its rules). After changing a rule's modules or the imports of the code:

    python workflow/lib/dvc_stages.py --write     # rewrites the derived deps and cmd of every stage
    python workflow/lib/dvc_stages.py             # exits 1 and names the stages that are out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from code_deps import REPO, code_of, imported_code, module_file

DVC_YAML = REPO / "dvc.yaml"
RUNS = re.compile(r"python -m (kexue_repro[\w.]*)")
IMPORTS = re.compile(
    r"^\s*(?:from\s+(kexue_repro[\w.]*)\s+import\s+([\w, ]+)|import\s+(kexue_repro[\w.]*))", re.MULTILINE
)
LIB_IMPORTS = re.compile(r"^\s*from\s+(\w+)\s+import", re.MULTILINE)


RULE = re.compile(r"^rule (\w+):", re.MULTILINE)
USES = re.compile(r"\brules\.(\w+)")


def rules_file(stage: str) -> Path:
    return REPO / "workflow" / "rules" / f"{stage}.smk"


def rule_texts() -> dict[str, tuple[Path, str]]:
    """Every rule of workflow/rules: its file and its text (up to the next rule)."""
    found = {}
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = path.read_text(encoding="utf-8")
        starts = list(RULE.finditer(text))
        for match, after in zip(starts, [*starts[1:], None]):
            found[match.group(1)] = (path, text[match.start() : after.start() if after else len(text)])
    return found


def stage_rules(stage: str) -> dict[str, tuple[Path, str]]:
    """The rules of the stage's file and, transitively, the rules of other files they name (``rules.<name>``:
    clue_mrc_ner's jobs read what clue.smk's fetch and prepare rules write)."""
    texts, found = rule_texts(), {}
    todo = [name for name, (path, _) in texts.items() if path == rules_file(stage)]
    while todo:
        name = todo.pop()
        if name not in found and name in texts:
            found[name] = texts[name]
            todo += USES.findall(texts[name][1])
    return found


def stage_rule_files(stage: str) -> list[Path]:
    """The stage's own rules file, then the other files whose rules it runs."""
    others = {path for path, _ in stage_rules(stage).values()} - {rules_file(stage)}
    return [rules_file(stage), *sorted(others)]


def runs_of(snakefile_text: str) -> set[str]:
    """The package modules a Snakemake text's jobs run (``python -m``)."""
    return set(RUNS.findall(snakefile_text))


def imports_of(snakefile: Path) -> set[str]:
    """The package modules a Snakemake file imports to plan its jobs (``from X import y``: X, and X.y if
    that is a module)."""
    found = set()
    for base, names, module in IMPORTS.findall(snakefile.read_text(encoding="utf-8")):
        if module:
            found.add(module)
            continue
        found.add(base)
        for name in names.split(","):
            submodule = f"{base}.{name.split(' as ')[0].strip()}"
            if module_file(submodule) is not None:
                found.add(submodule)
    return found


def workflow_files(stage: str) -> list[str]:
    schemas = ["workflow/schemas/params.schema.yaml"]
    if (REPO / f"workflow/schemas/{stage}.schema.yaml").is_file():
        schemas.append(f"workflow/schemas/{stage}.schema.yaml")
    rules = [str(path.relative_to(REPO)) for path in stage_rule_files(stage)]
    return ["Snakefile", *workflow_code(), *rules, *schemas]


def workflow_code() -> list[str]:
    """The workflow's helpers every stage runs: those the Snakefile imports, and the lock guard."""
    snakefile = (REPO / "Snakefile").read_text(encoding="utf-8")
    names = {n for n in LIB_IMPORTS.findall(snakefile) if (REPO / "workflow/lib" / f"{n}.py").is_file()}
    return sorted(f"workflow/lib/{name}.py" for name in names | {"lock_guard"})


def stage_code(stage: str) -> list[str]:
    """The code of every job of the stage, and what its rules and the Snakefile import to plan them."""
    planning = {m for path in stage_rule_files(stage) for m in imports_of(path)} | imports_of(
        REPO / "Snakefile"
    )
    planning |= {m for lib in workflow_code() for m in imports_of(REPO / lib)}  # what the helpers import
    runs = {m for _, text in stage_rules(stage).values() for m in runs_of(text)}
    return sorted(set(code_of(*runs)) | set(imported_code(*planning)))


def derived(path: str) -> bool:
    """Deps this module writes: the workflow's files and the package's code."""
    return path == "Snakefile" or path.startswith(("workflow/", "src/"))


def stage_command(stage: str) -> str:
    return (
        f"python workflow/lib/lock_guard.py {stage}"
        f" && snakemake --profile workflow/profiles/local --nolock {stage}"
    )


def expected_deps(stage: str, deps: list[str]) -> list[str]:
    """The stage's deps: the derived ones, then its hand-listed data and upstream outputs in their order."""
    return [*workflow_files(stage), *[d for d in deps if not derived(d)], *stage_code(stage)]


def out_of_date(stages: dict) -> list[str]:
    return [
        name
        for name, stage in stages.items()
        if stage.get("deps", []) != expected_deps(name, stage.get("deps", []))
        or stage["cmd"] != stage_command(name)
    ]


def write(path: Path = DVC_YAML) -> list[str]:
    """Rewrite the derived deps and the cmd of every stage in place (comments kept); return the changed."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = yaml.load(path)
    changed = out_of_date(document["stages"])
    for name in changed:
        stage = document["stages"][name]
        stage["cmd"] = stage_command(name)
        deps = stage["deps"]
        new = expected_deps(name, list(deps))
        deps.clear()
        deps.extend(new)
    if changed:
        yaml.dump(document, path)
    return changed


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        print("\n".join(f"dvc.yaml: rewrote stage {n}" for n in write()) or "dvc.yaml: up to date")
        return 0
    import yaml

    stale = out_of_date(yaml.safe_load(DVC_YAML.read_text(encoding="utf-8"))["stages"])
    for name in stale:
        print(f"dvc.yaml: stage {name} is out of date (python workflow/lib/dvc_stages.py --write)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
