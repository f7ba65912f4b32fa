"""Each claim has one home: a function decorated with @claim (common.claims), named after the claim ids it
states, taking values (never a command line's namespace). Read from the source of every study."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kexue_repro.common.claims import INCONCLUSIVE, Claim, claim

from conftest import REPO

SOURCES = sorted((REPO / "src/kexue_repro").rglob("*.py"))


def claim_functions(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "claim" for d in node.decorator_list)
    ]


def test_claim_functions_take_values_not_a_namespace():
    found = 0
    for path in SOURCES:
        for function in claim_functions(path):
            found += 1
            arguments = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
            for argument in arguments:
                annotation = ast.unparse(argument.annotation) if argument.annotation else ""
                assert argument.arg != "args" and "Namespace" not in annotation, (
                    f"{path.relative_to(REPO)}:{function.name} takes {argument.arg}: {annotation}"
                )
    assert found >= 20, "fewer @claim functions than the studies state claims"


def test_claim_function_names_are_unique_within_a_study():
    for study in sorted(p for p in (REPO / "src/kexue_repro").iterdir() if p.is_dir()):
        names = [f.name for path in sorted(study.rglob("*.py")) for f in claim_functions(path)]
        assert len(names) == len(set(names)), (
            f"{study.name}: {sorted(n for n in names if names.count(n) > 1)}"
        )


def _claim(claim_id: str) -> Claim:
    return Claim("toy", claim_id, "check", "s", "m", None, "c", "smoke", "e", verdict=INCONCLUSIVE)


def test_the_decorator_stamps_the_home_and_refuses_a_claim_not_named_after_it():
    @claim
    def gain(task: str) -> Claim:
        return _claim(f"a.gain.{task}")

    @claim
    def vanishes(names: list[str]) -> list[Claim]:
        return [_claim(f"b.post_ln_std_0.02_flat.{n}") for n in names]

    assert gain("tnews").code.endswith("tests/test_claim_functions.py:gain")
    assert gain("tnews").claim_id == "a.gain.tnews"
    with pytest.raises(ValueError, match="not named after it"):
        vanishes(["deep_narrow"])
