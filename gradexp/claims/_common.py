"""Helpers shared by the claims modules: rounding for evidence, weighted least squares, seeds,
and a memo in front of :func:`gradexp.sweep.cache.cached_call` so that a check run twice in one
process (the ledger, then its falsification test) simulates once."""

from __future__ import annotations

import copy
import math

import numpy as np

from .._random import spawn_seeds
from ..experiments._memo import memo_call
from ..experiments._stats import wls  # noqa: F401

Z_MAX = 5.0  # Monte-Carlo agreement: within 5 standard errors


def stored(func, /, *args, **kwargs):
    """A private copy of ``memo_call(func, *args, **kwargs)``: for a claim's evidence function
    (module level, plain arguments, fixed seeds), whose dict the caller may extend; the memoised
    value itself stays untouched for the next call in this process."""
    return copy.deepcopy(memo_call(func, *args, **kwargs))


def sig(x, n=5):
    """Round to n significant digits for the evidence table (keeps JSON short)."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [sig(v, n) for v in x]
    x = float(x)
    if not math.isfinite(x) or x == 0:
        return x
    return float(f"{x:.{n}g}")


def seeds(key: int, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child streams of ``key`` (:func:`gradexp._random.spawn_seeds`)."""
    return spawn_seeds(key, n)


def mid(depth):
    """Layers used for per-layer rates: away from the input and the output by ``depth``//6."""
    k = max(2, depth // 6)
    return k, depth - k


class _MemoisedModule:
    """A module whose listed pure functions go through :func:`memo_call`."""

    def __init__(self, module, pure):
        self._module, self._pure = module, frozenset(pure)

    def __getattr__(self, name):
        f = getattr(self._module, name)
        if name in self._pure:
            return lambda *a, **k: memo_call(f, *a, **k)
        return f


def memoised_chain():
    """:mod:`gradexp.mc.chain` with ``simulate_chain`` and ``single_layer_ratio`` memoised."""
    from ..mc import chain

    return _MemoisedModule(chain, ("simulate_chain", "single_layer_ratio"))
