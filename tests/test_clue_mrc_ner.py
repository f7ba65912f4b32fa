"""CLUENER, CMRC2018, C3 and CHID fine-tuning (kexue_repro.clue.mrc_ner): the post's input layouts against
hand-worked cases and direct implementations of its truncation rules, and the training job on a handful of
hand-written records per task with the tiny BERT: outputs as the issue-18 contract says, the same seed giving
the same files, and a run resumed from its epoch-1 checkpoint giving the unbroken run's numbers."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from clue_tiny import make_model, tokenizer, write_jsonl

from kexue_repro.clue.mrc_ner import encode
from kexue_repro.clue.mrc_ner.train import TrainConfig, finetune, main
from kexue_repro.clue.span_metrics import entity_micro_f1

TYPES = ["address", "name", "organization"]
IDIOMS = "一心一意 三心二意 画蛇添足 守株待兔 亡羊补牢 对牛弹琴 井底之蛙 掩耳盗铃 狐假虎威 刻舟求剑".split()


@pytest.fixture(scope="module")
def tok():
    return tokenizer()


def tokens(tok, ids) -> list[str]:
    return tok.convert_ids_to_tokens([int(i) for i in ids])


def entity(text: str, kind: str, words: str) -> list:
    start = text.index(words)
    return [kind, start, start + len(words) - 1]


def ner_record(text: str, *entities: tuple[str, str]) -> dict:
    return {"text": text, "entities": sorted((entity(text, k, w) for k, w in entities), key=lambda e: e[1])}


# ---------------------------------------------------------------- encoding


def test_ner_entities_map_to_tokens_and_back(tok):
    records = [
        ner_record("张三在北京", ("name", "张三"), ("address", "北京")),
        ner_record("我用iPhone12拍照", ("organization", "iPhone12"), ("name", "Phone")),
    ]
    data = encode.encode_ner(records, tok, 5, TYPES)
    assert tokens(tok, data.ids[0]) == ["[CLS]", "张", "三", "在", "[SEP]"]
    # 北京 lies beyond the 5 kept tokens: out of the targets, still gold.
    assert data.targets[0] == [(1, 1, 2)] and data.gold[0] == [("name", 0, 1), ("address", 3, 4)]
    data = encode.encode_ner(records, tok, 64, TYPES)
    assert data.targets[0] == [(1, 1, 2), (0, 4, 5)]
    # iPhone12 is the two tokens 'iphone' '##12'; 'Phone' starts inside a token: no target.
    assert tokens(tok, data.ids[1])[3:5] == ["iphone", "##12"] and data.targets[1] == [(2, 3, 4)]
    for i, record in enumerate(records):  # predicted token spans map back to the characters
        assert data.entities(i, data.targets[i]) == sorted(
            [tuple(e) for e in record["entities"] if e[2] != 7], key=lambda e: (e[1], e[2], e[0])
        )
    assert data.entities(0, [(1, 0, 2), (1, 1, 6)]) == [], "spans on [CLS] or [SEP] are no entities"
    batch = data.collate([0, 1])
    n = batch["input_ids"].shape[1]
    assert batch["labels"].shape == (2, 3, 1) and batch["labels"][0, 1, 0] == 1 * n + 2


def bert4keras_truncate(maxlen: int, *sequences: list) -> list[list]:
    """The rule written out directly: pop the token before the last from the longest sequence (the first of
    equally long ones) until the total fits."""
    sequences = [list(s) for s in sequences]
    while sum(map(len, sequences)) > maxlen:
        longest = max(range(len(sequences)), key=lambda i: (len(sequences[i]), -i))
        del sequences[longest][-2]
    return sequences


def test_c3_truncation_is_bert4keras_rule():
    rng = random.Random(0)
    for _ in range(300):
        parts = [list(range(100 * k, 100 * k + rng.randint(2, 40))) for k in range(3)]
        maxlen = rng.randint(6, 100)
        lengths = encode.truncated_lengths([len(p) for p in parts], maxlen)
        ours = [encode.keep(np.array(p), n).tolist() for p, n in zip(parts, lengths)]
        assert ours == bert4keras_truncate(maxlen, *parts)


def c3_record(i: int, turns: list[str], question: str, choices: list[str], label: int) -> dict:
    return {"id": f"m{i}", "passage": turns, "question": question, "choices": choices, "label": label}


def test_c3_layout_pads_choices_and_truncates_per_choice(tok):
    record = c3_record(0, ["男：去哪", "女：北京"], "去哪里", ["北京", "上海"], 0)
    data = encode.encode_choice([record], tok, 64)
    rows = [np.concatenate(parts) for parts in data.choices[0]]
    assert "".join(tokens(tok, rows[0])) == "[CLS]男：去哪||女：北京[SEP]去哪里[SEP]北京[SEP]"
    assert "".join(tokens(tok, rows[3])) == "[CLS]男：去哪||女：北京[SEP]去哪里[SEP]无效答案[SEP]"
    batch = data.collate([0])
    assert batch["input_ids"].shape == (1, 4, 21) and batch["token_type_ids"].abs().sum() == 0
    short = encode.encode_choice([record], tok, 14)
    for choice, parts in zip(record["choices"] + [encode.INVALID_CHOICE] * 2, short.choices[0]):
        ids = [tok(t)["input_ids"] for t in ("||".join(record["passage"]), record["question"], choice)]
        c, q, p = bert4keras_truncate(14, ids[2][1:], ids[1][1:], ids[0])
        assert np.concatenate(parts).tolist() == p + q + c


def test_chid_layout(tok):
    passage = "他#idiom000001#做事#idiom000002#认真"
    record = {"group": 0, "tag": "#idiom000002#", "passage": passage, "candidates": IDIOMS, "label": 0}
    data = encode.encode_chid([record], tok, 64)
    rows = [np.concatenate(parts) for parts in data.choices[0]]
    assert len(rows) == 10 and data.groups == [0]
    want = "[CLS]画蛇添足[SEP]他[MASK][MASK][MASK][MASK]做事[unused1]认真[SEP]"
    assert "".join(tokens(tok, rows[2])) == want
    # Cut to 14 tokens: 8 of context; the left side (3 tokens) loses its first segment and that blank.
    short = encode.encode_chid([record], tok, 14)
    assert (
        "".join(tokens(tok, np.concatenate(short.choices[0][0])))
        == "[CLS]一心一意[SEP]做事[unused1]认真[SEP]"
    )


def sample_split(segments: list[list[int]], blank: int, room: int) -> list[int]:
    """The post's sample_split written out directly, one token at a time, in tokens (mark 1, mask 2, sep 3)."""
    left, right = [list(s) for s in segments[: blank + 1]], [list(s) for s in segments[blank + 1 :]]

    def size() -> int:
        texts = sum(map(len, left)) + sum(map(len, right))
        return texts + 2 + 4 * (max(len(left) - 1, 0) + max(len(right) - 1, 0))

    while size() > room:
        if sum(map(len, left)) > sum(map(len, right)):
            if len(left[0]) > 1:
                left[0] = left[0][1:]
            else:
                left = left[1:]
        elif len(right[-1]) > 1:
            right[-1] = right[-1][:-1]
        else:
            right = right[:-1]
    joined = lambda parts: [t for i, s in enumerate(parts) for t in ([2] * 4 if i else []) + s]  # noqa: E731
    return joined(left) + [1] + joined(right) + [3]


