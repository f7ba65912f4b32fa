"""Tables and claims of the post's reading-comprehension and NER tasks (8739: CMRC2018, C3, CHID, CLUENER).

Every score is recomputed here from each run's best-epoch dev predictions and the dev file (the run record's
own figure must agree: a check), in points: CMRC2018 exact match (the metric CLUE ranks it by), C3 and CHID
accuracy, CLUENER entity-level micro F1.

- ``published_score.<task>.<model>.<source>`` (``published_score``, kind claim; full scale only, the scale and recipe the
  numbers come from): a published score of the post's results table (the post's code, or CLUE's official
  baseline) is what one run of the post's recipe gives. The post's table is on CLUE's TEST sets, whose labels
  are hidden (scored only by CLUE's site), so our DEV score stands in: dev and test are independent samples
  of one collection, and the prediction interval adds the spread between two such samples (twice the
  bootstrap variance of our dev score, over dev examples, or CHID's passages; the test sets are about dev's
  size) to the seeds' spread. Where CLUE publishes a dev score (C3 and CHID, official baseline) it is
  compared on dev without that term. Elsewhere one inconclusive row per task says which run decides it.
- ``chid_assignment.<model>`` (claim): assigning CHID's shared candidates jointly per passage (Hungarian)
  beats each blank's independent argmax: the gain in points, paired per seed, by a t-test over seeds (and
  each seed's gain with a bootstrap interval over passages in tables/chid_decoding.csv).
- ``chid_assignment_gain_size.<model>`` (claim): Su's gain, "about +6%" from one run, lies in our prediction
  interval for one run's gain.
- ``scores_recomputed`` (check): each run record's best dev score equals the score of its predictions.

    python -m kexue_repro.clue.mrc_ner.claims --settings JSON [--runs JSON ... --predictions JSON ...
        --dev JSONL ...] --anchors CSV --index-out CSV --tables-dir DIR --summary-out MD --scale S --claims-out JSON
        --metrics-out JSON [provenance options]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from kexue_repro.clue.span_metrics import cmrc_em
from kexue_repro.clue.tables import slug
from kexue_repro.common.atomic import write_csv, write_json, write_text
from kexue_repro.common.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    claim,
    write_claims,
    write_metrics,
)
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.inference import anchor_other_sample, anchor_single_run, mean_difference
from kexue_repro.common.settings import build
from kexue_repro.common.stats import t_interval
from kexue_repro.data.clue import split_task
from kexue_repro.data.clue_records import read_json_objects

STUDY = "clue_mrc_ner"
POST = "https://kexue.fm/archives/8739"
SECTION = "8739, the results table: the post's code beside CLUE's official baselines (test sets)"
CHID_SECTION = "8739, CHID: the candidates of a passage assigned jointly (Hungarian), about +6%"
FULL = "full"
# Our task -> (the anchors' task name, the metric compared, its words in the ledger).
TASKS = {
    "cmrc2018": ("CMRC2018", "em", "exact match"),
    "c3": ("C3", "acc", "accuracy"),
    "chid": ("CHID", "acc", "accuracy (candidates assigned per passage)"),
    "cluener": ("CLUENER", "f1", "entity-level micro F1"),
}
SU_CHID_GAIN = 6.0  # points; the post: Hungarian assignment gives about +6%
BOOTSTRAP = 1000
FLOAT_FORMAT = "%.8g"


@dataclass(frozen=True)
class ClaimsConfig:
    """The claims' settings (kexue_repro.clue.plan.mrc_ner_claims_settings)."""

    anchor_model: str  # the model whose published scores stand for a task below full scale
    confidence: float  # alpha = 1 - confidence for every test
    default_model: str  # the model of run tasks named without one (a scale with one model)


@dataclass(frozen=True)
class Scored:
    """One run's dev score in points, as a ratio of per-unit sums (units: examples, CHID's passages), so a
    bootstrap over units re-scores it; CHID also keeps the independent argmax's."""

    task: str
    model: str
    seed: int
    reported: float  # the run record's best dev score, points
    numerators: np.ndarray
    denominators: np.ndarray
    argmax_numerators: np.ndarray | None = None

    @property
    def score(self) -> float:
        return 100 * self.numerators.sum() / self.denominators.sum()

    @property
    def argmax_score(self) -> float:
        return 100 * self.argmax_numerators.sum() / self.denominators.sum()

    def bootstrap(self, seed: int, which: str = "score") -> np.ndarray:
        """Scores (or CHID's gains, ``which="gain"``) of ``BOOTSTRAP`` resamples of the units."""
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(self.denominators), size=(BOOTSTRAP, len(self.denominators)))
        totals = self.denominators[picks].sum(axis=1)
        values = self.numerators[picks].sum(axis=1)
        if which == "gain":
            values = values - self.argmax_numerators[picks].sum(axis=1)
        return 100 * values / totals


