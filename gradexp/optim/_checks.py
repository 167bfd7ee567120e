"""Argument checks that :mod:`gradexp._validate` does not (yet) provide.

Used by :mod:`gradexp.optim` and :mod:`gradexp.theory.elr`; candidates to move to
``gradexp/_validate.py`` (owned elsewhere). Every check raises ``ValueError`` or ``TypeError``
naming the argument, before any computation starts.

The memory check refuses arrays that cannot fit before allocating them: the estimate is
``steps × layers × configurations`` float64 numbers times the number of arrays a routine
keeps; past the memory available (``MemAvailable`` of /proc/meminfo) one ValueError names
the arguments and the estimate (:mod:`gradexp._memory`, shared with the simulators).
"""

from __future__ import annotations

import numpy as np

from .._memory import available_memory, human_bytes
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

def check_trajectory_memory(what: str, *, steps: int, layers: int, configs: int = 1,
                            arrays: float = 1.0) -> float:
    """Raise ValueError when ``arrays`` float64 arrays of ``(steps + 1) × layers × configs``
    numbers exceed the available memory; return the estimate in bytes.

    ``what`` names the call and its arguments (``"simulate(steps=1000000000, ...)"``).
    """
    nbytes = 8.0 * arrays * (float(steps) + 1.0) * float(layers) * float(configs)
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ValueError(
            f"{what} needs about {human_bytes(nbytes)} for its arrays ({steps} steps × {layers} layers"
            f" × {configs} configurations × {arrays:g} arrays of float64), more than the "
            f"{human_bytes(avail)} available (MemAvailable): lower steps or the number of layers")
    return nbytes

