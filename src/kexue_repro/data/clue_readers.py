"""CLUE task files read into records ``{"text": str, "text_pair": str | None, "label": int}``, formatted as in
the post's code (one line per task below).

- TNEWS, IFLYTEK: ``sentence``; label ids in the order of labels.json (TNEWS: 15 codes 100-116 without 105
  and 111; IFLYTEK: 119 codes 0-118).
- AFQMC: sentence1 / sentence2, labels "0", "1".
- OCNLI, CMNLI: sentence1 / sentence2, labels entailment, neutral, contradiction; records labelled "-" (no
  gold label) are dropped and counted. OCNLI trains on train.50k.json.
- CLUEWSC2020: the text with span1 marked ``_..._`` and span2 ``[...]`` at their character indices; labels
  "false", "true" (the post's order).
- CSL: the keywords joined by "；" as text, the abstract as text_pair; labels "0", "1".

A pair is one sequence ``[CLS] text [SEP] text_pair [SEP]`` whose segment ids are ALL 0 in the post: that is
for the fine-tuning step's encoder to do (the records keep the two texts apart).

Records are split on the byte ``\\n`` only (IFLYTEK texts contain U+2028, which ``str.splitlines`` would split);
an empty last line is tolerated. A malformed record fails with one line naming the file, the line and the field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from kexue_repro.data.clue import get_task

NLI_LABELS = ("entailment", "neutral", "contradiction")
NO_GOLD_LABEL = "-"


@dataclass(frozen=True)
class Line:
    """One JSON record of a file, with the place it came from for error messages."""

    path: Path
    number: int
    row: dict

    def error(self, field: str, problem: str) -> ValueError:
        return ValueError(f"{self.path}:{self.number}: field {field!r}: {problem}")

    def get(self, field: str, kind: type = str) -> Any:
        """``row[field]`` (dots reach into nested objects), which must be of type ``kind``."""
        value: Any = self.row
        for key in field.split("."):
            if not isinstance(value, dict) or key not in value:
                raise self.error(field, "missing")
            value = value[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(field, f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value


def json_lines(path: str | os.PathLike) -> Iterator[Line]:
    """The records of a file of one JSON object a line, split on the byte ``\\n``."""
    path = Path(path)
    lines = path.read_bytes().split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}:{number}: not a JSON record: {exc}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: not a JSON object")
        yield Line(path, number, row)


def _sentence(line: Line) -> tuple[str, None]:
    return line.get("sentence"), None


def _pair(line: Line) -> tuple[str, str]:
    return line.get("sentence1"), line.get("sentence2")


def _wsc(line: Line) -> tuple[str, None]:
    text = line.get("text")
    spans = [
        (line.get(f"target.span{k}_index", int), line.get(f"target.span{k}_text"), k, marks)
        for k, marks in ((1, "__"), (2, "[]"))
    ]
    for start, span, k, _ in spans:
        if text[start : start + len(span)] != span:
            found = text[start : start + len(span)]
            raise line.error(f"target.span{k}_text", f"{span!r} is not at index {start} (found {found!r})")
    (s1, t1, _, _), (s2, t2, _, _) = spans
    if s1 < s2 + len(t2) and s2 < s1 + len(t1):
        raise line.error("target", f"span1 {t1!r} at {s1} and span2 {t2!r} at {s2} overlap")
    for start, span, _, (opening, closing) in sorted(
        spans, reverse=True
    ):  # the later span first: indices hold
        text = f"{text[:start]}{opening}{span}{closing}{text[start + len(span) :]}"
    return text, None


def _csl(line: Line) -> tuple[str, str]:
    keywords = line.get("keyword", list)
    if not all(isinstance(word, str) for word in keywords):
        raise line.error("keyword", f"expected a list of strings, got {keywords!r}")
    return "；".join(keywords), line.get("abst")


@dataclass(frozen=True)
class Format:
    """How a task's record becomes (text, text_pair), and its labels (None: from the task's labels.json)."""

    texts: Callable[[Line], tuple[str, str | None]]
    labels: tuple[str, ...] | None = None
    dropped: frozenset[str] = frozenset()
    description_field: str | None = None  # of labels.json


FORMATS = {
    "tnews": Format(_sentence, description_field="label_desc"),
    "iflytek": Format(_sentence, description_field="label_des"),
    "afqmc": Format(_pair, ("0", "1")),
    "ocnli": Format(_pair, NLI_LABELS, frozenset({NO_GOLD_LABEL})),
    "cmnli": Format(_pair, NLI_LABELS, frozenset({NO_GOLD_LABEL})),
    "cluewsc2020": Format(_wsc, ("false", "true")),
    "csl": Format(_csl, ("0", "1")),
}


@dataclass(frozen=True)
class Labels:
    names: tuple[str, ...]  # the label values of the files; a record's label id is the index here
    descriptions: tuple[str, ...] | None  # from labels.json, where the task has one

    def __len__(self) -> int:
        return len(self.names)


def task_labels(task: str, raw_dir: str | os.PathLike) -> Labels:
    """The task's label list: its labels.json in file order, else the documented fixed list."""
    fmt, spec = FORMATS[task], get_task(task)
    if spec.labels_file is None:
        return Labels(fmt.labels, None)
    names, descriptions = [], []
    for line in json_lines(Path(raw_dir) / spec.labels_file):
        label = line.get("label")
        if label in names:
            raise line.error("label", f"{label!r} is listed twice")
        names.append(label)
        descriptions.append(line.get(fmt.description_field))
    return Labels(tuple(names), tuple(descriptions))


@dataclass(frozen=True)
class Split:
    records: list[dict]
    dropped: int  # records without a gold label


def read_split(task: str, path: str | os.PathLike, labels: Labels) -> Split:
    """The labelled records of one of the task's files."""
    fmt = FORMATS[get_task(task).name]
    ids = {name: i for i, name in enumerate(labels.names)}
    records, dropped = [], 0
    for line in json_lines(path):
        label = line.get("label")
        if label in fmt.dropped:
            dropped += 1
            continue
        if label not in ids:
            raise line.error("label", f"unknown label {label!r} (known: {', '.join(labels.names)})")
        text, text_pair = fmt.texts(line)
        records.append({"text": text, "text_pair": text_pair, "label": ids[label]})
    return Split(records, dropped)
