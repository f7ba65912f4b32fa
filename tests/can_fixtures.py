"""A small synthetic CLUE-format task with seeded Dirichlet runs, written to a folder, for the CAN tests."""

from __future__ import annotations

from pathlib import Path

from kexue_repro.can.synthetic import write_synthetic

TASK, CLASSES, VARIANTS, SEEDS = "toy", 6, ("vanilla", "other"), (0, 1, 2)
POST = "post 3 0.9 1 1 per_sample topk all".split()
OFFICIAL = "official 3 0.9 1 1 per_sample any_k stratified".split()


def synthetic_task(root: Path, n_dev: int = 300, classes: int = CLASSES) -> dict[str, Path]:
    task_dir, runs_dir = root / "task", root / "runs"
    write_synthetic(task_dir, runs_dir, TASK, classes, 400, n_dev, VARIANTS, SEEDS, 0.5, 3.0, 0.6, seed=0)
    return {"task": task_dir, "runs": runs_dir / TASK}


def task_args(paths: dict[str, Path]) -> list[str]:
    t = paths["task"]
    return ["--task", TASK, "--train", str(t / "train.jsonl"), "--dev", str(t / "dev.jsonl")] + [
        "--meta", str(t / "meta.json"), "--reference-seed", "0", "--row-sum-tolerance", "1e-6"
    ]  # fmt: skip


def apply_args(paths: dict[str, Path], variant: str, seed: int, out: Path) -> list[str]:
    stem = paths["runs"] / variant / f"seed{seed}"
    return ["apply", *task_args(paths), "--variant", variant, "--seed", str(seed)] + [
        "--probs", f"{stem}.npy", "--run-record", f"{stem}.json", "--setting", *POST, "--setting", *OFFICIAL,
        "--out", str(out)
    ]  # fmt: skip


def sweep_args(paths: dict[str, Path], out: Path) -> list[str]:
    probs = [
        a
        for v in VARIANTS
        for s in SEEDS
        for a in ("--probs", v, str(s), str(paths["runs"] / v / f"seed{s}.npy"))
    ]
    return ["sweep", *task_args(paths), *probs, "--setting", *POST, "--taus", "0.6", "0.9"] + [
        "--alphas", "1", "2", "--iterations", "1", "2", "--split-seed", "0", "--out", str(out)
    ]  # fmt: skip
