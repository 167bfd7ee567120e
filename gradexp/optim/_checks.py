"""Argument checks that :mod:`gradexp._validate` does not (yet) provide.

Used by :mod:`gradexp.optim` and :mod:`gradexp.theory.elr`; candidates to move to
``gradexp/_validate.py`` (owned elsewhere). Every check raises ``ValueError`` or ``TypeError``
naming the argument, before any computation starts.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive


def check_nonnegative(x, name: str) -> np.ndarray:
    """A finite real number (or array of them) ``>= 0``: learning rates, weight decay, ε."""
    a = as_float_array(x, name, allow_inf=False)
    if (a < 0).any():
        raise ValueError(f"{name} must be >= 0, got {a[a < 0].ravel()[0]!r}")
    return a


def check_bool(v, name: str) -> bool:
    """A flag: ``True`` or ``False`` (numpy bools count), nothing else."""
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {v!r}")
    return bool(v)


def check_optional_positive(v, name: str):
    """``None`` or a finite number > 0 (e.g. an optional cap)."""
    return None if v is None else check_positive(v, name)


def check_clamp(v, name: str):
    """``None`` or a pair ``(lo, hi)`` with ``0 <= lo <= hi`` (``hi`` may be inf)."""
    if v is None:
        return None
    try:
        lo, hi = v
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be None or a pair (lo, hi), got {v!r}") from None
    lo = as_float_array(lo, f"{name}[0]", allow_inf=False)
    hi = as_float_array(hi, f"{name}[1]")
    if (lo < 0).any() or (hi < lo).any():
        raise ValueError(f"{name} must satisfy 0 <= lo <= hi, got {v!r}")
    return v
