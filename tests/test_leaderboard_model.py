"""Scoring rules of study 8783: official scores, AM/GM/HM, and the task-set rules."""

import math

import pytest

from kexue_repro.leaderboard.data import BENCHMARK_COLUMNS
from kexue_repro.leaderboard.model import (
    average,
    official_score,
    rounding_interval,
    rule_average,
    rule_columns,
)

GLUE_ROW = {
    "CoLA": 50.0,
    "SST-2": 90.0,
    "MRPC": 80.0,
    "STS-B": 85.0,
    "QQP": 70.0,
    "MNLI-m": 84.0,
    "MNLI-mm": 86.0,
    "QNLI": 90.0,
    "RTE": 60.0,
    "WNLI": 65.0,
    "AX": 40.0,
}
SUPERGLUE_ROW = {
    "BoolQ": 80.0,
    "CB": 90.0,
    "COPA": 70.0,
    "MultiRC": 60.0,
    "ReCoRD": 75.0,
    "RTE": 85.0,
    "WiC": 65.0,
    "WSC": 95.0,
    "AX-b": 10.0,
    "AX-g": 20.0,
}


def test_official_glue_merges_mnli_and_excludes_ax():
    # MNLI = (84 + 86) / 2 = 85; (50 + 90 + 80 + 85 + 70 + 85 + 90 + 60 + 65) / 9 = 675 / 9
    result = official_score(GLUE_ROW, "GLUE")
    assert result.value == pytest.approx(75.0)
    assert result.columns == ("CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI")


def test_official_superglue_excludes_diagnostics():
    # (80 + 90 + 70 + 60 + 75 + 85 + 65 + 95) / 8 = 620 / 8
    assert official_score(SUPERGLUE_ROW, "SuperGLUE").value == pytest.approx(77.5)


def test_official_score_of_a_row_lacking_a_task_is_nan_with_the_reason():
    result = official_score({**GLUE_ROW, "QNLI": math.nan}, "GLUE")
    assert math.isnan(result.value) and result.note == "missing QNLI"


@pytest.mark.parametrize("mean, expected", [("AM", 2.5), ("GM", 2.0), ("HM", 1.6)])
def test_means_of_known_values(mean, expected):
    assert average({"a": 1.0, "b": 4.0}, ["a", "b"], mean).value == pytest.approx(expected)


@pytest.mark.parametrize("mean", ["GM", "HM"])
def test_gm_and_hm_of_a_zero_are_undefined_with_the_reason(mean):
    result = average({"a": 0.0, "b": 4.0}, ["a", "b"], mean)
    assert math.isnan(result.value)
    assert result.note == f"{mean} undefined: a=0 <= 0"


def test_am_of_a_zero_is_defined():
    assert average({"a": 0.0, "b": 4.0}, ["a", "b"], "AM").value == 2.0


def test_a_missing_column_gives_nan_naming_it():
    result = average({"a": 1.0}, ["a", "b"], "AM")
    assert math.isnan(result.value) and result.note == "missing b"


def test_mixed_rule_on_glue_averages_humans_and_models_over_different_columns():
    glue = BENCHMARK_COLUMNS["GLUE"]
    present = glue
    assert rule_columns("GLUE", "mixed", "AM", False, present) == glue[:10]
    assert rule_columns("GLUE", "mixed", "AM", True, present) == glue[:10]
    assert rule_columns("GLUE", "mixed", "GM", True, present) == glue[:10]
    assert rule_columns("GLUE", "mixed", "HM", False, present) == glue


def test_mixed_rule_on_superglue_uses_all_ten_columns_for_gm_hm_of_every_row():
    superglue = BENCHMARK_COLUMNS["SuperGLUE"]
    assert rule_columns("SuperGLUE", "mixed", "AM", True, superglue) == superglue[:8]
    for is_human in (True, False):
        assert rule_columns("SuperGLUE", "mixed", "GM", is_human, superglue) == superglue


def test_mixed_gm_of_a_glue_human_row_without_ax_is_defined_and_a_model_row_adds_ax():
    human = {**GLUE_ROW, "AX": math.nan}
    assert rule_average(human, "GLUE", "mixed", "GM", True).columns == BENCHMARK_COLUMNS["GLUE"][:10]
    assert not math.isnan(rule_average(human, "GLUE", "mixed", "GM", True).value)
    model = rule_average(GLUE_ROW, "GLUE", "mixed", "GM", False)
    assert (
        model.columns == BENCHMARK_COLUMNS["GLUE"]
        and model.value < rule_average(GLUE_ROW, "GLUE", "mixed", "GM", True).value
    )


def test_all_columns_uses_what_the_row_has_and_says_what_it_lacks():
    row = {**SUPERGLUE_ROW, "AX-b": math.nan, "AX-g": math.nan}
    result = rule_average(row, "SuperGLUE", "all_columns", "AM", False)
    assert result.columns == BENCHMARK_COLUMNS["SuperGLUE"][:8]
    assert result.value == pytest.approx(77.5)
    assert result.note == "row lacks AX-b, AX-g"
    # (620 + 10 + 20) / 10
    assert rule_average(SUPERGLUE_ROW, "SuperGLUE", "all_columns", "AM", False).value == pytest.approx(65.0)


def test_rounding_interval_puts_every_cell_at_either_end_of_its_rounding():
    scores, halves = {"a": 1.0, "b": 4.0, "c": math.nan}, {"a": 0.5, "b": 0.05, "c": math.nan}
    assert rounding_interval(scores, halves, ["a", "b"], "AM") == pytest.approx((2.5 - 0.275, 2.5 + 0.275))
    # GM and HM are not symmetric: the ends are the means at the ends, not a linearisation.
    hm = rounding_interval(scores, halves, ["a", "b"], "HM")
    assert hm == pytest.approx((2 / (1 / 0.5 + 1 / 3.95), 2 / (1 / 1.5 + 1 / 4.05)))
    low, high = rounding_interval(scores, halves, ["a", "b"], "GM")
    assert (low, high) == pytest.approx(((0.5 * 3.95) ** 0.5, (1.5 * 4.05) ** 0.5))
    # A cell that rounding could put at 0: GM and HM tend to 0 there; an undefined mean has no interval.
    assert rounding_interval({"a": 0.2, "b": 4.0}, {"a": 0.5, "b": 0.5}, ["a", "b"], "HM")[0] == 0.0
    assert all(math.isnan(end) for end in rounding_interval(scores, halves, ["a", "c"], "AM"))
