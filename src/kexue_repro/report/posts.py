"""The eight posts, in publication order, and which post a ledger row speaks for.

Titles are short English descriptions of each post's subject (the posts are in Chinese). A row belongs to
the post its section names first ("8764, the experiments: ..."), else to its study's home post.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Post:
    number: str
    title: str
    studies: tuple[str, ...]  # the studies (DVC stages) with claims of this post

    @property
    def url(self) -> str:
        return f"https://kexue.fm/archives/{self.number}"


POSTS = (
    Post("8728", "CAN: alternating normalization with a prior", ("can",)),
    Post("8739", "The CLUE baseline", ("bert", "clue", "clue_mrc_ner")),
    Post("8747", "Why BERT's init std is 0.02", ("transformer",)),
    Post("8757", "WGAN with gradient normalization", ("gan",)),
    Post("8764", "ChildTuning: dropout on gradients", ("clue",)),
    Post("8770", "MLM and MAE from the dropout viewpoint", ("transformer", "clue")),
    Post("8783", "Leaderboards re-averaged: AM, GM, HM", ("leaderboard",)),
    Post("8791", "VAE as density estimation, and IWAE", ("vae",)),
)
BY_NUMBER = {post.number: post for post in POSTS}
# The post of a study's rows whose section names none (checks have no section).
HOME = {"can": "8728", "bert": "8739", "clue_mrc_ner": "8739", "transformer": "8747", "gan": "8757",
        "clue": "8764", "leaderboard": "8783", "vae": "8791"}  # fmt: skip
NAMED_POST = re.compile(r"^\s*(\d{4})\b")


def post_of(study: str, section: object) -> Post:
    """``section``: the row's section, or a missing value."""
    named = NAMED_POST.match(section if isinstance(section, str) else "")
    if named and named.group(1) in BY_NUMBER:
        return BY_NUMBER[named.group(1)]
    if study not in HOME:
        raise ValueError(f"study {study!r} has no post (kexue_repro.report.posts.HOME)")
    return BY_NUMBER[HOME[study]]


def post_category(number: str) -> str:
    """A post's category in the HTML report ("8728 — CAN: ..."): categories sort in post order."""
    return f"{number} — {BY_NUMBER[number].title}"
