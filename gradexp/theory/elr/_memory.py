"""Refuse trajectories that cannot fit in memory, before allocating them.

The estimate is ``steps × layers × configurations`` float64 numbers times the number of
arrays a routine keeps; past the memory available (``MemAvailable`` of /proc/meminfo) one
ValueError names the arguments and the estimate. (``gradexp/mc/_memory.py`` does the same
for the simulators; it sits above ``theory/``, so this layer keeps its own copy until both
move to one home below them.)
"""

from __future__ import annotations

import os

__all__ = ["available_memory", "check_trajectory_memory"]


def available_memory() -> int | None:
    """Bytes of memory available to this process (``MemAvailable``), or None if unknown."""
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


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


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
            f"{what} needs about {_human(nbytes)} for its arrays ({steps} steps × {layers} layers"
            f" × {configs} configurations × {arrays:g} arrays of float64), more than the "
            f"{_human(avail)} available (MemAvailable): lower steps or the number of layers")
    return nbytes

