"""The report: the per-post summary first, then every claim as one compact line with a numbered note, and
every plot; `python -m kexue_repro` and its summary."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from kexue_repro.__main__ import main as package_main
from kexue_repro.common.claims import INCONCLUSIVE, NOT_REPRODUCED, write_claims
from kexue_repro.report.__main__ import main
from kexue_repro.report.posts import POSTS, post_of
from kexue_repro.report.summary import finding

from test_common import make_claim

LONG = "word " * 120  # a statement, metric and anchor far longer than a line


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    """Two studies' ledgers: vae (home post 8791) and transformer, whose rows name 8747 or 8770."""
    monkeypatch.chdir(tmp_path)
    write_claims("results/vae/claims.json", [make_claim(study="vae", claim_id="a.one", metric=LONG)], 0.05)
    write_claims(
        "results/transformer/claims.json",
        [
            make_claim(
                study="transformer",
                claim_id="b.one",
                verdict=NOT_REPRODUCED,
                statement="pipes | in text",
                section="8770, the MAE section",
                anchor=LONG,
            ),  # fmt: skip
            make_claim(
                study="transformer",
                claim_id="b.two",
                verdict=INCONCLUSIVE,
                interval=None,
                ours=None,
                to_decide="needs the full-scale run",
                section="8747, 'why the std is 0.02'",
            ),  # fmt: skip
            make_claim(study="transformer", claim_id="b.identity", kind="check", section=None),
        ],
        0.05,
    )
    return tmp_path


def run_report(plots: list[str]) -> int:
    return main([
        "--claims", "results/vae/claims.json", "results/transformer/claims.json", "--plots", *plots,
        "--table-out", "results/claims.csv", "--markdown-out", "results/report.md",
        "--front-out", "results/report_front.rst",
        "--by-post-out", *(f"results/claims_by_post/{post.number}.html" for post in POSTS),
    ])  # fmt: skip


def test_report_opens_with_the_summary_and_lists_every_claim_in_short_lines(ledger):
    assert run_report(["results/transformer/plots/curve.png"]) == 0
    table = pd.read_csv("results/claims.csv")
    assert list(table["claim_id"]) == ["a.one", "b.one", "b.two", "b.identity"]
    assert list(table["verdict"]) == ["reproduced", "not reproduced", "inconclusive", "reproduced"]
    markdown = open("results/report.md").read()
    lines = markdown.splitlines()
    assert lines[2].startswith("| post ") and "what this run found" in lines[2]
    rows = {line.split("|")[1].strip(): line for line in lines[4:12]}
    assert len(rows) == len(POSTS) == 8
    counts = {post: [cell.strip() for cell in line.split("|")[3:7]] for post, line in rows.items()}
    assert counts["[kexue.fm/archives/8791](https://kexue.fm/archives/8791)"] == ["1", "0", "0", "-"]
    assert counts["[kexue.fm/archives/8770](https://kexue.fm/archives/8770)"] == ["0", "1", "0", "-"]
    assert counts["[kexue.fm/archives/8747](https://kexue.fm/archives/8747)"] == ["0", "0", "1", "1/1"]
    assert "fails: b.one" in rows["[kexue.fm/archives/8770](https://kexue.fm/archives/8770)"]
    assert "1 reproduced, 1 not reproduced, 1 inconclusive (of 3 claims of the posts" in markdown
    assert "1 of 1 checks hold" in markdown and "Checks of transformer" in markdown
    # studies in their home post's order (8747 before 8791), each claim a numbered line, details in its note
    assert markdown.index("## transformer — 8747") < markdown.index("## vae — 8791")
    assert "| 1 | **b.one** | **not reproduced** |" in markdown
    assert "To decide: needs the full-scale run." in markdown
    assert "pipes \\| in text" in markdown
    assert "![curve](transformer/plots/curve.png)" in markdown
    assert max(len(line) for line in lines) <= 400
    claim_lines = [line for line in lines if line.startswith("| ") and "**" in line.split("|")[2]]
    assert len(claim_lines) == 4
    assert all(line.split("|")[4].strip().endswith(")") for line in claim_lines)  # the value, then its metric
    assert (
        "word word …)" in next(line for line in claim_lines if "a.one" in line)
        and "Measured: word word" in markdown
    )  # shortened; whole in the note
    # each post's rows for its category of the HTML report, numbered as the report's notes
    pages = {post.number: open(f"results/claims_by_post/{post.number}.html").read() for post in POSTS}
    rows = {number: [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)]
            for number, page in pages.items()}  # fmt: skip
    assert [row[:2] for row in rows["8747"] if row] == [["2", "b.two"], ["3", "b.identity"]]
    assert [row[:2] for row in rows["8770"] if row] == [["1", "b.one"]] and "pipes | in text" in pages["8770"]
    assert "| 1 | **b.one** |" in markdown
    assert [row[:2] for row in rows["8791"] if row] == [["4", "a.one"]] and "\n4. **a.one**" in markdown
    assert "No claims." in pages["8728"] and not re.search(
        r">(None|NaN|nan)<", pages["8747"]
    )  # b.two: no value
    front = open("results/report_front.rst").read()  # the HTML report's first view
    assert "| `8770 <https://kexue.fm/archives/8770>`__ MLM and MAE from the dropout viewpoint" in front
    assert "| 0 / 1 / 0 " in front and "1 reproduced, 1 not reproduced, 1 inconclusive" in front


