"""The report assembles every claim and every plot of every study."""

from __future__ import annotations

import pandas as pd

from kexue_repro.common.claims import INCONCLUSIVE, NOT_REPRODUCED, write_claims
from kexue_repro.report.__main__ import main

from test_common import make_claim


def test_report_lists_every_claim_and_plot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_claims("results/alpha/claims.json", [make_claim(study="alpha", claim_id="a.one")], 0.05)
    write_claims(
        "results/beta/claims.json",
        [
            make_claim(study="beta", claim_id="b.one", verdict=NOT_REPRODUCED, statement="pipes | in text"),
            make_claim(
                study="beta", claim_id="b.two", verdict=INCONCLUSIVE, interval=None, to_decide="seeds"
            ),
            make_claim(study="beta", claim_id="b.identity", kind="check", section=None),
        ],
        0.05,
    )
    plot = "results/beta/plots/curve.png"
    code = main([
        "--claims", "results/alpha/claims.json", "results/beta/claims.json", "--plots", plot,
        "--table-out", "results/claims.csv", "--markdown-out", "results/report.md",
    ])  # fmt: skip
    assert code == 0
    table = pd.read_csv("results/claims.csv")
    assert list(table["claim_id"]) == ["a.one", "b.one", "b.two", "b.identity"]
    assert list(table["verdict"]) == ["reproduced", "not reproduced", "inconclusive", "reproduced"]
    assert list(table["kind"]) == ["claim", "claim", "claim", "check"]
    markdown = open("results/report.md").read()
    assert "1 reproduced, 1 not reproduced, 1 inconclusive (of 3 claims of the posts" in markdown
    assert "1 of 1 checks hold" in markdown and "Checks of beta" in markdown
    assert "to decide: seeds" in markdown
    assert "## alpha" in markdown and "## beta" in markdown
    assert "![curve](beta/plots/curve.png)" in markdown
    assert "pipes \\| in text" in markdown


def test_report_refuses_a_broken_ledger(tmp_path, capsys):
    bad = tmp_path / "claims.json"
    bad.write_text('[{"study": "x"}]')
    code = main(
        [
            "--claims",
            str(bad),
            "--table-out",
            str(tmp_path / "c.csv"),
            "--markdown-out",
            str(tmp_path / "r.md"),
        ]
    )
    assert code == 1
    assert str(bad) in capsys.readouterr().err
    assert not (tmp_path / "c.csv").exists()
