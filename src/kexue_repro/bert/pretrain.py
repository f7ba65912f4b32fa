"""Pretraining of the tiny Chinese BERT with masked language modelling: one screen of plain torch.

Data: each text as ``[CLS] text [SEP]`` (longer ones cut into pieces of ``seq_len``), batched by similar
length. One text per block rather than texts packed into full blocks: measured at smoke scale (4 CPU
minutes), packed blocks stayed near the loss of merely copying the visible token (held-out loss / unigram
entropy 0.90-0.91), one text per block reached 0.86-0.88. Masking: transformers' DataCollatorForLanguageModeling (15% of
the non-special tokens; of those 80% [MASK], 10% a random token, 10% unchanged) with its own seeded
generator. The prediction head runs on the masked positions only (same loss, less compute). Optimiser:
torch AdamW (betas 0.9 and ``adam_beta2``, no weight decay on biases and LayerNorm weights), gradients
clipped to ``max_grad_norm``, under transformers' linear warmup then linear decay to zero.

Every ``checkpoint_every`` steps the weights, the optimiser and schedule, both random generators and the
loss history are saved atomically (``common.resume``); a killed run resumes there and ends with the same
weights. The loss of every step is logged with DVCLive; on resume its files are rebuilt from the
checkpoint's history, so no step appears twice.

    python -m kexue_repro.bert.pretrain --settings JSON --corpus TXT --tokenizer DIR --threads T --device D
        --checkpoint CKPT --live-dir DIR --out-dir DIR --curve-out TSV --record-out JSON   (settings: bert.pretrain)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    BertTokenizerFast,
    DataCollatorForLanguageModeling,
    get_linear_schedule_with_warmup,
)
from transformers.trainer_pt_utils import get_length_grouped_indices

from kexue_repro.bert.corpus import read_corpus
from kexue_repro.bert.tokenizer import load_tokenizer, save_tokenizer
from kexue_repro.common.atomic import atomic_directory, atomic_path, write_json
from kexue_repro.common.cli import add_compute_arguments, run, step_parser
from kexue_repro.common.resume import Resumable, discard_checkpoint
from kexue_repro.common.runtime import check_finite_loss, choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build

LOSS_METRIC = "loss"  # DVCLive writes its history to <live dir>/plots/metrics/loss.tsv (step, loss)
_TOKENIZE_CHUNK = 1000  # texts tokenized at once: the library's per-text encodings are large
_MASKING_STREAM = 1  # the collator's generator is seeded with seed + this: independent of the data order


@dataclass(frozen=True)
class PretrainConfig:
    """The ``bert.pretrain`` settings and what the job derives (vocabulary size, data fingerprint, device):
    everything that determines the pretrained weights. A checkpoint resumes only under an equal config
    (``checkpoint_every`` aside)."""

    layers: int
    hidden: int
    heads: int
    intermediate: int
    max_positions: int
    dropout: float
    seq_len: int
    batch_size: int
    steps: int
    lr: float
    warmup_steps: int
    weight_decay: float
    adam_beta2: float
    max_grad_norm: float
    mlm_probability: float
    seed: int
    checkpoint_every: int  # steps between checkpoints
    vocab_size: int
    data_sha256: str  # of the corpus text and the vocabulary
    device_type: str

    def __post_init__(self) -> None:
        sizes = (self.layers, self.hidden, self.heads, self.intermediate, self.seq_len, self.batch_size)
        if min(sizes) < 1 or self.steps < 1 or self.warmup_steps < 0:
            raise ValueError("model sizes, seq len, batch size and steps must be >= 1, warmup steps >= 0")
        if self.hidden % self.heads:
            raise ValueError(f"hidden size {self.hidden} is not a multiple of {self.heads} heads")
        if not 2 < self.seq_len <= self.max_positions:
            raise ValueError(f"seq len {self.seq_len} must be in (2, max positions {self.max_positions}]")
        if not 0 < self.mlm_probability < 1 or not 0 <= self.dropout < 1 or not 0 < self.adam_beta2 < 1:
            raise ValueError("mlm probability and Adam's beta2 must be in (0, 1), dropout in [0, 1)")
        if self.max_grad_norm <= 0:
            raise ValueError("max grad norm must be > 0")
        if self.checkpoint_every < 1:
            raise ValueError("checkpoint_every must be >= 1")

    def bert_config(self) -> BertConfig:
        return BertConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            intermediate_size=self.intermediate,
            max_position_embeddings=self.max_positions,
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.dropout,
            initializer_range=0.02,
            pad_token_id=0,
        )


def data_fingerprint(texts: Sequence[str], tokenizer: BertTokenizerFast) -> str:
    digest = hashlib.sha256("\n".join(texts).encode())
    digest.update(repr(sorted(tokenizer.get_vocab().items())).encode())
    return digest.hexdigest()


def build_model(config: PretrainConfig) -> BertForMaskedLM:
    """Initialised on the CPU from the config's seed, so the initial weights do not depend on the device."""
    torch.manual_seed(config.seed)
    return BertForMaskedLM(config.bert_config())


