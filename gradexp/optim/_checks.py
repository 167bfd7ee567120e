"""The trajectory memory check of :mod:`gradexp.optim` and :mod:`gradexp.theory.elr`.

The generic validators that lived here (``check_nonnegative``, ``check_bool``,
``check_optional_positive``, ``check_clamp``) are in :mod:`gradexp._validate`; ``check_nonnegative``
is re-exported until :mod:`gradexp.theory.elr` imports it from there.

The memory check refuses arrays that cannot fit before allocating them: the estimate is
``steps × layers × configurations`` float64 numbers times the number of arrays a routine
keeps; past the memory available (``MemAvailable`` of /proc/meminfo) one ValueError names
the arguments and the estimate (:mod:`gradexp._memory`, shared with the simulators).
"""

from __future__ import annotations

from .._memory import available_memory, human_bytes
from .._validate import check_nonnegative

__all__ = ["check_nonnegative", "check_trajectory_memory"]


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

