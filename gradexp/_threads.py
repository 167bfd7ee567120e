"""One way to set the number of BLAS threads: :func:`blas_threads`, on threadpoolctl.

Monte-Carlo engines that run one chain per thread want single-threaded BLAS inside each
chain; sweep workers want ``cpus // workers`` threads each. Both use this context manager.
"""

from __future__ import annotations

import contextlib

__all__ = ["blas_threads"]


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Limit the BLAS libraries loaded in this process to ``n`` threads inside the block.

    ``None`` leaves them as they are. The previous limits are restored on exit.
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n), user_api="blas"):
        yield
