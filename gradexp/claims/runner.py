"""Run the ledger in parallel, streaming each result as it completes.

Each claim is one item on the sweep executor (:func:`gradexp.sweep.executors.sweep_map`):
local worker processes by default, a dask cluster if a ``Client`` is passed, in this process
with ``workers=1`` or ``executor="serial"``. A check does not depend on where or when it
runs (its randomness comes from its own fixed seeds, never from the order of execution), so
verdicts and evidence are identical whatever the number of workers. Expensive experiments
inside checks go through :func:`gradexp.sweep.cache.cached_call`; the store's setting of the
calling process is sent with every task, so workers read and write the same store.

``Result.seconds`` is measured inside the worker around the check alone: it excludes time
spent waiting in the queue and includes reading cached experiments instead of computing
them (a warm rerun shows how long the check takes with its experiments stored).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ._ledger import Claim, Result, run_claim

__all__ = ["run_claims"]


def _preload() -> tuple[str, ...]:
    """Modules the fork server of a local pool imports once: the claims modules (every worker
    imports them all) and the heavy libraries most checks use."""
    from . import PAPER_MODULES, _own_modules

    return (*(f"{__package__}.{m}" for m in (*PAPER_MODULES, *_own_modules())), "mpmath", "scipy.stats",
            "scipy.integrate", "sympy")


def _claim_task(claim_id: str, fast: bool, cache_enabled: bool, cache_dir: str, seed=None):
    """Worker side: run one claim; return plain data (the parent rebuilds the Result)."""
    from ..sweep import cache
    from . import all_claims

    claim = {c.id: c for c in all_claims()}[claim_id]
    with cache.using(enabled=cache_enabled, directory=cache_dir):
        r = run_claim(claim, fast)
    return r.status, r.evidence, r.note, r.seconds, r.hypotheses


def run_claims(claims: Iterable[Claim], fast: bool = True, *, executor=None, workers: int | None = None,
               on_result: Callable[[Result], None] | None = None, progress: bool | None = None) -> list[Result]:
    """Run ``claims``; return their results in the order given.

    Parameters
    ----------
    claims : iterable of Claim
    fast : bool
        Passed to every check.
    executor, workers :
        Where checks run (see :func:`gradexp.sweep.executors.sweep_map`). ``workers=1`` (or
        ``executor="serial"``) runs them in this process, one after another; the default is a
        local pool of ``min(cpus, len(claims))`` processes.
    on_result : callable, optional
        Called with each :class:`Result` as soon as its check finishes (completion order),
        in the calling thread; an exception it raises stops the run (pending checks are
        cancelled).
    progress : bool or None
        tqdm bar on stderr; None shows it only on a terminal.
    """
    from ..sweep import cache
    from ..sweep.executors import available_cpus, check_workers, sweep_map

    claims = list(claims)
    workers = check_workers(workers)
    if not claims:
        return []
    if executor is None:
        n = min(available_cpus(), len(claims)) if workers is None else min(workers, len(claims))
        executor = "serial" if n <= 1 else n
    elif workers is not None:
        raise ValueError("pass either executor or workers, not both")
    if executor == "serial":
        def task(claim_index, seed=None):  # in process: the registry as it is here (tests patch it)
            r = run_claim(claims[claim_index], fast)
            return r.status, r.evidence, r.note, r.seconds, r.hypotheses
        cells = [{"claim_index": i} for i in range(len(claims))]
    else:
        import functools

        st = cache.settings()
        task = functools.partial(_claim_task, fast=fast, cache_enabled=st["enabled"], cache_dir=st["directory"])
        cells = [{"claim_id": c.id} for c in claims]
    pool = None
    if isinstance(executor, int) and not isinstance(executor, bool):
        from ..sweep.executors import local_executor

        # the fork server imports the ledger and its heavy dependencies once; the workers forked
        # from it start with them instead of importing them each
        executor = pool = local_executor(executor, preload=_preload())
    results: list[Result | None] = [None] * len(claims)

    def collect(i, payload):
        status, evidence, note, seconds, hypotheses = payload
        results[i] = Result(claims[i], status, evidence, note, seconds, hypotheses)
        if on_result is not None:
            on_result(results[i])

    if pool is None:
        sweep_map(task, cells, 0, executor, progress=progress, on_result=collect, desc="verify", leave=False)
        return results  # type: ignore[return-value]
    from ..sweep.executors import _terminate_pool

    try:
        sweep_map(task, cells, 0, pool, progress=progress, on_result=collect, desc="verify", leave=False)
    except BaseException:
        _terminate_pool(pool)
        raise
    pool.shutdown(wait=True)
    return results  # type: ignore[return-value]
