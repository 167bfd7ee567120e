"""The one place where numba options are set.

Kernels are private, pure (they fill ``out=`` buffers, no I/O, no random numbers: those
are drawn in numpy and passed in) and compiled lazily on first call with ``cache=True``.
"""

from __future__ import annotations

import numba

#: default options of every gradexp kernel
JIT_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


def kernel(fn=None, **options):
    """``@kernel`` or ``@kernel(parallel=True)``: ``numba.njit`` with gradexp's defaults."""
    opts = {**JIT_OPTIONS, **options}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)
