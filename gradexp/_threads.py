"""One way to set the number of BLAS threads: :func:`blas_threads`, on threadpoolctl.

Monte-Carlo engines that run one chain per thread want single-threaded BLAS inside each
chain; sweep workers want ``cpus // workers`` threads each. Both use this context manager.

threadpoolctl finds the BLAS libraries by scanning the shared objects loaded in the process
(about 0.3 ms per call on a busy machine); :func:`blas_threads` keeps one
:class:`threadpoolctl.ThreadpoolController` and rescans only when a module was imported
since the last scan (a newly loaded BLAS comes with an import: numba's ``np.dot`` loads
scipy's OpenBLAS through ``scipy.linalg.cython_blas``), so small Monte-Carlo chains can enter
it once per chain (``benchmarks/bench_chain.py`` measures the cost).
"""

from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np

__all__ = ["blas_threads"]

_lock = threading.Lock()
_cache: dict = {"n_modules": -1, "controller": None}


def _controller():
    """The cached ThreadpoolController, rebuilt when ``sys.modules`` has grown."""
    n_modules = len(sys.modules)
    with _lock:
        if _cache["controller"] is None or _cache["n_modules"] != n_modules:
            from threadpoolctl import ThreadpoolController

            _cache["controller"] = ThreadpoolController()
            _cache["n_modules"] = len(sys.modules)  # the import above may have added modules
        return _cache["controller"]


def _blas_libraries():
    """threadpoolctl's controllers of the BLAS libraries loaded in this process (cached)."""
    return [lib for lib in _controller().lib_controllers if lib.user_api == "blas"]


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Limit the BLAS libraries loaded in this process to ``n`` threads inside the block.

    ``None`` leaves them as they are. The previous limits are restored on exit. Not meant
    to be entered concurrently from several threads with different ``n`` (the limit is
    process-wide). Uses threadpoolctl's per-library controllers (``get/set_num_threads`` of
    each BLAS), found once and cached.
    """
    if n is None:
        yield
        return
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be None or an integer >= 1, got {n!r}")
    libs = _blas_libraries()
    old = [lib.num_threads for lib in libs]
    for lib, k in zip(libs, old):
        if k != n:
            lib.set_num_threads(int(n))
    try:
        yield
    finally:
        for lib, k in zip(libs, old):
            if k != n:
                lib.set_num_threads(k)