def _units(kind: str, dev: list[dict], predicted: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-unit numerators and denominators of the task's metric (and CHID's argmax numerators)."""
    if kind == "ner":
        gold = [{tuple(e) for e in r["entities"]} for r in dev]
        found = [{tuple(e) for e in entities} for entities in predicted["entities"]]
        hits = [2 * len(g & f) for g, f in zip(gold, found)]
        return np.array(hits, float), np.array([len(g) + len(f) for g, f in zip(gold, found)], float), None
    if kind == "span":
        answers = predicted["answers"]
        em = [cmrc_em([text for text, _ in r["answers"]], answers.get(r["id"], "")) for r in dev]
        return np.array(em, float), np.ones(len(dev)), None
    if kind == "choice":
        right = [c == r["label"] for c, r in zip(predicted["choice"], dev)]
        return np.array(right, float), np.ones(len(dev)), None
    if kind == "chid":
        groups = np.unique([r["group"] for r in dev], return_inverse=True)[1]
        labels = np.array([r["label"] for r in dev])
        assigned = np.bincount(groups, np.array(predicted["assigned"]) == labels)
        argmax = np.bincount(groups, np.array(predicted["argmax"]) == labels)
        return assigned.astype(float), np.bincount(groups).astype(float), argmax.astype(float)
    raise ValueError(f"unknown task kind {kind!r}")


def score_runs(
    run_paths: Sequence[str], prediction_paths: Sequence[str], dev_paths: Sequence[str], default_model: str
) -> list[Scored]:
    """Every run re-scored from its predictions and the dev file its task was prepared into."""
    if len(run_paths) != len(prediction_paths):
        raise ValueError(f"{len(run_paths)} run records but {len(prediction_paths)} prediction files")
    dev_of = {Path(p).parent.name: p for p in dev_paths}
    scored = []
    for run_path, prediction_path in zip(run_paths, prediction_paths):
        record = json.loads(Path(run_path).read_text(encoding="utf-8"))
        task, model = split_task(record["task"], default_model)
        if task not in dev_of:
            raise ValueError(
                f"{run_path}: no --dev file of task {task} (data/processed/clue/{task}/dev.jsonl)"
            )
        dev = read_json_objects(dev_of[task])
        predicted = json.loads(Path(prediction_path).read_text(encoding="utf-8"))
        numerators, denominators, argmax = _units(record["kind"], dev, predicted)
        reported = 100 * record["best_dev"][record["metric"]]
        scored.append(Scored(task, model, int(record["seed"]), reported, numerators, denominators, argmax))
    return sorted(scored, key=lambda s: (s.task, s.model, s.seed))


def runs_table(scored: list[Scored]) -> pd.DataFrame:
    rows = [
        {"task": s.task, "model": s.model, "seed": s.seed, "metric": TASKS[s.task][2], "score": s.score,
         "reported": s.reported, "units": len(s.denominators), "bootstrap_sd": float(s.bootstrap(s.seed).std()),
         "argmax_score": s.argmax_score if s.argmax_numerators is not None else np.nan}
        for s in scored
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["task", "model", "seed", "metric", "score", "reported", "units",
                                       "bootstrap_sd", "argmax_score"])  # fmt: skip


def scores_table(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Per task and model: the seeds' dev scores, their mean and t interval."""
    rows = []
    for (task, model), group in runs.groupby(["task", "model"], sort=True):
        interval = t_interval(group["score"], confidence)
        rows.append({"task": task, "model": model, "metric": TASKS[task][2], "seeds": len(group),
                     "per_seed": "; ".join(f"{v:.2f}" for v in group.sort_values("seed")["score"]),
                     "mean": group["score"].mean(), "ci_low": interval.low if interval else np.nan,
                     "ci_high": interval.high if interval else np.nan})  # fmt: skip
    return pd.DataFrame(
        rows, columns=["task", "model", "metric", "seeds", "per_seed", "mean", "ci_low", "ci_high"]
    )


def published(anchors: pd.DataFrame, task: str, model: str) -> pd.DataFrame:
    """The anchors of a task for one of our models: the post's code and CLUE's official baseline."""
    name = TASKS[task][0]
    rows = anchors[(anchors["post"].astype(str) == "8739") & (anchors["task"] == name)]
    return rows[rows["model"].str.startswith(f"{model} ")]


