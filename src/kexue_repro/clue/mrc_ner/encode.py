"""Prepared records of CLUENER, CMRC2018, C3 and CHID as model inputs, laid out as the post's code lays them
out (bojone/CLUE-bert4keras, src/cluener.py, cmrc2018.py, c3.py, chid.py), with the fast tokenizer and its
character offsets. Every segment id is 0, as there.

- ner (CLUENER): ``[CLS] text [SEP]`` cut to ``maxlen``; an entity (first character, last character) is the
  (type, first token, last token) whose tokens start and end exactly on those characters (the post's
  start/end mappings); one whose characters fall outside the kept tokens (or inside a token) is dropped from
  the targets and still counts as gold in the metric.
- span (CMRC2018): ``[CLS] question [SEP] context-window [SEP]`` for each window of ``cmrc_windows`` (the
  question cut to ``maxlen // 2`` tokens, never binding at 512 on CMRC2018), the span mask on [CLS] and the
  window's context, target (0, 0) where a window lacks the answer. Training uses the first answer with a
  start; a question without one (or whose answer covers no token) is left out of training, still scored.
- choice (C3): per choice ``[CLS] p [SEP] q [SEP] c [SEP]`` with the passage's turns joined by ``||``, cut as
  bert4keras' ``truncate_sequences(maxlen, -2, c, q, p)`` (``truncated_lengths``); fewer than
  ``num_choices`` choices are padded with the text ``无效答案`` (invalid answer), as the post does.
- chid (CHID): per candidate ``[CLS] candidate [SEP]`` + the context: the passage's text around the target
  blank, the target as ``[unused1]``, every other blank as 4 x ``[MASK]``, then ``[SEP]``; the text trimmed
  from the far ends as the post's ``sample_split`` (``chid_context``), in tokens, to fit ``maxlen`` with the
  record's longest candidate (the post counts 4 characters, an idiom's usual length).

Each split is a dataset of items (records; windows for span) whose ``collate`` gives a padded batch: the
model's inputs and ``labels`` (ner: the positive (start, end) pairs per head as ``start * n + end``, padded
with 0; span: (start, end) per window; choice and chid: the right choice).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from kexue_repro.clue.cmrc_windows import Window, answer_tokens, split_windows, window_inputs, window_target
from kexue_repro.data.clue_records import read_json_objects

KINDS = ("ner", "span", "choice", "chid")
FIELDS = {
    "ner": ("text", "entities"),
    "span": ("id", "question", "context", "answers"),
    "choice": ("passage", "question", "choices", "label"),
    "chid": ("group", "tag", "passage", "candidates", "label"),
}
INVALID_CHOICE = "无效答案"  # the post's padding choice for C3 questions with fewer than 4 choices
BLANK = re.compile(r"#idiom\d{6}#")


def read_records(path: str | os.PathLike, kind: str) -> list[dict[str, Any]]:
    """A prepared split: one JSON object a line with the kind's fields; a bad line raises naming it."""
    records = read_json_objects(path)
    for number, record in enumerate(records, start=1):
        missing = [f for f in FIELDS[kind] if f not in record]
        if missing:
            raise ValueError(f"{path}: record {number}: a {kind} record needs '{missing[0]}'")
    return records


def pad(rows: Sequence[np.ndarray], value: int = 0) -> torch.Tensor:
    """Rows of token ids right-padded to the longest, as one long tensor."""
    out = np.full((len(rows), max(len(row) for row in rows)), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return torch.from_numpy(out)


def inputs(rows: Sequence[np.ndarray], pad_id: int) -> dict[str, torch.Tensor]:
    input_ids = pad(rows, pad_id)
    attention_mask = pad([np.ones(len(row), dtype=np.int64) for row in rows])
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": torch.zeros_like(input_ids),
    }


