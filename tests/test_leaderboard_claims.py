"""The claim functions of study 8783 on small fixed tables: what rounding leaves open decides nothing."""

import pandas as pd
import pytest

from kexue_repro.leaderboard.claims import (
    Table,
    all_columns_am_humans_first,
    means_rank_alike,
    models_above_humans_stay,
    official_scores_within_rounding,
    paper_flip_under_mixed,
)
from kexue_repro.leaderboard.evaluate import OFFICIAL_FIELDS, RANKS_FIELDS, kendall_table

HALF = 0.05  # each mean's half-width in these tables: one-decimal cells


def ranks(values: dict[str, dict[str, float]], rule="official", benchmark="GLUE", n_columns=None) -> Table:
    """A ranks table of one (benchmark, rule): ``values[mean][row]``, each mean +- HALF; "Human" is human."""
    records = []
    for mean, by_row in values.items():
        order = sorted(by_row, key=lambda row: -by_row[row])
        for row, value in by_row.items():
            records.append(
                {"benchmark": benchmark, "rule": rule, "mean": mean, "rank": order.index(row) + 1, "row": row,
                 "is_human": row == "Human", "value": value, "low": value - HALF, "high": value + HALF,
                 "n_columns": (n_columns or {}).get(row, 10)}
            )  # fmt: skip
    return Table(pd.DataFrame.from_records(records, columns=RANKS_FIELDS), "ranks.csv")


def three(am: dict[str, float], gm: dict[str, float] | None = None, hm: dict[str, float] | None = None):
    return {"AM": am, "GM": gm or am, "HM": hm or gm or am}


def rank_alike(values, rule="official"):
    table = ranks(values, rule)
    return means_rank_alike(table, Table(kendall_table(table.frame), "kendall.csv"), "GLUE", rule, "smoke")


def test_an_order_reversed_only_within_rounding_leaves_the_means_alike():
    # a is 1.0 above b under AM; HM puts b above by 0.02, inside both rows' rounding intervals.
    claim = rank_alike(
        three({"a": 90.0, "b": 89.0, "Human": 80.0}, hm={"a": 85.0, "b": 85.02, "Human": 80.0})
    )
    row = claim.as_row(0.05, None)
    assert row["verdict"] == "reproduced" and row["ours"] == 0 and row["kind"] == "claim"
    assert "opposite only within rounding: a / b (AM vs HM)" in row["metric"]
    assert row["p_value"] is None and "not a sample" in row["no_p_reason"]


def test_an_order_reversed_beyond_rounding_is_not_almost_identical():
    claim = rank_alike(three({"a": 90.0, "b": 89.0, "Human": 80.0}, hm={"a": 85.0, "b": 86.0, "Human": 80.0}))
    row = claim.as_row(0.05, None)
    assert row["verdict"] == "not reproduced" and row["ours"] == 2  # HM against AM, and against GM
    assert "beyond rounding: a / b (AM vs HM); a / b (GM vs HM)" in row["metric"]


def test_the_human_row_is_not_one_of_the_models_ranked():
    # Humans move from 2nd to 1st under HM; the claim is about models, the metric says where humans went.
    row = rank_alike(three({"a": 90.0, "Human": 89.0, "b": 80.0}, hm={"a": 85.0, "Human": 88.0, "b": 80.0}))
    row = row.as_row(0.05, None)
    assert row["verdict"] == "reproduced" and "the human row (not a model) ranks 2/2/1" in row["metric"]


@pytest.mark.parametrize(
    "hm_of_a, verdict, ours",
    [(89.0, "reproduced", 0), (85.0, "not reproduced", 1), (87.97, "inconclusive", 0)],
)
def test_models_above_humans_stay_unless_they_fall_below_beyond_rounding(hm_of_a, verdict, ours):
    values = three({"a": 90.0, "Human": 89.0, "b": 80.0}, hm={"a": hm_of_a, "Human": 88.0, "b": 79.0})
    row = models_above_humans_stay(ranks(values), "GLUE", "official", "smoke").as_row(0.05, None)
    assert (row["verdict"], row["ours"]) == (verdict, ours)
    if verdict == "inconclusive":
        assert "more decimals of the cells of a" in row["to_decide"]


