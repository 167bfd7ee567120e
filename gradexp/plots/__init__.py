"""Figures of the five papers (and gradexp's own), one module per paper or topic.

matplotlib is imported only inside this subpackage. ``all_figures()`` imports every module of
this package whose name does not start with an underscore (except ``style`` and ``render``);
each registers its figures, so a new figure module needs no edit here. Figures come back
ordered by module (the papers first, in citation order, then the others by name), then as
registered.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._registry import _FIGURES, PAPER_KEYS, FigureSpec, register_figure

#: modules listed first, in this order; any other figure module follows, by name
PAPER_MODULES = ("paik_choi", "paik_choi_mc", "mehmeti_gopel_wand", "tvlars", "bjorck")
_NOT_FIGURES = {"style", "render"}


def figure_modules() -> list[str]:
    """Names of the figure modules of this package (discovered with pkgutil)."""
    found = {m.name for m in pkgutil.iter_modules(__path__)
             if not m.name.startswith("_") and m.name not in _NOT_FIGURES}
    return [m for m in PAPER_MODULES if m in found] + sorted(found - set(PAPER_MODULES))


def all_figures() -> dict[str, FigureSpec]:
    modules = figure_modules()
    for name in modules:
        importlib.import_module(f"{__name__}.{name}")
    order = {f"{__name__}.{m}": k for k, m in enumerate(modules)}
    position = {n: i for i, n in enumerate(_FIGURES)}

    def key(spec):
        mod = getattr(getattr(spec.compute, "func", spec.compute), "__module__", "")
        return order.get(mod, len(order)), position[spec.name]

    return {s.name: s for s in sorted(_FIGURES.values(), key=key)}


__all__ = ["FigureSpec", "register_figure", "all_figures", "figure_modules", "PAPER_KEYS"]
