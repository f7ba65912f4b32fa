"""The official files of CLUE's reading-comprehension and NER tasks, read into plain records (one line per
task format below); a malformed record fails with one line naming the file, the line and the field, as
``clue_readers`` does for the classification tasks.

- CLUENER (``cluener_public.zip``): a JSON object a line, ``{"text", "label": {type: {entity: [[start, end],
  ...]}}}`` with inclusive ends; each entity string must equal ``text[start:end + 1]``. Record: ``{"text",
  "entities": [(type, start, end), ...]}`` sorted; the unlabelled test file reads with ``labelled=False``.
- C3 (the owners' ``c3-{m,d}-{train,dev,test}.json``, also CLUE's ``{m,d}-*.json``): one JSON array of
  documents ``[turns, questions, id]``, each question ``{"question", "choice", "answer"}`` (CLUE adds an
  ``id``). Record per question: ``{"document", "passage" (the turns), "question", "choices", "label"}``, the
  label the first choice equal to the answer (the post's ``list.index``; three training questions repeat a
  choice). 2 to 4 choices: the model pads to 4. Errors name the line where the document starts.
- CMRC2018 (``cmrc2018_public.zip``, SQuAD layout): ``{"data": [{"paragraphs": [{"context", "qas":
  [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}`` in one JSON document. Record per
  question: ``{"id", "question", "context", "answers": [(text, start)]}``, start None where the file's
  ``answer_start`` is -1 or does not point at the text (counted: such an answer still scores, it cannot
  train). Errors name the file and the question's place in the document (a JSON document has no lines to
  name).
- CHID (``chid_public.zip``): a JSON object a line, ``{"candidates": [10 idioms], "content": [passages with
  #idiomNNNNNN# blanks]}``, and a separate answer file ``{"#idiomNNNNNN#": candidate index}``. Record per
  blank: ``{"group", "passage", "tag", "candidates", "label"}``; the blanks of one line share its
  candidates, so ``group`` (the line number) is what the assignment decodes over.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from kexue_repro.data.clue_readers import Line, json_lines

IDIOM_TAG = re.compile(r"#idiom\d{6}#")
CHID_CANDIDATES = 10


def _strings(line: Line, field: str) -> list[str]:
    value = line.get(field, list)
    if not all(isinstance(v, str) for v in value):
        raise line.error(field, f"expected a list of strings, got {value!r}")
    return value


# --- CLUENER -----------------------------------------------------------------------------------------------


def _entities(line: Line) -> list[tuple[str, int, int]]:
    text, labels = line.get("text"), line.get("label", dict)
    entities = []
    for kind, named in labels.items():
        if not isinstance(named, dict):
            raise line.error(f"label.{kind}", f"expected an object of entities, got {named!r}")
        for entity, spans in named.items():
            field = f"label.{kind}.{entity}"
            if not isinstance(spans, list) or not spans:
                raise line.error(field, f"expected a list of [start, end] spans, got {spans!r}")
            for span in spans:
                pair = isinstance(span, list) and len(span) == 2
                if not pair or not all(isinstance(v, int) and not isinstance(v, bool) for v in span):
                    raise line.error(field, f"span {span!r} is not [start, end]")
                start, end = span
                if not 0 <= start <= end < len(text):
                    raise line.error(field, f"span {span!r} is not inside a text of {len(text)} characters")
                if text[start : end + 1] != entity:
                    found = text[start : end + 1]
                    raise line.error(field, f"span {span!r} holds {found!r}, not the entity")
                entities.append((kind, start, end))
    return sorted(entities, key=lambda e: (e[1], e[2], e[0]))


def read_cluener(path: str | os.PathLike, labelled: bool = True) -> list[dict]:
    records = []
    for line in json_lines(path):
        entities = _entities(line) if labelled else []
        records.append({"text": line.get("text"), "entities": entities})
    return records


# --- C3 ----------------------------------------------------------------------------------------------------


def json_array_items(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """The items of a file holding one JSON array, each with the line where it starts."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8: {exc}") from None
    decoder, position = json.JSONDecoder(), 0

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def fail(pos: int, problem: str) -> ValueError:
        return ValueError(f"{path}:{text.count(chr(10), 0, pos) + 1}: {problem}")

    position = skip(position)
    if not text.startswith("[", position):
        raise fail(position, "not a JSON array")
    position = skip(position + 1)
    if text.startswith("]", position):
        return
    line, counted = 1, 0
    while True:
        try:
            item, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise fail(exc.pos, f"not a JSON record: {exc.msg}") from None
        # counted from the last item on: the files hold thousands of items
        line, counted = line + text.count("\n", counted, position), position
        yield line, item
        position = skip(end)
        if text.startswith(",", position):
            position = skip(position + 1)
        elif text.startswith("]", position) and not text[skip(position + 1) :]:
            return
        else:
            raise fail(position, "expected ',' or the closing ']' of the array")


