"""Loading and validating the long leaderboard table of study 8783."""

import math
from pathlib import Path

import pytest

from kexue_repro.leaderboard.data import (
    FIELDS,
    HALF_UNIT,
    LOW_CONFIDENCE,
    VERIFIED,
    half_unit,
    load_long_table,
    wide_tables,
)

HEADER = ",".join(FIELDS)


def line(
    model="M",
    task="CoLA",
    raw="50.0",
    score="50.0",
    overall="75.0",
    quality="verified",
    snapshot="2020",
    benchmark="GLUE",
):
    return f'{benchmark},{snapshot},{model},team,{task},Acc,{raw},{score},{overall},"{quality}",src'


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "leaderboards.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_a_malformed_line_raises_one_line_naming_file_line_and_field(tmp_path):
    path = write(tmp_path, line(), line(task="SST-2", score="ninety"))
    with pytest.raises(ValueError) as err:
        load_long_table(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and "line 3" in message and "'task_score_mean_of_metrics'" in message


def test_a_line_with_too_few_fields_is_rejected(tmp_path):
    path = write(tmp_path, line(), "GLUE,2020,M,team,SST-2")
    with pytest.raises(ValueError, match=r"line 3: field 'metric'"):
        load_long_table(path)


@pytest.mark.parametrize(
    "bad, field",
    [
        (line(task="CoLA2"), "task"),
        (line(benchmark="XGLUE"), "benchmark"),
        (line(quality="guessed"), "quality"),
        (line(overall=""), "reported_overall"),
        # a two-metric task must score the mean of its printed metrics
        (line(task="MRPC", raw="86.3/80.8", score="86.3"), "task_score_mean_of_metrics"),
    ],
)
def test_bad_values_name_their_field(tmp_path, bad, field):
    with pytest.raises(ValueError, match=rf"line 2: field '{field}'"):
        load_long_table(write(tmp_path, bad))


def test_a_row_with_two_quality_flags_is_rejected(tmp_path):
    path = write(tmp_path, line(), line(task="SST-2", quality="overall-only"))
    with pytest.raises(ValueError, match=r"line 3: field 'quality'"):
        load_long_table(path)


def test_rows_are_keyed_by_snapshot_too_and_keep_their_flags(tmp_path):
    path = write(
        tmp_path,
        line(model="ERNIE", snapshot="2021", quality="partial,low-confidence"),
        line(model="ERNIE", snapshot="2022", raw="60", score="60"),
        line(model="ERNIE", snapshot="2022", task="OVERALL", raw="75.0", score="75.0"),
        line(model="GLUE Human Baselines", quality="verified(QNLI v2 missing)"),
    )
    wide = wide_tables(load_long_table(path))["GLUE"]
    assert list(wide.index) == ["ERNIE @ 2021", "ERNIE @ 2022", "GLUE Human Baselines @ 2020"]
    assert list(wide["quality_class"]) == [LOW_CONFIDENCE, VERIFIED, VERIFIED]
    assert wide.loc["GLUE Human Baselines @ 2020", "quality"] == "verified(QNLI v2 missing)"
    assert list(wide["is_human"]) == [False, False, True]
    assert wide.loc["ERNIE @ 2022", "CoLA"] == 60.0 and math.isnan(wide.loc["ERNIE @ 2022", "AX"])


def test_half_unit_follows_the_decimals_printed():
    assert [half_unit(text) for text in ("89.2", "77", "0.0", "92.65")] == pytest.approx(
        [0.05, 0.5, 0.05, 0.005]
    )


def test_the_wide_table_carries_each_cells_and_the_overalls_rounding(tmp_path):
    path = write(
        tmp_path,
        line(task="MRPC", raw="86.3/80.8", score="83.55", overall="75.0"),
        line(task="CoLA", raw="60", score="60"),
    )
    wide = wide_tables(load_long_table(path))["GLUE"].iloc[0]
    assert wide["MRPC" + HALF_UNIT] == pytest.approx(0.05) and wide["CoLA" + HALF_UNIT] == pytest.approx(0.5)
    assert wide["overall_half_unit"] == pytest.approx(0.05) and math.isnan(wide["AX" + HALF_UNIT])
