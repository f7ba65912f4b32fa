"""Claims of study 8783 and its headline metrics, with verdicts computed from the tables.

python -m kexue_repro.leaderboard.claims --settings JSON --tables-dir DIR --scale S
                                         --claims-out C --metrics-out M [provenance options]
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from kexue_repro.common.atomic import write_json
from kexue_repro.common.claims import Claim, claim, verdict, write_claims
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.leaderboard import evaluate
from kexue_repro.leaderboard.data import BENCHMARK_COLUMNS, DIAGNOSTIC_COLUMNS, VERIFIED
from kexue_repro.leaderboard.evaluate import models_above_humans
from kexue_repro.leaderboard.model import MEANS, RULES

STUDY = "leaderboard"
PAPER = "arXiv:2112.01342"
POST = "https://kexue.fm/archives/8783"
CONSISTENT_RULES = ("official", "all_columns")
OFFICIAL_STATEMENT = {
    "GLUE": "The official GLUE score (mean of 9 task scores, MNLI = mean of MNLI-m/-mm, AX excluded) "
    "recomputed from the per-task cells matches each verified row's reported overall score",
    "SuperGLUE": "The official SuperGLUE score (mean of the 8 task scores, AX-b/AX-g excluded) recomputed "
    "from the per-task cells matches each verified row's reported overall score",
}


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``leaderboard.claims`` settings (the official scores' tolerance is the evaluate step's, read from
    its table)."""

    rounding_bound: float  # the largest |recomputed - reported| rounding of the printed scores explains
    tau_threshold: float  # "AM, GM and HM rank models almost identically": the least Kendall tau


@dataclass(frozen=True)
class Table:
    """A table the claims read, with the path a claim cites as its evidence."""

    frame: pd.DataFrame
    path: str


def _select(frame: pd.DataFrame, **equal: str) -> pd.DataFrame:
    """The rows of ``frame`` whose columns equal the given values."""
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        mask &= frame[column] == value
    return frame[mask]


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def _claim_id(benchmark: str, *parts: str) -> str:
    return ".".join([benchmark.lower(), *parts])


def _official(official: Table, benchmark: str, tolerance: float, scale: str, name: str, why: str) -> Claim:
    """Every verified row's recomputed official score is within ``tolerance`` of its reported one."""
    rows = _select(official.frame, benchmark=benchmark, quality_class=VERIFIED)
    recomputed = rows[rows["recomputed"].notna()]
    skipped = sorted(rows.loc[rows["recomputed"].isna(), "row"])
    worst = recomputed.sort_values(["abs_diff", "row"], ascending=[False, True]).head(1)
    max_diff = float(worst["abs_diff"].iloc[0]) if len(worst) else math.nan
    metric = (
        f"max |recomputed - reported overall| over the {len(recomputed)} verified rows"
        " with every official task"
    )
    if len(worst):
        metric += f" (largest: {worst['row'].iloc[0]})"
    outside = sorted(recomputed.loc[recomputed["abs_diff"] > tolerance, "row"])
    metric += f"; rows outside {tolerance:g}: {'; '.join(outside) if outside else 'none'}"
    if skipped:
        metric += f"; not recomputable, lacking an official task: {'; '.join(skipped)}"
    sources = sorted({s for joined in rows["source"] for s in joined.split(" | ")})
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, name),
        statement=f"{OFFICIAL_STATEMENT[benchmark]}, to within {tolerance:g}.",
        metric=metric,
        ours=_number(max_diff),
        criterion=f"max |recomputed - reported| <= {tolerance:g} ({why})",
        verdict=verdict(None if math.isnan(max_diff) else max_diff <= tolerance),
        scale=scale,
        evidence=official.path,
        anchor=tolerance,
        anchor_source=" | ".join(sources),
    )


def official_tolerance(official: Table) -> float:
    """The tolerance the evaluate step checked the official scores with (a column of its table)."""
    values = set(official.frame["tolerance"])
    if len(values) != 1:
        raise ValueError(f"{official.path}: expected one tolerance, found {sorted(values)}")
    return float(values.pop())


@claim
def official_scores_recompute(official: Table, benchmark: str, scale: str) -> Claim:
    return _official(
        official,
        benchmark,
        official_tolerance(official),
        scale,
        "official_scores_recompute",
        "the data's own check",
    )


@claim
def official_scores_within_rounding(
    official: Table, benchmark: str, rounding_bound: float, scale: str
) -> Claim:
    return _official(
        official,
        benchmark,
        rounding_bound,
        scale,
        "official_scores_within_rounding",
        "the bound that rounding of the printed cells and overall score explains",
    )


