"""CMRC2018's sliding windows: splitting, answer targets and stitching, on hand-built cases and against slow
references (the post's character loop; every span of every window)."""

from __future__ import annotations

import numpy as np
import pytest

from kexue_repro.clue.cmrc_windows import (
    Window,
    answer_tokens,
    best_span,
    split_windows,
    stitch,
    window_inputs,
    window_target,
)


def post_stride_split(n: int, question: int, maxlen: int, stride: int) -> list[tuple[int, int]]:
    """The post's ``stride_split`` loop, on token counts."""
    results, k = [], 0
    width = maxlen - question - 3
    while True:
        left, right = k * stride, k * stride + width
        results.append((left, min(right, n)))
        if right >= n:
            return results
        k += 1


def test_windows_by_hand_and_against_the_posts_loop():
    assert [(w.start, w.stop) for w in split_windows(10, 2, maxlen=10, stride=3)] == [(0, 5), (3, 8), (6, 10)]
    assert [(w.start, w.stop) for w in split_windows(5, 2, maxlen=10, stride=3)] == [(0, 5)]
    for n in range(1, 40):
        for question, maxlen, stride in ((2, 10, 3), (5, 16, 4), (1, 12, 128)):
            windows = split_windows(n, question, maxlen, stride)
            assert [(w.start, w.stop) for w in windows] == post_stride_split(n, question, maxlen, stride)
            assert all(w.stop - w.start <= maxlen - question - 3 for w in windows)
    with pytest.raises(ValueError, match="no room for context"):
        split_windows(10, 7, maxlen=10)
    with pytest.raises(ValueError, match="empty context"):
        split_windows(0, 2)


CONTEXT = "在1990年发生"
OFFSETS = [(0, 1), (1, 5), (5, 6), (6, 7), (7, 8)]  # 在 | 1990 | 年 | 发 | 生


def test_answer_characters_map_to_the_tokens_covering_them():
    assert answer_tokens(OFFSETS, 1, "1990年") == (1, 2)
    assert answer_tokens(OFFSETS, 2, "99") == (1, 1)  # inside one token: that token
    assert answer_tokens(OFFSETS, 7, "生") == (4, 4)
    with pytest.raises(ValueError, match="covers no context token"):
        answer_tokens(OFFSETS, 8, "x")


def test_targets_point_at_the_answer_only_in_windows_that_hold_all_of_it():
    windows = split_windows(10, 2, maxlen=10, stride=3)  # [0, 5), [3, 8), [6, 10)
    targets = [window_target(w, (4, 6)) for w in windows]
    assert targets == [(0, 0), (4 + 4 - 3, 4 + 6 - 3), (0, 0)]
    assert [window_target(w, None) for w in windows] == [(0, 0)] * 3
    question, context = [101, 102], list(range(200, 210))
    ids, mask = window_inputs(question, context, windows[1], cls=1, sep=2)
    assert ids == [1, 101, 102, 2, 203, 204, 205, 206, 207, 2] and len(ids) <= 10
    assert mask == [1, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    start, end = targets[1]
    assert ids[start : end + 1] == context[4:7]


def slow_stitch(window_logits, windows, offsets, context):
    best = None
    for logits, window in zip(window_logits, windows):
        for i in range(len(logits)):
            for j in range(i, len(logits)):
                first, last = i - window.first + window.start, j - window.first + window.start
                if window.start <= first and last < window.stop and (best is None or logits[i, j] > best[0]):
                    best = (logits[i, j], first, last)
    return context[offsets[best[1]][0] : offsets[best[2]][1]], offsets[best[1]][0]


def test_stitching_by_hand():
    windows = [Window(0, 3, 1), Window(2, 5, 1)]  # [CLS] q [SEP] three context tokens [SEP]: length 7
    first = np.zeros((7, 7))
    first[0, 0] = first[1, 1] = first[4, 3] = 100.0  # [CLS], the question, end before start: never chosen
    first[3, 4] = 3.0  # tokens 0-1
    second = np.zeros((7, 7))
    second[4, 5] = 5.0  # tokens 3-4
    assert best_span(first, windows[0]) == (3.0, 0, 1)
    assert stitch([first, second], windows, OFFSETS, CONTEXT) == ("发生", 6)
    second[4, 5] = 2.0
    assert stitch([first, second], windows, OFFSETS, CONTEXT) == ("在1990", 0)


def test_stitching_matches_the_slow_reference():
    rng = np.random.default_rng(0)
    n = 23
    offsets = [(2 * t, 2 * t + 2) for t in range(n)]
    context = "".join(chr(0x4E00 + t) * 2 for t in range(n))
    for question in (1, 3):
        windows = split_windows(n, question, maxlen=12, stride=4)
        for _ in range(10):
            logits = [rng.normal(size=(12, 12)) for _ in windows]
            assert stitch(logits, windows, offsets, context) == slow_stitch(logits, windows, offsets, context)
    with pytest.raises(ValueError, match="1 windows of logits for 2 windows"):
        stitch(logits[:1], windows[:2], offsets, context)
