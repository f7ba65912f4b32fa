"""CMRC2018's sliding windows, as in the post's code (bojone/CLUE-bert4keras src/cmrc2018.py,
``stride_split``): a context too long for one sequence ``[CLS] question [SEP] context [SEP]`` of ``maxlen``
tokens is cut into windows of ``maxlen - len(question) - 3`` context tokens starting every ``stride`` tokens,
the last one reaching the context's end. A window that holds the whole answer is trained on its span; the
others on the [CLS] pair (0, 0). At prediction each window's best span (never [CLS], only context tokens,
start <= end) is scored, and the question's answer is the best of its windows, cut out of the context by the
tokens' character offsets.

The post strides over characters (one token per Chinese character in its tokenizer); here the windows are
counted in tokens of the fast tokenizer, and an answer's characters map to the tokens that overlap them
(the first token ending after its first character to the last token starting before its end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

Offsets = Sequence[tuple[int, int]]  # each context token's (start, end) characters, end exclusive


@dataclass(frozen=True)
class Window:
    start: int  # the first context token in the window
    stop: int  # one past the last
    question_tokens: int

    @property
    def first(self) -> int:
        """The window's sequence position of its first context token (after [CLS] question [SEP])."""
        return self.question_tokens + 2

    def position(self, token: int) -> int:
        return self.first + token - self.start

    def token(self, position: int) -> int:
        return position - self.first + self.start


def split_windows(
    context_tokens: int, question_tokens: int, maxlen: int = 512, stride: int = 128
) -> list[Window]:
    width = maxlen - question_tokens - 3
    if context_tokens <= 0:
        raise ValueError("an empty context has no windows")
    if width <= 0 or stride <= 0:
        raise ValueError(
            f"no room for context: maxlen {maxlen}, question {question_tokens} tokens, stride {stride}"
        )
    windows, start = [], 0
    while True:
        windows.append(Window(start, min(start + width, context_tokens), question_tokens))
        if start + width >= context_tokens:
            return windows
        start += stride


def answer_tokens(offsets: Offsets, start_char: int, text: str) -> tuple[int, int]:
    """The first and last context token (inclusive) covering the answer's characters."""
    end_char = start_char + len(text)
    covering = [t for t, (begin, end) in enumerate(offsets) if begin < end_char and end > start_char]
    if not text or not covering:
        raise ValueError(f"answer {text!r} at character {start_char} covers no context token")
    return covering[0], covering[-1]


def window_target(window: Window, answer: tuple[int, int] | None) -> tuple[int, int]:
    """The (start, end) sequence positions a window is trained on: the answer's, or (0, 0) for [CLS] when the
    window does not hold all of it."""
    if answer is None or not (window.start <= answer[0] and answer[1] < window.stop):
        return 0, 0
    return window.position(answer[0]), window.position(answer[1])


def window_inputs(
    question_ids: Sequence[int], context_ids: Sequence[int], window: Window, cls: int, sep: int
):
    """The window's token ids and its span mask (1 on [CLS] and the context tokens, as the post's mask)."""
    ids = [cls, *question_ids, sep, *context_ids[window.start : window.stop], sep]
    mask = [1] + [0] * (len(question_ids) + 1) + [1] * (window.stop - window.start) + [0]
    return ids, mask


def best_span(logits: np.ndarray, window: Window) -> tuple[float, int, int]:
    """The window's best (score, first token, last token) over its context spans, from span logits [L, L]."""
    positions = np.arange(logits.shape[0])
    inside = (positions >= window.first) & (positions < window.position(window.stop))
    allowed = inside[:, None] & inside[None, :] & (positions[:, None] <= positions[None, :])
    masked = np.where(allowed, logits, -np.inf)
    start, end = np.unravel_index(np.argmax(masked), masked.shape)
    return float(masked[start, end]), window.token(int(start)), window.token(int(end))


def stitch(
    window_logits: Sequence[np.ndarray], windows: Sequence[Window], offsets: Offsets, context: str
) -> tuple[str, int]:
    """A question's answer text and its first character: the best span over all of its windows."""
    if len(window_logits) != len(windows) or not windows:
        raise ValueError(f"{len(window_logits)} windows of logits for {len(windows)} windows")
    spans = [best_span(logits, window) for logits, window in zip(window_logits, windows)]
    _, first, last = max(spans, key=lambda span: span[0])  # the earliest window on ties
    begin, end = offsets[first][0], offsets[last][1]
    return context[begin:end], begin