def _source(row: Any) -> str:
    return f"{'post-code' if 'post code' in row.model else 'official'}-{row.split}"


@claim
def published_score(
    scored: list[Scored], anchors: pd.DataFrame, anchor_model: str, alpha: float, scale: str, evidence: str
) -> list[Claim]:
    """Each published score of the post's table against one run of ours (full scale); elsewhere a row per task."""
    claims = []
    for task, (name, metric, words) in TASKS.items():
        mine = [s for s in scored if s.task == task]
        if scale != FULL or not mine:
            why = (f"scale {scale}: the published scores are full-scale runs (BERT-base and RoBERTa-wwm-ext, "
                   "the whole data, the post's recipe)" if scale != FULL else f"no run of {task}")  # fmt: skip
            shown = published(anchors, task, anchor_model)
            claims.append(Claim(
                study=STUDY, claim_id=f"published_score.{task}", kind="claim", section=SECTION,
                statement=f"The post's recipe scores on {name} what its results table says ({anchor_model}).",
                metric=f"not compared: {why}", ours=round(float(np.mean([s.score for s in mine])), 6)
                if mine else None,
                criterion="the published score inside our prediction interval for a single run (reproduced), "
                "significantly outside (not reproduced); full scale only",
                verdict=INCONCLUSIVE, no_p_reason=why, to_decide="needs the full-scale run (scale full)",
                scale=scale, evidence=evidence, seeds=[s.seed for s in mine],
                anchor="; ".join(f"{r.model} {r.split} {r.value:g}" for r in shown.itertuples()) or None,
                anchor_source=POST,
            ))  # fmt: skip
            continue
        for model in sorted({s.model for s in mine}):
            runs = sorted((s for s in mine if s.model == model), key=lambda s: s.seed)
            values = [s.score for s in runs]
            sample_sd = float(np.sqrt(2 * np.mean([s.bootstrap(s.seed).var() for s in runs])))
            for row in published(anchors, task, model).itertuples():
                on_test = row.split == "test"
                judged = (anchor_other_sample(values, float(row.value), alpha, sample_sd) if on_test
                          else anchor_single_run(values, float(row.value), alpha))  # fmt: skip
                split = ("our dev score for its hidden test score (prediction interval widened by the spread "
                         f"between two samples of that size, sd {sample_sd:.2f} points)" if on_test
                         else "dev against dev")  # fmt: skip
                claims.append(Claim(
                    study=STUDY, claim_id=f"published_score.{task}.{slug(model)}.{_source(row)}", kind="claim",
                    section=SECTION,
                    statement=f"({name}, {model}) {row.model} scores {row.value:g} ({words}, {row.split}).",
                    metric=f"{words}, points, dev, per seed: {', '.join(f'{v:.2f}' for v in values)}; {split}",
                    ours=round(float(np.mean(values)), 6),
                    criterion=f"the published {row.split} score inside our {1 - alpha:.0%} prediction interval "
                    "for a single run (reproduced); significantly outside (not reproduced)",
                    judgement=judged, scale=scale, evidence=evidence, anchor=float(row.value),
                    anchor_source=f"{row.source} ({row.note})" if isinstance(row.note, str) else row.source,
                    seeds=[s.seed for s in runs],
                ))  # fmt: skip
    return claims


def _per_chid_model(
    scored: list[Scored], name: str, statement: str, criterion: str, judge: Any, scale: str, evidence: str
) -> list[Claim]:
    """Claim ``name``, one per model that ran CHID, judged on its seeds' gains (assigned minus argmax, points)
    by ``judge(gains)``; one inconclusive row where no model did."""
    models = sorted({s.model for s in scored if s.task == "chid"})
    if not models:
        why = f"CHID is not run at scale {scale} (no mirror holds it; full scale only)"
        return [Claim(
            study=STUDY, claim_id=name, kind="claim", section=CHID_SECTION, statement=statement,
            metric=f"not measured: {why}", ours=None, criterion=criterion, verdict=INCONCLUSIVE,
            no_p_reason=why, to_decide="needs CHID runs (scale full)", scale=scale, evidence=evidence,
            anchor=SU_CHID_GAIN, anchor_source=POST,
        )]  # fmt: skip
    claims = []
    for model in models:
        runs = sorted((s for s in scored if s.task == "chid" and s.model == model), key=lambda s: s.seed)
        gains = [s.score - s.argmax_score for s in runs]
        claims.append(Claim(
            study=STUDY, claim_id=f"{name}.{slug(model)}", kind="claim", section=CHID_SECTION,
            statement=f"({model}) {statement}",
            metric=f"accuracy gain, points, dev, per seed: {', '.join(f'{g:+.2f}' for g in gains)}",
            ours=round(float(np.mean(gains)), 6), criterion=criterion, judgement=judge(gains), scale=scale,
            evidence=evidence, anchor=SU_CHID_GAIN, anchor_source=POST, seeds=[s.seed for s in runs],
        ))  # fmt: skip
    return claims


