"""The WordPiece tokenizer of the tiny BERT, trained on the pretraining text, in bert-base-chinese's layout.

BERT's normalizer and pre-tokenizer put spaces around every CJK character, so Chinese text is split one
character per token exactly as bert-base-chinese splits it; other scripts get WordPiece sub-words. The
trained vocabulary is wrapped as a transformers ``BertTokenizerFast`` (built from the vocabulary, so the
whole BERT pipeline is the library's own) and saved with ``save_pretrained`` plus a hub-style vocab.txt.

    python -m kexue_repro.bert.tokenizer --settings JSON --corpus TXT --out-dir DIR   (settings: bert.tokenizer)
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tokenizers import Tokenizer, normalizers, pre_tokenizers, trainers
from tokenizers.models import WordPiece
from transformers import BertTokenizerFast

from kexue_repro.common.cli import run, step_parser
from kexue_repro.common.settings import build

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class TokenizerConfig:
    """The ``bert.tokenizer`` settings."""

    vocab_size: int
    min_frequency: int  # least count of a merged piece


def continuation_tokens(texts: Sequence[str], tokenizer: Tokenizer) -> list[str]:
    """Every ``##c`` the WordPiece trainer would create: each character after the first of a word."""
    normalize, split = tokenizer.normalizer.normalize_str, tokenizer.pre_tokenizer.pre_tokenize_str
    return sorted({"##" + c for text in texts for word, _ in split(normalize(text)) for c in word[1:]})


def train_wordpiece(texts: Sequence[str], vocab_size: int, min_frequency: int) -> Tokenizer:
    """A WordPiece vocabulary trained on ``texts`` with BERT's (uncased, Chinese-aware) text pipeline.

    The trainer keeps every character it sees, whatever ``min_frequency`` (which applies to the merges
    that build longer pieces), so the vocabulary may stop short of ``vocab_size``.

    Determinism: tokenizers' trainer numbers the ``##c`` tokens in hash-map order, and those numbers break
    ties between merges of equal count, so two trainings on the same text can differ by a few tokens
    (huggingface/tokenizers#1794). Handing it every ``##c`` up front, after the special tokens and in sorted
    order, fixes their numbers; they are ordinary vocabulary entries of the BERT tokenizer built from it.
    """
    if vocab_size <= len(SPECIAL_TOKENS) or min_frequency < 1:
        raise ValueError(f"vocab size must exceed {len(SPECIAL_TOKENS)} and min frequency be >= 1")
    tokenizer = Tokenizer(WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[*SPECIAL_TOKENS, *continuation_tokens(texts, tokenizer)],
        continuing_subword_prefix="##",
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer, length=len(texts))
    return tokenizer


def as_bert_tokenizer(wordpiece: Tokenizer) -> BertTokenizerFast:
    """The transformers tokenizer over a trained vocabulary (lower-casing, CJK split, [CLS] x [SEP])."""
    return BertTokenizerFast(vocab=wordpiece.get_vocab(), do_lower_case=True, tokenize_chinese_chars=True)


def build_tokenizer(texts: Sequence[str], vocab_size: int, min_frequency: int) -> BertTokenizerFast:
    return as_bert_tokenizer(train_wordpiece(texts, vocab_size, min_frequency))


def save_tokenizer(tokenizer: BertTokenizerFast, folder: str | os.PathLike) -> None:
    """save_pretrained (tokenizer.json, tokenizer_config.json) plus vocab.txt, one token per line by id."""
    tokenizer.save_pretrained(folder)
    vocab = tokenizer.get_vocab()
    tokens = sorted(vocab, key=vocab.__getitem__)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        raise ValueError("the vocabulary's ids are not 0..n-1: it cannot be written as vocab.txt")
    Path(folder, "vocab.txt").write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")


def load_tokenizer(folder: str | os.PathLike) -> BertTokenizerFast:
    """A BERT tokenizer from a folder: ours (tokenizer.json) or a hub-style checkpoint (vocab.txt only)."""
    folder = Path(folder)
    if not (folder / "tokenizer.json").is_file() and not (folder / "vocab.txt").is_file():
        raise OSError(f"{folder}: neither tokenizer.json nor vocab.txt: not a BERT tokenizer folder")
    tokenizer = BertTokenizerFast.from_pretrained(str(folder))
    if tokenizer.mask_token_id is None or tokenizer.mask_token_id == tokenizer.unk_token_id:
        raise ValueError(f"{folder}: the vocabulary has no [MASK] token")
    return tokenizer


def _main(args: argparse.Namespace) -> None:
    from kexue_repro.bert.corpus import read_corpus
    from kexue_repro.common.atomic import atomic_directory

    config = build(TokenizerConfig, args.settings, "bert.tokenizer")
    tokenizer = build_tokenizer(read_corpus(args.corpus), config.vocab_size, config.min_frequency)
    with atomic_directory(args.out_dir) as tmp:
        save_tokenizer(tokenizer, tmp)
    print(f"{args.out_dir}: WordPiece vocabulary of {len(tokenizer)} tokens (asked for {config.vocab_size})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.bert.tokenizer", __doc__, "bert.tokenizer")
    parser.add_argument("--corpus", required=True, help="the corpus step's training text")
    parser.add_argument("--out-dir", required=True, help="the tokenizer folder (save_pretrained, vocab.txt)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
