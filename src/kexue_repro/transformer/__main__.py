"""Command line of study 8747 (BERT's initial std 0.02) and 8770's MAE identity: one subcommand per step.

python -m kexue_repro.transformer gradflow --name N --depth L --width D --heads H --ffn F --vocab V --seq-len T
                                           --batch-size B --mask-prob P --head {dense_ln,plain} --output {tied,untied}
                                           --norms N ... --inits I ... --seeds S ... --threads T --device D
                                           --out JSON
python -m kexue_repro.transformer init-std --width D --matrices K --seed S --out JSON
python -m kexue_repro.transformer mlm      --norm {post,pre} --head {dense_ln,plain} --output {tied,untied} --init I
                                           --depth L --width D --heads H --ffn F --dropout P
                                           --corpus-vocab V --corpus-topics K --corpus-support S --corpus-seed C
                                           --mask-prob P --seq-len T --batch-size B --steps N --lr LR
                                           --warmup-steps W --eval-batches E --seed S --checkpoint-every C
                                           --threads T --device D --checkpoint CKPT --out JSON
python -m kexue_repro.transformer mae      --n N --keep-prob P --logit-std S --samples N ... --seed S --out JSON
python -m kexue_repro.transformer claims   --gradflow JSON ... --init-std JSON --runs JSON ... --mae JSON
                                           --anchors CSV --confidence X --std-rel-tol X --flat-min X --flat-max X
                                           --vanish-threshold X --explode-ratio X --stall-margin X --sweep-head H
                                           --last-ln-lr LR --last-ln-warmup W --identity-tol X --mc-z Z
                                           --tables-dir D --plots-dir D --scale S --claims-out C --metrics-out M
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from kexue_repro.common.atomic import write_json
from kexue_repro.common.cli import add_ledger_arguments, run_steps
from kexue_repro.transformer import HEADS, INITS, NORMS

OUTPUTS = ("tied", "untied")


def _gradflow(args: argparse.Namespace) -> None:
    import torch

    from kexue_repro.common.runtime import choose_device, set_threads
    from kexue_repro.transformer.gradflow import init_batch, measure
    from kexue_repro.transformer.model import ModelConfig, build_model

    set_threads(args.threads)
    device = choose_device(args.device)
    rows = []
    for seed in args.seeds:
        batch = [
            t.to(device) for t in init_batch(args.vocab, args.seq_len, args.batch_size, args.mask_prob, seed)
        ]
        for init in args.inits:
            for norm in args.norms:
                config = ModelConfig(
                    vocab=args.vocab, seq_len=args.seq_len, depth=args.depth, width=args.width, heads=args.heads,
                    ffn=args.ffn, norm=norm, init=init, head=args.head, tied=args.output == "tied", dropout=0.0,
                )  # fmt: skip
                torch.manual_seed(seed)  # the same seed gives Post-LN and Pre-LN the same weights
                started = time.perf_counter()
                result = measure(build_model(config).to(device), *batch)
                rows.append({"norm": norm, "init": init, "seed": seed} | result)
                print(
                    f"{norm} {init} seed {seed}: loss {result['loss']:.3f}, gradient at the bottom "
                    f"{result['grad_rel'][0]:.3g} of the top, min {min(result['grad_rel']):.3g}, "
                    f"max {max(result['grad_rel']):.3g} ({time.perf_counter() - started:.1f} s)"
                )
    keys = (
        "name",
        "depth",
        "width",
        "heads",
        "ffn",
        "head",
        "output",
        "vocab",
        "seq_len",
        "batch_size",
        "mask_prob",
    )
    write_json(args.out, {"configuration": {key: getattr(args, key) for key in keys}, "rows": rows})


def _init_std(args: argparse.Namespace) -> None:
    from kexue_repro.transformer.gradflow import init_std_sample

    rows = [init_std_sample(init, args.width, args.width, args.matrices, args.seed) for init in INITS]
    write_json(args.out, {"rows": rows})
    print("; ".join(f"{r['init']}: std {r['std']:.7f} over {r['samples']} draws" for r in rows))


def _mlm(args: argparse.Namespace) -> None:
    from kexue_repro.common.runtime import choose_device, set_threads
    from kexue_repro.transformer.model import ModelConfig
    from kexue_repro.transformer.train import TrainConfig, train

    set_threads(args.threads)
    device = choose_device(args.device)
    model = ModelConfig(
        vocab=args.corpus_vocab + 1, seq_len=args.seq_len, depth=args.depth, width=args.width,
        heads=args.heads, ffn=args.ffn, norm=args.norm, init=args.init, head=args.head,
        tied=args.output == "tied", dropout=args.dropout,
    )  # fmt: skip
    config = TrainConfig(
        model=model, corpus_vocab=args.corpus_vocab, corpus_topics=args.corpus_topics,
        corpus_support=args.corpus_support, corpus_seed=args.corpus_seed, mask_prob=args.mask_prob,
        batch_size=args.batch_size, steps=args.steps, lr=args.lr, warmup_steps=args.warmup_steps,
        eval_batches=args.eval_batches, seed=args.seed, device_type=device.type,
    )  # fmt: skip
    _, record = train(config, device, args.checkpoint, args.checkpoint_every)
    keys = {
        "norm": args.norm,
        "head": args.head,
        "lr": args.lr,
        "warmup_steps": args.warmup_steps,
        "seed": args.seed,
    }
    write_json(args.out, keys | {"config": config.as_dict(), "threads": args.threads} | record)
    Path(args.checkpoint).unlink(missing_ok=True)
    print(
        f"{args.out}: held-out loss {record['initial_loss']:.3f} -> {record['final_loss']} "
        f"(unigram entropy {record['unigram_entropy']:.3f}); last LN gamma ratio {record['last_ln_ratio']:.3f}; "
        f"{record['seconds_per_step'] * 1000:.1f} ms/step"
    )


def _mae(args: argparse.Namespace) -> None:
    from kexue_repro.transformer.mae import mae_identity

    record = mae_identity(args.n, args.keep_prob, args.logit_std, args.samples, args.seed)
    write_json(args.out, record)
    print(
        f"identity error {record['identity_max_abs_error']:.3g}; Monte-Carlo gap "
        f"{record['monte_carlo'][-1]['max_abs_gap']:.4g} after {record['monte_carlo'][-1]['samples']} masks"
    )


def _claims(args: argparse.Namespace) -> None:
    from kexue_repro.transformer import claims  # pandas, SciPy and matplotlib: only the step that needs them

    claims.run(args)


def _model_shape(step: argparse.ArgumentParser) -> None:
    step.add_argument("--depth", type=int, required=True, help="encoder layers")
    step.add_argument("--width", type=int, required=True)
    step.add_argument("--heads", type=int, required=True)
    step.add_argument("--ffn", type=int, required=True, help="feed-forward width")
    step.add_argument("--head", choices=HEADS, required=True, help="MLM head: BERT's Dense+GELU+LN, or none")
    step.add_argument(
        "--output", choices=OUTPUTS, required=True, help="output projection tied to the embeddings or not"
    )


def _runtime(step: argparse.ArgumentParser) -> None:
    step.add_argument("--threads", type=int, required=True)
    step.add_argument("--device", required=True, help="auto | cpu | cuda")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m kexue_repro.transformer", description=__doc__.split("\n")[0]
    )
    steps = root.add_subparsers(dest="step", required=True)

    flow = steps.add_parser(
        "gradflow", help="gradient and variance profile at initialisation, one configuration"
    )
    flow.add_argument("--name", required=True, help="the configuration's name in claims and file names")
    _model_shape(flow)
    flow.add_argument("--vocab", type=int, required=True, help="tokens including [MASK]")
    flow.add_argument("--seq-len", type=int, required=True)
    flow.add_argument("--batch-size", type=int, required=True)
    flow.add_argument("--mask-prob", type=float, required=True)
    flow.add_argument("--norms", nargs="+", choices=NORMS, required=True)
    flow.add_argument("--inits", nargs="+", choices=INITS, required=True)
    flow.add_argument("--seeds", nargs="+", type=int, required=True)
    _runtime(flow)
    flow.add_argument("--out", required=True)
    flow.set_defaults(run=_gradflow)

    std = steps.add_parser("init-std", help="actual std of every initialiser on width x width matrices")
    std.add_argument("--width", type=int, required=True)
    std.add_argument("--matrices", type=int, required=True, help="matrices pooled per initialiser")
    std.add_argument("--seed", type=int, required=True)
    std.add_argument("--out", required=True)
    std.set_defaults(run=_init_std)

    mlm = steps.add_parser("mlm", help="train the small MLM on the topic corpus once, resumable")
    mlm.add_argument("--norm", choices=NORMS, required=True)
    mlm.add_argument("--init", choices=INITS, required=True)
    _model_shape(mlm)
    mlm.add_argument("--dropout", type=float, required=True)
    mlm.add_argument("--corpus-vocab", type=int, required=True, help="corpus tokens ([MASK] is added)")
    mlm.add_argument("--corpus-topics", type=int, required=True)
    mlm.add_argument("--corpus-support", type=int, required=True, help="tokens each topic can emit")
    mlm.add_argument("--corpus-seed", type=int, required=True)
    mlm.add_argument("--mask-prob", type=float, required=True)
    mlm.add_argument("--seq-len", type=int, required=True)
    mlm.add_argument("--batch-size", type=int, required=True)
    mlm.add_argument("--steps", type=int, required=True)
    mlm.add_argument("--lr", type=float, required=True, help="peak learning rate of Adam")
    mlm.add_argument("--warmup-steps", type=int, required=True, help="linear warmup, then constant")
    mlm.add_argument(
        "--eval-batches", type=int, required=True, help="held-out batches, the same for every run"
    )
    mlm.add_argument("--seed", type=int, required=True)
    mlm.add_argument("--checkpoint-every", type=int, required=True)
    _runtime(mlm)
    mlm.add_argument("--checkpoint", required=True, help="resumed from if present; removed at the end")
    mlm.add_argument("--out", required=True, help="the run record: curve, losses, LayerNorm gammas (.json)")
    mlm.set_defaults(run=_mlm)

    mae = steps.add_parser("mae", help="Norm(A * E[M]) = A exactly; the mean of Norm(A * M) is not A")
    mae.add_argument("--n", type=int, required=True, help="tokens (A is n x n)")
    mae.add_argument("--keep-prob", type=float, required=True)
    mae.add_argument("--logit-std", type=float, required=True, help="std of the Gaussian attention logits")
    mae.add_argument("--samples", nargs="+", type=int, required=True, help="Monte-Carlo mask counts")
    mae.add_argument("--seed", type=int, required=True)
    mae.add_argument("--out", required=True)
    mae.set_defaults(run=_mae)

    claim = steps.add_parser("claims", help="tables, plots, claims.json and metrics.json")
    claim.add_argument("--gradflow", nargs="+", required=True, help="gradflow outputs, one per configuration")
    claim.add_argument("--init-std", required=True)
    claim.add_argument("--runs", nargs="+", required=True, help="mlm run records")
    claim.add_argument("--mae", required=True)
    claim.add_argument("--anchors", required=True, help="data/anchors/transformer.csv")
    claim.add_argument("--confidence", type=float, required=True, help="level of every interval, e.g. 0.95")
    claim.add_argument("--std-rel-tol", type=float, required=True, help="init stds: relative tolerance")
    claim.add_argument(
        "--flat-min", type=float, required=True, help="flat: every layer's gradient >= this x top"
    )
    claim.add_argument(
        "--flat-max", type=float, required=True, help="flat: every layer's gradient <= this x top"
    )
    claim.add_argument(
        "--vanish-threshold", type=float, required=True, help="vanished: some layer < this x top"
    )
    claim.add_argument("--explode-ratio", type=float, required=True, help="exploded: some layer > this x top")
    claim.add_argument(
        "--stall-margin", type=float, required=True, help="learned: final loss this far below H1"
    )
    claim.add_argument(
        "--sweep-head", choices=HEADS, required=True, help="the head of the warmup sweep's runs"
    )
    claim.add_argument(
        "--last-ln-lr", type=float, required=True, help="the runs of the LayerNorm-gamma claim"
    )
    claim.add_argument("--last-ln-warmup", type=int, required=True)
    claim.add_argument("--identity-tol", type=float, required=True, help="MAE identity: exact up to this")
    claim.add_argument("--mc-z", type=float, required=True, help="MAE: Monte-Carlo gap beyond this many SEs")
    claim.add_argument("--tables-dir", required=True)
    claim.add_argument("--plots-dir", required=True)
    add_ledger_arguments(claim)
    claim.set_defaults(run=_claims)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
