"""Figures of paper mehmeti_gopel_wand (filled in by its issue)."""

from ._registry import register_figure  # noqa: F401