def text_blocks(tokenizer: BertTokenizerFast, texts: Sequence[str], seq_len: int) -> list[list[int]]:
    """Each text as ``[CLS] text [SEP]``, the shape fine-tuning feeds; a longer text is cut into pieces."""
    room, blocks = seq_len - 2, []
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for start in range(0, len(texts), _TOKENIZE_CHUNK):
        chunk = tokenizer(list(texts[start : start + _TOKENIZE_CHUNK]), add_special_tokens=False)
        for ids in chunk["input_ids"]:
            blocks += [[cls, *ids[i : i + room], sep] for i in range(0, max(len(ids), 1), room)]
    return blocks


def masked_lm_loss(model: BertForMaskedLM, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """BertForMaskedLM's loss (mean cross-entropy over the labelled positions) and their number.

    The prediction head runs on the masked positions only: the same loss as ``model(**batch).loss``, but
    the vocabulary projection, most of a tiny model's compute, shrinks to the 15% of positions that count.
    """
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    hidden = model.bert(**inputs).last_hidden_state
    masked = labels != -100
    logits = model.cls(hidden[masked])
    return torch.nn.functional.cross_entropy(logits.float(), labels[masked]), int(masked.sum())


def mlm_collator(
    tokenizer: BertTokenizerFast, mlm_probability: float, seed: int
) -> DataCollatorForLanguageModeling:
    return DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability, seed=seed)


def collate(
    collator: DataCollatorForLanguageModeling, blocks: Sequence[list[int]]
) -> dict[str, torch.Tensor]:
    """Pad, build the attention mask and mask tokens; packed blocks have a single segment (type ids 0)."""
    special = collator.tokenizer.all_special_ids
    features = [{"input_ids": b, "special_tokens_mask": [int(t in special) for t in b]} for b in blocks]
    return collator(features)


