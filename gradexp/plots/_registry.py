"""Figure registry: every figure is a *compute* step and a *plot* step.

``compute(fast: bool, seed: int) -> dict`` returns arrays and scalars only (saved beside the
image as ``.npz`` with the parameters and the seed); ``plot(data: dict) -> Figure`` only draws.
Same seed, same data, same figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class FigureSpec:
    name: str
    paper: str  # "000" .. "004" or "gradexp"
    description: str
    compute: Callable[[bool, int], dict[str, Any]]
    plot: Callable[[dict[str, Any]], Any]


_FIGURES: dict[str, FigureSpec] = {}


def register_figure(name: str, *, paper: str, description: str, compute, plot) -> FigureSpec:
    if name in _FIGURES:
        raise ValueError(f"figure {name!r} registered twice")
    spec = FigureSpec(name, paper, description, compute, plot)
    _FIGURES[name] = spec
    return spec
