"""The one place where numba options are set.

Kernels are private and pure: they fill ``out=`` buffers, do no I/O and keep no hidden
state. Random numbers are drawn in compiled code too, but only from counter-based Philox
streams whose key and counters are passed in explicitly (:mod:`gradexp.mc._philox`), so a
kernel's output depends on its arguments alone, whatever the thread count. Kernels are
compiled lazily on first call with ``cache=True``.
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
