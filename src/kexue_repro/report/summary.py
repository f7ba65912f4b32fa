"""The answer first: one row per post with the counts of its claims by verdict and what the run found.

The same table ends `make reproduce` (`python -m kexue_repro summary`) and opens results/report.md and the
HTML report (its first view: results/report_front.rst, which the Snakefile names as the report's text).
Verdicts are the Holm-adjusted ones of the ledger; checks are counted apart.
"""

from __future__ import annotations

import re

import pandas as pd
from tabulate import tabulate

from kexue_repro.common.claims import VERDICTS
from kexue_repro.common.inference import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from kexue_repro.report.posts import POSTS, post_of

HEADERS = ["post", "subject", *VERDICTS, "checks held", "what this run found"]
# Why a claim is undecided, from its `to_decide`: the first pattern that matches gives the phrase.
UNDECIDED_BECAUSE = (
    ("{} need the full scale", re.compile(r"full-scale|scale full|full scale")),
    ("{} hold only before Holm's adjustment", re.compile(r"reproduced before the Holm adjustment")),
    ("{} had a failed run", re.compile(r"run failed")),
    ("{} need more seeds or data", re.compile(r"needs ~|more (seeds|probe|runs)|seeds|examples")),
    ("{} need scores the leaderboard lacks", re.compile(r"scores")),
)
OTHERWISE = "{} undecided for other reasons"
NAMED_AT_MOST = 3  # not-reproduced claims named in the sentence; more are counted


def with_posts(table: pd.DataFrame) -> pd.DataFrame:
    numbers = [post_of(study, section).number for study, section in zip(table["study"], table["section"])]
    return table.assign(post=numbers)


def undecided_because(to_decide: object) -> str:
    text = to_decide if isinstance(to_decide, str) else ""
    return next((phrase for phrase, pattern in UNDECIDED_BECAUSE if pattern.search(text)), OTHERWISE)


def finding(claims: pd.DataFrame) -> str:
    """One sentence from the verdicts: how many hold, which fail (by id), what the undecided ones wait for."""
    if claims.empty:
        return "no claims measured"
    held = int((claims["verdict"] == REPRODUCED).sum())
    parts = [f"{held} {'holds' if held == 1 else 'hold'}"]
    failed = claims[claims["verdict"] == NOT_REPRODUCED]["claim_id"].tolist()
    if failed:
        more = len(failed) - NAMED_AT_MOST
        parts.append(
            "fails: " + ", ".join(failed[:NAMED_AT_MOST]) + (f" and {more} more" if more > 0 else "")
        )
    undecided = claims[claims["verdict"] == INCONCLUSIVE]["to_decide"].map(undecided_because).value_counts()
    parts += [phrase.format(n) for phrase, n in undecided.items()]
    return "; ".join(parts)


LINKS = {"markdown": "[{where}]({url})", "rst": "`{number} <{url}>`__", None: "{where}"}


def summary_rows(table: pd.DataFrame, link: str | None) -> list[list[object]]:
    table = with_posts(table)
    rows = []
    for post in POSTS:
        mine = table[table["post"] == post.number]
        claims, checks = mine[mine["kind"] == "claim"], mine[mine["kind"] == "check"]
        counts = claims["verdict"].value_counts()
        where = post.url.removeprefix("https://")
        held = int((checks["verdict"] == REPRODUCED).sum())
        rows.append([LINKS[link].format(where=where, url=post.url, number=post.number), post.title,
                     *(int(counts.get(v, 0)) for v in VERDICTS),
                     f"{held}/{len(checks)}" if len(checks) else "-", finding(claims)])  # fmt: skip
    return rows


def summary_table(table: pd.DataFrame, link: str | None = None) -> str:
    """The per-post table: GitHub Markdown, aligned for a terminal; with ``link="markdown"`` each post is a
    link. With ``link="rst"``, a narrower reStructuredText grid table for the HTML report's first view, which
    shows it in a column beside the rule graph: the post with its subject, and the three counts in one cell."""
    rows = summary_rows(table, link)
    if link != "rst":
        return tabulate(rows, HEADERS, tablefmt="github")
    compact = [[f"{post} {title}", " / ".join(str(n) for n in counts), checks, found]
               for post, title, *counts, checks, found in rows]  # fmt: skip
    headers = ["post", " / ".join(VERDICTS), "checks held", "what this run found"]
    return tabulate(compact, headers, tablefmt="grid")


def summary(table: pd.DataFrame, report: str) -> str:
    """What `python -m kexue_repro summary` prints: the table, the total, the scale and where to read on."""
    claims = table[table["kind"] == "claim"]
    counts = claims["verdict"].value_counts()
    total = ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)
    scales = ", ".join(sorted(set(table["scale"])))
    return "\n".join([
        summary_table(table),
        "",
        f"{len(claims)} claims of the posts: {total} (Holm-adjusted within each study). Scale: {scales}.",
        f"Every claim, its numbers and sources: {report}",
    ]) + "\n"  # fmt: skip