@claim
def means_rank_alike(kendall: Table, benchmark: str, rule: str, tau_threshold: float, scale: str) -> Claim:
    within = _select(kendall.frame, benchmark=benchmark, comparison="within_rule", rule_a=rule)
    least = float(within["tau"].min()) if within["tau"].notna().all() else math.nan
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, rule, "means_rank_alike"),
        statement=f"{benchmark}, task-set rule '{rule}': AM, GM and HM rank the leaderboard rows "
        "almost identically.",
        metric=f"least Kendall tau-b among the AM-GM, AM-HM and GM-HM rankings "
        f"(rows compared: {', '.join(str(n) for n in within['n_rows'])})",
        ours=_number(least),
        criterion=f"least tau >= {tau_threshold:g}",
        verdict=verdict(None if math.isnan(least) else least >= tau_threshold),
        scale=scale,
        evidence=kendall.path,
        anchor="with one task-set rule for every row, AM, GM and HM rank models almost identically",
        anchor_source=POST,
    )


def _fallers(ranks: pd.DataFrame, benchmark: str, rule: str) -> tuple[int | None, str]:
    """How many rows above humans under AM are not above under GM or HM, and the counts behind it.

    None when the human row is not ranked under all three means, or no row is above it under AM
    (then there is nothing that could fall).
    """
    found = models_above_humans(ranks, benchmark, rule)
    if found is None:
        return None, f"{rule}: human row not ranked under all three means"
    above, n_rows = found
    fallers = above["AM"] - (above["GM"] & above["HM"])
    counts = ", ".join(f"{mean} {len(above[mean])}" for mean in MEANS)
    detail = (
        f"{rule}: {len(fallers)} fall (above humans: {counts}; of {n_rows} rows ranked under all three means)"
    )
    return (len(fallers) if above["AM"] else None), detail


@claim
def models_above_humans_stay(ranks: Table, benchmark: str, rule: str, scale: str) -> Claim:
    fallers, detail = _fallers(ranks.frame, benchmark, rule)
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, rule, "models_above_humans_stay"),
        statement=f"{benchmark}, task-set rule '{rule}': the models above the human baseline under AM stay "
        f"above it under GM and HM.",
        metric=f"models above humans under AM that are not above under GM or HM -- {detail}",
        ours=fallers,
        criterion="no model falls below humans (0); undecided if none is above humans under AM",
        verdict=verdict(None if fallers is None else fallers == 0),
        scale=scale,
        evidence=ranks.path,
        anchor="with one task-set rule for every row, models above humans stay above",
        anchor_source=POST,
    )


@claim
def paper_flip_only_under_mixed(ranks: Table, benchmark: str, scale: str) -> Claim:
    mixed, mixed_detail = _fallers(ranks.frame, benchmark, "mixed")
    consistent = [_fallers(ranks.frame, benchmark, rule) for rule in CONSISTENT_RULES]
    holds = None if mixed is None else mixed > 0 and all(not n for n, _ in consistent)
    details = "; ".join([mixed_detail, *(d for _, d in consistent)])
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, "paper_flip_only_under_mixed"),
        statement=f"{benchmark}: the paper's conclusion (models above humans under AM fall below them under "
        f"GM/HM) appears under the paper's mixed task-set rule and under no consistent rule.",
        metric=f"models above humans under AM that fall below under GM or HM, mixed rule -- {details}",
        ours=mixed,
        criterion="mixed > 0 and 0 under official and all_columns; undecided if no model is above humans "
        "under mixed AM among rows ranked under all three means",
        verdict=verdict(holds),
        scale=scale,
        evidence=ranks.path,
        anchor="paper: models above humans under AM fall below them under GM/HM; Su: only because "
        "the human and model rows were averaged over different task sets",
        anchor_source=f"{PAPER}; {POST}",
    )