@claim
def chid_assignment(scored: list[Scored], alpha: float, scale: str, evidence: str) -> list[Claim]:
    """Joint assignment of a passage's candidates beats the independent argmax (per seed, t over seeds)."""
    return _per_chid_model(
        scored, "chid_assignment",
        "Assigning CHID's candidates jointly per passage (Hungarian) beats each blank's own argmax.",
        "the mean gain over seeds significantly above 0 (reproduced), below (not reproduced)",
        lambda gains: mean_difference(gains, alpha), scale, evidence,
    )  # fmt: skip


@claim
def chid_assignment_gain_size(scored: list[Scored], alpha: float, scale: str, evidence: str) -> list[Claim]:
    """Su's single-run gain (about +6 points) is what one run of ours gives."""
    return _per_chid_model(
        scored, "chid_assignment_gain_size",
        "Hungarian assignment gains about +6% accuracy on CHID over independent argmax (one run).",
        f"+{SU_CHID_GAIN:g} inside our {1 - alpha:.0%} prediction interval for one run's gain (reproduced); "
        "significantly outside (not reproduced)",
        lambda gains: anchor_single_run(gains, SU_CHID_GAIN, alpha), scale, evidence,
    )  # fmt: skip


@claim
def scores_recomputed(scored: list[Scored], scale: str, evidence: str) -> Claim:
    """Each run record's best dev score is the score of the predictions it wrote."""
    off = [f"{s.task} {s.model} seed {s.seed}: {s.reported:.4f} vs {s.score:.4f}"
           for s in scored if abs(s.reported - s.score) > 1e-6]  # fmt: skip
    return Claim(
        study=STUDY, claim_id="scores_recomputed", kind="check",
        statement="Each run's recorded best dev score equals the score recomputed from its dev predictions.",
        metric=f"runs that disagree, of {len(scored)}", ours=len(off),
        criterion="none disagrees (within 1e-6 points)", verdict=REPRODUCED if not off else NOT_REPRODUCED,
        no_p_reason="an exact recomputation" + (f": {'; '.join(off)}" if off else ""),
        scale=scale, evidence=evidence, seeds=sorted({s.seed for s in scored}),
    )  # fmt: skip


def chid_table(scored: list[Scored], confidence: float) -> pd.DataFrame:
    """Per CHID run: the assigned and argmax accuracies, the gain and its bootstrap interval over passages."""
    rows = []
    for s in (s for s in scored if s.task == "chid"):
        gains = s.bootstrap(s.seed, which="gain")
        low, high = np.quantile(gains, [(1 - confidence) / 2, (1 + confidence) / 2])
        rows.append({"model": s.model, "seed": s.seed, "assigned": s.score, "argmax": s.argmax_score,
                     "gain": s.score - s.argmax_score, "gain_low": low, "gain_high": high,
                     "passages": len(s.denominators)})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "seed", "assigned", "argmax", "gain", "gain_low", "gain_high",
                                       "passages"])  # fmt: skip