def test_chid_trimming_is_sample_split():
    rng = random.Random(1)
    for _ in range(300):
        segments = [
            list(range(10 + 100 * k, 10 + 100 * k + rng.randint(0, 30))) for k in range(rng.randint(2, 5))
        ]
        blank, room = rng.randrange(len(segments) - 1), rng.randint(12, 80)
        ours = encode.chid_context([np.array(s) for s in segments], blank, room, 1, 2, 3).tolist()
        assert ours == sample_split(segments, blank, room) and len(ours) <= room


def test_cmrc_windows_and_targets(tok):
    context = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅卯"
    records = [
        {"id": "a", "question": "问题", "context": context, "answers": [["辛壬", 17], ["辛", 17]]},
        {"id": "b", "question": "问题", "context": context, "answers": [["无", None]]},
    ]
    train = encode.encode_span(records, tok, 16, 4, train=True)
    dev = encode.encode_span(records, tok, 16, 4, train=False)
    assert [q.id for q in train.questions] == ["a"] and [q.id for q in dev.questions] == ["a", "b"]
    # 24 context tokens, windows of 16 - 2 - 3 = 11 tokens every 4, the last one to the end.
    windows = train.questions[0].windows
    assert [(w.start, w.stop) for w in windows] == [(0, 11), (4, 15), (8, 19), (12, 23), (16, 24)]
    for ids, mask, (start, end), w in zip(train.ids, train.masks, train.targets, windows):
        assert tokens(tok, ids[:4]) == ["[CLS]", "问", "题", "[SEP]"] and tokens(tok, ids[-1:]) == ["[SEP]"]
        assert mask.tolist() == [1, 0, 0, 0] + [1] * (w.stop - w.start) + [0]
        if start:
            assert "".join(tokens(tok, ids[start : end + 1])) == "辛壬"
    assert [t != (0, 0) for t in train.targets] == [False, False, True, True, True]
    assert dev.targets[5:] == [(0, 0)] * 5 and dev.question == [0] * 5 + [1] * 5
    with pytest.raises(ValueError, match="question id a repeats"):  # answers are keyed by question id
        encode.encode_span([records[0], records[0]], tok, 16, 4, train=False)


