"""CHID's Hungarian decoding against brute force over all assignments, and against independent argmax."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kexue_repro.clue.chid_decode import assign, decode, independent_argmax


def brute_force(scores: np.ndarray) -> tuple[int, ...]:
    blanks, candidates = scores.shape
    return max(
        itertools.permutations(range(candidates), blanks),
        key=lambda choice: sum(scores[b, c] for b, c in enumerate(choice)),
    )


@pytest.mark.parametrize("shape", [(1, 3), (2, 2), (3, 5), (4, 4), (4, 6)])
def test_assignment_is_the_best_over_all_permutations(shape):
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        scores = rng.normal(size=shape)
        assert tuple(assign(scores)) == brute_force(scores)


def test_assignment_beats_argmax_where_argmax_picks_one_idiom_twice():
    # one passage, two blanks, three candidate idioms; the gold answers are idioms 1 and 0
    scores = np.array([[5.0, 4.0, 0.0], [6.0, 1.0, 0.0]])
    gold = np.array([1, 0])
    argmax = independent_argmax(scores)
    assert list(argmax) == [0, 0]  # idiom 0 twice
    assert list(assign(scores)) == [1, 0]  # 4 + 6 = 10 beats 5 + 1 = 6
    assert (argmax == gold).mean() == 0.5 and (assign(scores) == gold).mean() == 1.0


def test_decode_assigns_within_each_passage_only():
    scores = np.array([[5.0, 4.0, 0.0], [1.0, 9.0, 0.0], [6.0, 1.0, 0.0], [3.0, 2.0, 1.0]])
    passages = ["a", "b", "a", "b"]  # rows of one passage need not be adjacent
    assert list(decode(scores, passages)) == [1, 1, 0, 0]
    assert list(decode(scores, passages, joint=False)) == [0, 1, 0, 0]
    with pytest.raises(ValueError, match="4 rows of scores but 3 passage ids"):
        decode(scores, passages[:3])
    with pytest.raises(ValueError, match="blanks <= candidates"):
        assign(np.zeros((3, 2)))