def summary_markdown(scores: pd.DataFrame, chid: pd.DataFrame, anchors: pd.DataFrame, anchor_model: str,
                     scale: str, confidence: float) -> str:  # fmt: skip
    """One table per task: our dev scores per model beside the post's and CLUE's published ones."""
    lines = [f"Dev scores in points at scale {scale} (mean over seeds, {confidence:.0%} t interval); the "
             "published scores are on CLUE's hidden test sets unless marked dev."]  # fmt: skip
    for task, (name, _, words) in TASKS.items():
        lines += ["", f"**{name}** ({words})", ""]
        rows = scores[scores["task"] == task]
        if rows.empty:
            lines.append(f"Not run at scale {scale}.")
            continue
        lines += [
            "| model | seeds | per seed | mean | interval | post's code | CLUE official |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows.itertuples():
            # a model without published scores (the tiny BERT) is shown beside the anchors' model's
            shown, of = published(anchors, task, row.model), ""
            if shown.empty:
                shown, of = published(anchors, task, anchor_model), f" ({anchor_model})"

            def cell(who: str) -> str:
                values = [f"{r.value:g}" + (" (dev)" if r.split == "dev" else "") for r in shown.itertuples()
                          if who in r.model]  # fmt: skip
                return ", ".join(values) + of if values else "-"

            interval = "-" if np.isnan(row.ci_low) else f"{row.ci_low:.2f} to {row.ci_high:.2f}"
            lines.append(f"| {row.model} | {row.seeds} | {row.per_seed} | {row.mean:.2f} | {interval} | "
                         f"{cell('post code')} | {cell('official')} |")  # fmt: skip
        if task == "chid" and not chid.empty:
            lines += [
                "",
                "| model | seed | assigned | argmax | gain | gain interval (passages) |",
                "|---|---|---|---|---|---|",
            ]
            lines += [f"| {r.model} | {r.seed} | {r.assigned:.2f} | {r.argmax:.2f} | {r.gain:+.2f} | "
                      f"{r.gain_low:+.2f} to {r.gain_high:+.2f} |" for r in chid.itertuples()]  # fmt: skip
    return "\n".join(lines) + "\n"


def headline(chid: pd.DataFrame) -> dict[str, float | None]:
    """For `dvc exp show`: ChID accuracy with the one-idiom-per-blank assignment minus argmax decoding, in
    points, the mean over models and seeds."""
    return {"chid_gain": round(float(chid["gain"].mean()), 4) if len(chid) else None}


def write_outputs(
    run_paths: Sequence[str], prediction_paths: Sequence[str], dev_paths: Sequence[str], anchors_path: str,
    config: ClaimsConfig, scale: str, index_out: str, tables_dir: Path, summary_out: str, claims_out: str,
    metrics_out: str, numbers_out: str,
) -> list[Claim]:  # fmt: skip
    alpha = round(1 - config.confidence, 12)
    scored = score_runs(run_paths, prediction_paths, dev_paths, config.default_model)
    anchors = pd.read_csv(anchors_path)
    runs = runs_table(scored)
    write_csv(index_out, runs, FLOAT_FORMAT)
    frames = {"scores": scores_table(runs, config.confidence)}
    frames["anchors"] = anchors[anchors["task"].isin([name for name, _, _ in TASKS.values()])]
    frames["chid_decoding"] = chid_table(scored, config.confidence)
    files = {name: tables_dir / f"{name}.csv" for name in frames} | {"runs": Path(index_out)}
    for name, frame in frames.items():
        write_csv(files[name], frame, FLOAT_FORMAT)
    write_text(summary_out, summary_markdown(frames["scores"], frames["chid_decoding"], anchors, config.anchor_model, scale,
                                             config.confidence))  # fmt: skip
    evidence = {name: str(path) for name, path in files.items()}
    ledger = [
        *published_score(scored, anchors, config.anchor_model, alpha, scale, evidence["scores"]),
        *chid_assignment(scored, alpha, scale, evidence["chid_decoding"]),
        *chid_assignment_gain_size(scored, alpha, scale, evidence["chid_decoding"]),
        *([scores_recomputed(scored, scale, evidence["runs"])] if scored else []),
    ]
    rows = write_claims(claims_out, ledger, alpha)
    numbers = {
        f"{r.task}.{slug(r.model)}.dev": round(float(r.mean), 4) for r in frames["scores"].itertuples()
    }
    numbers |= {f"chid.{slug(model)}.assignment_gain": round(float(g["gain"].mean()), 4)
                for model, g in frames["chid_decoding"].groupby("model")}  # fmt: skip
    write_json(numbers_out, numbers)
    write_metrics(metrics_out, rows, headline(frames["chid_decoding"]))
    return ledger


def _main(args: argparse.Namespace) -> None:
    write_outputs(
        args.runs, args.predictions, args.dev, args.anchors, build(ClaimsConfig, args.settings, "clue.mrc_ner"),
        args.scale, args.index_out, Path(args.tables_dir), args.summary_out, args.claims_out, args.metrics_out,
        args.numbers_out,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.clue.mrc_ner.claims", __doc__, "clue.claims + clue.runs (plan)")
    parser.add_argument(
        "--runs", nargs="+", default=[], help="the fine-tuning run records (.json); none at smoke"
    )
    parser.add_argument(
        "--predictions", nargs="+", default=[], help="their best epoch's dev predictions (.json), same order"
    )
    parser.add_argument("--dev", nargs="+", default=[], help="the prepared dev files of their tasks (.jsonl)")
    parser.add_argument("--anchors", required=True, help="data/anchors/clue_mrc_ner.csv")
    parser.add_argument(
        "--index-out", required=True, help="one row per run (results/clue_mrc_ner/runs/index.csv)"
    )
    parser.add_argument("--tables-dir", required=True, help="where the study's tables (.csv) go")
    parser.add_argument("--summary-out", required=True, help="one markdown table per task (.md)")
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