# ---------------------------------------------------------------- the training job

SETTINGS = {"optimizer": "adafactor", "lr": 5e-3, "beta1": 0.9, "weight_decay": 0.0, "maxlen": 32}
SETTINGS |= {"batch_size": 2, "grad_accum_steps": 2, "epochs": 1}


def cluener() -> tuple[list[dict], list[dict], dict]:
    rows = [
        ner_record("张三在北京大学读书", ("name", "张三"), ("organization", "北京大学")),
        ner_record("李四去了上海市浦东新区", ("name", "李四"), ("address", "上海市浦东新区")),
        ner_record("王五在清华大学工作", ("name", "王五"), ("organization", "清华大学")),
        ner_record("赵六住在广州市天河区", ("name", "赵六"), ("address", "广州市天河区")),
        ner_record("小明在复旦大学学习", ("name", "小明"), ("organization", "复旦大学")),
        ner_record("小红去了杭州市西湖区", ("name", "小红"), ("address", "杭州市西湖区")),
    ]
    return rows[:4], rows[4:], {"task": "cluener", "kind": "ner", "entity_types": TYPES}


def c3() -> tuple[list[dict], list[dict], dict]:
    rows = [
        c3_record(
            0, ["男：你明天去哪里？", "女：我去北京。"], "女的明天去哪里？", ["北京", "上海", "广州"], 0
        ),
        c3_record(1, ["今天下雨了，我们没有出门。"], "今天天气怎么样？", ["晴天", "下雨", "下雪", "刮风"], 1),
        c3_record(2, ["男：这本书多少钱？", "女：二十块。"], "书多少钱？", ["十块", "二十块"], 1),
        c3_record(3, ["他每天早上跑步。"], "他什么时候跑步？", ["晚上", "中午", "早上"], 2),
        c3_record(4, ["女：你喝茶吗？", "男：我喝咖啡。"], "男的喝什么？", ["茶", "咖啡", "水"], 1),
        c3_record(5, ["我家有三口人。"], "他家有几口人？", ["两口", "三口", "四口", "五口"], 1),
    ]
    return rows[:4], rows[4:], {"task": "c3", "kind": "choice", "num_choices": 4}


