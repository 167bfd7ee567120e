"""Figure registry: every figure is a *compute* step and a *plot* step.

``compute(fast: bool, seed: int) -> dict`` returns arrays and scalars only (saved beside the
image as ``.npz`` with the parameters and the seed); ``plot(data: dict) -> Figure`` only draws.
Same seed, same data, same figure. ``compute`` must be a module-level function (or a
:func:`functools.partial` of one): it runs in worker processes and is keyed in the result store
by its module and name. Figures that draw the same data (for example Bjorck et al. Figs. 11 and
12) register the same ``compute`` with the same ``data_name``, so it is computed once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..bibliography import PAPER_KEYS


@dataclass(frozen=True)
class FigureSpec:
    name: str
    paper: str  # a key of PAPER_KEYS
    description: str
    compute: Callable[[bool, int], dict[str, Any]]
    plot: Callable[[dict[str, Any]], Any]
    data_name: str = ""  # seeds the compute step; defaults to ``name``

    def __post_init__(self):
        if not self.data_name:
            object.__setattr__(self, "data_name", self.name)


_FIGURES: dict[str, FigureSpec] = {}


def register_figure(name: str, *, paper: str, description: str, compute, plot, data_name: str = "") -> FigureSpec:
    if name in _FIGURES:
        raise ValueError(f"figure {name!r} registered twice")
    if paper not in PAPER_KEYS:
        raise ValueError(f"paper must be one of {PAPER_KEYS}, got {paper!r}")
    qual = getattr(getattr(compute, "func", compute), "__qualname__", "")
    if "<lambda>" in qual or "<locals>" in qual:
        raise ValueError(f"figure {name!r}: compute must be a module-level function or a partial of one "
                         f"(it runs in worker processes), got {qual}")
    spec = FigureSpec(name, paper, description, compute, plot, data_name)
    _FIGURES[name] = spec
    return spec
