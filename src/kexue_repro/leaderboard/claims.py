"""Claims of study 8783 and its headline metrics, with verdicts computed from the tables.

Every row is an exact computation on the published leaderboard: its rows are the leaderboard itself, not a
sample of models, so no sampling statistic (no p-value) applies, and each row says so. What the printed
numbers cannot decide is what rounding leaves open: each mean has the interval it spans when every printed
cell may be off by half a unit in its last decimal (evaluate step), and an order inside that interval is not
an order of the data.

    glue|superglue.official_scores_within_rounding              official_scores_within_rounding (check)
    <benchmark>.<official|all_columns>.means_rank_alike         means_rank_alike
    <benchmark>.<official|all_columns>.models_above_humans_stay  models_above_humans_stay
    <benchmark>.paper_flip_under_mixed                          paper_flip_under_mixed
    superglue.all_columns_am_humans_first                       all_columns_am_humans_first

python -m kexue_repro.leaderboard.claims --settings JSON --tables-dir DIR --scale S
                                         --claims-out C --metrics-out M [provenance options]
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from kexue_repro.common.atomic import write_json
from kexue_repro.common.claims import Claim, claim, verdict, write_claims, write_metrics
from kexue_repro.common.cli import add_ledger_arguments, run, step_parser
from kexue_repro.common.settings import build
from kexue_repro.leaderboard import evaluate
from kexue_repro.leaderboard.data import BENCHMARK_COLUMNS, DIAGNOSTIC_COLUMNS, VERIFIED
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
# The post's sections, paraphrased (the spec's summary of the post, shared/spec/studies.md, 8783).
SECTION_ONE_RULE = "the post's recomputation with one task-set rule for every row (paraphrase)"
SECTION_DIAGNOSIS = (
    "the post's diagnosis of the paper: human and model rows averaged over different task sets (paraphrase)"
)
SECTION_ALL_COLUMNS = "the post's remark on averaging all 10 SuperGLUE columns (paraphrase)"
# The post's claim as the spec summarises it (studies.md, 8783: "His claim: ...").
SU_CLAIM = (
    "with one rule for every row, AM, GM and HM rank models almost identically, and models above humans "
    "stay above; with all 10 SuperGLUE columns even AM would put humans first"
)
NO_SAMPLING = (
    "exact computation on the published leaderboard: its rows are the leaderboard itself, not a sample of "
    "models, so no sampling distribution and no p-value refer to them"
)
NO_SAMPLING_TAU = (
    f"{NO_SAMPLING} (scipy's p-value for Kendall's tau tests whether two rankings are independent, for rows "
    "sampled from a population: neither the question nor the design here)"
)
DATA_CHECK = (
    "a data check: exact arithmetic on the transcribed cells, which fails only through a transcription or "
    "scoring error"
)
ROUNDING_PRINCIPLE = (
    "its rounding bound: half a unit in the last printed decimal of each official cell, averaged as the "
    "score averages them, plus half a unit in the last printed decimal of the overall (0.05 + 0.05 = 0.1 "
    "for one-decimal cells and overall)"
)


@dataclass(frozen=True)
class ClaimsConfig:
    """The ``leaderboard.claims`` settings."""

    confidence: float  # alpha = 1 - confidence; recorded in the ledger (no row here has a p-value)


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


def _names(rows: Sequence[str]) -> str:
    return "; ".join(rows) if rows else "none"


@claim
def official_scores_within_rounding(official: Table, benchmark: str, scale: str) -> Claim:
    rows = _select(official.frame, benchmark=benchmark, quality_class=VERIFIED)
    recomputed = rows[rows["recomputed"].notna()]
    skipped = sorted(rows.loc[rows["recomputed"].isna(), "row"])
    worst = recomputed.sort_values(["abs_diff", "row"], ascending=[False, True]).head(1)
    max_diff = float(worst["abs_diff"].iloc[0]) if len(worst) else math.nan
    outside = sorted(recomputed.loc[recomputed["abs_diff"] > recomputed["rounding_bound"], "row"])
    bounds = sorted(set(recomputed["rounding_bound"].round(6)))
    metric = (
        f"max |recomputed - reported overall| over the {len(recomputed)} verified rows with every official "
        f"task"
    )
    if len(worst):
        metric += f" (largest: {worst['row'].iloc[0]}, bound {worst['rounding_bound'].iloc[0]:g})"
    metric += (
        f"; rounding bounds: {', '.join(f'{b:g}' for b in bounds)}; rows beyond theirs: {_names(outside)}"
    )
    if skipped:
        metric += f"; not recomputable, lacking an official task: {'; '.join(skipped)}"
    sources = sorted({s for joined in rows["source"] for s in joined.split(" | ")})
    decided = not math.isnan(max_diff)
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, "official_scores_within_rounding"),
        kind="check",
        statement=f"{OFFICIAL_STATEMENT[benchmark]}, to within what rounding of the printed numbers explains "
        "(a check of the transcribed data, not a claim of the post).",
        metric=metric,
        ours=_number(max_diff),
        criterion=f"every verified row: |recomputed - reported| <= {ROUNDING_PRINCIPLE}",
        verdict=verdict(not outside if decided else None),
        no_p_reason=DATA_CHECK,
        to_decide=None if decided else "verified rows with every official task",
        scale=scale,
        evidence=official.path,
        anchor="the reported overall scores",
        anchor_source=" | ".join(sources),
    )


@dataclass(frozen=True)
class Ranked:
    """The rows ranked under all three means of one (benchmark, rule): value, low, high per mean."""

    value: pd.DataFrame  # row x mean
    low: pd.DataFrame
    high: pd.DataFrame
    human: str | None  # the human row's label, if it is among them

    @property
    def models(self) -> list[str]:
        return [row for row in self.value.index if row != self.human]

    def order(self, x: str, y: str, mean: str) -> int:
        """+1 if x is above y under ``mean``, -1 if below, 0 if tied (the order the leaderboard prints)."""
        diff = self.value.loc[x, mean] - self.value.loc[y, mean]
        return int(diff > 0) - int(diff < 0)

    def resolved(self, x: str, y: str, mean: str) -> bool:
        """Whether rounding of the printed cells leaves the order of x and y under ``mean`` fixed: their
        intervals do not overlap."""
        low, high = self.low[mean], self.high[mean]
        return bool(low[x] > high[y] or low[y] > high[x])


def ranked(ranks: pd.DataFrame, benchmark: str, rule: str) -> Ranked:
    part = ranks[(ranks["benchmark"] == benchmark) & (ranks["rule"] == rule)]
    frames = {
        field: part.pivot(index="row", columns="mean", values=field).reindex(columns=list(MEANS))
        for field in ("value", "low", "high")
    }
    complete = frames["value"].dropna().index
    humans = sorted(set(part.loc[part["is_human"], "row"]) & set(complete))
    if len(humans) > 1:
        raise ValueError(f"{benchmark}: several human rows: {humans}")
    return Ranked(
        **{field: frame.loc[complete] for field, frame in frames.items()}, human=humans[0] if humans else None
    )


def _reversals(table: Ranked) -> tuple[list[str], list[str]]:
    """Pairs of model rows that two means order oppositely: those both orders of which rounding leaves
    fixed, and those one of whose orders lies within rounding."""
    resolved, within = [], []
    models = table.models
    for a, b in combinations(MEANS, 2):
        for i, x in enumerate(models):
            for y in models[i + 1 :]:
                if table.order(x, y, a) * table.order(x, y, b) < 0:
                    pair = f"{x} / {y} ({a} vs {b})"
                    both = table.resolved(x, y, a) and table.resolved(x, y, b)
                    (resolved if both else within).append(pair)
    return resolved, within


@claim
def means_rank_alike(ranks: Table, kendall: Table, benchmark: str, rule: str, scale: str) -> Claim:
    table = ranked(ranks.frame, benchmark, rule)
    resolved, within = _reversals(table)
    taus = _select(kendall.frame, benchmark=benchmark, comparison="within_rule", rule_a=rule)["tau"]
    decided = len(table.models) >= 2
    human = ""
    if table.human is not None:
        positions = "/".join(
            str(int((table.value[m] > table.value.loc[table.human, m]).sum()) + 1) for m in MEANS
        )
        human = f"; the human row (not a model) ranks {positions} under AM/GM/HM"
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, rule, "means_rank_alike"),
        kind="claim",
        section=SECTION_ONE_RULE,
        statement=f"{benchmark}, task-set rule '{rule}': \"AM, GM and HM rank models almost identically\" "
        "(the post's claim as studies.md summarises it).",
        metric=f"pairs of the {len(table.models)} model rows ranked under all three means that two means order "
        f"oppositely, with both orders beyond rounding: {_names(resolved)}; opposite only within rounding: "
        f"{_names(within)}; least Kendall tau-b among AM/GM/HM over all ranked rows (description): "
        f"{taus.min():.4g}{human}",
        ours=len(resolved) if decided else None,
        criterion="'almost identically' read as: no two means order a pair of models oppositely where both "
        "orders are fixed by the printed precision (each mean's interval with every cell at either end of its "
        "rounding; overlapping intervals leave the order open); 0 such pairs",
        verdict=verdict(not resolved if decided else None),
        no_p_reason=NO_SAMPLING_TAU,
        to_decide=None if decided else f"at least two model rows ranked under all three means of '{rule}'",
        scale=scale,
        evidence=ranks.path,
        anchor=SU_CLAIM,
        anchor_source=POST,
    )


@dataclass(frozen=True)
class Fallers:
    """Models above the human row under AM (the printed order) and how they stand under GM and HM."""

    above: list[str]  # above humans under AM, among the rows ranked under all three means
    below: list[str]  # of those, below humans under GM or HM beyond rounding
    within: list[str]  # of the rest, not above humans under GM or HM, but only within rounding
    unranked: list[str]  # above humans under AM, but without the columns GM or HM average
    detail: str
    no_human: bool = False


def fallers(ranks: pd.DataFrame, benchmark: str, rule: str) -> Fallers:
    table = ranked(ranks, benchmark, rule)
    if table.human is None:
        return Fallers([], [], [], [], f"{rule}: the human row is not ranked under all three means", True)
    h = table.human
    above = [x for x in table.models if table.order(x, h, "AM") > 0]
    below = [
        x for x in above if any(table.order(x, h, m) < 0 and table.resolved(x, h, m) for m in ("GM", "HM"))
    ]
    within = [x for x in above if x not in below and any(table.order(x, h, m) <= 0 for m in ("GM", "HM"))]
    am = _select(ranks, benchmark=benchmark, rule=rule, mean="AM")
    am_above = am.loc[am["value"] > table.value.loc[h, "AM"], "row"]
    unranked = sorted(set(am_above) - set(table.value.index))
    counts = ", ".join(f"{m} {sum(table.order(x, h, m) > 0 for x in table.models)}" for m in MEANS)
    detail = (
        f"{rule}: {len(below)} fall below humans beyond rounding, {len(within)} within it (above humans: "
        f"{counts}; of {len(table.value)} rows ranked under all three means"
        + (f"; {len(unranked)} more above humans under AM lack a column GM/HM average" if unranked else "")
        + ")"
    )
    return Fallers(above, below, within, unranked, detail)


def _no_model_above(benchmark: str, rule: str, found: Fallers) -> str:
    if found.no_human:
        return f"the human row's scores on every column '{rule}' averages"
    if found.unranked:
        return (
            f"the {'/'.join(DIAGNOSTIC_COLUMNS[benchmark])} scores GM/HM under '{rule}' average, of the "
            f"{len(found.unranked)} models above humans under its AM that lack them: {'; '.join(found.unranked)}"
        )
    return (
        f"per-task scores of a model above the human row under '{rule}' AM: no row of the data with per-task "
        "scores is above it"
    )


@claim
def models_above_humans_stay(ranks: Table, benchmark: str, rule: str, scale: str) -> Claim:
    found = fallers(ranks.frame, benchmark, rule)
    if not found.above:
        holds, to_decide = None, _no_model_above(benchmark, rule, found)
    elif found.below:
        holds, to_decide = False, None
    elif found.within:
        holds = None
        to_decide = f"more decimals of the cells of {_names(found.within)}: they meet humans within rounding"
    else:
        holds, to_decide = True, None
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, rule, "models_above_humans_stay"),
        kind="claim",
        section=SECTION_ONE_RULE,
        statement=f"{benchmark}, task-set rule '{rule}': \"models above humans stay above\" -- the models above "
        "the human baseline under AM stay above it under GM and HM (the post's claim as studies.md "
        "summarises it).",
        metric=f"models above humans under AM that fall below them under GM or HM -- {found.detail}",
        ours=len(found.below) if found.above else None,
        criterion="no model above humans under AM is below them under GM or HM beyond rounding (0); "
        "inconclusive if one meets them only within rounding, or none is above them under AM",
        verdict=verdict(holds),
        no_p_reason=NO_SAMPLING,
        to_decide=to_decide,
        scale=scale,
        evidence=ranks.path,
        anchor=SU_CLAIM,
        anchor_source=POST,
    )


@claim
def paper_flip_under_mixed(ranks: Table, benchmark: str, scale: str) -> Claim:
    found = fallers(ranks.frame, benchmark, "mixed")
    if not found.above:
        holds, to_decide = None, _no_model_above(benchmark, "mixed", found)
    elif found.below:
        holds, to_decide = True, None
    elif found.within:
        holds = None
        to_decide = f"more decimals of the cells of {_names(found.within)}: they meet humans within rounding"
    else:
        holds, to_decide = False, None
    consistent = ", ".join(
        _claim_id(benchmark, rule, "models_above_humans_stay") for rule in CONSISTENT_RULES
    )
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, "paper_flip_under_mixed"),
        kind="claim",
        section=SECTION_DIAGNOSIS,
        statement=f"{benchmark}: the paper's conclusion (models above humans under AM fall below them under "
        "GM/HM) follows from its mixed task-set rule, AM over the main columns and GM/HM over every column "
        f"(Su's diagnosis). That it does not follow under one rule for every row is {consistent}.",
        metric=f"models above humans under mixed AM that fall below them under mixed GM or HM -- {found.detail}",
        ours=len(found.below) if found.above else None,
        criterion="at least one model above humans under mixed AM is below them under mixed GM or HM beyond "
        "rounding; inconclusive if a fall is only within rounding, or no model is above humans under mixed AM",
        verdict=verdict(holds),
        no_p_reason=NO_SAMPLING,
        to_decide=to_decide,
        scale=scale,
        evidence=ranks.path,
        anchor="paper: models above humans under AM fall below them under GM/HM; Su: only because "
        "the human and model rows were averaged over different task sets",
        anchor_source=f"{PAPER}; {POST}",
    )


@claim
def all_columns_am_humans_first(ranks: Table, scale: str) -> Claim:
    benchmark = "SuperGLUE"
    n_columns = len(BENCHMARK_COLUMNS[benchmark])
    diagnostics = "/".join(DIAGNOSTIC_COLUMNS[benchmark])
    # The claim is about the models that lead under the official rule, scored on all 10 columns.
    official = ranked(ranks.frame, benchmark, "official")
    leaders = (
        []
        if official.human is None
        else [x for x in official.models if official.order(x, official.human, "AM") > 0]
    )
    columns = _select(ranks.frame, benchmark=benchmark, rule="all_columns", mean="AM")
    complete = set(columns.loc[columns["n_columns"] == n_columns, "row"])
    lacking = sorted(set(leaders) - complete)
    table = ranked(ranks.frame[ranks.frame["row"].isin(complete)], benchmark, "all_columns")
    h = table.human
    above = [] if h is None else [x for x in table.models if table.order(x, h, "AM") > 0]
    beyond = [x for x in above if table.resolved(x, h, "AM")]
    rank = None if h is None else len(above) + 1
    if h is None or lacking:
        holds = None
        to_decide = (
            f"{diagnostics} scores of the {len(lacking)} models above humans under official AM that lack them: "
            f"{'; '.join(lacking)}"
            if lacking
            else f"the human row's {diagnostics} scores"
        )
    elif above and not beyond:
        holds, to_decide = (
            None,
            f"more decimals of the cells of {_names(above)}: they meet humans within rounding",
        )
    else:
        holds, to_decide = not beyond, None
    return Claim(
        study=STUDY,
        claim_id=_claim_id(benchmark, "all_columns_am_humans_first"),
        kind="claim",
        section=SECTION_ALL_COLUMNS,
        statement='SuperGLUE averaged over all 10 columns (with AX-b and AX-g): "even AM would put humans '
        "first\" (the post's claim as studies.md summarises it).",
        metric=f"the human row's rank under all-columns AM among the {len(table.value)} rows with all "
        f"{n_columns} columns; {len(lacking)} of the {len(leaders)} models above humans under official AM "
        f"lack {diagnostics} in the data",
        ours=rank,
        criterion=f"no row with all {n_columns} columns above humans under AM beyond rounding; decided only if "
        f"every model above humans under official AM has {diagnostics}",
        verdict=verdict(holds),
        no_p_reason=NO_SAMPLING,
        to_decide=to_decide,
        scale=scale,
        evidence=ranks.path,
        anchor=SU_CLAIM,
        anchor_source=POST,
    )


def build_claims(
    official: Table, ranks: Table, kendall: Table, human: Table, config: ClaimsConfig, scale: str
) -> list[Claim]:
    benchmarks = sorted(set(official.frame["benchmark"]))
    claims = [official_scores_within_rounding(official, benchmark, scale) for benchmark in benchmarks]
    for benchmark in benchmarks:
        for rule in CONSISTENT_RULES:
            claims.append(means_rank_alike(ranks, kendall, benchmark, rule, scale))
            claims.append(models_above_humans_stay(ranks, benchmark, rule, scale))
        claims.append(paper_flip_under_mixed(ranks, benchmark, scale))
    if "SuperGLUE" in benchmarks:
        claims.append(all_columns_am_humans_first(ranks, scale))
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


def headline(numbers: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """For `dvc exp show`: the smallest Kendall tau between two means' rankings of one benchmark under one
    task-set rule (1: re-averaging never reorders a leaderboard)."""
    taus = [value for entry in numbers.values() for key, value in entry.items()
            if key.startswith("min_kendall_tau_") and value is not None]  # fmt: skip
    return {"tau_min": min(taus) if taus else None}


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
    config = build(ClaimsConfig, args.settings, "leaderboard.claims")
    ledger = build_claims(**tables, config=config, scale=args.scale)
    rows = write_claims(args.claims_out, ledger, alpha=round(1 - config.confidence, 12))
    numbers = headline_metrics(*(t.frame for t in tables.values()))
    write_json(args.numbers_out, numbers)
    write_metrics(args.metrics_out, rows, headline(numbers))


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("kexue_repro.leaderboard.claims", __doc__, "leaderboard.claims")
    parser.add_argument("--tables-dir", required=True, help="the evaluate step's tables")
    add_ledger_arguments(parser)
    return run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
