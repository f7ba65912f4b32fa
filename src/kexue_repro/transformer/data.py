"""Synthetic MLM data: random tokens for the measurements at initialisation, and a corpus with structure.

The corpus is a mixture of sparse "topics": each sequence draws one topic, then every token independently
from that topic's distribution over ``support`` of the ``vocab`` tokens (Dirichlet(1) weights). The other
tokens of a sequence reveal its topic, so context predicts a masked token; a model that ignores the context
can do no better than the entropy of the mixture's marginal, the unigram entropy: the level a stalled
model sits at. Knowing the topic exactly leaves the mean topic entropy, a floor no model beats.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


@dataclass(frozen=True)
class TopicCorpus:
    topics: np.ndarray  # (n_topics, vocab), rows sum to 1

    @property
    def vocab(self) -> int:
        return self.topics.shape[1]

    @property
    def mask_token(self) -> int:
        """[MASK] comes after the corpus tokens: models see vocab + 1 tokens."""
        return self.vocab

    def unigram_entropy(self) -> float:
        return entropy(self.topics.mean(axis=0))

    def topic_entropy(self) -> float:
        return float(np.mean([entropy(row) for row in self.topics]))

    def fingerprint(self) -> str:
        return hashlib.sha256(self.topics.tobytes()).hexdigest()[:16]

    def sample(self, n: int, length: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` sequences of ``length`` tokens (int64), topics uniform."""
        topics = torch.as_tensor(self.topics, dtype=torch.float32)
        chosen = torch.randint(len(topics), (n,), generator=generator)
        return torch.multinomial(topics[chosen], length, replacement=True, generator=generator)


@dataclass(frozen=True)
class CorpusConfig:
    """The ``transformer.mlm.corpus`` settings."""

    vocab: int  # corpus tokens; models see one more, [MASK]
    topics: int
    support: int  # tokens each topic can emit
    seed: int


def topic_corpus(vocab: int, n_topics: int, support: int, seed: int) -> TopicCorpus:
    if min(vocab, n_topics, support) < 1 or support > vocab:
        raise ValueError(
            f"need vocab, topics, support >= 1 and support <= vocab; got {vocab}, {n_topics}, {support}"
        )
    rng = np.random.default_rng(seed)
    topics = np.zeros((n_topics, vocab))
    for row in topics:
        row[rng.choice(vocab, support, replace=False)] = rng.dirichlet(np.ones(support))
    return TopicCorpus(topics)


def random_tokens(n: int, length: int, vocab: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform tokens 0..vocab-1 (the measurements at initialisation need no structure)."""
    return torch.randint(vocab, (n, length), generator=generator)


def mask_batch(
    tokens: torch.Tensor, mask_prob: float, mask_token: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs with the masked positions replaced by [MASK], the boolean mask); never an empty mask."""
    masked = torch.rand(tokens.shape, generator=generator) < mask_prob
    if not masked.any():
        masked.view(-1)[0] = True
    return tokens.masked_fill(masked, mask_token), masked
