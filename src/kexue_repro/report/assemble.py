"""One table of every claim, and a Markdown report with every claim and every plot."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import pandas as pd

from kexue_repro.common.atomic import write_csv, write_text
from kexue_repro.common.claims import VERDICTS, read_claims
from kexue_repro.common.provenance import read_provenance

COLUMNS = [
    "study", "claim_id", "kind", "verdict", "verdict_unadjusted", "p_value", "p_adjusted", "holm_family", "alpha",
    "section", "statement", "metric", "ours", "interval_low", "interval_high", "anchor", "anchor_source",
    "criterion", "test", "no_p_reason", "needed_n", "detectable_effect", "to_decide", "scale", "seeds",
    "evidence", "code",
]  # fmt: skip


def claims_table(claim_files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    rows = []
    for path in claim_files:
        for claim in read_claims(path):
            interval = claim.pop("interval") or (None, None)
            claim["interval_low"], claim["interval_high"] = interval
            claim["seeds"] = " ".join(str(s) for s in claim["seeds"])
            rows.append(claim)
    return pd.DataFrame(rows, columns=COLUMNS)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _interval(row: pd.Series) -> str:
    if pd.isna(row["interval_low"]):
        return ""
    return f"[{row['interval_low']:.4g}, {row['interval_high']:.4g}]"


def _code_link(code: str, report_dir: Path) -> str:
    """``src/<path>.py:<function>`` as a link to the file, relative to the report (the repository root is
    the working directory of every job)."""
    path, function = code.split(":")
    return f"[{Path(path).parent.name}/{Path(path).name}:{function}]({os.path.relpath(path, report_dir)})"


def _p(row: pd.Series) -> str:
    if pd.isna(row["p_value"]):
        return f"none: {row['no_p_reason']}" if isinstance(row["no_p_reason"], str) else ""
    return (
        f"{row['p_value']:.3g} (Holm {row['p_adjusted']:.3g})"
        if not pd.isna(row["p_adjusted"])
        else (f"{row['p_value']:.3g}")
    )


def _verdict(row: pd.Series) -> str:
    verdict = f"**{row['verdict']}**"
    if row["verdict_unadjusted"] != row["verdict"]:
        verdict += f" ({row['verdict_unadjusted']} before Holm)"
    if isinstance(row["to_decide"], str):
        verdict += f"; to decide: {row['to_decide']}"
    return verdict


def headline(table: pd.DataFrame) -> str:
    """The count of the posts' claims by their Holm-adjusted verdicts; checks are counted apart."""
    claims, checks = table[table["kind"] == "claim"], table[table["kind"] == "check"]
    counts = Counter(claims["verdict"])
    failed = int((checks["verdict"] != "reproduced").sum())
    return (
        ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
        + f" (of {len(claims)} claims of the posts, Holm-adjusted within each study). "
        + f"{len(checks) - failed} of {len(checks)} checks hold (identities, bounds by construction, data, "
        "pipeline and training-sanity checks; not counted as claims)."
    )


def _rows(rows: pd.DataFrame, report_dir: Path, claims: bool) -> list[str]:
    if claims:
        lines = ["| claim | section | verdict | ours | interval | p (Holm) | anchor | test and criterion | evidence |",
                 "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    else:
        lines = ["| check | verdict | ours | criterion | evidence |", "|---|---|---|---|---|"]
    for _, row in rows.iterrows():
        what = f"**{row['claim_id']}** ({_code_link(row['code'], report_dir)}): {row['statement']}"
        if claims:
            anchor = (
                "" if pd.isna(row["anchor"]) else f"{_cell(row['anchor'])} ({_cell(row['anchor_source'])})"
            )
            cells = [what, row["section"], _verdict(row), row["ours"], _interval(row), _p(row), anchor,
                     f"{row['test']}; {row['criterion']}", row["evidence"]]  # fmt: skip
        else:
            cells = [what, row["verdict"], row["ours"], row["criterion"], row["evidence"]]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _of_study(paths: Sequence[str | os.PathLike], study: str) -> list[Path]:
    return [Path(p) for p in paths if Path(p).parts[:2] == ("results", study)]


def markdown_report(
    table: pd.DataFrame,
    plots: Sequence[str | os.PathLike],
    report_dir: Path,
    tables: Sequence[str | os.PathLike] = (),
) -> str:
    lines = ["# Claims of the eight Scientific Spaces posts, measured", "", headline(table)]
    for study, rows in table.groupby("study", sort=False):
        lines += ["", f"## {study}", "", f"Scale: {', '.join(sorted(set(rows['scale'])))}.", ""]
        for summary in _of_study(tables, study):
            lines += [summary.read_text(encoding="utf-8").rstrip("\n"), ""]
        lines += _rows(rows[rows["kind"] == "claim"], report_dir, claims=True)
        checks = rows[rows["kind"] == "check"]
        if len(checks):
            lines += ["", f"Checks of {study} (not claims of the post):", ""]
            lines += _rows(checks, report_dir, claims=False)
        for plot in _of_study(plots, study):
            rel = os.path.relpath(plot, report_dir)
            lines += ["", f"![{plot.stem}]({rel})"]
    return "\n".join(lines) + "\n"


PROVENANCE_PACKAGES = ("torch", "transformers", "numpy", "pandas")


def _git(record: dict) -> str:
    git = record["git"]
    if git is None:
        return "(not a git checkout)"
    return git["revision"][:12] + (" + local changes" if git["dirty"] else "")


def provenance_section(provenance_files: Sequence[str | os.PathLike]) -> list[str]:
    """One row per study: the commit, parameters, software and device its results came from."""
    lines = ["", "## Provenance", "",
             "| study | git revision | params sha256 | scale | device | seeds | "
             + " | ".join(PROVENANCE_PACKAGES) + " |",
             "|---" * (6 + len(PROVENANCE_PACKAGES)) + "|"]  # fmt: skip
    for path in provenance_files:
        record = read_provenance(path)
        device = record["device"]
        seeds = "; ".join(f"{key}={value}" for key, value in record["seeds"].items())
        cells = [record["study"], _git(record), record["params_sha256"][:12], record["scale"],
                 f"{device['resolved']} ({device['name']})", seeds,
                 *(record["packages"].get(name) or "-" for name in PROVENANCE_PACKAGES)]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def assemble(
    claim_files: Sequence[str | os.PathLike],
    plots: Sequence[str | os.PathLike],
    table_out: str | os.PathLike,
    markdown_out: str | os.PathLike,
    provenance_files: Sequence[str | os.PathLike] = (),
    tables: Sequence[str | os.PathLike] = (),
) -> pd.DataFrame:
    table = claims_table(claim_files)
    write_csv(table_out, table)
    markdown = markdown_report(table, plots, Path(markdown_out).parent, tables)
    if provenance_files:
        markdown += "\n".join(provenance_section(provenance_files)) + "\n"
    write_text(markdown_out, markdown)
    return table
