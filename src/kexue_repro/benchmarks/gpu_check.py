"""What a full reproduction costs: each training study's step at full scale, timed on this machine's device.

python -m kexue_repro.benchmarks.gpu_check [--steps N] [--warmup N] [--device auto|cpu|cuda] [--fid]
                                           [--json OUT] [--threads N] [--params YAML] [--vocab TXT]

For each training study, at the sizes params.yaml gives at `scale: full` (read through the studies' own
settings and plan functions), the study's own model, optimizer and training step (imported, never copied) run
--warmup untimed steps (default 3 on a GPU, 1 on a CPU), then --steps timed ones (default 20; on a CPU 2 of
the GAN's and CLUE's, seconds each there), then one more whose FLOPs torch's FlopCounterMode counts (matrix
products and convolutions, forward and backward):
- vae: IWAE at each k of vae.runs.k_train, at the full batch size, on random images through vae.data;
- gan: GN-GAN's official CNN (gan.cifar_train; a step: n_dis D steps, one G step) on random 32x32 images;
- clue: fine-tuning (clue.train) of a randomly initialised BERT-base-shaped model on the bert-base-chinese
  vocabulary (--vocab; without it, a stand-in of the same size: the step trains on random ids; no hub access
  needed), the finetune settings' optimizer, bf16 autocast on a GPU and
  float32 on a CPU, every record maxlen tokens long;
- transformer: the MLM step (transformer.train) at transformer.scales.full's sizes.
Printed per study: the median step time, samples per second, achieved TFLOP/s and MFU against the GPU's dense
bf16 peak (n/a on a CPU or an unknown GPU), peak memory (CUDA: max_memory_allocated; CPU: growth of the
process's peak resident set), the steps of the study's full run (all its runs, from params.yaml at scale
full) and their projected wall time (steps x step time); then the total of a full reproduction.

Training steps only: evaluation (CLUE dev sets, the VAE's L_5000, the GAN's FID/IS curve unless --fid) and
set-up are left out. The CLUE figure is an upper bound: real batches are padded to their longest record only.
A benchmark, not a test: no thresholds.

--fid: checks that the optional extra 'fid' (torch-fidelity, torchvision) imports beside the installed torch
and that the GAN study's Inception extractor (weights: gan.cifar_train.inception_weights, a local file, or ""
to download) gives (N, 2048) features for uint8 32x32 images, and adds the FID/IS evaluations of the GAN's
full run at its measured throughput. Exit 2, with one line saying why, when the extra is unusable.
--json OUT: the same figures as JSON (written atomically).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import importlib
import itertools
import math
import re
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers.utils import logging as hf_logging

from kexue_repro.benchmarks.clue_throughput import DEFAULT_VOCAB, random_model
from kexue_repro.clue import data as clue_data
from kexue_repro.clue import plan as clue_plan
from kexue_repro.clue import train as clue_train
from kexue_repro.clue.model import load_classifier, load_tokenizer
from kexue_repro.common.atomic import write_json
from kexue_repro.common.params import load_yaml
from kexue_repro.common.runtime import choose_device, seed_everything, set_threads
from kexue_repro.common.settings import build, step_block
from kexue_repro.data.checksums import load_checksums
from kexue_repro.data.clue import get_task
from kexue_repro.gan import cifar_train
from kexue_repro.gan.image_metrics import FID_EXTRA_HINT, make_extractor
from kexue_repro.transformer import plan as transformer_plan
from kexue_repro.transformer import train as transformer_train
from kexue_repro.transformer.data import topic_corpus
from kexue_repro.transformer.model import build_model
from kexue_repro.vae import data as vae_data
from kexue_repro.vae import train as vae_train

DEFAULT_PARAMS = Path(__file__).resolve().parents[3] / "params.yaml"
CLUE_CHECKSUMS = "data/checksums/clue.csv"  # beside params.yaml

# The official MNIST training split: the VAE's data at full scale (vae.data source mnist, 60,000 / 10,000).
MNIST_TRAIN_IMAGES = 60_000
# Train records of full-scale CLUE tasks whose train file data/checksums/clue.csv does not count (no copy on
# the project's mirror: /work/shared/data/clue/MANIFEST.md): the official counts of the CLUE release (the CLUE
# paper, Xu et al., COLING 2020, and CLUEbenchmark's task descriptions).
OFFICIAL_TRAIN_RECORDS = {"cmnli": 391_783, "csl": 20_000}
# bert-base-chinese's shape (its config.json); random_model gives it a 4 x hidden FFN (3,072).
BERT_BASE = {"hidden": 768, "layers": 12, "heads": 12}
# Dense bf16 tensor-core peaks in TFLOP/s (vendor data sheets), matched in order against the device name.
BF16_PEAKS = (
    (r"H200", 989.0),
    (r"H100.*PCIe", 756.0),
    (r"H100(?!.*NVL)", 989.0),  # SXM ("NVIDIA H100 80GB HBM3"); the H100 NVL is not listed
    (r"A100", 312.0),
    (r"L40S", 362.0),
    (r"\bA10\b", 125.0),  # not the A10G
    (r"\bL4\b", 121.0),
)
FID_ROW = "gan FID/IS"
STUDIES = ("vae", "gan", "clue", "transformer", FID_ROW)


def bf16_peak_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of a GPU called ``device_name``; None when BF16_PEAKS does not know it."""
    return next((peak for pattern, peak in BF16_PEAKS if re.search(pattern, device_name)), None)


