"""CMRC2018 EM/F1 (the official evaluation's semantics) and CLUENER entity F1 on hand-worked cases."""

from __future__ import annotations

import pytest

from kexue_repro.clue.span_metrics import (
    cmrc_em,
    cmrc_f1,
    cmrc_score,
    entity_micro_f1,
    longest_common_run,
    mixed_segmentation,
    remove_punctuation,
)


def test_mixed_segmentation_splits_chinese_per_character_and_keeps_words_and_numbers():
    assert mixed_segmentation("1990年3月") == ["1990", "年", "3", "月"]
    assert (
        mixed_segmentation(" Harry Potter和《魔法石》 ", remove_punctuation=True)
        == "harry potter 和 魔 法 石".split()
    )
    assert mixed_segmentation("约3.5亿，") == ["约", "3.5", "亿", "，"]
    assert mixed_segmentation("约3.5亿，", remove_punctuation=True) == ["约", "3.5", "亿"]


def test_punctuation_removal_keeps_the_official_lists_quirk():
    assert remove_punctuation(" 《红楼梦》。") == "红楼梦"
    assert remove_punctuation("好……") == "好……"  # '……' is listed as one string: no single char matches it


@pytest.mark.parametrize(
    ("answers", "prediction", "em", "f1"),
    [
        (["北京大学"], "北京大学。", 1.0, 1.0),  # punctuation removed
        (["1990年"], "1990年3月", 0.0, 2 * 0.5 * 1 / 1.5),  # 2 common of 4 predicted, 2 gold segments
        (["甲乙丙丁"], "甲丙乙丁", 0.0, 0.25),  # the longest common *run* is 1 segment (a bag would give 1)
        (["天安门", "北京天安门广场"], "天安门广场", 0.0, 10 / 12),  # max over answers: 0.75 vs 10/12
        (["Harry Potter"], "harry potter", 1.0, 1.0),  # lower-cased
        (["Harry Potter"], "harry potter和", 0.0, 0.8),
        (["长城"], "", 0.0, 0.0),
        (["长城"], "故宫", 0.0, 0.0),
    ],
)
def test_cmrc_em_and_f1_hand_worked(answers, prediction, em, f1):
    assert cmrc_em(answers, prediction) == em
    assert cmrc_f1(answers, prediction) == pytest.approx(f1)


def test_longest_common_run_is_contiguous():
    assert longest_common_run(list("abcde"), list("xbcdy")) == 3
    assert longest_common_run(list("abab"), list("ba")) == 2
    assert longest_common_run([], list("a")) == 0


def test_cmrc_score_counts_unanswered_questions_as_zero():
    score = cmrc_score({"q1": ["甲"], "q2": ["乙丙"], "q3": ["丁"]}, {"q1": "甲", "q2": "乙"})
    assert score.em == pytest.approx(100 / 3)
    assert score.f1 == pytest.approx(100 * (1 + 2 / 3) / 3)  # q2: P 1, R 1/2
    assert (score.total, score.unanswered) == (3, 1)
    with pytest.raises(ValueError, match="no questions"):
        cmrc_score({}, {})


def test_entity_micro_f1_hand_worked():
    gold = [[("name", 0, 2), ("address", 15, 16)], [], [("company", 3, 5)]]
    predicted = [[("name", 0, 2), ("address", 15, 17)], [("game", 1, 2)], [("organization", 3, 5)]]
    score = entity_micro_f1(gold, predicted)  # only (name, 0, 2) matches: type, start and end
    assert (score.true_positives, score.predicted, score.gold) == (1, 4, 3)
    assert (score.precision, score.recall) == (pytest.approx(1 / 4), pytest.approx(1 / 3))
    assert score.f1 == pytest.approx(2 / 7)
    perfect = entity_micro_f1(gold, gold)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    assert entity_micro_f1([[]], [[]]).f1 == 0.0
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        entity_micro_f1([[], []], [[]])
