"""Readers of CLUENER and C3 on the real files of the mirror, and of CMRC2018 and CHID on small files written
here in the official layout; bad records fail with one line naming the file, the line (or place) and field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kexue_repro.data.clue_span_readers import (
    json_array_items,
    read_c3,
    read_chid,
    read_chid_answers,
    read_cluener,
    read_cmrc2018,
)

from conftest import REPO

MIRROR = REPO.parent / "shared/data/clue"
MANIFEST = (MIRROR / "MANIFEST.md").read_text()


def write_lines(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


# --- CLUENER -----------------------------------------------------------------------------------------------


def test_cluener_real_files():
    sizes = {
        name: int(n) for name, n in re.findall(r"^\| cluener/(\w+)\.json \| \d+ \| (\d+) \|", MANIFEST, re.M)
    }
    train, dev = read_cluener(MIRROR / "cluener/train.json"), read_cluener(MIRROR / "cluener/dev.json")
    test = read_cluener(MIRROR / "cluener/test.json", labelled=False)
    assert (
        (len(train), len(dev), len(test))
        == (sizes["train"], sizes["dev"], sizes["test"])
        == (10748, 1343, 1345)
    )
    types = "address book company game government movie name organization position scene".split()
    assert {kind for record in train + dev for kind, _, _ in record["entities"]} == set(types)
    assert dev[0]["entities"] == [("name", 0, 2), ("address", 15, 16)]  # 彭小军, 台湾
    assert dev[0]["text"][15:17] == "台湾"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"text": "张三在北京", "label": {"name": {"李四": [[0, 1]]}}},
            r"field 'label\.name\.李四': .* holds '张三'",
        ),
        ({"text": "张三", "label": {"name": {"张三": [[0, 2]]}}}, r"field 'label\.name\.张三': .*not inside"),
        (
            {"text": "张三", "label": {"name": {"张三": [0, 1]}}},
            r"field 'label\.name\.张三': span 0 is not \[start",
        ),
        ({"text": "张三", "label": {"name": ["张三"]}}, r"field 'label\.name': expected an object"),
        ({"label": {}}, r"field 'text': missing"),
        ({"text": "张三"}, r"field 'label': missing"),
    ],
)
def test_cluener_bad_records(tmp_path, row, message):
    good = {"text": "张三在北京", "label": {"name": {"张三": [[0, 1]]}, "address": {"北京": [[3, 4]]}}}
    path = write_lines(tmp_path / "train.json", [good, row])
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:2: {message}"):
        read_cluener(path)
    assert read_cluener(write_lines(tmp_path / "ok.json", [good]))[0]["entities"] == [
        ("name", 0, 1),
        ("address", 3, 4),
    ]


# --- C3 ----------------------------------------------------------------------------------------------------


def test_c3_real_files():
    counts = re.findall(
        r"^\| c3/(c3-[md]-\w+)\.json \| \d+ \| (\d+) docs, (\d+) questions \|", MANIFEST, re.M
    )
    assert len(counts) == 6
    for name, documents, questions in counts:
        records = read_c3(MIRROR / f"c3/{name}.json")
        assert len(records) == int(questions), name
        assert len({record["document"] for record in records}) == int(documents), name
        assert all(2 <= len(r["choices"]) <= 4 and r["choices"][r["label"]] for r in records)
    first = read_c3(MIRROR / "c3/c3-m-dev.json")[0]
    assert first["question"] == "梅兰芳是一个什么样的人?" and first["label"] == 2


def c3_file(tmp_path: Path, documents: list) -> Path:
    path = tmp_path / "c3-m-dev.json"
    path.write_text(json.dumps(documents, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


GOOD_C3 = [["男：你好", "女：你好"], [{"question": "谁?", "choice": ["甲", "乙"], "answer": "乙"}], "1-1"]


def test_c3_errors_name_the_line_where_the_document_starts(tmp_path):
    bad_answer = [
        ["文章"],
        [GOOD_C3[1][0], {"question": "何?", "choice": ["甲", "乙", "丙"], "answer": "丁"}],
        "2-1",
    ]
    path = c3_file(tmp_path, [GOOD_C3, bad_answer])
    line = [number for number, _ in json_array_items(path)][1]
    assert path.read_text().split("\n")[line - 1].strip() == "["  # the second document's opening bracket
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(path))}:{line}: field 'questions\[1\]\.answer': '丁'"
    ):
        read_c3(path)
    too_many = [["文章"], [{"question": "何?", "choice": list("甲乙丙丁戊"), "answer": "甲"}], "3-1"]
    with pytest.raises(
        ValueError, match=r":\d+: field 'questions\[0\]\.choice': expected 2 to 4 choices, got 5"
    ):
        read_c3(c3_file(tmp_path, [too_many]))
    with pytest.raises(ValueError, match=r":\d+: expected a document \[turns, questions, id\]"):
        read_c3(c3_file(tmp_path, [GOOD_C3[:2]]))
    with pytest.raises(ValueError, match=r":\d+: field 'questions\[0\]\.question': missing"):
        read_c3(c3_file(tmp_path, [[["文"], [{"choice": ["甲", "乙"], "answer": "甲"}], "4-1"]]))
    truncated = c3_file(tmp_path, [GOOD_C3, GOOD_C3])
    truncated.write_text(truncated.read_text()[:-40], encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(truncated))}:\d+: not a JSON record"):
        read_c3(truncated)
    unlabelled = [["文"], [{"question": "何?", "choice": ["甲", "乙"]}], "5-1"]
    assert read_c3(c3_file(tmp_path, [unlabelled]), labelled=False)[0]["label"] is None


# --- CMRC2018 ----------------------------------------------------------------------------------------------


def cmrc_file(tmp_path: Path, qas: list, context: str = "北京大学创建于1898年，初名京师大学堂。") -> Path:
    paragraph = {"id": "DEV_0", "context": context, "qas": qas}
    document = {"version": "v1.0", "data": [{"paragraphs": [paragraph], "id": "DEV_0", "title": "北京大学"}]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_cmrc2018_in_the_official_layout(tmp_path):
    qas = [
        {
            "question": "北京大学创建于哪一年?",
            "id": "DEV_0_QUERY_0",
            "answers": [
                {"text": "1898年", "answer_start": 7},
                {"text": "1898", "answer_start": 7},
                {"text": "1898年", "answer_start": 3},
            ],
        },
        {
            "question": "北京大学初名是什么?",
            "id": "DEV_0_QUERY_1",
            "answers": [{"text": "京师大学堂", "answer_start": -1}],
        },
    ]
    split = read_cmrc2018(cmrc_file(tmp_path, qas))
    assert [q["id"] for q in split.questions] == ["DEV_0_QUERY_0", "DEV_0_QUERY_1"]
    assert split.questions[0]["answers"] == [("1898年", 7), ("1898", 7), ("1898年", None)]
    assert split.questions[1]["answers"] == [("京师大学堂", None)]
    assert split.misplaced == 2
    assert split.questions[0]["context"][7:12] == "1898年"


@pytest.mark.parametrize(
    ("qas", "message"),
    [
        (
            [{"question": "何?", "id": "Q0", "answers": [{"text": "北京"}]}],
            r"qas\[0\] \(question Q0\)\.answers\[0\]: field 'answer_start': missing",
        ),
        ([{"question": "何?", "answers": []}], r"qas\[0\]: field 'id': missing"),
        ([{"id": "Q0", "answers": []}], r"qas\[0\] \(question Q0\): field 'question': missing"),
        (
            [{"question": "何?", "id": "Q0", "answers": []}] * 2,
            r"qas\[1\] \(question Q0\): field 'id': repeated",
        ),
        (
            [{"question": "何?", "id": "Q0", "answers": [{"text": 1, "answer_start": 0}]}],
            r"qas\[0\] \(question Q0\)\.answers\[0\]: field 'text': expected str",
        ),
    ],
)
def test_cmrc2018_bad_records(tmp_path, qas, message):
    path = cmrc_file(tmp_path, qas)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: data\[0\]\.paragraphs\[0\]\.{message}"):
        read_cmrc2018(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not a JSON document"):
        read_cmrc2018(path)


# --- CHID --------------------------------------------------------------------------------------------------

IDIOMS = "一目了然 画蛇添足 守株待兔 亡羊补牢 对牛弹琴 刻舟求剑 井底之蛙 叶公好龙 掩耳盗铃 杯弓蛇影".split()


def chid_files(tmp_path: Path, rows: list, answers: dict) -> tuple[Path, Path]:
    answer_path = tmp_path / "dev_answer.json"
    answer_path.write_text(json.dumps(answers), encoding="utf-8")
    return write_lines(tmp_path / "dev.json", rows), answer_path


def test_chid_in_the_official_layout(tmp_path):
    rows = [
        {"candidates": IDIOMS, "content": ["他#idiom000000#，又#idiom000001#。", "这是#idiom000002#的事。"]},
        {"candidates": IDIOMS[::-1], "content": ["真是#idiom000003#。"]},
    ]
    answers = {"#idiom000000#": 0, "#idiom000001#": 1, "#idiom000002#": 9, "#idiom000003#": 2}
    path, answer_path = chid_files(tmp_path, rows, answers)
    blanks = read_chid(path, read_chid_answers(answer_path))
    assert [(b["group"], b["tag"], b["label"]) for b in blanks] == [
        (1, "#idiom000000#", 0),
        (1, "#idiom000001#", 1),
        (1, "#idiom000002#", 9),
        (2, "#idiom000003#", 2),
    ]
    assert blanks[3]["candidates"][blanks[3]["label"]] == "叶公好龙"
    assert blanks[2]["passage"] == "这是#idiom000002#的事。"
    assert [b["label"] for b in read_chid(path, None)] == [None] * 4


@pytest.mark.parametrize(
    ("row", "answers", "message"),
    [
        (
            {"candidates": IDIOMS[:9], "content": ["#idiom000009#"]},
            {},
            r"field 'candidates': expected 10 idioms, got 9",
        ),
        ({"candidates": IDIOMS, "content": ["没有空"]}, {}, r"field 'content\[0\]': no #idiomNNNNNN# blank"),
        (
            {"candidates": IDIOMS, "content": ["#idiom000009#"]},
            {},
            r"field 'content\[0\]': blank #idiom000009# has no answer",
        ),
        (
            {"candidates": IDIOMS, "content": ["#idiom000009#"]},
            {"#idiom000009#": 10},
            r"field 'content\[0\]': blank #idiom000009#: answer 10 is not a candidate index",
        ),
        (
            {"candidates": IDIOMS, "content": ["#idiom000000#"]},
            {},
            r"field 'content\[0\]': blank #idiom000000# appears twice",
        ),
        ({"content": ["#idiom000009#"]}, {}, r"field 'candidates': missing"),
    ],
)
def test_chid_bad_records(tmp_path, row, answers, message):
    good = {"candidates": IDIOMS, "content": ["#idiom000000#"]}
    path, answer_path = chid_files(tmp_path, [good, row], {"#idiom000000#": 3, **answers})
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:2: {message}"):
        read_chid(path, read_chid_answers(answer_path))


def test_chid_bad_answer_file(tmp_path):
    path = tmp_path / "dev_answer.json"
    path.write_text(json.dumps({"idiom000000": 1}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"dev_answer\.json: field 'idiom000000': expected '#idiomNNNNNN#'"):
        read_chid_answers(path)
    path.write_text(json.dumps([1]), encoding="utf-8")
    with pytest.raises(ValueError, match="expected an object"):
        read_chid_answers(path)