def test_with_no_model_above_humans_neither_claim_is_decided_and_each_says_what_would_decide_it():
    values = three({"Human": 90.0, "a": 89.0})
    stay = models_above_humans_stay(ranks(values), "GLUE", "official", "smoke").as_row(0.05, None)
    flip = paper_flip_under_mixed(ranks(values, "mixed"), "GLUE", "smoke").as_row(0.05, None)
    for row in (stay, flip):
        assert row["verdict"] == "inconclusive" and row["ours"] is None and "is above it" in row["to_decide"]


def test_a_model_above_humans_that_gm_and_hm_cannot_average_is_named_as_what_would_decide():
    # SuperGLUE's mixed rule: GM/HM need AX-b and AX-g, which the leader "a" lacks (no GM/HM value).
    values = {"AM": {"a": 91.0, "Human": 89.8, "b": 70.0}, "GM": {"Human": 88.8, "b": 60.0}}
    values["HM"] = values["GM"]
    row = paper_flip_under_mixed(ranks(values, "mixed", "SuperGLUE"), "SuperGLUE", "smoke").as_row(0.05, None)
    assert row["verdict"] == "inconclusive" and row["to_decide"].endswith("under its AM that lack them: a")


def test_the_paper_flip_appears_when_a_model_falls_below_humans_beyond_rounding():
    values = three({"a": 90.0, "Human": 88.0}, gm={"a": 85.0, "Human": 87.0})
    row = paper_flip_under_mixed(ranks(values, "mixed"), "GLUE", "smoke").as_row(0.05, None)
    assert row["verdict"] == "reproduced" and row["ours"] == 1
    assert "glue.official.models_above_humans_stay" in row["statement"]


def superglue(all_columns_am: dict[str, float], n_columns: dict[str, int]) -> Table:
    official = ranks(three({"a": 91.0, "b": 90.5, "Human": 89.8, "c": 70.0}), "official", "SuperGLUE")
    columns = ranks(three(all_columns_am), "all_columns", "SuperGLUE", n_columns)
    return Table(pd.concat([official.frame, columns.frame], ignore_index=True), "ranks.csv")


def test_humans_first_on_all_columns_is_undecided_while_the_leaders_lack_the_diagnostics():
    table = superglue({"a": 91.0, "b": 90.5, "Human": 89.5, "c": 60.0}, {"a": 8, "b": 10})
    row = all_columns_am_humans_first(table, "smoke").as_row(0.05, None)
    assert row["verdict"] == "inconclusive" and row["to_decide"].endswith("that lack them: a")
    assert row["ours"] == 2  # among the rows with all 10 columns (b, Human, c), b is above humans


@pytest.mark.parametrize("b, verdict", [(80.0, "reproduced"), (90.5, "not reproduced")])
def test_humans_first_on_all_columns_once_every_leader_has_them(b, verdict):
    table = superglue({"a": 88.0, "b": b, "Human": 89.5, "c": 60.0}, {})
    assert all_columns_am_humans_first(table, "smoke").as_row(0.05, None)["verdict"] == verdict


def official(diffs: dict[str, float], bound=0.1) -> Table:
    records = [
        {"benchmark": "SuperGLUE", "row": row, "quality_class": "verified", "source": "src", "recomputed": 50 + d,
         "reported_overall": 50.0, "diff": d, "abs_diff": abs(d), "rounding_bound": bound, "note": ""}
        for row, d in diffs.items()
    ]  # fmt: skip
    return Table(pd.DataFrame.from_records(records, columns=OFFICIAL_FIELDS), "official.csv")


def test_the_official_score_check_allows_what_rounding_explains_and_names_a_row_beyond_it():
    passed = official_scores_within_rounding(official({"a": 0.06, "b": -0.1}), "SuperGLUE", "smoke")
    assert passed.as_row(0.05, None)["verdict"] == "reproduced" and passed.kind == "check"
    failed = official_scores_within_rounding(official({"a": 0.06, "b": 0.11}), "SuperGLUE", "smoke")
    row = failed.as_row(0.05, None)
    assert row["verdict"] == "not reproduced" and "rows beyond theirs: b" in row["metric"]
