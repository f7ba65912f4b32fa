"""Study 8783 end to end on the committed leaderboard table, through the command line."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kexue_repro.common.claims import read_claims
from kexue_repro.leaderboard import claims as leaderboard_claims
from kexue_repro.leaderboard import evaluate as leaderboard_evaluate
from kexue_repro.leaderboard import plots
from kexue_repro.leaderboard.data import VERIFIED, load_long_table, wide_tables
from kexue_repro.leaderboard.evaluate import official_table

TABLE = Path(__file__).resolve().parents[1] / "data" / "leaderboards" / "leaderboards.csv"
OUT = Path("results/leaderboard")
OUTPUTS = [
    "tables/official_scores.csv",
    "tables/means.csv",
    "tables/ranks.csv",
    "tables/kendall_tau.csv",
    "tables/human_rank.csv",
    "plots/rank_changes.png",
    "claims.json",
    "metrics.json",
    "numbers.json",
]


def run_chain() -> None:
    tables = str(OUT / "tables")
    evaluate = ["--table", str(TABLE)]
    assert leaderboard_evaluate.main([*evaluate, "--tables-dir", tables]) == 0
    assert plots.main(["--ranks", f"{tables}/ranks.csv", "--out", f"{OUT}/plots/rank_changes.png",
                       "--scale", "smoke"]) == 0  # fmt: skip
    claims = ["--settings", json.dumps({"confidence": 0.95}), "--tables-dir", tables]
    claims += [
        "--scale",
        "smoke",
        "--claims-out",
        f"{OUT}/claims.json",
        "--metrics-out",
        f"{OUT}/metrics.json",
        "--numbers-out",
        f"{OUT}/numbers.json",
    ]
    assert leaderboard_claims.main(claims) == 0


@pytest.fixture(scope="module")
def official() -> pd.DataFrame:
    return official_table(wide_tables(load_long_table(TABLE)))


def test_verified_rows_recompute_their_reported_overall_score_within_rounding(official):
    verified = official[official["quality_class"] == VERIFIED]
    recomputed = verified[verified["recomputed"].notna()]
    # Every official cell and overall of a verified row is printed with one decimal: 0.05 + 0.05.
    assert set(recomputed["rounding_bound"]) == {0.1} and recomputed["within_rounding"].all()
    # WARP few-shot recomputes to 48.756 against a reported 48.7: beyond half a unit, within rounding.
    warp = recomputed.set_index("row").loc["WARP few-shot @ 2022-02-09"]
    assert 0.05 < warp["abs_diff"] < warp["rounding_bound"]
    assert len(recomputed) == 7 + 18


def test_rows_without_qnli_v2_are_not_recomputed_and_say_what_qnli_the_overall_implies(official):
    unscored = official[(official["quality_class"] == VERIFIED) & official["recomputed"].isna()]
    assert set(unscored["quality"]) == {"verified(QNLI v2 missing)"}
    assert len(unscored) == 3
    assert unscored["note"].str.contains("missing QNLI; the reported overall implies QNLI = ").all()


def test_cli_chain_writes_every_output_deterministically(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_chain()
    first = {name: (OUT / name).read_bytes() for name in OUTPUTS}
    run_chain()
    assert {name: (OUT / name).read_bytes() for name in OUTPUTS} == first

    claims = {row["claim_id"]: row for row in read_claims(OUT / "claims.json")}
    assert (
        claims["glue.official_scores_within_rounding"]["evidence"]
        == "results/leaderboard/tables/official_scores.csv"
    )
    assert claims["glue.paper_flip_under_mixed"]["verdict"] == "reproduced"
    # WARP few-shot is 0.056 off, within what rounding explains: the data check passes and says which row.
    official = claims["superglue.official_scores_within_rounding"]
    assert official["kind"] == "check" and official["verdict"] == "reproduced"
    assert "WARP few-shot" in official["metric"]
    assert all(row["study"] == "leaderboard" and row["seeds"] == [] for row in claims.values())
    # Exact computations on the published rows: no p-value, each row says why, inconclusive ones what decides.
    assert all(row["p_value"] is None and row["no_p_reason"] for row in claims.values())
    assert all(row["to_decide"] for row in claims.values() if row["verdict"] == "inconclusive")
    assert {row["kind"] for row in claims.values() if "official_scores" not in row["claim_id"]} == {"claim"}
    assert claims["glue.official.means_rank_alike"]["code"] == (
        "src/kexue_repro/leaderboard/claims.py:means_rank_alike"
    )

    numbers = json.loads((OUT / "numbers.json").read_text())
    leaves = [v for entry in numbers.values() for v in entry.values()]
    assert all(v is None or isinstance(v, (int, float)) for v in leaves)
    assert numbers["GLUE"]["human_rank_mixed_gm"] == 1 and numbers["GLUE"]["human_rank_official_gm"] == 3
    taus = [v for entry in numbers.values() for k, v in entry.items() if k.startswith("min_kendall_tau_")]
    metrics = json.loads((OUT / "metrics.json").read_text())
    assert metrics["tau_min"] == min(t for t in taus if t is not None) and set(metrics) == {
        "leaderboard",
        "tau_min",
    }

    ranks = pd.read_csv(OUT / "tables/ranks.csv")
    means = pd.read_csv(OUT / "tables/means.csv")
    low_confidence = set(means.loc[means["quality"] == "partial,low-confidence", "row"])
    assert low_confidence and not low_confidence & set(ranks["row"])
    assert not math.isnan(
        means.loc[
            (means["quality"] == "partial,low-confidence") & (means["rule"] == "all_columns"), "value"
        ].iloc[0]
    )


def test_a_bad_input_file_gives_one_line_on_stderr_and_exit_1(tmp_path):
    bad = tmp_path / "bad.csv"
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    bad.write_text(
        "\n".join([*lines[:4], lines[4].replace("92.65", "x"), *lines[5:]]) + "\n", encoding="utf-8"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kexue_repro.leaderboard.evaluate",
        ]
        + ["--table", str(bad), "--tables-dir", str(tmp_path / "tables")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{bad}: line 5: field 'task_score_mean_of_metrics'" in result.stderr
    assert not (tmp_path / "tables").exists()