def cmrc2018() -> tuple[list[dict], list[dict], dict]:
    def row(i: int, question: str, context: str, *answers: str) -> dict:
        return {
            "id": f"q{i}",
            "question": question,
            "context": context,
            "answers": [[a, context.index(a)] for a in answers],
        }

    rows = [
        row(
            0,
            "谁在北京大学读书？",
            "张三在北京大学读书。他喜欢数学和物理，每天都去图书馆看书，周末和朋友打篮球。",
            "张三",
        ),
        row(
            1,
            "李四喜欢什么？",
            "李四住在上海。他喜欢画画和唱歌，每个星期六都去少年宫学习画画。",
            "画画和唱歌",
        ),
        row(
            2,
            "王五在哪里工作？",
            "王五毕业以后在一家医院工作，是一名医生。他工作很忙，经常加班到深夜。",
            "一家医院",
        ),
        {
            "id": "q3",
            "question": "没有答案？",
            "context": "这一段没有标出答案的位置。",
            "answers": [["答案", None]],
        },
        row(
            4,
            "小明在哪里学习？",
            "小明在复旦大学学习。他的专业是计算机，毕业以后想去一家公司当工程师。",
            "复旦大学",
        ),
        row(
            5,
            "小红去了哪里？",
            "小红去了杭州，在西湖边住了三天。她觉得那里的风景非常美丽。",
            "杭州",
            "杭州，在西湖边",
        ),
    ]
    return rows[:4], rows[4:], {"task": "cmrc2018", "kind": "span"}


def chid() -> tuple[list[dict], list[dict], dict]:
    def blanks(group: int, passage: str, labels: list[int]) -> list[dict]:
        tags = [f"#idiom{group:03d}{k:03d}#" for k in range(len(labels))]
        text = passage.format(*tags)
        return [
            {"group": group, "tag": t, "passage": text, "candidates": IDIOMS, "label": a}
            for t, a in zip(tags, labels)
        ]

    train = blanks(0, "他做事总是{}，从不分心。可惜有时{}，做了多余的事。", [0, 2])
    train += blanks(1, "农夫{}，等兔子撞到树上。羊丢了才{}。", [3, 4])
    dev = blanks(2, "{}只能看见井口那么大的天，{}的人自以为聪明。", [6, 7])
    return train, dev, {"task": "chid", "kind": "chid", "num_choices": 10}


