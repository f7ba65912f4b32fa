"""Read every study's claims ledger at a revision through DVC, and compare two of them claim by claim.

DVC resolves the revision (a commit, branch, tag, DVC experiment name, or ``workspace``) and finds each
results/<study>/claims.json in its dvc.lock; it reads the file from the local cache, else from the remote,
so revisions whose results exist only in the remote compare as well.
"""

from __future__ import annotations

import json
import math
from typing import Any

from dvc.api import DVCFileSystem

from kexue_repro.common.claims import validate_ledger

WORKSPACE = "workspace"
LEDGERS = "results/*/claims.json"
# Listed in this order: what changed the science first.
STATUSES = ("flipped", "changed", "added", "removed", "unchanged")
COMPARED = ("verdict", "ours", "interval", "anchor", "criterion", "scale")


def _produced(info: dict[str, Any]) -> bool:
    """DVC lists every output dvc.yaml declares; one with neither a file nor a hash was not produced there."""
    return "fs_info" in info or "md5" in info.get("dvc_info", {"md5": None})


def read_ledgers(rev: str, repo: str = ".") -> dict[tuple[str, str], dict[str, Any]]:
    """Every claim at ``rev``, keyed by (study, claim_id), in ledger order."""
    try:
        fs = DVCFileSystem(repo, rev=None if rev == WORKSPACE else rev)
        paths = [path for path in sorted(fs.glob(LEDGERS)) if _produced(fs.info(path))]
    except Exception as err:  # DVC and scmrepo raise their own types for an unknown revision or repository
        raise ValueError(f"revision {rev!r}: {' '.join(str(err).split()) or type(err).__name__}") from None
    if not paths:
        raise ValueError(f"revision {rev!r}: no {LEDGERS} (run the pipeline, or `dvc pull`, first)")
    ledgers = {}
    for path in paths:
        try:
            ledgers[path] = json.loads(fs.read_text(path, encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(
                f"revision {rev!r}: {path} is in neither the DVC cache nor the remote (`dvc push` it where it was made)"
            ) from None
        except json.JSONDecodeError as err:
            raise ValueError(f"revision {rev!r}: {path}: not JSON ({err})") from None
    claims: dict[tuple[str, str], dict[str, Any]] = {}
    for path, rows in ledgers.items():
        validate_ledger(rows, f"{rev}:{path}")
        for row in rows:
            claims[(row["study"], row["claim_id"])] = row
    return claims


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


def markdown(rev_a: str, rev_b: str, rows: list[dict[str, Any]]) -> str:
    counts = summary(rows)
    lines = [
        f"# Claims: {rev_a} -> {rev_b}",
        "",
        ", ".join(f"{n} {status}" for status, n in counts.items()) + f" (of {len(rows)} claims).",
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


def as_json(rev_a: str, rev_b: str, rows: list[dict[str, Any]]) -> str:
    return json.dumps({"a": rev_a, "b": rev_b, "summary": summary(rows), "claims": rows}, indent=2) + "\n"
