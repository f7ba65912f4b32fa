"""Read every study's claims ledger at a revision through DVC, and compare two of them claim by claim.

DVC resolves the revision (a commit, branch, tag, DVC experiment name, or ``workspace``) and finds each
results/<study>/claims.json in its dvc.lock; it reads the file from the local cache, else from the remote,
so revisions whose results exist only in the remote compare as well.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from dvc.api import DVCFileSystem

from kexue_repro.common.claims import validate_ledger

WORKSPACE = "workspace"
LEDGERS = "results/*/claims.json"
# Listed in this order: what changed the science first.
STATUSES = ("flipped", "changed", "added", "removed", "unchanged")
COMPARED = ("kind", "verdict", "ours", "interval", "p_adjusted", "anchor", "criterion", "scale")


def _produced(info: dict[str, Any]) -> bool:
    """DVC lists every output dvc.yaml declares; one with neither a file nor a hash was not produced there."""
    return "fs_info" in info or "md5" in info.get("dvc_info", {"md5": None})


@dataclass
class Ledgers:
    claims: dict[tuple[str, str], dict[str, Any]]  # (study, claim_id) -> claim row, in ledger order
    unavailable: list[str]  # studies whose ledger dvc.lock names but neither the cache nor the remote holds


def read_ledgers(rev: str, repo: str = ".") -> Ledgers:
    """Every claim at ``rev``; a study whose results were never pushed is listed as unavailable."""
    try:
        fs = DVCFileSystem(repo, rev=None if rev == WORKSPACE else rev)
        paths = [path for path in sorted(fs.glob(LEDGERS)) if _produced(fs.info(path))]
    except Exception as err:  # DVC and scmrepo raise their own types for an unknown revision or repository
        raise ValueError(f"revision {rev!r}: {' '.join(str(err).split()) or type(err).__name__}") from None
    ledgers, unavailable = {}, []
    for path in paths:
        try:
            ledgers[path] = json.loads(fs.read_text(path, encoding="utf-8"))
        except FileNotFoundError:
            unavailable.append(path.split("/")[1])
        except json.JSONDecodeError as err:
            raise ValueError(f"revision {rev!r}: {path}: not JSON ({err})") from None
    if not ledgers:
        where = (
            f"none of {', '.join(unavailable)} is in the DVC cache or the remote" if unavailable else "none"
        )
        raise ValueError(f"revision {rev!r}: no {LEDGERS} to read ({where}; run, or `dvc pull`, first)")
    claims: dict[tuple[str, str], dict[str, Any]] = {}
    for path, rows in ledgers.items():
        if not _before_kinds(rows):
            validate_ledger(rows, f"{rev}:{path}")
        for row in rows:
            claims[(row["study"], row["claim_id"])] = row
    return Ledgers(claims, unavailable)


def _before_kinds(rows: Any) -> bool:
    """A ledger written before rows had kinds and Holm-adjusted verdicts (2026-12): it is compared on the
    fields it has, so a run can still be diffed against results made before that change."""
    legacy = ("study", "claim_id", "statement", "verdict")
    return isinstance(rows, list) and all(
        isinstance(row, dict) and "kind" not in row and all(key in row for key in legacy) for row in rows
    )


def comparable(old: Ledgers, new: Ledgers) -> tuple[dict, dict, list[str]]:
    """Both sides' claims without the studies either side cannot read (they would look added or removed)."""
    skipped = sorted(set(old.unavailable) | set(new.unavailable))
    keep = lambda claims: {key: row for key, row in claims.items() if key[0] not in skipped}  # noqa: E731
    return keep(old.claims), keep(new.claims), skipped


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _status(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if a is None:
        return "added"
    if b is None:
        return "removed"
    if a["verdict"] != b["verdict"]:
        return "flipped"
    return "changed" if any(a.get(key) != b.get(key) for key in COMPARED) else "unchanged"


def compare(
    old: dict[tuple[str, str], dict[str, Any]], new: dict[tuple[str, str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per claim of either side; flipped verdicts first, then changed, added, removed, unchanged."""
    keys = list(old) + [key for key in new if key not in old]
    rows = []
    for study, claim_id in keys:
        a, b = old.get((study, claim_id)), new.get((study, claim_id))
        ours_a, ours_b = (side.get("ours") if side else None for side in (a, b))
        numbers = _number(ours_a), _number(ours_b)
        rows.append(
            {
                "status": _status(a, b),
                "study": study,
                "claim_id": claim_id,
                "statement": (b or a)["statement"],
                "verdict_a": a["verdict"] if a else None,
                "verdict_b": b["verdict"] if b else None,
                "ours_a": ours_a,
                "ours_b": ours_b,
                "change": numbers[1] - numbers[0] if None not in numbers else None,
            }
        )
    return sorted(rows, key=lambda row: STATUSES.index(row["status"]))  # stable: ledger order within a status


def summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {status: sum(row["status"] == status for row in rows) for status in STATUSES}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(rev_a: str, rev_b: str, rows: list[dict[str, Any]], skipped: list[str] = ()) -> str:
    counts = summary(rows)
    lines = [
        f"# Claims: {rev_a} -> {rev_b}",
        "",
        ", ".join(f"{n} {status}" for status, n in counts.items()) + f" (of {len(rows)} claims).",
        *(
            [f"Left out, results in neither the DVC cache nor the remote: {', '.join(skipped)}."]
            if skipped
            else []
        ),
        "",
        f"| status | study | claim | verdict {rev_a} | verdict {rev_b} | ours {rev_a} | ours {rev_b} | change |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        change = f"{row['change']:+.6g}" if row["change"] is not None else ""
        cells = [row["status"], row["study"], row["claim_id"], row["verdict_a"], row["verdict_b"],
                 row["ours_a"], row["ours_b"], change]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def as_json(rev_a: str, rev_b: str, rows: list[dict[str, Any]], skipped: list[str]) -> str:
    report = {"a": rev_a, "b": rev_b, "summary": summary(rows), "unavailable": skipped, "claims": rows}
    return json.dumps(report, indent=2) + "\n"