TASKS = {"cluener": cluener, "c3": c3, "cmrc2018": cmrc2018, "chid": chid}


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    root = tmp_path_factory.mktemp("mrc_ner")
    out = {"model": make_model(root / "tiny", max_positions=64)}
    for name, make in TASKS.items():
        train, dev, meta = make()
        (root / name).mkdir()
        (root / name / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        out[name] = {
            "train": write_jsonl(root / name / "train.jsonl", train),
            "dev": write_jsonl(root / name / "dev.jsonl", dev),
            "meta": root / name / "meta.json",
        }
    return out


def run_cli(tasks, task: str, out, seed: int = 0, **settings) -> int:
    files = tasks[task.split("@")[0]]
    extra = {"stride": 8} if task.startswith("cmrc2018") else {}
    argv = ["--settings", json.dumps(SETTINGS | extra | settings), "--task", task, "--seed", str(seed)]
    argv += ["--model", str(tasks["model"]), "--train", str(files["train"]), "--dev", str(files["dev"])]
    argv += ["--meta", str(files["meta"]), "--threads", "1", "--device", "cpu"]
    argv += ["--checkpoint", str(out / "run.ckpt"), "--predictions-out", str(out / "predictions.json")]
    return main([*argv, "--run-out", str(out / "run.json")])


METRICS = {
    "cluener": ("f1", {"f1", "precision", "recall"}),
    "c3": ("accuracy", {"accuracy"}),
    "cmrc2018": ("em", {"em", "f1"}),
    "chid": ("accuracy", {"accuracy", "accuracy_argmax"}),
}


@pytest.mark.parametrize("task", TASKS)
def test_the_job_writes_the_contracts_run_record_and_predictions(tasks, tmp_path, task):
    assert run_cli(tasks, task + "@tiny", tmp_path) == 0
    record = json.loads((tmp_path / "run.json").read_text())
    predictions = json.loads((tmp_path / "predictions.json").read_text())
    dev = [json.loads(line) for line in tasks[task]["dev"].read_text().splitlines()]
    metric, names = METRICS[task]
    assert set(record) == {"task", "kind", "seed", "config", "n_train", "n_dev", "metric", "history"} | {
        "best_epoch",
        "best_dev",
    }
    assert record["task"] == task + "@tiny" and record["metric"] == metric and record["seed"] == 0
    assert record["n_train"] == (3 if task == "cmrc2018" else 4) and record["n_dev"] == 2
    assert [set(h) for h in record["history"]] == [{"epoch", "train_loss", "dev"}]
    assert set(record["best_dev"]) == names and all(0 <= v <= 1 for v in record["best_dev"].values())
    assert record["best_epoch"] == 1 and record["config"]["grad_accum_steps"] == 2
    assert not (tmp_path / "run.ckpt").exists(), "the checkpoint outlived the finished run"
    if task == "cluener":
        assert len(predictions["entities"]) == 2
        assert all(len(e) == 3 and e[0] in TYPES for row in predictions["entities"] for e in row)
    elif task == "c3":
        assert len(predictions["choice"]) == 2 and np.array(predictions["scores"]).shape == (2, 4)
        assert predictions["choice"] == np.argmax(predictions["scores"], axis=1).tolist()
    elif task == "cmrc2018":
        assert set(predictions["answers"]) == {"q4", "q5"}
        assert all(answer in row["context"] for row, answer in zip(dev, predictions["answers"].values()))
    else:
        assert np.array(predictions["scores"]).shape == (2, 10) and predictions["group"] == [2, 2]
        assert len(set(predictions["assigned"])) == 2 and len(predictions["argmax"]) == 2


def test_the_same_seed_gives_the_same_files(tasks, tmp_path):
    outs = [tmp_path / name for name in ("a", "b", "c")]
    for out, seed in zip(outs, (1, 1, 2)):
        out.mkdir()
        assert run_cli(tasks, "chid", out, seed) == 0
    files = [[(out / name).read_bytes() for name in ("run.json", "predictions.json")] for out in outs]
    assert files[0] == files[1] and files[0][1] != files[2][1]


def test_a_run_resumed_after_epoch_one_gives_the_unbroken_runs_numbers(tasks, tmp_path):
    tok = tokenizer()
    train = encode.encode_ner(encode.read_records(tasks["cluener"]["train"], "ner"), tok, 32, TYPES)
    dev = encode.encode_ner(encode.read_records(tasks["cluener"]["dev"], "ner"), tok, 32, TYPES)
    settings = SETTINGS | {"grad_accum_steps": 1, "epochs": 2}
    config = TrainConfig(
        task="cluener", kind="ner", model=str(tasks["model"]), entity_types=tuple(TYPES), num_choices=0, seed=3,
        train_sha256="t", dev_sha256="d", device_type="cpu", **settings,
    )  # fmt: skip
    cpu = torch.device("cpu")
    straight = finetune(config, train, dev, cpu, tmp_path / "straight.ckpt")
    one = finetune(
        TrainConfig(**(config.as_dict() | {"epochs": 1})), train, dev, cpu, tmp_path / "killed.ckpt"
    )
    resumed = finetune(config, train, dev, cpu, tmp_path / "killed.ckpt")
    assert resumed[2][0] == one[2][0], "epoch 1 was not run again: it came from the checkpoint"
    assert resumed[:2] == straight[:2]
    history, predictions, _ = straight  # the predictions are the best epoch's
    best = max(history, key=lambda h: h["dev"]["f1"])
    predicted = [[tuple(e) for e in row] for row in predictions["entities"]]
    assert entity_micro_f1(dev.gold, predicted).f1 == best["dev"]["f1"]


def test_a_settings_error_is_one_line_naming_the_key(tasks, tmp_path, capsys):
    assert run_cli(tasks, "c3", tmp_path, batchsize=2) == 1
    assert run_cli(tasks, "cluener", tmp_path, stride=8) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "'batchsize'" in errors[0] and "'stride'" in errors[1]
