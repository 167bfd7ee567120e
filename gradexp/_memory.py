"""Refuse impossible sizes before allocating: the memory available to this process, and one
ValueError naming the arguments and the estimate when a computation would not fit.

The one home of the memory check: the simulators (:mod:`gradexp.mc._memory`), the ELR model and
the schedules (:mod:`gradexp.optim`, :mod:`gradexp.theory.elr`) estimate their bytes from their
arguments and call :func:`check_memory` before they allocate anything.
"""

from __future__ import annotations

import math
import os

__all__ = ["available_memory", "check_memory", "check_trajectory_memory", "human_bytes"]


def available_memory() -> int | None:
    """Bytes of memory available to this process: ``MemAvailable`` of ``/proc/meminfo``, else
    the physical memory (``os.sysconf``), else None (unknown: nothing is refused)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def human_bytes(n: float) -> str:
    """``4.1 TB``-style size (decimal units); sizes beyond the double range print as ``inf PB``.

    >>> human_bytes(4.1e12), human_bytes(10**400)
    ('4.1 TB', 'inf PB')
    """
    n = float(n) if n < 1e308 else math.inf
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def check_memory(nbytes: float, what: str) -> None:
    """Raise ValueError if ``nbytes`` exceed the available memory; ``what`` names the arguments
    (for example ``"depth=10, width=100000, batch=64, reps=8"``).

    >>> check_memory(1e30, "depth=10**20")
    Traceback (most recent call last):
    ...
    ValueError: depth=10**20 need ~1e+15 PB (1000000000000000019884624838656 bytes); ... available: reduce them
    """
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ValueError(f"{what} need ~{human_bytes(nbytes)} ({int(nbytes)} bytes); {human_bytes(avail)} "
                         "available: reduce them")


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
