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
    "study", "claim_id", "verdict", "statement", "metric", "ours", "interval_low", "interval_high",
    "anchor", "anchor_source", "criterion", "scale", "seeds", "evidence", "code",
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


def markdown_report(table: pd.DataFrame, plots: Sequence[str | os.PathLike], report_dir: Path) -> str:
    lines = ["# Claims of the eight Scientific Spaces posts, measured", ""]
    counts = Counter(table["verdict"])
    lines.append(", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS) + f" (of {len(table)} claims).")
    for study, claims in table.groupby("study", sort=False):
        lines += ["", f"## {study}", "", f"Scale: {', '.join(sorted(set(claims['scale'])))}.", ""]
        lines.append("| claim | verdict | ours | interval | anchor | anchor source | criterion | evidence |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for _, row in claims.iterrows():
            cells = [
                f"**{row['claim_id']}** ({_code_link(row['code'], report_dir)}): {row['statement']}",
                row["verdict"], row["ours"], _interval(row),
                row["anchor"], row["anchor_source"], row["criterion"], row["evidence"],
            ]  # fmt: skip
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        study_plots = [Path(p) for p in plots if Path(p).parts[:2] == ("results", study)]
        for plot in study_plots:
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
) -> pd.DataFrame:
    table = claims_table(claim_files)
    write_csv(table_out, table)
    markdown = markdown_report(table, plots, Path(markdown_out).parent)
    if provenance_files:
        markdown += "\n".join(provenance_section(provenance_files)) + "\n"
    write_text(markdown_out, markdown)
    return table
