"""Figures of paper bjorck (filled in by its issue)."""

from ._registry import register_figure  # noqa: F401