class BatchOrder:
    """The blocks of each training step: epoch e visits a permutation seeded by (seed, e), grouped so that a
    batch holds blocks of similar length (little padding), as transformers' LengthGroupedSampler does.
    The batch of a step depends only on the step, never on how the run was interrupted."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int) -> None:
        self.per_epoch = len(lengths) // batch_size
        if self.per_epoch < 1:
            raise ValueError(f"{len(lengths)} blocks of text do not fill one batch of {batch_size}")
        self.lengths, self.batch_size, self.seed = list(lengths), batch_size, seed
        self._epoch, self._order = -1, []

    def __call__(self, step: int) -> list[int]:
        epoch, offset = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch = epoch
            self._order = get_length_grouped_indices(self.lengths, self.batch_size, generator=generator)
        return self._order[offset * self.batch_size : (offset + 1) * self.batch_size]


def make_optimizer(model: torch.nn.Module, config: PretrainConfig) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for param in model.parameters():
        (no_decay if param.ndim < 2 else decay).append(param)  # biases and LayerNorm weights
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, config.adam_beta2))


class LossLog:
    """The per-step training loss, kept in the checkpoint and mirrored to a DVCLive folder."""

    def __init__(self, live_dir: str | os.PathLike, history: list[list[float]]) -> None:
        from dvclive import Live

        # resume=False clears the folder; the history replayed below is exactly the checkpointed steps.
        self.live = Live(str(live_dir), resume=False, save_dvc_exp=False, dvcyaml=False, report=None)
        self.history = []
        for step, loss in history:
            self.log(int(step), loss)

    def log(self, step: int, loss: float) -> None:
        self.history.append([step, loss])
        self.live.step = step
        self.live.log_metric(LOSS_METRIC, loss)

    @property
    def curve_file(self) -> Path:
        return Path(self.live.plots_dir) / "metrics" / f"{LOSS_METRIC}.tsv"

    def end(self) -> None:
        self.live.end()


def pretrain(
    config: PretrainConfig,
    tokenizer: BertTokenizerFast,
    blocks: Sequence[list[int]],
    device: torch.device,
    checkpoint_path: str | os.PathLike,
    live_dir: str | os.PathLike,
) -> tuple[BertForMaskedLM, LossLog, dict[str, Any]]:
    """Train for ``config.steps`` steps, resuming from ``checkpoint_path`` when it holds this config."""
    seed_everything(config.seed)
    model = build_model(config).to(device)
    optimizer = make_optimizer(model, config)
    schedule = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, config.steps)
    collator = mlm_collator(tokenizer, config.mlm_probability, config.seed + _MASKING_STREAM)
    collate(collator, blocks[:1])  # creates the collator's generator, so a checkpoint can restore it
    collator.generator.manual_seed(config.seed + _MASKING_STREAM)
    checkpoint = Resumable(
        checkpoint_path, asdict(config), ignore=("checkpoint_every",), model=model, optimizer=optimizer,
        schedule=schedule, masking_rng=collator.generator, torch_rng=torch.default_generator,
    )  # fmt: skip
    progress = checkpoint.resume(step=0, history=[], seconds=0.0)
    done, seconds = progress["step"], progress["seconds"]
    log = LossLog(live_dir, progress["history"])
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    order = BatchOrder([len(b) for b in blocks], config.batch_size, config.seed)
    started = time.perf_counter()
    for step in range(done, config.steps):
        batch = collate(collator, [blocks[i] for i in order(step)])
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast:
            loss, _ = masked_lm_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        schedule.step()
        check_finite_loss(loss, step + 1, "bert pretrain")
        log.log(step + 1, float(loss.detach()))
        if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
            checkpoint.save(
                step=step + 1, history=log.history, seconds=seconds + time.perf_counter() - started
            )
    seconds += time.perf_counter() - started
    record = {
        "steps": config.steps,
        "resumed_at_step": done,
        "train_seconds": seconds,
        "seconds_per_step": seconds / config.steps,
        "final_train_loss": log.history[-1][1],
        "n_blocks": len(blocks),
        "tokens_per_step": config.batch_size * config.seq_len,
        "parameters": sum(p.numel() for p in model.parameters()),
        "config": asdict(config),
    }
    return model, log, record


def add_pooler(model: BertForMaskedLM, seed: int) -> None:
    """Give the model the pooler hub checkpoints have (BertForMaskedLM builds none), initialised from ``seed``.

    MLM-only pretraining never trains it (bert-base-chinese's was trained by next-sentence prediction), but
    saving it makes the folder hub-shaped: a classifier loaded from it initialises only its own head.
    """
    torch.manual_seed(seed)
    model.bert.pooler = BertModel(model.config, add_pooling_layer=True).pooler


def save_pretrained_model(
    folder: str | os.PathLike, model: BertForMaskedLM, tokenizer: BertTokenizerFast, seed: int
) -> None:
    """Model (safetensors, pooler added) and tokenizer together, written atomically: a complete folder or none."""
    if model.bert.pooler is None:
        add_pooler(model, seed)
    with atomic_directory(folder) as tmp:
        model.cpu().save_pretrained(tmp, safe_serialization=True)
        save_tokenizer(tokenizer, tmp)


def publish_curve(log: LossLog, curve_out: str | os.PathLike) -> None:
    """Copy DVCLive's loss history (step, loss) to the tracked curve file, atomically."""
    with atomic_path(curve_out) as tmp:
        shutil.copyfile(log.curve_file, tmp)


def _main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    device = choose_device(args.device)
    texts, tokenizer = read_corpus(args.corpus), load_tokenizer(args.tokenizer)
    config = build(
        PretrainConfig,
        args.settings,
        "bert.pretrain",
        vocab_size=len(tokenizer),
        data_sha256=data_fingerprint(texts, tokenizer),
        device_type=device.type,
    )
    blocks = text_blocks(tokenizer, texts, config.seq_len)
    model, log, record = pretrain(config, tokenizer, blocks, device, args.checkpoint, args.live_dir)
    save_pretrained_model(args.out_dir, model, tokenizer, config.seed)
    publish_curve(log, args.curve_out)
    log.end()
    write_json(args.record_out, record | {"threads": args.threads, "device": device.type})
    discard_checkpoint(args.checkpoint)
    shutil.rmtree(args.live_dir, ignore_errors=True)
    print(
        f"{args.out_dir}: {record['parameters']} parameters, {config.steps} steps in "
        f"{record['train_seconds']:.1f} s, final training loss {record['final_train_loss']:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.bert.pretrain", __doc__, "bert.pretrain")
    parser.add_argument("--corpus", required=True, help="the corpus step's training text")
    parser.add_argument("--tokenizer", required=True, help="the tokenizer step's folder")
    add_compute_arguments(parser)
    parser.add_argument("--checkpoint", required=True, help="resumed from if present; removed at the end")
    parser.add_argument("--live-dir", required=True, help="DVCLive's working folder; removed at the end")
    parser.add_argument("--out-dir", required=True, help="the model folder (save_pretrained)")
    parser.add_argument("--curve-out", required=True, help="DVCLive's loss history (step, loss) .tsv")
    parser.add_argument("--record-out", required=True, help="size, steps, time (.json)")
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
