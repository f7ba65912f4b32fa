"""The claims ledger: each study states its claims as data, with verdicts computed from measurements.

A row is of one of two kinds. A ``claim`` is something a post (or its paper) asserts that data can decide:
it quotes or paraphrases the post with the post's section, and is decided by a test (common.inference) whose
p-value is Holm-adjusted over the study's claims; the headline verdict is the adjusted one. A ``check`` is
an identity, a bound by construction, or a data or pipeline sanity check: it can fail only through a bug,
is listed apart and counts toward no claim. Each row also says what we measured, the published value it is
compared with and where that value comes from, the criterion, and, when a claim is inconclusive, what
would decide it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import jsonschema

from kexue_repro.common.atomic import write_json, write_text
from kexue_repro.common.inference import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Judgement, fixed, holm

VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
KINDS = ("claim", "check")


def verdict(holds: bool | None) -> str:
    """Map a criterion's outcome to a verdict: True, False, or None when the evidence cannot decide."""
    if holds is None:
        return INCONCLUSIVE
    return REPRODUCED if holds else NOT_REPRODUCED


@dataclass(frozen=True)
class Claim:
    """One ledger row. Give ``judgement`` (a test from common.inference), or for a row no sampling statistic
    decides, ``verdict`` with ``no_p_reason`` (and ``to_decide`` if it is inconclusive)."""

    study: str
    claim_id: str
    kind: str  # "claim" (the post asserts it) or "check" (can fail only through a bug)
    statement: str
    metric: str
    ours: float | str | None
    criterion: str
    scale: str
    evidence: str
    section: str | None = None  # the post's section a claim quotes or paraphrases
    verdict: str | None = None
    judgement: Judgement | None = None
    no_p_reason: str | None = None
    to_decide: str | None = None
    interval: tuple[float, float] | None = None
    anchor: float | str | None = None
    anchor_source: str | None = None
    seeds: Sequence[int] = field(default_factory=tuple)
    family: str = "claims"  # the Holm family; declared cost claims (timings) form their own, "cost"
    code: str | None = None  # the one function that states this claim: "src/<module path>.py:<function>"

    def __post_init__(self) -> None:
        where = f"claim {self.study}/{self.claim_id}"
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind {self.kind!r} is not one of {KINDS}")
        if (self.judgement is None) == (self.verdict is None):
            raise ValueError(f"{where}: give either a judgement or a verdict, not both or neither")
        if self.judgement is None:
            if self.verdict not in VERDICTS:
                raise ValueError(f"{where}: verdict {self.verdict!r} is not one of {VERDICTS}")
            judgement = fixed(self.verdict, self.no_p_reason or "", self.to_decide)
            object.__setattr__(self, "judgement", judgement)
        if self.kind == "claim" and not self.section:
            raise ValueError(f"{where}: a claim names the post's section it comes from")
        if self.interval is None and self.judgement.interval is not None:
            object.__setattr__(self, "interval", self.judgement.interval)
        object.__setattr__(self, "verdict", None)

    def as_row(self, alpha: float, p_adjusted: float | None) -> dict[str, Any]:
        judged = self.judgement
        final = judged.verdict(alpha, p_adjusted)
        unadjusted = judged.verdict(alpha)
        to_decide = None
        if final == INCONCLUSIVE:
            to_decide = judged.to_decide or self.to_decide
            if unadjusted != INCONCLUSIVE:
                to_decide = (
                    f"{unadjusted} before the Holm adjustment (p {judged.p_value:.3g}, adjusted "
                    f"{p_adjusted:.3g}); " + (to_decide or "")
                ).rstrip("; ")
        row = {
            "study": self.study, "claim_id": self.claim_id, "kind": self.kind, "section": self.section,
            "statement": self.statement, "metric": self.metric, "ours": self.ours,
            "interval": [round(x, 6) for x in self.interval] if self.interval is not None else None,
            "anchor": self.anchor, "anchor_source": self.anchor_source, "criterion": self.criterion,
            "test": judged.test, "alpha": alpha, "holm_family": self.family if self.kind == "claim" else None,
            "p_value": _round(judged.p_value),
            "p_adjusted": _round(p_adjusted), "no_p_reason": judged.no_p_reason or self.no_p_reason,
            "verdict_unadjusted": unadjusted, "verdict": final,
            "needed_n": judged.needed_n, "detectable_effect": _round(judged.detectable_effect),
            "to_decide": to_decide, "scale": self.scale, "evidence": self.evidence,
            "seeds": list(self.seeds), "code": self.code,
        }  # fmt: skip
        return row


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


ClaimsOf = TypeVar("ClaimsOf", Claim, list[Claim])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower())