def full_config(params: str | Path) -> dict[str, Any]:
    """params.yaml as the workflow reads it, at scale full."""
    return load_yaml(params) | {"scale": "full"}


# --- Each study's settings and the steps of its full run ----------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """The steps of a study's full run: ``runs`` runs of ``steps`` steps in all, and how they were counted."""

    runs: int
    steps: int
    detail: str


def vae_config(config: dict[str, Any], k: int, device_type: str) -> vae_train.TrainConfig:
    settings = step_block(config, "vae", "train")
    return build(
        vae_train.TrainConfig, settings, "vae.train", k=k, seed=0, data_sha256="", device_type=device_type
    )


def vae_projection(config: dict[str, Any], k: int) -> Projection:
    """The runs of one k (one per seed): the schedule's epochs x ceil(MNIST training images / batch size)."""
    train = vae_config(config, k, "cpu")
    epochs = sum(n for n, _ in train.stages)
    per_epoch = math.ceil(MNIST_TRAIN_IMAGES / train.batch_size)
    runs = step_block(config, "vae", "runs")
    seeds, ks = len(runs["seeds"]), runs["k_train"]
    detail = (
        f"{train.schedule} schedule, {epochs:,} epochs x {per_epoch:,} steps ({MNIST_TRAIN_IMAGES:,} / batch "
        f"{train.batch_size}) per run; {seeds} runs of k={k} (k_train {ks} x {seeds} seeds: "
        f"{len(ks) * seeds} runs)"
    )
    return Projection(seeds, seeds * epochs * per_epoch, detail)


def gan_config(config: dict[str, Any], device_type: str) -> cifar_train.CifarConfig:
    settings = step_block(config, "gan", "cifar_train")
    return build(
        cifar_train.CifarConfig, settings, "gan.cifar_train", seed=0, data_sha256="", device_type=device_type
    )


def gan_projection(config: dict[str, Any]) -> Projection:
    steps, runs = gan_config(config, "cpu").steps, len(step_block(config, "gan", "cifar_runs")["seeds"])
    return Projection(runs, runs * steps, f"{steps:,} steps per run, {runs} seeds")


def fid_images_per_run(config: dict[str, Any]) -> tuple[int, str]:
    """Images through Inception in one GAN run: n_eval samples of G and of its EMA at each step of the curve
    (cifar_train.eval_steps), and the n_real training images of the FID statistics, once."""
    cifar = gan_config(config, "cpu")
    evaluations = len(cifar_train.eval_steps(cifar.steps, cifar.eval_every))
    images = evaluations * 2 * cifar.n_eval + cifar.n_real
    detail = f"{evaluations} evaluations x 2 (G, EMA) x {cifar.n_eval:,} + {cifar.n_real:,} real = {images:,}"
    return images, detail


