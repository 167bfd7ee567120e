"""Refuse impossible sizes before allocating: estimate the bytes, compare with the memory."""

from __future__ import annotations

import os

__all__ = ["available_memory", "check_memory"]


def available_memory() -> int | None:
    """Bytes of memory available to this process (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
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


def check_memory(nbytes: float, what: str) -> None:
    """Raise ValueError if ``nbytes`` exceed the available memory; ``what`` names the arguments
    (for example ``"depth=10, width=100000, batch=64, reps=8"``)."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ValueError(f"{what} needs about {int(nbytes)} bytes ({_human(nbytes)}) of buffers, "
                         f"more than the {avail} bytes ({_human(avail)}) available: reduce them")
