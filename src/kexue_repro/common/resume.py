"""Resuming a training loop: one checkpoint file holds the state of its stateful objects and its progress.

    run = Resumable(checkpoint_path, config.as_dict(), model=model, optimizer=optimizer, rng=generator)
    progress = run.resume(step=0, curve=[])   # the defaults, or what the checkpoint saved
    for step in range(progress["step"], steps):
        ...
        run.save(step=step + 1, curve=curve)
    discard_checkpoint(checkpoint_path)       # once the outputs are written

Stateful objects are modules, optimizers, schedulers (``state_dict``/``load_state_dict``) and random
generators (``get_state``/``set_state``). A checkpoint is used only when it was saved under an equal config
(up to ``ignore``d keys); another one is left to be overwritten, and the run starts afresh. Saving is atomic
(``common.checkpoint``): a run killed at any point resumes from its last save to the same numbers.

A job of several runs (a step's seeds) runs them in one process with ``run_each``, which discards their
checkpoints only when all are done, so a killed job resumes each run, finished or not, from its own.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from kexue_repro.common.checkpoint import load_checkpoint, save_checkpoint
from kexue_repro.common.cli import run as run_command

CONFIG = "config"
PROGRESS = "progress"


def _state(obj: Any) -> Any:
    return obj.get_state() if isinstance(obj, torch.Generator) else obj.state_dict()


def _restore(obj: Any, state: Any) -> None:
    if isinstance(obj, torch.Generator):
        obj.set_state(state)
    else:
        obj.load_state_dict(state)


class Resumable:
    def __init__(
        self,
        path: str | os.PathLike,
        config: dict[str, Any],
        ignore: tuple[str, ...] = (),
        **stateful: Any,
    ) -> None:
        if {CONFIG, PROGRESS} & set(stateful):
            raise ValueError(f"Resumable: '{CONFIG}' and '{PROGRESS}' name the checkpoint's own entries")
        self.path, self.config, self.ignore, self.stateful = Path(path), config, ignore, stateful

    def _same_run(self, saved: dict[str, Any]) -> bool:
        def key(config: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in config.items() if k not in self.ignore}

        return key(saved) == key(self.config)

    def resume(self, **defaults: Any) -> dict[str, Any]:
        """Restore the stateful objects from the checkpoint of this run and return its progress (the
        ``defaults`` when there is none)."""
        state = load_checkpoint(self.path)  # on the CPU: generator states must be CPU tensors
        if state is None:
            return dict(defaults)
        entries = {CONFIG, PROGRESS, *self.stateful}
        if not entries <= set(state) or not self._same_run(state[CONFIG]):  # another run's, or older code's
            print(f"{self.path} holds another configuration; starting afresh", file=sys.stderr)
            return dict(defaults)
        for name, obj in self.stateful.items():
            _restore(obj, state[name])
        progress = defaults | state[PROGRESS]
        print(f"resuming from {self.path}: {self.describe(progress)}", file=sys.stderr)
        return progress

    @staticmethod
    def describe(progress: dict[str, Any]) -> str:
        return ", ".join(f"{k} {len(v) if isinstance(v, (list, tuple)) else v}" for k, v in progress.items())

    def save(self, **progress: Any) -> None:
        """Save every stateful object and ``progress`` (numbers, strings, tensors and lists of them)."""
        state = {name: _state(obj) for name, obj in self.stateful.items()}
        save_checkpoint(self.path, state | {CONFIG: self.config, PROGRESS: progress})


def discard_checkpoint(path: str | os.PathLike) -> None:
    """A checkpoint is spent once its run's outputs are written: a later run with new settings starts afresh."""
    Path(path).unlink(missing_ok=True)


def run_each(
    command: Callable[[argparse.Namespace], object],
    args: argparse.Namespace,
    per_run: Sequence[str],
    checkpoint: str | None = None,
) -> int:
    """Run ``command`` once per run, all in this process, so that a job of several runs (a step's seeds) pays
    the start-up (interpreter, torch, transformers) once. Each option in ``per_run`` (the dests of
    ``nargs="+"`` options) holds one value per run, in the same order; the command sees one run's values.

    Each run writes its own outputs as it ends. The runs' checkpoints (the option ``checkpoint``) are
    discarded only once every run is done: the workflow removes a failed job's outputs before running it
    again, and each finished run then resumes from its checkpoint instead of training again."""

    def each(args: argparse.Namespace) -> None:
        values = {dest: getattr(args, dest) for dest in per_run}
        runs = len(values[per_run[0]])
        for dest, given in values.items():
            if len(given) != runs:
                flag, first = "--" + dest.replace("_", "-"), "--" + per_run[0].replace("_", "-")
                raise ValueError(f"{flag}: {len(given)} given for {runs} runs (one per value of {first})")
        for index in range(runs):
            command(
                argparse.Namespace(**(vars(args) | {dest: given[index] for dest, given in values.items()}))
            )
        for path in values[checkpoint] if checkpoint is not None else ():
            discard_checkpoint(path)

    return run_command(each, args)