def clue_train_records(root: Path, task: str) -> tuple[int, str]:
    """Records of a task's train file: its row of data/checksums/clue.csv, else OFFICIAL_TRAIN_RECORDS."""
    train_file = get_task(task).train
    known = load_checksums(root / CLUE_CHECKSUMS).get((task, train_file))
    if known is not None and known.records is not None:
        return known.records, CLUE_CHECKSUMS
    if task in OFFICIAL_TRAIN_RECORDS:
        return OFFICIAL_TRAIN_RECORDS[task], "official count, gpu_check.OFFICIAL_TRAIN_RECORDS"
    raise KeyError(f"{task}/{train_file}: no record count in {CLUE_CHECKSUMS} or OFFICIAL_TRAIN_RECORDS")


@dataclass(frozen=True)
class ClueTask:
    task: str
    records: int  # of the official train file (all of them: prepare.max_train is all at full scale)
    source: str
    steps_per_epoch: int
    epochs: int
    runs: int  # models x variants x seeds

    @property
    def steps(self) -> int:
        return self.steps_per_epoch * self.epochs * self.runs


def clue_tasks(config: dict[str, Any], root: Path) -> list[ClueTask]:
    """Each full-scale CLUE task: ceil(train records / batch) x epochs x runs (models x variants x seeds)."""
    seeds, tasks = len(clue_plan.seeds(config)), {}
    for run_task in clue_plan.run_tasks(config):  # <task>@<model>
        task = run_task.split("@")[0]
        records, source = clue_train_records(root, task)
        for variant in clue_plan.variants(config):
            settings = clue_plan.finetune_settings(config, run_task, variant)
            run = ClueTask(
                task, records, source, math.ceil(records / settings["batch_size"]), settings["epochs"], 0
            )
            known = tasks.setdefault(task, run)
            if (known.steps_per_epoch, known.epochs) != (run.steps_per_epoch, run.epochs):
                raise ValueError(f"clue {task}: runs of different lengths; count them one by one")
            tasks[task] = ClueTask(**(asdict(known) | {"runs": known.runs + seeds}))
    return list(tasks.values())


def clue_projection(config: dict[str, Any], root: Path) -> Projection:
    tasks = clue_tasks(config, root)
    detail = (
        f"{len(tasks)} tasks x {len(step_block(config, 'clue', 'runs')['models'])} models x "
        f"{len(clue_plan.variants(config))} variants x {len(clue_plan.seeds(config))} seeds"
    )
    return Projection(sum(t.runs for t in tasks), sum(t.steps for t in tasks), detail)


def transformer_config(config: dict[str, Any], device_type: str) -> transformer_train.TrainConfig:
    """The MLM settings at full scale, with the sweep's first norm, lr and warmup (the cost is the same)."""
    runs, claims = step_block(config, "transformer", "runs"), step_block(config, "transformer", "claims")
    return build(
        transformer_train.TrainConfig,
        step_block(config, "transformer", "mlm"),
        "transformer.mlm",
        norm=runs["norms"][0],
        head=claims["sweep_head"],
        lr=runs["lrs"][0],
        warmup_steps=runs["warmup_steps"][0],
        seed=0,
        device_type=device_type,
    )


def transformer_projection(config: dict[str, Any]) -> Projection:
    runs = step_block(config, "transformer", "runs")
    n = len(transformer_plan.run_names(runs, step_block(config, "transformer", "claims")))
    steps = step_block(config, "transformer", "mlm")["steps"]
    return Projection(n, n * steps, f"{n} MLM runs (transformer.plan.run_names) x {steps:,} steps")


# --- Each study's step, built from the study's own code -----------------------------------------------------