def ids(values: Sequence[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int32)


# ---------------------------------------------------------------- ner


@dataclass
class NerSet:
    ids: list[np.ndarray]  # [CLS] text [SEP], cut to maxlen
    # Each token's characters [tokens, 2] (start, end exclusive); [CLS] and [SEP] (-1, -1).
    offsets: list[np.ndarray]
    targets: list[list[tuple[int, int, int]]]  # (type id, first token, last token)
    gold: list[list[tuple[str, int, int]]]  # every entity of the record: (type, first char, last char)
    types: tuple[str, ...]
    pad_id: int

    def __len__(self) -> int:
        return len(self.ids)

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        batch = inputs([self.ids[i] for i in indices], self.pad_id)
        n = batch["input_ids"].shape[1]
        per_head = [[[] for _ in self.types] for _ in indices]
        for row, i in enumerate(indices):
            for kind, first, last in self.targets[i]:
                per_head[row][kind].append(first * n + last)
        width = max([1] + [len(spans) for heads in per_head for spans in heads])
        positives = torch.zeros(len(indices), len(self.types), width, dtype=torch.long)
        for row, heads in enumerate(per_head):
            for kind, spans in enumerate(heads):
                positives[row, kind, : len(spans)] = torch.tensor(spans, dtype=torch.long)
        return batch | {"labels": positives}

    def entities(self, record: int, spans: Sequence[tuple[int, int, int]]) -> list[tuple[str, int, int]]:
        """Predicted (type id, first token, last token) spans as sorted (type, first char, last char)."""
        offsets = self.offsets[record]
        found = {
            (self.types[kind], int(offsets[first, 0]), int(offsets[last, 1]) - 1)
            for kind, first, last in spans
            if offsets[first, 0] >= 0 and offsets[last, 0] >= 0
        }
        return sorted(found, key=lambda e: (e[1], e[2], e[0]))


def encode_ner(records: Sequence[dict], tokenizer, maxlen: int, types: Sequence[str]) -> NerSet:
    types = tuple(types)
    out = tokenizer(
        [r["text"] for r in records], truncation=True, max_length=maxlen, return_offsets_mapping=True,
        return_special_tokens_mask=True, return_token_type_ids=False, return_attention_mask=False,
    )  # fmt: skip
    data = NerSet([], [], [], [], types, tokenizer.pad_token_id)
    for record, token_ids, offsets, special in zip(
        records, out["input_ids"], out["offset_mapping"], out["special_tokens_mask"]
    ):
        offsets = np.array([(-1, -1) if s else o for o, s in zip(offsets, special)], dtype=np.int64)
        starts = {int(b): t for t, (b, e) in enumerate(offsets) if b >= 0}
        ends = {int(e) - 1: t for t, (b, e) in enumerate(offsets) if b >= 0}
        targets, gold = [], []
        for kind, first, last in record["entities"]:
            if kind not in types:
                raise ValueError(f"entity type {kind!r} is not one of the meta's entity_types {list(types)}")
            gold.append((kind, first, last))
            if first in starts and last in ends and starts[first] <= ends[last]:
                targets.append((types.index(kind), starts[first], ends[last]))
        data.ids.append(ids(token_ids))
        data.offsets.append(offsets)
        data.targets.append(list(dict.fromkeys(targets)))  # a repeated entity is one positive
        data.gold.append(gold)
    return data


# ---------------------------------------------------------------- span


@dataclass
class Question:
    id: str
    context: str
    offsets: np.ndarray  # the context tokens' characters [tokens, 2]
    windows: list[Window]
    answers: list[str]  # the gold texts


@dataclass
class SpanSet:
    ids: list[np.ndarray]  # per window: [CLS] question [SEP] window [SEP]
    masks: list[np.ndarray]  # 1 on [CLS] and the window's context tokens
    targets: list[tuple[int, int]]  # the window's (start, end) positions; (0, 0): not in this window
    question: list[int]  # the window's question (an index of ``questions``)
    questions: list[Question]
    pad_id: int

    def __len__(self) -> int:
        return len(self.ids)

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        batch = inputs([self.ids[i] for i in indices], self.pad_id)
        span_mask = pad([self.masks[i] for i in indices])
        labels = torch.tensor([self.targets[i] for i in indices], dtype=torch.long)
        return batch | {"span_mask": span_mask, "labels": labels}


def encode_span(records: Sequence[dict], tokenizer, maxlen: int, stride: int, train: bool) -> SpanSet:
    """Windows of every question; ``train``: only questions with a usable answer (see the module's doc)."""
    data = SpanSet([], [], [], [], [], tokenizer.pad_token_id)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    seen: set[str] = set()  # question ids: answers are keyed by them
    for record in records:
        question = tokenizer(record["question"], add_special_tokens=False)["input_ids"][: maxlen // 2]
        context = tokenizer(record["context"], add_special_tokens=False, return_offsets_mapping=True)
        if not context["input_ids"]:
            raise ValueError(f"cmrc2018 question {record['id']}: the context has no tokens")
        offsets = np.array(context["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        answer = None
        starts = [(text, start) for text, start in record["answers"] if start is not None]
        if starts:
            try:
                answer = answer_tokens(offsets, starts[0][1], starts[0][0])
            except ValueError:
                answer = None
        if train and answer is None:
            continue
        if str(record["id"]) in seen:
            raise ValueError(f"cmrc2018: question id {record['id']} repeats")
        seen.add(str(record["id"]))
        windows = split_windows(len(offsets), len(question), maxlen, stride)
        data.questions.append(
            Question(
                str(record["id"]), record["context"], offsets, windows, [t for t, _ in record["answers"]]
            )
        )
        for window in windows:
            window_ids, mask = window_inputs(question, context["input_ids"], window, cls, sep)
            data.ids.append(ids(window_ids))
            data.masks.append(ids(mask))
            data.targets.append(window_target(window, answer))
            data.question.append(len(data.questions) - 1)
    return data


# ---------------------------------------------------------------- choice and chid


@dataclass
class ChoiceSet:
    choices: list[list[tuple[np.ndarray, ...]]]  # per record, per choice: parts joined into its sequence
    labels: list[int]
    groups: list[int] | None  # chid: each record's passage group
    pad_id: int

    def __len__(self) -> int:
        return len(self.choices)

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        rows = [np.concatenate(parts) for i in indices for parts in self.choices[i]]
        batch = inputs(rows, self.pad_id)
        shape = (len(indices), len(self.choices[indices[0]]), -1)
        batch = {key: value.view(shape) for key, value in batch.items()}
        return batch | {"labels": torch.tensor([self.labels[i] for i in indices], dtype=torch.long)}


def truncated_lengths(lengths: Sequence[int], maxlen: int) -> list[int]:
    """The lengths bert4keras' ``truncate_sequences(maxlen, ...)`` leaves: it removes one token at a time from
    the longest sequence (the first of equal ones) until the total fits. In closed form: every sequence is
    cut to the lowest level T whose cut removes at most the excess, and the remaining few tokens come off the
    first sequences at level T."""
    excess = sum(lengths) - maxlen
    if excess <= 0:
        return list(lengths)
    if maxlen < len(lengths):
        raise ValueError(f"maxlen {maxlen} leaves no token for each of {len(lengths)} sequences")
    cut = lambda level: sum(max(n - level, 0) for n in lengths)  # noqa: E731
    low, high = 0, max(lengths)  # cut(high) = 0 <= excess < cut(0)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if cut(middle) <= excess else (middle, high)
    left = excess - cut(high)
    out = [min(n, high) for n in lengths]
    for i, n in enumerate(out):
        if left and n == high:
            out[i], left = n - 1, left - 1
    return out


def keep(tokens: np.ndarray, length: int) -> np.ndarray:
    """``tokens`` cut to ``length`` by dropping the tokens before the last one (bert4keras' index -2)."""
    return tokens if length >= len(tokens) else np.concatenate([tokens[: length - 1], tokens[-1:]])


def encode_choice(records: Sequence[dict], tokenizer, maxlen: int, num_choices: int = 4) -> ChoiceSet:
    cls, sep = [tokenizer.cls_token_id], [tokenizer.sep_token_id]
    tokenize = lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]  # noqa: E731
    data = ChoiceSet([], [], None, tokenizer.pad_token_id)
    for record in records:
        choices = list(record["choices"])[:num_choices]
        choices += [INVALID_CHOICE] * (num_choices - len(choices))
        if not 0 <= record["label"] < len(record["choices"]):
            raise ValueError(f"c3 question {record.get('id')}: label {record['label']} is not a choice")
        passage, question, *answers = tokenize(["||".join(record["passage"]), record["question"], *choices])
        p, q = ids(cls + passage + sep), ids(question + sep)
        row = []
        for answer in answers:
            c = ids(answer + sep)
            c_len, q_len, p_len = truncated_lengths([len(c), len(q), len(p)], maxlen)
            row.append((keep(p, p_len), keep(q, q_len), keep(c, c_len)))
        data.choices.append(row)
        data.labels.append(record["label"])
    return data


def chid_context(
    segments: Sequence[np.ndarray], blank: int, room: int, mark: int, mask: int, sep: int
) -> np.ndarray:
    """The context of the blank after ``segments[blank]`` in at most ``room`` tokens: the text before it
    (other blanks as 4 x ``mask``), ``mark``, the text after it, ``sep``. Too long, the side with more text
    tokens loses its first (left) or last (right) token, or its outermost segment with the blank beside it
    once that is down to one token (the post's ``sample_split``, taken a run of tokens at a time)."""
    left = [np.asarray(s) for s in segments[: blank + 1]]  # the text before the blank, by segment
    right = [np.asarray(s) for s in segments[blank + 1 :]]
    l_left, l_right = sum(map(len, left)), sum(map(len, right))
    blanks = lambda: 4 * (max(len(left) - 1, 0) + max(len(right) - 1, 0))  # noqa: E731
    while (over := l_left + l_right + 2 + blanks() - room) > 0:
        if not left and not right:
            raise ValueError(f"no room for CHID's context: {room} tokens")
        if left and right and l_left == l_right:  # the post alternates right, left, ...: take pairs at once
            pairs = min(over // 2, len(left[0]) - 1, len(right[-1]) - 1)
            if pairs > 0:
                left[0], right[-1] = left[0][pairs:], right[-1][:-pairs]
                l_left, l_right = l_left - pairs, l_right - pairs
                continue
        if l_left > l_right:
            if len(left[0]) > 1:
                n = min(over, l_left - l_right, len(left[0]) - 1)
                left[0], l_left = left[0][n:], l_left - n
            else:
                l_left -= len(left.pop(0))
        else:
            if not right:
                raise ValueError(f"no room for CHID's context: {room} tokens")
            if len(right[-1]) > 1:
                n = min(over, l_right - l_left + 1, len(right[-1]) - 1)
                right[-1], l_right = right[-1][:-n], l_right - n
            else:
                l_right -= len(right.pop())

    def joined(parts: list[np.ndarray]) -> list[int]:
        out: list[int] = []
        for i, part in enumerate(parts):
            out += ([mask] * 4 if i else []) + part.tolist()
        return out

    return ids(joined(left) + [mark] + joined(right) + [sep])


def encode_chid(records: Sequence[dict], tokenizer, maxlen: int, num_choices: int = 10) -> ChoiceSet:
    mark, mask = tokenizer.convert_tokens_to_ids(["[unused1]", tokenizer.mask_token])
    if mark == tokenizer.unk_token_id:
        raise ValueError("the tokenizer has no [unused1] token (CHID's mark of the target blank)")
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    candidates: dict[str, np.ndarray] = {}  # each idiom's [CLS] idiom [SEP], shared by all its records
    passage, segments = None, []
    data = ChoiceSet([], [], [], tokenizer.pad_token_id)
    for record in records:
        if len(record["candidates"]) != num_choices or not 0 <= record["label"] < num_choices:
            raise ValueError(f"chid blank {record['tag']}: {num_choices} candidates and a label among them")
        if record["passage"] != passage:  # the blanks of one passage are consecutive: tokenize it once
            passage = record["passage"]
            segments = [
                ids(s) for s in tokenizer(BLANK.split(passage), add_special_tokens=False)["input_ids"]
            ]
            tags = BLANK.findall(passage)
        if record["tag"] not in tags:
            raise ValueError(f"chid blank {record['tag']} is not in its passage")
        for idiom in record["candidates"]:
            if idiom not in candidates:
                candidates[idiom] = ids([cls, *tokenizer(idiom, add_special_tokens=False)["input_ids"], sep])
        head = [candidates[idiom] for idiom in record["candidates"]]
        room = maxlen - max(len(h) for h in head)
        context = chid_context(segments, tags.index(record["tag"]), room, mark, mask, sep)
        data.choices.append([(h, context) for h in head])
        data.labels.append(record["label"])
        data.groups.append(record["group"])
    return data


def check_model_length(path_or_name: str | Path, maxlen: int) -> None:
    """A maxlen beyond the model's position embeddings fails deep inside torch: say so up front."""
    from transformers import AutoConfig

    positions = AutoConfig.from_pretrained(path_or_name).max_position_embeddings
    if maxlen > positions:
        raise ValueError(f"maxlen {maxlen} exceeds the model's {positions} positions ({path_or_name})")
