"""What a newcomer reads: a README that fits on two screens, links that stay inside the repository and
resolve, a licence and a citation file, and help for every command-line option."""

from __future__ import annotations

import ast
import re

import yaml

from conftest import REPO

PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_resolves_inside_the_repository():
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", target):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(REPO), f"{page.name}: {target} leaves the repository"
            assert path.exists(), f"{page.name}: {target} does not exist"


def test_the_readme_fits_on_two_screens_and_links_its_docs():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 60
    assert {f"docs/{page.name}" for page in PAGES if page.parent.name == "docs"} <= set(LINK.findall(readme))


def test_licence_and_citation():
    assert (
        "Apache License" in (REPO / "LICENSE").read_text() and "Version 2.0" in (REPO / "LICENSE").read_text()
    )
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "Apache-2.0"
    urls = {reference["url"] for reference in citation["references"]}
    assert {
        f"https://kexue.fm/archives/{n}" for n in (8728, 8739, 8747, 8757, 8764, 8770, 8783, 8791)
    } <= urls


def test_every_command_line_option_has_help():
    missing = []
    for path in sorted((REPO / "src/kexue_repro").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
                if not any(keyword.arg == "help" for keyword in node.keywords):
                    missing.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert missing == []
