"""One table of every claim, and a Markdown report: the per-post summary first, then every claim as one
compact line with its statement, criterion and sources in a numbered note, and every plot."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from pathlib import Path
from typing import Sequence

import pandas as pd

from kexue_repro.common.atomic import write_csv, write_text
from kexue_repro.common.claims import VERDICTS, read_claims
from kexue_repro.common.provenance import read_provenance
from kexue_repro.report.posts import BY_NUMBER, HOME, POSTS
from kexue_repro.report.summary import summary_table, with_posts

COLUMNS = [
    "study", "claim_id", "kind", "verdict", "verdict_unadjusted", "p_value", "p_adjusted", "holm_family", "alpha",
    "section", "statement", "metric", "ours", "interval_low", "interval_high", "anchor", "anchor_source",
    "criterion", "test", "no_p_reason", "needed_n", "detectable_effect", "to_decide", "scale", "seeds",
    "evidence", "code",
]  # fmt: skip


SHORT = 80  # characters of a long value shown in a table line
WRAP = 110  # the notes' line width


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


def _short(value: object, width: int = SHORT) -> str:
    """A table cell of at most ``width`` characters; the footnote holds the whole text."""
    text = _cell(value)
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + " …"


def _interval(row: pd.Series) -> str:
    if pd.isna(row["interval_low"]):
        return "none"
    return f"[{row['interval_low']:.4g}, {row['interval_high']:.4g}]"


def _code_link(code: str, report_dir: Path) -> str:
    """``src/<path>.py:<function>`` as a link to the file, relative to the report (the repository root is
    the working directory of every job)."""
    path, function = code.split(":")
    return f"[{Path(path).parent.name}/{Path(path).name}:{function}]({os.path.relpath(path, report_dir)})"


def _p(row: pd.Series) -> str:
    if pd.isna(row["p_value"]):
        return f"none: {row['no_p_reason']}" if isinstance(row["no_p_reason"], str) else "none"
    if pd.isna(row["p_adjusted"]):
        return f"{row['p_value']:.3g}"
    return f"{row['p_value']:.3g} (Holm {row['p_adjusted']:.3g})"


def _verdict(row: pd.Series) -> str:
    verdict = f"**{row['verdict']}**"
    if row["verdict_unadjusted"] != row["verdict"]:
        verdict += f" ({row['verdict_unadjusted']} before Holm)"
    return verdict


def _ours(row: pd.Series) -> str:
    """The value with what it measures (the ledger's ``metric``, never empty), shortened; a row with no value
    says so."""
    return f"{_cell(row['ours']) or 'none'} ({_short(row['metric'])})"


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


def _footnote(number: int, row: pd.Series, report_dir: Path, claims: bool) -> list[str]:
    """Everything about one row that its table line leaves out, wrapped to short lines."""
    parts = [f"**{row['claim_id']}** ({_code_link(row['code'], report_dir)}): {_cell(row['statement'])}"]
    if claims and isinstance(row["section"], str):
        parts.append(f"Post: {_cell(row['section'])}.")
    parts.append(f"Measured: {_cell(row['metric'])}.")
    if claims and not pd.isna(row["anchor"]):
        parts.append(f"Published value: {_cell(row['anchor'])} ({_cell(row['anchor_source'])}).")
    test = f"{_cell(row['test'])}; " if isinstance(row["test"], str) else ""
    parts.append(f"Criterion: {test}{_cell(row['criterion'])}.")
    if claims:
        parts.append(f"p: {_p(row)}.")
    if isinstance(row["to_decide"], str):
        parts.append(f"To decide: {_cell(row['to_decide'])}.")
    parts.append(f"Seeds: {_cell(row['seeds']) or 'none'}. Evidence: {_cell(row['evidence'])}.")
    return textwrap.wrap(
        f"{number}. " + " ".join(parts), WRAP, subsequent_indent="   ", break_on_hyphens=False
    )


def _rows(rows: pd.DataFrame, report_dir: Path, claims: bool) -> list[str]:
    """A compact table (one line per row, numbered as in ``in_report_order``) and the numbered notes under it."""
    if claims:
        lines = ["| # | claim | verdict | ours | the post's value | interval |", "|---|---|---|---|---|---|"]
    else:
        lines = ["| # | check | verdict | ours |", "|---|---|---|---|"]
    notes = []
    for _, row in rows.iterrows():
        number = int(row["note"])
        cells = [str(number), f"**{row['claim_id']}**", _verdict(row), _ours(row)]
        if claims:
            anchor = "none" if pd.isna(row["anchor"]) else _short(row["anchor"])
            cells += [anchor, _interval(row)]
        lines.append("| " + " | ".join(cells) + " |")
        notes += _footnote(number, row, report_dir, claims)
    return lines + [""] + notes


def _of_study(paths: Sequence[str | os.PathLike], study: str) -> list[Path]:
    return [Path(p) for p in paths if Path(p).parts[:2] == ("results", study)]


def _heading(study: str) -> str:
    post = BY_NUMBER[HOME[study]] if study in HOME else None
    return f"## {study}" + (f" — {post.number} {post.title} ({post.url})" if post else "")


def in_report_order(table: pd.DataFrame) -> pd.DataFrame:
    """The ledger as the report lists it, with each row's note number: studies in their home post's order
    (ledger order among equals), each study's claims, then its checks."""
    key = pd.DataFrame(
        {"post": table["study"].map(lambda s: HOME.get(s, "~")), "check": table["kind"] == "check"}
    )
    key["study_rank"] = table["study"].map({s: i for i, s in enumerate(dict.fromkeys(table["study"]))})
    order = key.sort_values(["post", "study_rank", "check"], kind="mergesort").index
    ordered = table.loc[order].reset_index(drop=True)
    return ordered.assign(note=range(1, len(ordered) + 1))


def markdown_report(
    table: pd.DataFrame,
    plots: Sequence[str | os.PathLike],
    report_dir: Path,
    tables: Sequence[str | os.PathLike] = (),
) -> str:
    """The per-post summary, then each study in its post's order: its claims and checks as compact numbered
    lines with notes under them, its tables and its plots."""
    lines = ["# Claims of the eight Scientific Spaces posts, measured", "",
             summary_table(table, link="markdown"), "", headline(table)]  # fmt: skip
    ordered = in_report_order(table)
    for study in dict.fromkeys(ordered["study"]):
        rows = ordered[ordered["study"] == study]
        lines += ["", _heading(study), "", f"Scale: {', '.join(sorted(set(rows['scale'])))}.", ""]
        for study_table in _of_study(tables, study):
            lines += [study_table.read_text(encoding="utf-8").rstrip("\n"), ""]
        lines += _rows(rows[rows["kind"] == "claim"], report_dir, claims=True)
        checks = rows[rows["kind"] == "check"]
        if len(checks):
            lines += ["", f"Checks of {study} (not claims of the post):", ""]
            lines += _rows(checks, report_dir, claims=False)
        for plot in _of_study(plots, study):
            rel = os.path.relpath(plot, report_dir)
            lines += ["", f"![{plot.stem}]({rel})"]
    return "\n".join(lines) + "\n"


BY_POST_COLUMNS = ["note", "claim", "kind", "verdict", "ours", "what it measures", "the post's value", "interval",
                   "statement"]  # fmt: skip


def claims_by_post(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each post's rows, as the HTML report shows them under the post's category (notes as in report.md)."""
    ordered = with_posts(in_report_order(table))
    frames = {}
    for post in POSTS:
        rows = ordered[ordered["post"] == post.number]
        frames[post.number] = pd.DataFrame(
            {"note": rows["note"], "claim": rows["claim_id"], "kind": rows["kind"], "verdict": rows["verdict"],
             "ours": rows["ours"], "what it measures": rows["metric"], "the post's value": rows["anchor"],
             "interval": rows.apply(_interval, axis=1) if len(rows) else [], "statement": rows["statement"]},
            columns=BY_POST_COLUMNS,
        )  # fmt: skip
    return frames


PAGE_STYLE = (
    "body{font:13px sans-serif;margin:12px} table{border-collapse:collapse} th,td{border-bottom:1px solid #ddd;"
    "padding:4px 6px;text-align:left;vertical-align:top} th{background:#f4f4f4}"
)


def post_page(number: str, frame: pd.DataFrame) -> str:
    """One post's claims as an HTML table: the Snakemake report shows HTML results in the page (a CSV only
    as a download)."""
    post = BY_NUMBER[number]
    title = f"{post.number} — {post.title}"
    cells = frame.astype(object).where(frame.notna(), "none")  # a missing value reads "none", not "None"
    table = cells.to_html(index=False, border=0, escape=True) if len(frame) else "<p>No claims.</p>"
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title><style>{PAGE_STYLE}</style>'
        f'</head><body>\n<h2>{title}: <a href="{post.url}">{post.url}</a></h2>\n<p>Notes as numbered in '
        f"results/report.md (the test, criterion, source and evidence of each row).</p>\n{table}\n</body></html>\n"
    )


def front_page(table: pd.DataFrame) -> str:
    title = "Claims of the eight Scientific Spaces posts, measured"
    scales = ", ".join(sorted(set(table["scale"])))
    return "\n".join([
        title, "=" * len(title), "",
        f"Each post's claims by verdict in this run (scale: {scales}); every claim, its numbers and sources are in"
        " results/report.md and under Claims.", "",
        summary_table(table, link="rst"), "", headline(table),
    ]) + "\n"  # fmt: skip


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
    front_out: str | os.PathLike | None = None,
    by_post_out: Sequence[str | os.PathLike] = (),
) -> pd.DataFrame:
    """``front_out``: the HTML report's first view (reStructuredText: the summary and the counts);
    ``by_post_out``: <post number>.html pages, each post's claims."""
    table = claims_table(claim_files)
    frames = claims_by_post(table)
    unknown = [str(path) for path in by_post_out if Path(path).stem not in frames]
    if unknown:
        raise ValueError(f"{unknown[0]}: not named after a post ({', '.join(frames)})")
    write_csv(table_out, table)
    if front_out:
        write_text(front_out, front_page(table))
    for path in by_post_out:
        write_text(path, post_page(Path(path).stem, frames[Path(path).stem]))
    markdown = markdown_report(table, plots, Path(markdown_out).parent, tables)
    if provenance_files:
        markdown += "\n".join(provenance_section(provenance_files)) + "\n"
    write_text(markdown_out, markdown)
    return table