@claim
def all_columns_am_humans_first(human: Table, ranks: Table, scale: str) -> Claim:
    benchmark = "SuperGLUE"
    cell = _select(human.frame, benchmark=benchmark, rule="all_columns", mean="AM")
    rank = float(cell["human_rank"].iloc[0]) if len(cell) else math.nan
    # The claim is about the leading models scored on all 10 columns; it can only be judged if they have them.
    official_am = _select(ranks.frame, benchmark=benchmark, rule="official", mean="AM")
    human_value = official_am.loc[official_am["is_human"], "value"].max()
    leaders = official_am[~official_am["is_human"] & (official_am["value"] > human_value)]
    all_columns_am = _select(ranks.frame, benchmark=benchmark, rule="all_columns", mean="AM")
    complete = all_columns_am[all_columns_am["n_columns"] == len(BENCHMARK_COLUMNS[benchmark])]
    lacking = sorted(set(leaders["row"]) - set(complete["row"]))
    decidable = not math.isnan(rank) and not lacking
    diagnostics = "/".join(DIAGNOSTIC_COLUMNS[benchmark])
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, "all_columns_am_humans_first"),
        statement="SuperGLUE averaged over all 10 columns (with AX-b and AX-g): even AM puts the human "
        "baseline first.",
        metric=f"human rank under all_columns AM; {len(lacking)} of the {len(leaders)} models above humans "
        f"under official AM lack {diagnostics} in the data, so they are averaged over 8 columns",
        ours=None if math.isnan(rank) else int(rank),
        criterion=f"human rank == 1; undecided unless every model above humans under "
        f"official AM has {diagnostics}",
        verdict=verdict(rank == 1 if decidable else None),
        scale=scale,
        evidence=human.path,
        anchor="with all 10 SuperGLUE columns even AM would put humans first",
        anchor_source=POST,
    )


def build_claims(
    official: Table, ranks: Table, kendall: Table, human: Table, config: ClaimsConfig, scale: str
) -> list[Claim]:
    benchmarks = sorted(set(official.frame["benchmark"]))
    claims = []
    for benchmark in benchmarks:
        claims.append(official_scores_recompute(official, benchmark, scale))
        claims.append(official_scores_within_rounding(official, benchmark, config.rounding_bound, scale))
    for benchmark in benchmarks:
        for rule in CONSISTENT_RULES:
            claims.append(means_rank_alike(kendall, benchmark, rule, config.tau_threshold, scale))
            claims.append(models_above_humans_stay(ranks, benchmark, rule, scale))
        claims.append(paper_flip_only_under_mixed(ranks, benchmark, scale))
    if "SuperGLUE" in benchmarks:
        claims.append(all_columns_am_humans_first(human, ranks, scale))
    return claims


def headline_metrics(
    official: pd.DataFrame, ranks: pd.DataFrame, kendall: pd.DataFrame, human: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    """Per benchmark, flat numeric leaves (None where undefined) for `dvc metrics show`."""
    metrics: dict[str, dict[str, Any]] = {}
    for benchmark in sorted(set(official["benchmark"])):
        verified = _select(official, benchmark=benchmark, quality_class=VERIFIED)
        entry: dict[str, Any] = {
            "verified_rows": len(verified),
            "official_rows_recomputed": int(verified["recomputed"].notna().sum()),
            "official_max_abs_diff": _number(verified["abs_diff"].max()),
        }
        part = ranks[ranks["benchmark"] == benchmark]
        for rule in RULES:
            per_row = part[part["rule"] == rule].groupby("row").size()
            entry[f"ranked_rows_{rule}"] = int((per_row == len(MEANS)).sum())
            within = _select(kendall, benchmark=benchmark, comparison="within_rule", rule_a=rule)
            entry[f"min_kendall_tau_{rule}"] = _number(within["tau"].min(skipna=False))
            for mean in MEANS:
                cell = _select(human, benchmark=benchmark, rule=rule, mean=mean)
                for field, key in (("human_rank", "human_rank"), ("n_models_above", "models_above_humans")):
                    value = cell[field].iloc[0] if len(cell) else math.nan
                    entry[f"{key}_{rule}_{mean.lower()}"] = None if math.isnan(value) else int(value)
        metrics[benchmark] = entry
    return metrics


TABLE_FIELDS = {
    "official": ("official_scores", evaluate.OFFICIAL_FIELDS),
    "ranks": ("ranks", evaluate.RANKS_FIELDS),
    "kendall": ("kendall_tau", evaluate.KENDALL_FIELDS),
    "human": ("human_rank", evaluate.HUMAN_FIELDS),
}


def read_tables(tables_dir: Path) -> dict[str, Table]:
    return {
        name: Table(evaluate.read_table(tables_dir / f"{file}.csv", fields), str(tables_dir / f"{file}.csv"))
        for name, (file, fields) in TABLE_FIELDS.items()
    }


def _main(args: argparse.Namespace) -> None:
    tables = read_tables(Path(args.tables_dir))
    ledger = build_claims(
        **tables, config=build(ClaimsConfig, args.settings, "leaderboard.claims"), scale=args.scale
    )
    write_claims(args.claims_out, ledger)
    write_json(args.metrics_out, headline_metrics(*(t.frame for t in tables.values())))


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.leaderboard.claims", __doc__, "leaderboard.claims")
    parser.add_argument("--tables-dir", required=True, help="the evaluate step's tables")
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
