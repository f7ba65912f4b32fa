"""How every command of the package fails: one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable, Sequence

import psutil

from kexue_repro.common import provenance
from kexue_repro.common.settings import add_settings_argument

# Bad input and failed I/O (DownloadError is an OSError); anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (ValueError, KeyError, OSError)

# Set by the workflow (Snakefile's shell prefix): each job logs its start-up time, from the process's start
# to its first line of work, for kexue_repro.benchmarks.rule_times. Direct use of a command prints nothing.
STARTUP_LOG_ENV = "KEXUE_REPRO_LOG_STARTUP"
STARTUP_PREFIX = "start-up: "


def log_startup() -> None:
    if os.environ.get(STARTUP_LOG_ENV):
        seconds = time.time() - psutil.Process().create_time()
        print(f"{STARTUP_PREFIX}{seconds:.3f} s", file=sys.stderr, flush=True)


DEVICES = ("auto", "cpu", "cuda")


def add_compute_arguments(job: argparse.ArgumentParser, device: bool = True) -> None:
    """``--threads`` and, for a job that can use a GPU, ``--device``: where and how wide a job computes."""
    job.add_argument(
        "--threads", type=int, default=1, help="torch's threads (a workflow rule passes its threads)"
    )
    if device:
        job.add_argument(
            "--device", default="auto", choices=DEVICES, help="auto: CUDA when available, else CPU"
        )


def add_checkpoint_argument(job: argparse.ArgumentParser, unit: str) -> None:
    """The per-run checkpoints of a job that runs several runs in turn (``common.resume.run_each``)."""
    job.add_argument(
        "--checkpoint",
        nargs="+",
        required=True,
        help=f"per {unit}: resumed from if present; removed at the end",
    )


def add_ledger_arguments(claims_step: argparse.ArgumentParser) -> None:
    """The options every study's claims step shares: the scale its claims are stated at, and its two outputs."""
    claims_step.add_argument(
        "--scale",
        required=True,
        choices=("smoke", "clue-cpu", "full"),
        help="the scale the claims are stated at",
    )
    claims_step.add_argument("--claims-out", required=True, help="results/<study>/claims.json")
    claims_step.add_argument(
        "--metrics-out", required=True, help="results/<study>/metrics.json: verdict counts, headline numbers"
    )
    claims_step.add_argument(
        "--numbers-out", required=True, help="results/<study>/numbers.json: every summary number of the run"
    )
    # Provenance (the Snakemake rules pass kexue_repro.common.provenance.provenance_options): written
    # after the step succeeds, into its own file, since it changes with the commit and the host.
    claims_step.add_argument("--provenance-out", help="results/<study>/provenance.json")
    claims_step.add_argument("--provenance-study", help="the study's name (its params block)")
    claims_step.add_argument("--provenance-params-sha256", help="sha256 of the study's params block")
    claims_step.add_argument("--provenance-seeds", default="{}", help="JSON: the block's seeds by key path")
    claims_step.add_argument(
        "--provenance-device", default="auto", choices=DEVICES, help="the params' device setting, as recorded"
    )


def add_fine_tuning_arguments(job: argparse.ArgumentParser, task_help: str, meta_help: str) -> None:
    """The options of a job fine-tuning one model on one prepared task with one seed or more, in turn (the
    CLUE jobs; ``run_each`` with per-run options FINE_TUNING_PER_RUN and the job's own outputs)."""
    job.add_argument("--task", required=True, help=task_help)
    job.add_argument("--seed", type=int, nargs="+", required=True, help="one run per seed, in turn")
    job.add_argument(
        "--model", required=True, help="a save_pretrained folder (model + tokenizer) or hub name"
    )
    job.add_argument("--train", required=True, help="prepared train split (.jsonl)")
    job.add_argument("--dev", required=True, help="prepared dev split (.jsonl)")
    job.add_argument("--meta", required=True, help=meta_help)
    add_compute_arguments(job)
    add_checkpoint_argument(job, "seed")
    job.add_argument("--run-out", nargs="+", required=True, help="per seed: the run record (.json)")


FINE_TUNING_PER_RUN = ("seed", "checkpoint", "run_out")


def _write_provenance(args: argparse.Namespace) -> None:
    if not (args.provenance_study and args.provenance_params_sha256):
        raise ValueError("--provenance-out needs --provenance-study and --provenance-params-sha256")
    try:
        seeds = json.loads(args.provenance_seeds)
    except json.JSONDecodeError as err:
        raise ValueError(f"--provenance-seeds: not JSON ({err})") from None
    record = provenance.collect(
        args.provenance_study, args.scale, args.provenance_params_sha256, seeds, args.provenance_device
    )
    provenance.write_provenance(args.provenance_out, record)


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def run(command: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    log_startup()
    try:
        command(args)
        if getattr(args, "provenance_out", None):
            _write_provenance(args)
    except EXPECTED_ERRORS as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 1
    return 0


def step_parser(module: str, doc: str | None, settings: str | None = None) -> argparse.ArgumentParser:
    """The parser of one workflow step (``python -m <module>``): paths and switches, and ``--settings``
    (the params.yaml block named ``settings``) when the step has any."""
    summary = " ".join((doc or "").split("\n\n")[0].split())  # the docstring's first paragraph, whole
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=summary)
    if settings:
        add_settings_argument(parser, settings)
    return parser


def run_steps(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with a parser whose subcommands set ``run=<function of the parsed args>``."""
    args = parser.parse_args(argv)
    return run(args.run, args)
