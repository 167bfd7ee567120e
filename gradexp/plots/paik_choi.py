"""Figures of paper paik_choi (filled in by its issue)."""

from ._registry import register_figure  # noqa: F401