def vae_step(config: dict[str, Any], k: int, device: torch.device) -> Callable[[], Any]:
    """vae.train's model, optimizer and train_step, on random grey images through vae.data, binarized as the
    training loop does."""
    cfg = vae_config(config, k, device.type)
    clip = step_block(config, "vae", "data")["pixel_mean_clip"]
    grey = np.random.default_rng(0).integers(0, 256, (50 * cfg.batch_size, vae_data.N_PIXELS), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        vae_data.write_dataset(Path(tmp) / "random.npz", vae_data.build_dataset(grey, grey[:10], 0, clip))
        dataset = vae_data.load_dataset(Path(tmp) / "random.npz")
    generator = vae_train.make_generator(cfg.seed, device)
    model = vae_train.build_model(dataset, cfg).to(device)
    optimizer = vae_train.build_optimizer(model, cfg)
    images = dataset.train_grey.to(device)
    binary = torch.bernoulli(images, generator=generator)
    order = torch.randperm(len(images), generator=generator, device=device)
    firsts = itertools.cycle(range(0, len(images), cfg.batch_size))

    def step() -> torch.Tensor:
        first = next(firsts)
        x = binary[order[first : first + cfg.batch_size]]
        return vae_train.train_step(model, optimizer, x, cfg.k, generator)

    return step


def gan_step(config: dict[str, Any], device: torch.device) -> Callable[[], Any]:
    """gan.cifar_train's networks and training_step, on random uint8 32x32 images served by its RealImages."""
    cfg = gan_config(config, device.type)
    rng = seed_everything(cfg.seed)
    nets = cifar_train.build_nets(cfg, device)
    images = torch.randint(0, 256, (16 * cfg.batch_size_d, 3, 32, 32), generator=rng, dtype=torch.uint8)
    real = cifar_train.RealImages(images, rng)
    return lambda: cifar_train.training_step(cfg, nets, real, rng, device)


def clue_config(config: dict[str, Any], folder: Path, device_type: str) -> clue_train.TrainConfig:
    """The fine-tuning settings at full scale of the first run task and the claims' baseline variant."""
    task = clue_plan.run_tasks(config)[0]
    variant = step_block(config, "clue", "claims")["baseline"]
    return build(
        clue_train.TrainConfig,
        clue_plan.finetune_settings(config, task, variant),
        "clue.finetune",
        task=task,
        model=str(folder),
        num_labels=2,
        seed=0,
        train_sha256="",
        dev_sha256="",
        device_type=device_type,
    )


def stand_in_vocab(path: Path, size: int = 21128) -> Path:
    """A vocabulary of bert-base-chinese's size (its special tokens, then CJK characters), for machines without
    the real one: the step trains on random token ids, so only the size matters for its cost."""
    progress(f"clue: no bert-base-chinese vocab.txt at --vocab; a stand-in of {size:,} tokens")
    specials = ["[PAD]", *(f"[unused{i}]" for i in range(1, 100)), "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = specials + [chr(0x4E00 + i) for i in range(size - len(specials))]
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def clue_step(
    config: dict[str, Any], device: torch.device, folder: Path, n_batches: int
) -> Callable[[], Any]:
    """clue.train's classifier, optimizer and train_step for the model in ``folder``, on n_batches batches of
    random token ids through clue.data's batching, every record maxlen tokens long."""
    cfg = clue_config(config, folder, device.type)
    tokenizer = load_tokenizer(cfg.model)
    generator = seed_everything(cfg.seed)
    model = load_classifier(cfg.model, cfg.num_labels).to(device)
    model.train()
    optimizer = clue_train.build_optimizer(cfg, model)
    n, first_id = n_batches * cfg.batch_size, len(tokenizer.all_special_ids)
    body = torch.randint(first_id, len(tokenizer), (n, cfg.maxlen - 2), generator=generator).tolist()
    ids = [[tokenizer.cls_token_id, *row, tokenizer.sep_token_id] for row in body]
    labels = torch.randint(0, cfg.num_labels, (n,), generator=generator)
    batches = clue_data.batches(clue_data.Encoded(ids, labels, tokenizer.pad_token_id), cfg.batch_size)
    return lambda: clue_train.train_step(model, optimizer, next(batches), device)


def transformer_step(config: dict[str, Any], device: torch.device, n_batches: int) -> Callable[[], Any]:
    """transformer.train's model, optimizer, schedule and train_step, on n_batches batches of its corpus."""
    cfg = transformer_config(config, device.type)
    spec = cfg.corpus
    corpus = topic_corpus(spec.vocab, spec.topics, spec.support, spec.seed)
    generator = seed_everything(cfg.seed)
    model = build_model(cfg.model).to(device)
    optimizer, schedule = transformer_train.build_optimizer(model, cfg)
    batches = transformer_train.batches(corpus, cfg, n_batches, generator)
    return lambda: transformer_train.train_step(model, optimizer, schedule, next(batches), device)


class FidUnusable(Exception):
    """The optional extra 'fid' cannot score images here (the message says why, in one line)."""


def inception_step(config: dict[str, Any], device: torch.device) -> Callable[[], Any]:
    """The GAN study's Inception extractor on one batch of 2 x batch_size_g uint8 32x32 images (the batches it
    scores); FidUnusable unless torch-fidelity and torchvision import and the features are (N, 2048)."""
    for module in ("torch_fidelity", "torchvision"):
        try:
            importlib.import_module(module)
        except Exception as err:  # a torchvision built for another torch raises RuntimeError or OSError
            why = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise FidUnusable(
                f"{module} does not import beside torch {torch.__version__} ({why}); {FID_EXTRA_HINT}"
            )
    cifar = gan_config(config, device.type)
    try:
        extractor = make_extractor("inception", cifar.inception_weights, cifar.seed).to(device)
    except Exception as err:
        where = cifar.inception_weights or "a download (gan.cifar_train.inception_weights is empty)"
        message = f"the 'fid' extra imports, but its Inception extractor did not load from {where}: {err}"
        raise FidUnusable(message.splitlines()[0]) from None
    batch = 2 * cifar.batch_size_g
    rng = torch.Generator().manual_seed(cifar.seed)
    images = torch.randint(0, 256, (batch, 3, 32, 32), generator=rng, dtype=torch.uint8).to(device)

    def step() -> torch.Tensor:
        with torch.no_grad():
            features, _ = extractor(images)
        return features

    shape = tuple(step().shape)
    if shape != (batch, 2048):
        raise FidUnusable(f"Inception features of {batch} images have shape {shape}, not ({batch}, 2048)")
    return step


# --- Timing -------------------------------------------------------------------------------------------------


def _status_kb(name: str) -> int:
    match = re.search(rf"^{name}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if match is None:
        raise OSError(f"/proc/self/status: no {name}")
    return int(match.group(1))


class PeakMemory:
    """The peak memory of what runs between construction and ``read``: on a GPU, CUDA's max_memory_allocated;
    on a CPU, how far the process's peak resident set (VmHWM, reset through /proc/self/clear_refs, after freed
    heap memory went back to the system) rose above its resident set at the start."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            self.kind = "CUDA max_memory_allocated"
            return
        libc = ctypes.util.find_library("c")
        if libc and hasattr(ctypes.CDLL(libc), "malloc_trim"):
            ctypes.CDLL(libc).malloc_trim(0)  # glibc keeps freed memory resident otherwise
        try:
            self.base_kb = _status_kb("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
            self.kind = "CPU peak RSS growth"
        except OSError:  # no /proc: the process's lifetime peak, which shows only what exceeds earlier peaks
            self.base_kb = self._lifetime_peak_kb()
            self.kind = "CPU peak RSS growth (over the process's earlier peak)"

    @staticmethod
    def _lifetime_peak_kb() -> int:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes, Linux kB

    def read(self) -> int:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device)
        peak = _status_kb("VmHWM") if self.kind == "CPU peak RSS growth" else self._lifetime_peak_kb()
        return max(peak - self.base_kb, 0) * 1024


class _Total:
    """A stand-in for FlopCounterMode's module tracker: every FLOP goes to the total ('Global') alone."""

    parents = ("Global",)

    def __enter__(self) -> _Total:
        return self

    def __exit__(self, *_: object) -> None:
        return None


class StepFlops(FlopCounterMode):
    """FlopCounterMode's total without its per-module breakdown, whose backward hooks break autograd.grad of a
    leaf input (GN's gradient normalisation: "A leaf node was passed to _will_engine_execute_node")."""

    def __init__(self) -> None:
        super().__init__(display=False)
        self.mod_tracker = _Total()


@dataclass(frozen=True)
class Timing:
    seconds: list[float]  # of each timed step
    flops: int  # of one step
    peak_bytes: int
    memory: str  # what peak_bytes measures

    @property
    def step_seconds(self) -> float:
        return statistics.median(self.seconds)


def measure(setup: Callable[[], Callable[[], Any]], steps: int, warmup: int, device: torch.device) -> Timing:
    """``setup()`` builds a study's model and returns its step; ``warmup`` untimed steps, ``steps`` timed ones
    (CUDA events on a GPU: the steps run as in training, with no sync between them), then one more whose FLOPs
    are counted. Memory counts from before the set-up."""
    memory = PeakMemory(device)
    step = setup()
    for _ in range(warmup):
        step()
    if device.type == "cuda":
        events = [torch.cuda.Event(enable_timing=True) for _ in range(steps + 1)]
        torch.cuda.synchronize(device)
        events[0].record()
        for event in events[1:]:
            step()
            event.record()
        torch.cuda.synchronize(device)
        seconds = [start.elapsed_time(end) / 1e3 for start, end in zip(events, events[1:])]
    else:
        seconds = []
        for _ in range(steps):
            started = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - started)
    with StepFlops() as counter:
        step()
    return Timing(seconds, counter.get_total_flops(), memory.read(), memory.kind)


# --- The table ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    label: str  # the table's device column
    name: str
    peak_tflops: float | None  # dense bf16; None on a CPU or a GPU not in BF16_PEAKS

    @classmethod
    def of(cls, device: torch.device) -> Device:
        if device.type == "cuda":
            name = torch.cuda.get_device_name(device)
            return cls(name, name, bf16_peak_tflops(name))
        threads = torch.get_num_threads()
        return cls(f"cpu x{threads}", f"the CPU ({threads} threads)", None)


@dataclass(frozen=True)
class Row:
    study: str
    measured: str
    device: str
    step_seconds: float  # median of the timed steps
    samples_per_step: int
    flops_per_step: int
    peak_bytes: int
    memory: str  # what peak_bytes measures
    runs: int
    steps: int  # of the study's full run, all its runs
    peak_tflops: float | None
    detail: str = ""
    step_times: list[float] = field(default_factory=list)

    @classmethod
    def of(
        cls, study: str, measured: str, timing: Timing, samples: int, plan: Projection, device: Device
    ) -> Row:
        return cls(
            study, measured, device.label, timing.step_seconds, samples, timing.flops, timing.peak_bytes,
            timing.memory, plan.runs, plan.steps, device.peak_tflops, plan.detail, timing.seconds,
        )  # fmt: skip

    @property
    def samples_per_second(self) -> float:
        return self.samples_per_step / self.step_seconds

    @property
    def tflops(self) -> float:
        return self.flops_per_step / self.step_seconds / 1e12

    @property
    def mfu(self) -> float | None:
        return self.tflops / self.peak_tflops if self.peak_tflops else None

    @property
    def hours(self) -> float:
        return self.steps * self.step_seconds / 3600

    def as_dict(self) -> dict[str, Any]:
        derived = {"samples_per_second": self.samples_per_second, "tflops": self.tflops, "mfu": self.mfu}
        return asdict(self) | derived | {"projected_hours": self.hours}


def total_hours(rows: list[Row]) -> float:
    return sum(r.hours for r in rows)


def _size(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def format_table(rows: list[Row], cpu: bool) -> list[str]:
    """The table's lines; the MFU of a CPU row reads 'n/a (cpu)', of an unknown GPU 'n/a'."""
    header = ("study", "measured", "device", "s/step", "samples/s", "TFLOP/s", "MFU")
    header += ("peak RSS growth" if cpu else "peak CUDA mem", "steps (full run)", "projected h")
    cells = [
        (
            r.study, r.measured, r.device, f"{r.step_seconds:.4g}", f"{r.samples_per_second:,.1f}",
            f"{r.tflops:.3g}", "n/a (cpu)" if cpu else f"{r.mfu:.1%}" if r.mfu is not None else "n/a",
            _size(r.peak_bytes), f"{r.steps:,}", f"{r.hours:,.1f}",
        )
        for r in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return [line(header), "  ".join("-" * w for w in widths), *map(line, cells)]


# --- Main ---------------------------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed_steps(steps: int | None, gpu: bool) -> dict[str, int]:
    """Timed steps per study: --steps, else 20, but 2 of the GAN's and CLUE's on a CPU (seconds each)."""
    if steps is not None:
        return dict.fromkeys(STUDIES, steps)
    return {study: 2 if not gpu and study in ("gan", "clue") else 20 for study in STUDIES}


def study_rows(config: dict[str, Any], args: argparse.Namespace, device: Device) -> list[Row]:
    on, warmup, steps = args.device, args.warmup, args.steps
    rows = []
    for k in step_block(config, "vae", "runs")["k_train"]:
        progress(f"vae k={k} ...")
        timing = measure(lambda: vae_step(config, k, on), steps["vae"], warmup, on)
        batch = vae_config(config, k, on.type).batch_size
        rows.append(
            Row.of("vae", f"IWAE k={k}, batch {batch}", timing, batch, vae_projection(config, k), device)
        )

    progress("gan ...")
    gan = gan_config(config, on.type)
    timing = measure(lambda: gan_step(config, on), steps["gan"], warmup, on)
    measured = f"GN-GAN CNN, D {gan.batch_size_d}+{gan.batch_size_d}, G {gan.batch_size_g}, n_dis {gan.n_dis}"
    real_images = gan.batch_size_d * gan.n_dis  # a step's samples: the real images its D steps read
    rows.append(Row.of("gan", measured, timing, real_images, gan_projection(config), device))

    progress("clue: a random BERT-base, written with save_pretrained and loaded ...")
    with tempfile.TemporaryDirectory() as tmp:
        hf_logging.disable_progress_bar()
        vocab = args.vocab if args.vocab.is_file() else stand_in_vocab(Path(tmp) / "vocab.txt")
        folder = random_model(Path(tmp) / "bert-base", vocab, seed=0, **BERT_BASE)
        hf_logging.enable_progress_bar()
        clue = clue_config(config, folder, on.type)
        n_batches = warmup + steps["clue"] + 1  # the counted step too
        timing = measure(lambda: clue_step(config, on, folder, n_batches), steps["clue"], warmup, on)
    precision = "bf16 autocast" if on.type == "cuda" else "fp32"
    measured = f"BERT-base, {clue.batch_size} x {clue.maxlen} tok, {clue.optimizer}, {precision}"
    projection = clue_projection(config, args.params.parent)
    rows.append(Row.of("clue", measured, timing, clue.batch_size, projection, device))

    progress("transformer ...")
    mlm = transformer_config(config, on.type)
    n_batches = warmup + steps["transformer"] + 1
    timing = measure(lambda: transformer_step(config, on, n_batches), steps["transformer"], warmup, on)
    measured = f"MLM {mlm.norm}-LN {mlm.depth} x {mlm.width}, {mlm.batch_size} x {mlm.seq_len} tok"
    rows.append(
        Row.of("transformer", measured, timing, mlm.batch_size, transformer_projection(config), device)
    )
    return rows


def fid_row(config: dict[str, Any], args: argparse.Namespace, device: Device) -> Row:
    """Inception's throughput, and the FID/IS evaluations of the GAN's full run (FidUnusable: see main)."""
    batch = 2 * gan_config(config, args.device.type).batch_size_g
    timing = measure(
        lambda: inception_step(config, args.device), args.steps[FID_ROW], args.warmup, args.device
    )
    images, detail = fid_images_per_run(config)
    gan = gan_projection(config)
    batches = math.ceil(images / batch)
    projection = Projection(gan.runs, gan.runs * batches, f"{detail} images per run, {gan.runs} seeds")
    return Row.of(FID_ROW, f"Inception features, batches of {batch}", timing, batch, projection, device)


def report(
    rows: list[Row], config: dict[str, Any], args: argparse.Namespace, device: Device
) -> dict[str, Any]:
    """Print the table, the total and how each full run was counted; return the same as JSON-ready data."""
    cpu = args.device.type == "cpu"
    print(
        f"Full-scale training steps on {device.name}: {args.warmup} warm-up, then timed (median): "
        f"{', '.join(f'{study} {args.steps[study]}' for study in dict.fromkeys(r.study for r in rows))}; "
        "1 FLOP-counted step per study"
    )
    for line in format_table(rows, cpu):
        print(line)
    total = total_hours(rows)
    unit = f"CPU hours on {device.name}" if cpu else f"GPU hours on one {device.name}"
    print(f"TOTAL  projected full reproduction: {total:,.1f} {unit}")
    print("Steps of each full run (params.yaml at scale full):")
    for r in rows:
        unit = "Inception batches" if r.study == FID_ROW else "steps"
        print(f"  {r.study:<11} {r.detail}: {r.steps:,} {unit}")
    tasks = clue_tasks(config, args.params.parent)
    for t in tasks:
        print(
            f"  clue {t.task:<12} {t.records:>7,} train records ({t.source}): "
            f"{t.steps_per_epoch:,} steps/epoch x {t.epochs} epochs x {t.runs} runs = {t.steps:,}"
        )
    notes = [
        f"peak memory: {rows[0].memory}",
        "training steps only: set-up, CLUE's dev evaluation and ChildTuning-D's Fisher pass, the VAE's L_k "
        "evaluation and the transformer's gradflow measurement are left out; every CLUE variant is projected "
        "at the baseline's step time",
        "CLUE is an upper bound: every measured record is maxlen tokens long, while real batches are padded "
        "to their longest record (TNEWS and AFQMC records are far shorter)",
    ]
    if not any(r.study == FID_ROW for r in rows):
        notes.append("the GAN's FID/IS evaluations are not included (--fid adds them)")
    if cpu:
        why = "--device cpu" if torch.cuda.is_available() else "no CUDA device here"
        notes.append(f"the GPU rows were not run ({why}): these are the CPU's figures; MFU is n/a on a CPU")
    elif device.peak_tflops is None:
        notes.append(f"MFU n/a: no bf16 peak known for {device.name} (gpu_check.BF16_PEAKS)")
    for note in notes:
        print(f"note: {note}")
    return {
        "device": args.device.type,
        "device_name": device.name,
        "peak_bf16_tflops": device.peak_tflops,
        "torch": torch.__version__,
        "warmup": args.warmup,
        "steps": args.steps,
        "rows": [r.as_dict() for r in rows],
        "total_hours": total,
        "clue_tasks": [asdict(t) | {"steps": t.steps} for t in tasks],
        "notes": notes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, help="timed steps per study (default: 20; on a CPU 2 for the GAN and BERT steps)"
    )
    parser.add_argument("--warmup", type=int, help="untimed steps first (default: 3 on a GPU, 1 on a CPU)")
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="auto: CUDA when available, else CPU",
    )
    parser.add_argument("--fid", action="store_true", help="check the 'fid' extra; add the FID/IS cost")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file too")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="read at scale full")
    parser.add_argument("--vocab", type=Path, default=DEFAULT_VOCAB, help="bert-base-chinese's vocab.txt")
    args = parser.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    args.device = choose_device(args.device)
    gpu = args.device.type == "cuda"
    args.steps = timed_steps(args.steps, gpu)
    args.warmup = (3 if gpu else 1) if args.warmup is None else args.warmup
    if min(args.steps.values()) < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    config, device = full_config(args.params), Device.of(args.device)
    fid = []
    if args.fid:  # first: an unusable extra is told in seconds, not after the timings
        try:
            fid.append(fid_row(config, args, device))
        except FidUnusable as err:
            print(f"gpu_check --fid: {err}", file=sys.stderr)
            return 2
    rows = study_rows(config, args, device) + fid
    figures = report(rows, config, args, device)
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
