"""One table of every claim, and a Markdown report with every claim and every plot."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import pandas as pd

from kexue_repro.common.atomic import write_csv, write_text
from kexue_repro.common.claims import VERDICTS, read_claims

COLUMNS = [
    "study", "claim_id", "verdict", "statement", "metric", "ours", "interval_low", "interval_high",
    "anchor", "anchor_source", "criterion", "scale", "seeds", "evidence",
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
                f"**{row['claim_id']}**: {row['statement']}", row["verdict"], row["ours"], _interval(row),
                row["anchor"], row["anchor_source"], row["criterion"], row["evidence"],
            ]  # fmt: skip
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        study_plots = [Path(p) for p in plots if Path(p).parts[:2] == ("results", study)]
        for plot in study_plots:
            rel = os.path.relpath(plot, report_dir)
            lines += ["", f"![{plot.stem}]({rel})"]
    return "\n".join(lines) + "\n"


def assemble(
    claim_files: Sequence[str | os.PathLike],
    plots: Sequence[str | os.PathLike],
    table_out: str | os.PathLike,
    markdown_out: str | os.PathLike,
) -> pd.DataFrame:
    table = claims_table(claim_files)
    write_csv(table_out, table)
    write_text(markdown_out, markdown_report(table, plots, Path(markdown_out).parent))
    return table