def test_the_summary_command_prints_the_table_after_a_run_and_says_when_there_is_none(ledger, capsys):
    assert run_report([]) == 0
    capsys.readouterr()
    assert package_main(["summary"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("| post ") and "kexue.fm/archives/8728" in out
    assert "3 claims of the posts: 1 reproduced, 1 not reproduced, 1 inconclusive" in out
    assert out.rstrip().endswith("Every claim, its numbers and sources: results/report.md")
    assert package_main(["summary", "--claims", "missing.csv"]) == 1
    assert capsys.readouterr().err == "error: missing.csv: no claims ledger yet; run `make reproduce` first\n"


def test_the_package_lists_its_posts_studies_and_commands(capsys):
    assert package_main([]) == 0
    out = capsys.readouterr().out
    assert all(post.number in out and post.title in out for post in POSTS)
    assert "python -m kexue_repro summary" in out and "dvc repro <study>" in out


def test_a_row_belongs_to_the_post_its_section_names_else_its_studys():
    assert post_of("clue", "8739, the results table").number == "8739"
    assert post_of("clue", "the ChildTuning paper (arXiv 2109.05687)").number == "8764"
    assert post_of("gan", float("nan")).number == "8757"
    with pytest.raises(ValueError, match="'nope' has no post"):
        post_of("nope", None)


def test_the_finding_names_what_failed_and_what_the_undecided_claims_need():
    claims = pd.DataFrame({
        "claim_id": ["a", "b", "c", "d", "e"],
        "verdict": ["reproduced", "not reproduced", INCONCLUSIVE, INCONCLUSIVE, INCONCLUSIVE],
        "to_decide": [None, None, "needs ~40 seeds at the observed effect", "needs the full-scale run", "?"],
    })  # fmt: skip
    assert finding(claims) == (
        "1 holds; fails: b; 1 need more seeds or data; 1 need the full scale; 1 undecided for other reasons"
    )


def test_report_refuses_a_table_for_no_post_and_writes_nothing(ledger, capsys):
    code = main(["--claims", "results/vae/claims.json", "--table-out", "results/claims.csv", "--markdown-out",
                 "results/report.md", "--by-post-out", "results/claims_by_post/9999.html"])  # fmt: skip
    assert code == 1 and "results/claims_by_post/9999.html: not named after a post" in capsys.readouterr().err
    assert not any(Path("results").glob("*.csv")) and not Path("results/report.md").exists()


def test_report_refuses_a_broken_ledger(tmp_path, capsys):
    bad = tmp_path / "claims.json"
    bad.write_text('[{"study": "x"}]')
    code = main(["--claims", str(bad), "--table-out", str(tmp_path / "c.csv"), "--markdown-out",
                 str(tmp_path / "r.md")])  # fmt: skip
    assert code == 1
    assert str(bad) in capsys.readouterr().err
    assert not (tmp_path / "c.csv").exists()
