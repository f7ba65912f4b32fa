"""Scores of the span tasks: CMRC2018 EM and F1 as the official evaluation computes them, and CLUENER's
entity-level micro precision, recall and F1.

CMRC2018 follows ``cmrc2018_evaluate.py`` (ymcui/cmrc2018, squad-style-data, "v5 - special"), per question:

- EM: 1 if the prediction equals some gold answer once both are lower-cased, stripped and rid of the
  characters of ``PUNCTUATION`` (the official list, with its quirk: '……' is listed as one two-character
  string, so a lone '…' is never removed).
- F1: both strings segmented by ``mixed_segmentation`` with punctuation removed: each Chinese character
  (U+4E00-U+9FA5) is a segment, and runs of anything else are word-tokenised. The overlap is the longest
  common *contiguous* run of segments (the official ``find_lcs``, not SQuAD's bag of tokens);
  precision = overlap / prediction segments, recall = overlap / answer segments; the max over gold answers.
- A question without a prediction counts 0 for both; the scores are percentages over all questions.

One deviation: the official script word-tokenises the non-Chinese runs with ``nltk.word_tokenize``; nltk is
not a dependency here, so ``_words`` keeps numbers with inner '.' or ',' whole (as nltk's Treebank rules do),
takes letter/digit runs as words and every other visible character alone. They differ only on English clitics
and abbreviations ("don't", "u.s."), which barely occur in CMRC2018's answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

# fmt: off
PUNCTUATION = (
    "-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
    "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "……", "·", "、",
    "「", "」", "（", "）", "－", "～", "『", "』",
)
# fmt: on
_CHINESE = re.compile("[\u4e00-\u9fa5]")
_WORD = re.compile(r"\d+(?:[.,]\d+)+|\w+|[^\w\s]")


def _words(run: str) -> list[str]:
    return _WORD.findall(run)


def mixed_segmentation(text: str, remove_punctuation: bool = False) -> list[str]:
    text = str(text).lower().strip()
    segments, run = [], ""
    for char in text:
        if remove_punctuation and char in PUNCTUATION:
            continue
        if _CHINESE.match(char) or char in PUNCTUATION:
            segments.extend(_words(run))
            run = ""
            segments.append(char)
        else:
            run += char
    return segments + _words(run)


def remove_punctuation(text: str) -> str:
    return "".join(char for char in str(text).lower().strip() if char not in PUNCTUATION)


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """The length of the longest contiguous run of segments common to both (the official ``find_lcs``)."""
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                current[j + 1] = previous[j] + 1
                best = max(best, current[j + 1])
        previous = current
    return best


def cmrc_f1(answers: Iterable[str], prediction: str) -> float:
    scores = [0.0]
    predicted = mixed_segmentation(prediction, remove_punctuation=True)
    for answer in answers:
        gold = mixed_segmentation(answer, remove_punctuation=True)
        overlap = longest_common_run(gold, predicted)
        if overlap:
            precision, recall = overlap / len(predicted), overlap / len(gold)
            scores.append(2 * precision * recall / (precision + recall))
    return max(scores)


def cmrc_em(answers: Iterable[str], prediction: str) -> float:
    predicted = remove_punctuation(prediction)
    return float(any(remove_punctuation(answer) == predicted for answer in answers))


@dataclass(frozen=True)
class CmrcScore:
    em: float  # percent
    f1: float  # percent
    total: int
    unanswered: int


def cmrc_score(answers: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> CmrcScore:
    """EM and F1 (percent) over the questions of ``answers`` (id -> gold answer texts)."""
    if not answers:
        raise ValueError("no questions to score")
    em = f1 = 0.0
    for qid, gold in answers.items():
        if qid in predictions:
            em += cmrc_em(gold, predictions[qid])
            f1 += cmrc_f1(gold, predictions[qid])
    unanswered = sum(qid not in predictions for qid in answers)
    return CmrcScore(100 * em / len(answers), 100 * f1 / len(answers), len(answers), unanswered)


Entity = tuple[str, int, int]  # (type, start, end), end inclusive as in CLUENER's files


@dataclass(frozen=True)
class EntityScore:
    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted: int
    gold: int


def entity_micro_f1(gold: Sequence[Iterable[Entity]], predicted: Sequence[Iterable[Entity]]) -> EntityScore:
    """Micro precision, recall and F1 over the entities of all sentences: an entity counts when its type,
    start and end all match a gold entity of the same sentence (0 where a denominator is 0)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    hits = n_pred = n_gold = 0
    for gold_entities, predicted_entities in zip(gold, predicted):
        gold_set, predicted_set = set(gold_entities), set(predicted_entities)
        hits += len(gold_set & predicted_set)
        n_pred += len(predicted_set)
        n_gold += len(gold_set)
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_gold if n_gold else 0.0
    f1 = 2 * hits / (n_pred + n_gold) if n_pred + n_gold else 0.0
    return EntityScore(precision, recall, f1, hits, n_pred, n_gold)
