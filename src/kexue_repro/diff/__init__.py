"""Claims of two revisions or experiments side by side: which verdicts flipped, which values moved."""
