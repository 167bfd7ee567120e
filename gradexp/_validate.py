"""One home for argument checks of public functions.

Every check raises ``ValueError`` (a bad value) or ``TypeError`` (a wrong type) whose message
names the argument and the allowed range, before any computation starts.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["as_float_array", "nonneg_int_arg", "pos_int_arg", "check_bool", "check_choice", "check_clamp", "check_int", "check_int_array",
           "check_interval", "check_nonnegative", "check_optional_positive", "check_positive", "check_real",
           "check_scalar"]


def as_float_array(x, name: str, *, allow_inf: bool = True) -> np.ndarray:
    """``np.asarray(x, float)``; raise naming ``name`` on a non-number, NaN (or inf).

    Strings (``"1.0"``), bools and bool arrays are refused with a TypeError although numpy would
    convert them: a number given as text or as a truth value is a caller's mistake, not a number.

    >>> as_float_array([1, 2.5], "x")
    array([1. , 2.5])
    >>> as_float_array("1.0", "R")
    Traceback (most recent call last):
    ...
    TypeError: R must be a real number or an array of them, got str
    """
    if x is None or isinstance(x, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or an array of them, got {type(x).__name__}")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError):  # ragged nesting
        raise TypeError(f"{name} must be a real number or an array of them, got {type(x).__name__}") from None
    if raw.dtype.kind not in "iufO" or (raw.dtype.kind == "O" and not all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in raw.ravel())):
        what = {"b": "bools", "c": "complex numbers"}.get(raw.dtype.kind, str(raw.dtype))
        raise TypeError(f"{name} must be a real number or an array of them, got {type(x).__name__} of {what}")
    try:
        a = np.asarray(raw, dtype=float)
    except OverflowError:  # a Python integer beyond the largest double
        raise ValueError(f"{name} must be at most about 1.8e308 (the largest double)") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or an array of them, got {type(x).__name__}") from None
    if np.isnan(a).any():
        raise ValueError(f"{name} must not be NaN")
    if not allow_inf and np.isinf(a).any():
        raise ValueError(f"{name} must be finite")
    return a


def check_scalar(x, name: str, *, allow_inf: bool = True) -> np.ndarray:
    """:func:`as_float_array` of one number (a 0-d array); a list or array is a TypeError naming ``name``.

    For options that are one number by definition (a rule's η, a schedule's peak rate).

    >>> check_scalar([0.5, 2.0], "eta")
    Traceback (most recent call last):
    ...
    TypeError: eta must be a single real number, got an array of shape (2,)
    """
    a = as_float_array(x, name, allow_inf=allow_inf)
    if a.ndim != 0:
        raise TypeError(f"{name} must be a single real number, got an array of shape {a.shape}")
    return a


def check_positive(x, name: str) -> np.ndarray:
    """Validate a scale parameter: finite and strictly positive."""
    a = as_float_array(x, name, allow_inf=False)
    if (a <= 0).any():
        raise ValueError(f"{name} must be > 0, got {a[a <= 0].ravel()[0]!r}")
    return a


def check_nonnegative(x, name: str) -> np.ndarray:
    """A finite real number (or array of them) ``>= 0``: learning rates, weight decay, ε."""
    a = as_float_array(x, name, allow_inf=False)
    if (a < 0).any():
        raise ValueError(f"{name} must be >= 0, got {a[a < 0].ravel()[0]!r}")
    return a


def check_optional_positive(v, name: str):
    """``None`` or a finite number > 0 (e.g. an optional cap)."""
    return None if v is None else check_positive(v, name)


def check_bool(v, name: str) -> bool:
    """A flag: ``True`` or ``False`` (numpy bools count), nothing else."""
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {v!r}")
    return bool(v)


def check_clamp(v, name: str):
    """``None`` or a pair of numbers ``(lo, hi)`` with ``0 <= lo <= hi`` (``hi`` may be inf)."""
    if v is None:
        return None
    try:
        lo, hi = v
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be None or a pair (lo, hi), got {v!r}") from None
    lo = check_scalar(lo, f"{name}[0]", allow_inf=False)
    hi = check_scalar(hi, f"{name}[1]")
    if lo < 0 or hi < lo:
        raise ValueError(f"{name} must satisfy 0 <= lo <= hi, got {v!r}")
    return v


def check_interval(x, name: str, lo: float, hi: float, *, closed=(True, True)) -> np.ndarray:
    """Validate that ``x`` lies in the interval [lo, hi] (open ends as ``closed`` says)."""
    a = as_float_array(x, name)
    bad = (a < lo) | (a > hi)
    if not closed[0]:
        bad |= a == lo
    if not closed[1]:
        bad |= a == hi
    if bad.any():
        lb = "[" if closed[0] else "("
        rb = "]" if closed[1] else ")"
        raise ValueError(f"{name} must lie in {lb}{lo}, {hi}{rb}, got {a[bad].ravel()[0]!r}")
    return a


def check_int(v, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (bools and non-integral floats refused) in [lo, hi]."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v) and float(v).is_integer():
            v = int(v)
        else:
            raise TypeError(f"{name} must be an integer, got {v!r}")
    v = int(v)
    if lo is not None and v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {hi}, got {v}")
    return v


def check_int_array(x, name: str, *, lo: int | None = None) -> np.ndarray:
    """A float array of integer values (``1e300`` counts), finite, >= ``lo``; bools refused.

    For widths and counts that enter formulas as floats and may be astronomically large.
    """
    if isinstance(x, (bool, np.bool_)) or (isinstance(x, np.ndarray) and x.dtype == bool):
        raise TypeError(f"{name} must be an integer or an array of integers, got {x!r}")
    a = as_float_array(x, name, allow_inf=False)
    if (a != np.round(a)).any():
        raise ValueError(f"{name} must be an integer, got {a[a != np.round(a)].ravel()[0]!r}")
    if lo is not None and (a < lo).any():
        raise ValueError(f"{name} must be >= {lo}, got {a[a < lo].ravel()[0]!r}")
    return a


def check_real(v, name: str, *, lo: float | None = None, hi: float | None = None,
               allow_inf: bool = False) -> float:
    """A real scalar (NaN refused; inf refused unless ``allow_inf``) in [lo, hi]; 0-d arrays count."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {v!r}")
    v = float(v)
    if math.isnan(v) or (not allow_inf and math.isinf(v)):
        raise ValueError(f"{name} must be finite, got {v}")
    if lo is not None and v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {hi}, got {v}")
    return v


def check_choice(v, name: str, choices) -> str:
    """One of ``choices`` (a collection of strings); a non-string is a TypeError naming ``name``."""
    if not isinstance(v, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}; got {type(v).__name__}")
    if v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {v!r}")
    return v


def _int_text(text: str, lo: int, what: str) -> int:
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}") from None
    if v < lo:
        raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
    return v


def nonneg_int_arg(text: str) -> int:
    """A command-line integer >= 0 (an ``argparse`` type: ArgumentTypeError otherwise)."""
    return _int_text(text, 0, "non-negative")


def pos_int_arg(text: str) -> int:
    """A command-line integer >= 1 (an ``argparse`` type: ArgumentTypeError otherwise)."""
    return _int_text(text, 1, "positive")
