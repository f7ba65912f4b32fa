"""Ranks, Kendall tau and the human row's rank in study 8783."""

import math

import pandas as pd
import pytest

from kexue_repro.leaderboard.data import LOW_CONFIDENCE, VERIFIED
from kexue_repro.leaderboard.evaluate import MEANS_FIELDS, human_rank_table, kendall_table, rank_table


def means(values: dict[str, dict[str, float]], rule="official", quality=None, human="Human") -> pd.DataFrame:
    """A GLUE means table under one rule: ``values[mean][row]``; rows are verified unless in ``quality``."""
    quality = quality or {}
    records = [
        {
            "benchmark": "GLUE",
            "row": row,
            "snapshot": "2020",
            "model": row,
            "quality": quality.get(row, VERIFIED),
            "quality_class": quality.get(row, VERIFIED),
            "is_human": row == human,
            "rule": rule,
            "mean": mean,
            "value": value,
            "n_columns": 9,
            "columns": "",
            "note": "",
        }
        for mean, by_row in values.items()
        for row, value in by_row.items()
    ]
    return pd.DataFrame.from_records(records, columns=MEANS_FIELDS)


def ranks_of(ranks: pd.DataFrame, mean="AM") -> dict[str, int]:
    part = ranks[ranks["mean"] == mean]
    return dict(zip(part["row"], part["rank"]))


def test_ties_share_the_best_rank():
    ranks = rank_table(means({"AM": {"a": 90.0, "b": 90.0, "c": 80.0, "Human": 85.0}}))
    assert ranks_of(ranks) == {"a": 1, "b": 1, "Human": 3, "c": 4}


def test_low_confidence_and_undefined_rows_are_never_ranked():
    table = means(
        {"AM": {"partial": 99.0, "a": 90.0, "undefined": math.nan, "Human": 85.0}},
        quality={"partial": LOW_CONFIDENCE},
    )
    ranks = rank_table(table)
    assert ranks_of(ranks) == {"a": 1, "Human": 2}
    human = human_rank_table(ranks)
    official_am = human[(human["rule"] == "official") & (human["mean"] == "AM")].iloc[0]
    assert (
        official_am["human_rank"] == 2
        and official_am["n_models_above"] == 1
        and official_am["models_above"] == "a"
    )


def test_kendall_tau_of_identical_and_reversed_rankings():
    order = {"a": 4.0, "b": 3.0, "c": 2.0, "Human": 1.0}
    reversed_order = {row: -value for row, value in order.items()}
    kendall = kendall_table(rank_table(means({"AM": order, "GM": order, "HM": reversed_order})))
    within = kendall[kendall["comparison"] == "within_rule"].set_index(["rule_a", "mean_a", "mean_b"])
    assert within.loc[("official", "AM", "GM"), "tau"] == pytest.approx(1.0)
    assert within.loc[("official", "AM", "HM"), "tau"] == pytest.approx(-1.0)
    assert within.loc[("official", "AM", "GM"), "n_rows"] == 4
    # no ranking under the other rules: nothing to compare
    assert math.isnan(within.loc[("mixed", "AM", "GM"), "tau"])


def test_human_rank_is_reported_per_rule_and_mean():
    table = pd.concat(
        [
            means({"AM": {"a": 90.0, "Human": 85.0}, "GM": {"a": 80.0, "Human": 84.0}}, rule="mixed"),
            means({"AM": {"a": 90.0, "Human": 85.0}}, rule="official"),
        ]
    )
    human = human_rank_table(rank_table(table)).set_index(["rule", "mean"])
    assert human.loc[("mixed", "AM"), "human_rank"] == 2
    assert human.loc[("mixed", "GM"), "human_rank"] == 1
    assert human.loc[("official", "AM"), "n_models_above"] == 1
    assert math.isnan(human.loc[("all_columns", "AM"), "human_rank"])