def _c3_question(line: Line, k: int, labelled: bool) -> dict:
    at = f"questions[{k}]"
    line.get(at, dict)
    choices = _strings(line, f"{at}.choice")
    if not 2 <= len(choices) <= 4:
        raise line.error(f"{at}.choice", f"expected 2 to 4 choices, got {len(choices)}")
    label = None
    if labelled:
        answer = line.get(f"{at}.answer")
        if answer not in choices:
            raise line.error(f"{at}.answer", f"{answer!r} is not one of the choices")
        label = choices.index(answer)
    return {"question": line.get(f"{at}.question"), "choices": choices, "label": label}


def read_c3(path: str | os.PathLike, labelled: bool = True) -> list[dict]:
    records = []
    for number, document in json_array_items(path):
        if not isinstance(document, list) or len(document) != 3:
            raise ValueError(f"{path}:{number}: expected a document [turns, questions, id]")
        turns, questions, doc_id = document
        row = {"turns": turns, "questions": questions, "id": doc_id}
        if isinstance(questions, list):  # "questions[k]" holds no dot: Line.get reaches into it
            row |= {f"questions[{k}]": question for k, question in enumerate(questions)}
        line = Line(Path(path), number, row)
        _strings(line, "turns")
        for k in range(len(line.get("questions", list))):
            records.append({"document": line.get("id"), "passage": turns, **_c3_question(line, k, labelled)})
    return records


# --- CMRC2018 ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cmrc:
    questions: list[dict]
    misplaced: int  # answers whose answer_start is -1 or does not point at their text


def _cmrc_get(where: str, row: Any, field: str, kind: type) -> Any:
    if not isinstance(row, dict) or field not in row:
        raise ValueError(f"{where}: field {field!r}: missing")
    if not isinstance(row[field], kind) or isinstance(row[field], bool):
        raise ValueError(f"{where}: field {field!r}: expected {kind.__name__}, got {row[field]!r}")
    return row[field]


def read_cmrc2018(path: str | os.PathLike) -> Cmrc:
    try:
        document = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON document: {exc}") from None
    questions, misplaced, seen = [], 0, set()
    for a, article in enumerate(_cmrc_get(str(path), document, "data", list)):
        for p, paragraph in enumerate(_cmrc_get(f"{path}: data[{a}]", article, "paragraphs", list)):
            where = f"{path}: data[{a}].paragraphs[{p}]"
            context = _cmrc_get(where, paragraph, "context", str)
            for q, qa in enumerate(_cmrc_get(where, paragraph, "qas", list)):
                at = f"{where}.qas[{q}]"
                qid = _cmrc_get(at, qa, "id", str)
                at = f"{at} (question {qid})"
                if qid in seen:
                    raise ValueError(f"{at}: field 'id': repeated")
                seen.add(qid)
                answers = []
                for k, answer in enumerate(_cmrc_get(at, qa, "answers", list)):
                    text = _cmrc_get(f"{at}.answers[{k}]", answer, "text", str)
                    start = _cmrc_get(f"{at}.answers[{k}]", answer, "answer_start", int)
                    if start < 0 or context[start : start + len(text)] != text:
                        misplaced, start = misplaced + 1, None
                    answers.append((text, start))
                question = _cmrc_get(at, qa, "question", str)
                questions.append({"id": qid, "question": question, "context": context, "answers": answers})
    return Cmrc(questions, misplaced)


# --- CHID --------------------------------------------------------------------------------------------------


def read_chid_answers(path: str | os.PathLike) -> dict[str, int]:
    try:
        answers = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON document: {exc}") from None
    if not isinstance(answers, dict):
        raise ValueError(f"{path}: expected an object of blank tag -> candidate index")
    for tag, index in answers.items():
        if not IDIOM_TAG.fullmatch(tag) or isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(
                f"{path}: field {tag!r}: expected '#idiomNNNNNN#': candidate index, got {index!r}"
            )
    return answers


def read_chid(path: str | os.PathLike, answers: dict[str, int] | None) -> list[dict]:
    """The blanks of a CHID file; ``answers`` from its answer file (None: unlabelled, label None)."""
    records, seen = [], set()
    for line in json_lines(path):
        candidates = _strings(line, "candidates")
        if len(candidates) != CHID_CANDIDATES:
            raise line.error("candidates", f"expected {CHID_CANDIDATES} idioms, got {len(candidates)}")
        for k, passage in enumerate(_strings(line, "content")):
            tags = IDIOM_TAG.findall(passage)
            if not tags:
                raise line.error(f"content[{k}]", "no #idiomNNNNNN# blank")
            for tag in tags:
                if tag in seen:
                    raise line.error(f"content[{k}]", f"blank {tag} appears twice")
                seen.add(tag)
                label = None
                if answers is not None:
                    if tag not in answers:
                        raise line.error(f"content[{k}]", f"blank {tag} has no answer")
                    label = answers[tag]
                    if not 0 <= label < len(candidates):
                        raise line.error(
                            f"content[{k}]", f"blank {tag}: answer {label} is not a candidate index"
                        )
                records.append(
                    {
                        "group": line.number,
                        "passage": passage,
                        "tag": tag,
                        "candidates": candidates,
                        "label": label,
                    }
                )
    return records
