"""How much the tiny BERT learned: held-out MLM loss against what token frequencies alone would give.

Held-out loss: the dev text in blocks as in pretraining, masked by the same collator under a fixed seed,
scored in eval mode; the mean cross-entropy (nats) over all masked positions of all blocks. Scored again
with the unmasked tokens shuffled across the batch, it shows how much of the gain comes from context: a
model that only copies the visible token and otherwise predicts frequencies loses nothing by the shuffle.

Baseline: the unigram entropy H = -sum_t p(t) log p(t) of the training corpus's tokens, p the token
frequencies of the packed training text without special tokens ([CLS], [SEP], [UNK], ...; the collator
never masks those). It is the expected MLM loss, on text like the training text, of a model that predicts
every masked token by its corpus frequency and ignores the context. The same frequencies' cross-entropy on
exactly the masked held-out positions (add-one smoothed, so a token unseen in training costs a finite
amount) is reported beside it. Blocks and masking use the model's own pretraining seq_len and mlm_probability
(from its pretrain.json).

    python -m kexue_repro.bert.evaluate --settings JSON --model DIR --pretrain-record JSON --train-corpus TXT
        --heldout-corpus TXT --threads T --device D --out JSON                  (settings: bert.evaluate)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from transformers import BertForMaskedLM, BertTokenizerFast

from kexue_repro.bert.corpus import read_corpus
from kexue_repro.bert.pretrain import collate, masked_lm_loss, mlm_collator, text_blocks
from kexue_repro.bert.tokenizer import load_tokenizer
from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.runtime import choose_device, set_threads
from kexue_repro.common.settings import build


@dataclass(frozen=True)
class EvaluateConfig:
    """The ``bert.evaluate`` settings, and the pretraining's block length and masking probability."""

    batch_size: int
    mask_seed: int  # the held-out text is masked under this fixed seed
    seq_len: int
    mlm_probability: float


def token_counts(tokenizer: BertTokenizerFast, blocks: Sequence[list[int]]) -> np.ndarray:
    """Occurrences of every vocabulary id in ``blocks``, special tokens set to zero."""
    counts = np.bincount(
        np.fromiter((t for b in blocks for t in b), dtype=np.int64), minlength=len(tokenizer)
    )
    counts[tokenizer.all_special_ids] = 0
    return counts


def unigram_entropy(counts: np.ndarray) -> float:
    """Entropy (nats) of the frequency distribution ``counts / counts.sum()``."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def shuffle_context(batch: dict[str, torch.Tensor], special_ids: Sequence[int], seed: int) -> torch.Tensor:
    """The input ids with every unmasked ordinary token replaced by one drawn (without replacement) from the
    unmasked ordinary tokens of the whole batch: the same tokens, no order and no sentence of their own."""
    ids = batch["input_ids"].clone()
    context = (batch["labels"] == -100) & ~torch.isin(ids, torch.tensor(list(special_ids)))
    values = ids[context]
    ids[context] = values[torch.randperm(len(values), generator=torch.Generator().manual_seed(seed))]
    return ids


@torch.no_grad()
def heldout_mlm_loss(
    model: BertForMaskedLM,
    tokenizer: BertTokenizerFast,
    blocks: Sequence[list[int]],
    batch_size: int,
    mlm_probability: float,
    mask_seed: int,
    train_counts: np.ndarray,
    device: torch.device,
) -> dict[str, Any]:
    """Mean MLM cross-entropy over the masked positions of ``blocks``; the same with the context shuffled
    (a model that uses context loses by it); and the unigram baseline on the same positions."""
    collator = mlm_collator(tokenizer, mlm_probability, mask_seed)
    smoothed = np.log((train_counts + 1) / (train_counts.sum() + len(train_counts)))
    total, shuffled, unigram_total, n_masked = 0.0, 0.0, 0.0, 0
    model.to(device).eval()
    for start in range(0, len(blocks), batch_size):
        batch = collate(collator, blocks[start : start + batch_size])
        labels = batch["labels"]
        if not (labels != -100).any():
            continue
        loss, count = masked_lm_loss(model, {k: v.to(device) for k, v in batch.items()})
        context_free = batch | {
            "input_ids": shuffle_context(batch, tokenizer.all_special_ids, mask_seed + start)
        }
        loss_shuffled, _ = masked_lm_loss(model, {k: v.to(device) for k, v in context_free.items()})
        total, shuffled = total + float(loss) * count, shuffled + float(loss_shuffled) * count
        unigram_total -= float(smoothed[labels[labels != -100].numpy()].sum())
        n_masked += count
    if n_masked == 0:
        raise ValueError("no held-out position was masked: the held-out text is too short")
    return {
        "heldout_mlm_loss": total / n_masked,
        "heldout_mlm_loss_shuffled_context": shuffled / n_masked,
        "heldout_unigram_cross_entropy": unigram_total / n_masked,
        "heldout_masked_positions": n_masked,
        "heldout_blocks": len(blocks),
    }


def evaluate(
    model: BertForMaskedLM,
    tokenizer: BertTokenizerFast,
    train_texts: Sequence[str],
    heldout_texts: Sequence[str],
    seq_len: int,
    batch_size: int,
    mlm_probability: float,
    mask_seed: int,
    device: torch.device,
) -> dict[str, Any]:
    train_counts = token_counts(tokenizer, text_blocks(tokenizer, train_texts, seq_len))
    entropy = unigram_entropy(train_counts)
    heldout = heldout_mlm_loss(
        model,
        tokenizer,
        text_blocks(tokenizer, heldout_texts, seq_len),
        batch_size,
        mlm_probability,
        mask_seed,
        train_counts,
        device,
    )
    return heldout | {
        "unigram_entropy": entropy,
        "loss_to_entropy_ratio": heldout["heldout_mlm_loss"] / entropy,
        "uniform_loss": math.log(int((train_counts > 0).sum())),
        "train_tokens": int(train_counts.sum()),
        "vocab_size": len(tokenizer),
        "mask_seed": mask_seed,
    }


def read_record(path: str) -> dict[str, Any]:
    """The pretrain step's record (pretrain.json)."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    device = choose_device(args.device)
    trained = read_record(args.pretrain_record)["config"]
    config = build(
        EvaluateConfig,
        args.settings,
        "bert.evaluate",
        seq_len=trained["seq_len"],
        mlm_probability=trained["mlm_probability"],
    )
    model, tokenizer = BertForMaskedLM.from_pretrained(args.model), load_tokenizer(args.model)
    measured = evaluate(
        model,
        tokenizer,
        read_corpus(args.train_corpus),
        read_corpus(args.heldout_corpus),
        config.seq_len,
        config.batch_size,
        config.mlm_probability,
        config.mask_seed,
        device,
    )
    write_json(args.out, measured)
    print(
        f"{args.model}: held-out MLM loss {measured['heldout_mlm_loss']:.3f} nats vs unigram entropy "
        f"{measured['unigram_entropy']:.3f} (ratio {measured['loss_to_entropy_ratio']:.3f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.bert.evaluate", __doc__, "bert.evaluate")
    parser.add_argument("--model", required=True, help="the pretrain step's folder")
    parser.add_argument("--pretrain-record", required=True, help="the pretrain step's record (pretrain.json)")
    parser.add_argument("--train-corpus", required=True, help="the training corpus (one text per line)")
    parser.add_argument("--heldout-corpus", required=True, help="the held-out corpus (one text per line)")
    add_compute_arguments(parser)
    parser.add_argument("--out", required=True, help="the measurements (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