def claim(function: Callable[..., ClaimsOf]) -> Callable[..., ClaimsOf]:
    """Mark ``function`` as the one home of the claims it returns (a Claim or a list of them).

    Each claim is stamped with the function's place in the source (the report links it), and its id
    must carry the function's name: ``gain`` states ``a.gain.<task>.<variant>``, ``post_ln_std_0_1_explodes``
    states ``d.post_ln_std_0.1_explodes.<configuration>``. A claim id another function could produce, or
    a function named after nothing it states, is a bug: ValueError.
    """
    source = Path(function.__code__.co_filename).parts  # __module__ is "__main__" under python -m
    if "kexue_repro" in source:
        source = ("src", *source[len(source) - 1 - source[::-1].index("kexue_repro") :])
    code = f"{'/'.join(source[-3:] if source[0] != 'src' else source)}:{function.__name__}"
    name = re.compile(rf"(^|_){re.escape(function.__name__)}(_|$)")

    def stamp(one: Claim) -> Claim:
        if not name.search(_slug(one.claim_id)):
            raise ValueError(
                f"claim {one.study}/{one.claim_id} comes from {code}, which is not named after it"
            )
        return dataclasses.replace(one, code=code)

    @functools.wraps(function)
    def stated(*args: Any, **kwargs: Any) -> ClaimsOf:
        result = function(*args, **kwargs)
        return stamp(result) if isinstance(result, Claim) else [stamp(c) for c in result]

    return stated


def _schema() -> dict[str, Any]:
    return json.loads(resources.files("kexue_repro.common").joinpath("claims.schema.json").read_text())


def validate_ledger(rows: list[dict[str, Any]], source: str) -> None:
    """Raise ValueError naming the file and the offending claim field if ``rows`` break the schema."""
    try:
        jsonschema.validate(rows, _schema())
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        raise ValueError(f"{source}: claims ledger invalid at {where}: {err.message}") from None


def ledger_rows(claims: Sequence[Claim], alpha: float) -> list[dict[str, Any]]:
    """The rows of one study's ledger: the p-values of its claims (not its checks) Holm-adjusted together
    within each family, each claim decided by its adjusted p-value. Cost claims, whose timings differ from
    machine to machine, are a family of their own, so they move no other claim's adjusted p-value."""
    alpha = round(alpha, 12)  # 1 - 0.95 is 0.050000000000000044
    adjusted: dict[int, float] = {}
    for family in dict.fromkeys(c.family for c in claims):
        tested = [
            i for i, c in enumerate(claims)
            if c.kind == "claim" and c.family == family and c.judgement.p_value is not None
        ]  # fmt: skip
        adjusted |= dict(zip(tested, holm([claims[i].judgement.p_value for i in tested])))
    return [c.as_row(alpha, adjusted.get(i)) for i, c in enumerate(claims)]


def write_claims(path: str | os.PathLike, claims: Sequence[Claim], alpha: float) -> list[dict[str, Any]]:
    """Write the study's ledger and return its rows."""
    unstated = [c.claim_id for c in claims if c.code is None]
    if unstated:
        raise ValueError(f"{path}: claim {unstated[0]} comes from no @claim function")
    rows = ledger_rows(claims, alpha)
    ids = [r["claim_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate claim ids {sorted(i for i in ids if ids.count(i) > 1)}")
    validate_ledger(rows, str(path))
    write_json(path, rows)
    for row in rows:  # the job's log: one line a row
        interval = f", interval {row['interval']}" if row["interval"] is not None else ""
        p = f", p {row['p_value']} (Holm {row['p_adjusted']})" if row["p_adjusted"] is not None else ""
        print(f"{row['kind']} {row['claim_id']}: {row['verdict']} (ours {row['ours']}{interval}{p})")
    return rows


def verdict_counts(rows: Sequence[dict[str, Any]]) -> str:
    """A ledger's claims, not its checks, counted by verdict: "reproduced/not reproduced/inconclusive", as in
    "4/0/1"."""
    verdicts = [row["verdict"] for row in rows if row["kind"] == "claim"]
    return "/".join(str(verdicts.count(v)) for v in VERDICTS)


def write_metrics(path: str | os.PathLike, rows: Sequence[dict[str, Any]], headline: dict[str, Any]) -> None:
    """A study's DVC metrics: its verdict counts under the study's name, then one or two headline numbers.

    Few and short, so that `dvc exp show` lists all eight studies' in a terminal 200 columns wide; every other
    number of the run is in the study's numbers.json, an output. DVC names a column by its key, and by the
    file's path too when two files share a key, so no two studies' headline keys are alike."""
    studies = sorted({row["study"] for row in rows})
    if len(studies) != 1:
        raise ValueError(f"{path}: the metrics of one study need its ledger alone, not rows of {studies}")
    # Keys in this order, not sorted (write_json): DVC lists a file's columns in the order of its keys.
    metrics = {studies[0]: verdict_counts(rows), **headline}
    write_text(path, json.dumps(metrics, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def read_claims(path: str | os.PathLike) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        rows = json.load(fh)
    validate_ledger(rows, str(path))
    return rows
