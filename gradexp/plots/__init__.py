"""Figures of the five papers (and gradexp's own), one module per paper.

matplotlib is imported only inside this subpackage. ``all_figures()`` imports the
per-paper modules (each registers its figures) and returns the specs in order.
"""

from __future__ import annotations

import importlib

from ._registry import FigureSpec, _FIGURES, register_figure

PAPER_MODULES = ("paik_choi", "paik_choi_mc", "mehmeti_gopel_wand", "tvlars", "bjorck", "finite_size",
                 "elr_dynamics")


def all_figures() -> dict[str, FigureSpec]:
    for name in PAPER_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return dict(_FIGURES)


__all__ = ["FigureSpec", "register_figure", "all_figures"]
