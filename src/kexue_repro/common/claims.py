"""The claims ledger: each study states its claims as data, with verdicts computed from measurements.

A claim row says what the post (or paper) asserts, what we measured, the published value it is
compared with and where that value comes from, the criterion, and the verdict the criterion gives.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import jsonschema

from kexue_repro.common.atomic import write_json

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)


def verdict(holds: bool | None) -> str:
    """Map a criterion's outcome to a verdict: True, False, or None when the evidence cannot decide."""
    if holds is None:
        return INCONCLUSIVE
    return REPRODUCED if holds else NOT_REPRODUCED


def interval_verdict(low: float, high: float, threshold: float = 0.0) -> str:
    """Verdict for 'the effect is above threshold' from an interval: all above, all below, or straddling."""
    if low > threshold:
        return REPRODUCED
    if high < threshold:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def combine(verdicts: Sequence[str]) -> str:
    """All parts reproduced -> reproduced; any part not reproduced -> not reproduced; else inconclusive."""
    if verdicts and all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    return NOT_REPRODUCED if NOT_REPRODUCED in verdicts else INCONCLUSIVE


@dataclass(frozen=True)
class Claim:
    study: str
    claim_id: str
    statement: str
    metric: str
    ours: float | str | None
    criterion: str
    verdict: str
    scale: str
    evidence: str
    interval: tuple[float, float] | None = None
    anchor: float | str | None = None
    anchor_source: str | None = None
    seeds: Sequence[int] = field(default_factory=tuple)
    code: str | None = None  # the one function that states this claim: "src/<module path>.py:<function>"

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(
                f"claim {self.study}/{self.claim_id}: verdict {self.verdict!r} is not one of {VERDICTS}"
            )

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["interval"] = list(self.interval) if self.interval is not None else None
        row["seeds"] = list(self.seeds)
        return row


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


def write_claims(path: str | os.PathLike, claims: Sequence[Claim]) -> None:
    rows = [c.as_row() for c in claims]
    ids = [r["claim_id"] for r in rows]
    unstated = [r["claim_id"] for r in rows if r["code"] is None]
    if unstated:
        raise ValueError(f"{path}: claim {unstated[0]} comes from no @claim function")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate claim ids {sorted(i for i in ids if ids.count(i) > 1)}")
    validate_ledger(rows, str(path))
    write_json(path, rows)
    for claim in claims:  # the job's log: one line a claim
        interval = f", interval {claim.interval}" if claim.interval is not None else ""
        print(f"{claim.claim_id}: {claim.verdict} (ours {claim.ours}{interval})")


def read_claims(path: str | os.PathLike) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        rows = json.load(fh)
    validate_ledger(rows, str(path))
    return rows
