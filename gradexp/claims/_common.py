"""Helpers shared by the claims modules: rounding for evidence, weighted least squares, seeds,
and a memo in front of :func:`gradexp.sweep.cache.cached_call` so that a check run twice in one
process (the ledger, then its falsification test) simulates once."""

from __future__ import annotations

import math

import numpy as np

from ..sweep.cache import cached_call

Z_MAX = 5.0  # Monte-Carlo agreement: within 5 standard errors

_MEMO: dict = {}


def memo_call(func, /, *args, **kwargs):
    """``cached_call(func, *args, **kwargs)``, memoised in this process by the arguments' repr
    (seeds are SeedSequences or ints, whose repr names the stream)."""
    key = (func.__module__, func.__qualname__, repr(args), repr(sorted(kwargs.items())))
    if key not in _MEMO:
        _MEMO[key] = cached_call(func, *args, **kwargs)
    return _MEMO[key]


def sig(x, n=5):
    """Round to n significant digits for the evidence table (keeps JSON short)."""
    if isinstance(x, (list, tuple)):
        return [sig(v, n) for v in x]
    x = float(x)
    if not math.isfinite(x) or x == 0:
        return x
    return float(f"{x:.{n}g}")


def seeds(key: int, n: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(key).spawn(n)


def wls(columns, y, se):
    """Weighted least squares y ≈ X c (X from ``columns``); returns (c, standard errors, χ², dof)."""
    X = np.column_stack(columns).astype(float)
    w = 1.0 / np.asarray(se, dtype=float)
    A = X * w[:, None]
    b = np.asarray(y, dtype=float) * w
    coef, *_ = np.linalg.lstsq(A, b, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    chi2 = float(((A @ coef - b) ** 2).sum())
    return coef, np.sqrt(np.diag(cov)), chi2, len(y) - X.shape[1]


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
