"""The code style a reviewer would ask for, enforced: ruff for Python, snakefmt for the workflow."""

from __future__ import annotations

import pytest

from conftest import REPO, run, tool


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "src", "tests", "workflow"],
        ["ruff", "format", "--check", "src", "tests", "workflow"],
        ["snakefmt", "--check", "Snakefile", "workflow/"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt"],
)
def test_style(command):
    run([tool(command[0]), *command[1:]], cwd=REPO)
