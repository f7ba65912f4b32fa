"""The workflow end to end: every study at the tiny sizes through DVC (each stage runs Snakemake for its
study), on the session's one run of the pipeline (conftest's `tiny_pipeline`)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from kexue_repro.common.claims import VERDICTS, read_claims

from conftest import run, tool

pytestmark = pytest.mark.e2e

SNAKEMAKE = [tool("snakemake"), "--profile", "workflow/profiles/local"]


def studies(repo) -> list[str]:
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return [name for name in stages if name != "report"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed once if missing (root or passwordless sudo, as for the cluster tests)."""
    if shutil.which("chromium") is None:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600)
        subprocess.run([*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq",
                        "--no-install-recommends", "chromium"], check=True, capture_output=True, timeout=900)  # fmt: skip
    return shutil.which("chromium")


def headless(chromium: str, page, *args: str) -> str:
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900", *args]
    return subprocess.run(
        [*command, page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout


def post_rows(text: str) -> list[list[str]]:
    """The per-post table's rows after the post's cell (a link in the report, plain in the terminal)."""
    lines = [line.split("|") for line in text.splitlines() if line.startswith("|")]
    rows = [cells[2:-1] for cells in lines if "kexue.fm/archives/" in cells[1]]
    return [[cell.strip() for cell in row] for row in rows]


def test_pipeline_fills_the_ledger_and_is_then_up_to_date(tiny_pipeline):
    repo = tiny_pipeline.first
    table = pd.read_csv(repo / "results/claims.csv")
    assert set(table["study"]) == set(studies(repo))
    assert set(table["verdict"]) <= set(VERDICTS)
    for study in studies(repo):
        ledger = read_claims(repo / f"results/{study}/claims.json")
        assert ledger, f"study {study} stated no claim"
        assert all(claim["scale"] == "smoke" for claim in ledger)
        for claim in ledger:
            assert (repo / claim["evidence"]).is_file(), f"{claim['claim_id']}: evidence missing"
            path, function = claim["code"].split(":")  # its one home, a @claim function
            assert f"@claim\ndef {function}(" in (repo / path).read_text(), claim["code"]
    report = (repo / "results/report.md").read_text()
    assert all(claim_id in report for claim_id in table["claim_id"])
    # the reading/NER study's table per task (results/clue_mrc_ner/tables.md) under its heading
    mrc_ner = report.split("## clue_mrc_ner")[1].split("\n## ")[0]
    assert "**CLUENER** (entity-level micro F1)" in mrc_ner and "**C3** (accuracy)" in mrc_ner
    assert mrc_ner.count("| tiny | 2 | ") == 2 and "Not run at scale smoke." in mrc_ner  # CMRC2018, CHID
    assert all(code.split(":")[1] in report for code in table["code"])  # each claim links its function
    assert max(len(line) for line in report.splitlines()) <= 400
    # `make reproduce` ends with the per-post table, the ledger's counts under it; the report opens with it
    summary = run([sys.executable, "-m", "kexue_repro", "summary"], cwd=repo).stdout
    claims = table[table["kind"] == "claim"]
    counts = ", ".join(f"{(claims['verdict'] == v).sum()} {v}" for v in VERDICTS)
    assert f"{len(claims)} claims of the posts: {counts}" in summary
    assert post_rows(summary) == post_rows(report.split("\n\n")[1]) and len(post_rows(summary)) == 8
    assert sum(int(row[1]) for row in post_rows(summary)) == (claims["verdict"] == VERDICTS[0]).sum()
    for link in [line.split("(")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]:
        assert (repo / "results" / link).is_file()

    dry = run([*SNAKEMAKE, "--dry-run"], cwd=repo)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    html = tiny_pipeline.root / "report.html"
    run([*SNAKEMAKE, "--report", str(html)], cwd=repo)
    assert "Kendall tau between the rankings" in html.read_text(), "report captions missing"

    times = run([sys.executable, "-m", "kexue_repro.benchmarks.rule_times"], cwd=repo).stdout
    assert "leaderboard/evaluate" in times and "TOTAL" in times
    # every job logged its start-up time, in the log beside its benchmark file
    jobs, unmeasured = re.search(r"\nTOTAL\s+(\d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+%\s+\((\d+)\)", times).groups()
    assert int(jobs) > 20 and int(unmeasured) == 0, times


def test_the_html_report_opens_on_the_summary_in_a_browser(tiny_pipeline, chromium, tmp_path):
    """The report's first view, as Chromium renders it: the per-post table with the ledger's counts, beside
    the rule graph; a screenshot of it is kept beside the report (report-first-view.png)."""
    repo, html = tiny_pipeline.first, tmp_path / "report.html"
    run([*SNAKEMAKE, "--report", str(html)], cwd=repo)
    dom = headless(chromium, html, "--virtual-time-budget=10000", "--dump-dom")
    # The description the landing view renders (the React app's own element), not the data it embeds.
    first_view = dom.split('class="prose prose-sm max-w-lg"', 1)[1].split("</table>", 1)[0]
    table = pd.read_csv(repo / "results/claims.csv")
    claims = table[table["kind"] == "claim"]
    for number in ("8728", "8739", "8747", "8757", "8764", "8770", "8783", "8791"):
        assert f'href="https://kexue.fm/archives/{number}"' in first_view
    counts = re.findall(r"<td>(\d+) / (\d+) / (\d+)</td>", first_view)
    assert len(counts) == 8
    assert [sum(int(row[i]) for row in counts) for i in range(3)] == [
        int((claims["verdict"] == verdict).sum()) for verdict in VERDICTS
    ]
    screenshot = tiny_pipeline.root / "report-first-view.png"
    headless(chromium, html, "--virtual-time-budget=10000", f"--screenshot={screenshot}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000


# docs/versions.md: `dvc exp show` piped or in a narrow terminal, the summary columns alone (no parameter, a key
# with a dot, or dependency, a path)
SUMMARY_ONLY = ".*[./]|Snakefile|device"


def exp_show(repo, *options: str) -> list[str]:
    """`dvc exp show` in a terminal 200 columns wide (through `script`, a pseudo-terminal): DVC lays the table
    out in full and hands it to its pager (cat here); with --no-pager it fits the table to the width."""
    command = shlex.join([tool("dvc"), "exp", "show", *options])
    shown = run(
        ["script", "-q", "-c", command, "/dev/null"], cwd=repo, env={"COLUMNS": "200", "DVC_PAGER": "cat"}
    )
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|\r", "", shown.stdout).splitlines()


def assert_exp_show_fits_a_terminal(repo) -> None:
    """The first 200 columns of `dvc exp show` hold every study's metrics whole, each study's verdict counts
    those of its ledger; with --no-pager and SUMMARY_ONLY dropped, the whole table fits in 200 columns."""
    table = pd.read_csv(repo / "results/claims.csv")
    paged = [line[:200] for line in exp_show(repo)]
    narrow = exp_show(repo, "--no-pager", "--drop", SUMMARY_ONLY)
    assert max(map(len, narrow)) <= 200 and "…" not in "".join(narrow), "\n".join(narrow)
    for lines in (paged, narrow):
        header = next(line for line in lines if "Experiment" in line).split()
        workspace = next(line for line in lines if line.split()[:1] == ["workspace"]).split()
        for path in sorted(repo.glob("results/*/metrics.json")):
            metrics = json.loads(path.read_text())
            study = path.parent.name
            shown = {key for key, value in metrics.items() if value is not None}  # DVC omits a null
            assert len(metrics) <= 3 and shown <= set(header), (path, header)
            claims = table[(table["study"] == study) & (table["kind"] == "claim")]
            counts = "/".join(str(int((claims["verdict"] == v).sum())) for v in VERDICTS)
            assert metrics[study] == counts and workspace[header.index(study)] == counts, (study, lines)


def test_dvc_ran_every_stage_and_has_then_nothing_to_do(tiny_pipeline):
    repo = tiny_pipeline.first
    ran = {line.split("'")[1] for line in tiny_pipeline.repro_output.splitlines() if "Running stage" in line}
    assert ran == set(studies(repo)) | {"report"}
    assert set(yaml.safe_load((repo / "dvc.lock").read_text())["stages"]) == ran
    metrics = json.loads(run([tool("dvc"), "metrics", "show", "--json"], cwd=repo).stdout)
    assert any("results/leaderboard/metrics.json" in str(v) for v in metrics.values())
    assert_exp_show_fits_a_terminal(repo)

    again = run([tool("dvc"), "repro"], cwd=repo)
    assert "didn't change" in again.stdout and "Running stage" not in again.stdout
    assert "Nothing to be done" in run([tool("snakemake"), "-n"], cwd=repo).stdout
