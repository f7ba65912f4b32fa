"""Reproductions of eight Scientific Spaces (kexue.fm) posts, Oct-Dec 2021, as rerunnable studies."""

__version__ = "0.1.0"
