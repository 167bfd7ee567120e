"""Executors for sweeps, claims and figures: cells, seeds, local process pools, dask.

Every item of work (a sweep cell, a claim, a figure's compute step) is a call
``func(**params, seed=SeedSequence)``; item ``i`` gets ``cell_seed(root_seed, i)`` whatever
worker runs it and whenever, so results do not depend on the executor or the worker count.
:func:`sweep_map` runs a list of items on any executor and reports each result as it
arrives (``on_result``); :func:`gradexp.sweep.run_sweep` adds the resumable result file.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import itertools
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["SerialExecutor", "expand_grid", "cell_seed", "local_executor", "sweep_map", "available_cpus",
           "check_workers"]


# =========================================================================== cells and seeds
def _canon(value, name):
    """A JSON-representable, canonical copy of a parameter value."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_canon(v, name) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    raise TypeError(f"parameter {name!r}: values must be numbers, strings, booleans, None or lists "
                    f"of those (JSON-representable); got {type(value).__name__}")


def _check_names(names):
    for k in names:
        if not isinstance(k, str) or not k.isidentifier():
            raise ValueError(f"parameter names must be Python identifiers; got {k!r}")
        if k == "seed":
            raise ValueError("'seed' cannot be a grid parameter: each cell's seed is derived from root_seed")


def expand_grid(grid) -> list[dict]:
    """The cells of a grid, in canonical order.

    Parameters
    ----------
    grid : dict or sequence of dicts
        A dict maps each parameter to a list of values (a scalar or string is a single value);
        the cells are the Cartesian product in the dict's key order, the last key varying
        fastest (``itertools.product``). A sequence of dicts lists the cells explicitly, in
        that order.

    Returns
    -------
    list of dict
        One dict of canonical (JSON-representable) parameter values per cell.

    Examples
    --------
    >>> expand_grid({"width": [8, 16], "act": "relu", "batch": (4, 8)})  # doctest: +NORMALIZE_WHITESPACE
    [{'width': 8, 'act': 'relu', 'batch': 4}, {'width': 8, 'act': 'relu', 'batch': 8},
     {'width': 16, 'act': 'relu', 'batch': 4}, {'width': 16, 'act': 'relu', 'batch': 8}]
    """
    if isinstance(grid, Mapping):
        _check_names(grid)
        axes = {k: _axis_values(k, v) for k, v in grid.items()}
        cells = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        cells = []
        for i, c in enumerate(grid):
            if not isinstance(c, Mapping):
                raise TypeError(f"grid: cell {i} is a {type(c).__name__}, expected a dict of parameters")
            _check_names(c)
            cells.append({k: _canon(v, k) for k, v in c.items()})
    else:
        raise TypeError("grid must be a dict of parameter lists or a list of parameter dicts")
    if not cells:
        raise ValueError("grid has no cells (an empty list of values?)")
    return cells


def _axis_values(name, values):
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        return [_canon(values, name)]
    return [_canon(v, name) for v in values]


def _grid_axes(grid):
    """The axes {name: values} of a dict grid (None for an explicit list of cells)."""
    if isinstance(grid, Mapping):
        return {k: _axis_values(k, v) for k, v in grid.items()}
    return None


def _check_root_seed(root_seed):
    """A root seed as JSON-representable entropy: an int (checked by the one seed validator,
    :func:`gradexp._random.as_seed_sequence`) or a non-empty list of them; None draws one."""
    from .._random import as_seed_sequence

    if root_seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(root_seed, (list, tuple)):
        if not root_seed:
            raise ValueError("root_seed must be a non-empty list of non-negative ints, got []")
        for s in root_seed:
            if s is None or isinstance(s, (np.random.SeedSequence, np.random.Generator)):
                raise TypeError(f"root_seed must be a non-negative int (or a list of them), got {root_seed!r}")
            as_seed_sequence(s, name="root_seed")
        return [int(s) for s in root_seed]
    if isinstance(root_seed, (np.random.SeedSequence, np.random.Generator)):
        raise TypeError(f"root_seed must be a non-negative int (or a list of them), got {type(root_seed).__name__}")
    as_seed_sequence(root_seed, name="root_seed")  # TypeError / ValueError naming root_seed
    return int(root_seed)


def cell_seed(root_seed, index: int) -> np.random.SeedSequence:
    """The seed of cell ``index``: ``SeedSequence(root_seed, spawn_key=(index,))``.

    Identical to ``SeedSequence(root_seed).spawn(index + 1)[index]`` (SPEC 7: independent
    child streams, never ``root_seed + index``), so it depends on the cell's position in the
    canonical order only, not on which worker runs it or when.

    >>> a = cell_seed(7, 3).generate_state(2)
    >>> b = np.random.SeedSequence(7).spawn(4)[3].generate_state(2)
    >>> bool((a == b).all())
    True
    """
    index = int(index)
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    return np.random.SeedSequence(_check_root_seed(root_seed), spawn_key=(index,))


# =========================================================================== executors
class SerialExecutor(cf.Executor):
    """Runs each task at ``submit`` in the calling process (no pickling; for tests, debugging
    and small sweeps)."""

    def submit(self, fn, /, *args, **kwargs):
        fut = cf.Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:  # KeyboardInterrupt propagates at once
            fut.set_exception(exc)
        return fut


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


_WORKER_BLAS_LIMIT = None


def _init_worker(threads: int, main_pid: int | None = None) -> None:
    """Worker initializer: the worker dies with its parent and with the main process
    (:mod:`gradexp.sweep._lifeline`: no orphans after a ``kill -9``), and uses at most
    ``threads`` BLAS/OpenMP/numba threads (unless the environment already says otherwise), so
    that workers × threads ≤ cores.

    Oversubscription is not a detail: OpenBLAS threads spin while they wait, and on a busy
    machine a BN-chain cell whose matmuls use 2 BLAS threads in each of 2 workers ran 100×
    slower than with 1 (13 s instead of 0.1 s). numba reads ``NUMBA_NUM_THREADS`` when it is
    first imported (after this runs); BLAS is already loaded (numpy is imported before the
    initializer runs), so its pool is resized with :func:`gradexp._threads.blas_threads`.
    """
    from ._lifeline import die_with_parent, start_watchdog

    die_with_parent()
    if main_pid is not None:
        start_watchdog(main_pid)
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(threads))
    from .._threads import blas_threads

    blas = os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS"))
    global _WORKER_BLAS_LIMIT
    # entered once for the worker's lifetime (the worker process ends with the pool)
    _WORKER_BLAS_LIMIT = blas_threads(int(blas) if blas and blas.isdigit() else threads)
    _WORKER_BLAS_LIMIT.__enter__()
    numba = sys.modules.get("numba")
    if numba is not None:  # already imported (fork): lower its thread count at run time
        try:
            numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        except Exception:  # pragma: no cover - numba without a threading layer
            pass


def local_executor(workers: int | None = None, threads_per_worker: int | None = None,
                   preload: tuple[str, ...] = ()) -> cf.ProcessPoolExecutor:
    """A local process pool for sweeps.

    ``workers`` defaults to the number of usable CPUs; ``threads_per_worker`` (BLAS, OpenMP,
    numba) defaults to ``max(1, cpus // workers)``. Workers are started with the
    ``forkserver`` method where available (``spawn`` elsewhere): never ``fork`` from a
    process that may already run threads. ``preload``: further modules the fork server imports
    once, before it forks the workers (the modules every task needs: imported once instead of
    once per worker).
    """
    cpus = available_cpus()
    workers = cpus if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    threads = max(1, cpus // workers) if threads_per_worker is None else int(threads_per_worker)
    if threads < 1:
        raise ValueError(f"threads_per_worker must be >= 1, got {threads}")
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # the fork server imports these once; workers forked from it start in milliseconds
        # (takes effect only if the server is not running yet)
        ctx.set_forkserver_preload(["__main__", "numpy", "gradexp.sweep", "gradexp.sweep._forkserver_preload",
                                    *preload])
    else:  # pragma: no cover - Windows
        ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=_init_worker, initargs=(threads, os.getpid()))


def _is_dask_client(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "distributed" and hasattr(obj, "get_executor")


class _Futures:
    """Submit chunks to a :class:`concurrent.futures.Executor` and wait for them."""

    in_process = False

    def __init__(self, ex, owned: bool, window: int):
        self.ex, self.owned, self.window = ex, owned, window
        self.in_process = isinstance(ex, (SerialExecutor, cf.ThreadPoolExecutor))

    def submit(self, task, batches) -> list:
        return [self.ex.submit(_run_chunk, task, items) for items in batches]

    def wait(self, pending) -> list:
        done, _ = cf.wait(list(pending), timeout=1.0, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, fut):
        return fut.result()

    @staticmethod
    def succeeded(fut) -> bool:
        return fut.done() and not fut.cancelled() and fut.exception() is None

    def cancel(self, futures) -> None:
        for fut in futures:
            fut.cancel()

    def close(self, clean: bool) -> None:
        if self.owned:
            if clean:
                self.ex.shutdown(wait=True)
            else:
                _terminate_pool(self.ex)


class _DaskFutures(_Futures):
    """Submit chunks to a dask.distributed Client natively: ``client.map`` per batch of
    chunks, results collected by ``as_completed(with_results=True)`` (a ``future.result()``
    per task is a round trip through the client's event loop; ``client.get_executor()``
    costs about twice as much per task)."""

    def __init__(self, client, window: int):
        from distributed import as_completed

        self.client, self.owned, self.window = client, False, window
        self.ac = as_completed(with_results=True)
        self.results: dict = {}

    def submit(self, task, batches) -> list:
        futures = self.client.map(functools.partial(_run_chunk, task), batches, pure=False)
        self.ac.update(futures)
        return futures

    def wait(self, pending) -> list:
        done = []
        for fut, res in self.ac.next_batch(block=True):  # raises the first cell error
            self.results[fut] = res
            done.append(fut)
        return done

    def result(self, fut):
        try:
            return self.results.pop(fut)
        except KeyError:
            return fut.result()

    @staticmethod
    def succeeded(fut) -> bool:
        return fut.status == "finished"

    def cancel(self, futures) -> None:
        if futures:
            self.client.cancel(list(futures))

    def close(self, clean: bool) -> None:
        self.ac.clear()


def _resolve_executor(executor, workers, n_tasks) -> _Futures:
    if executor is not None and workers is not None:
        raise ValueError("pass either executor or workers, not both")
    if executor is None and workers is not None:
        executor = int(workers)
    if executor is None:
        executor = "serial" if n_tasks <= 1 else min(available_cpus(), n_tasks)
    if isinstance(executor, str):
        if executor != "serial":
            raise ValueError(f"executor must be 'serial', an int, an Executor or a dask Client; got {executor!r}")
        return _Futures(SerialExecutor(), True, 1)
    if isinstance(executor, (int, np.integer)) and not isinstance(executor, bool):
        return _Futures(local_executor(int(executor)), True, 4 * int(executor))
    if _is_dask_client(executor):
        try:
            nthreads = sum(executor.nthreads().values())
        except Exception:  # pragma: no cover - scheduler unreachable: let submit raise
            nthreads = 8
        return _DaskFutures(executor, max(1024, 16 * nthreads))
    if isinstance(executor, SerialExecutor):
        return _Futures(executor, False, 1)
    if isinstance(executor, cf.Executor):
        return _Futures(executor, False, 4 * max(int(getattr(executor, "_max_workers", 16) or 16), 1))
    raise TypeError(f"executor must be 'serial', an int, a concurrent.futures.Executor or a "
                    f"dask.distributed.Client; got {type(executor).__name__}")


def _terminate_pool(ex) -> None:
    """Stop an owned process pool now, killing cells still running (after Ctrl-C/errors)."""
    if isinstance(ex, cf.ProcessPoolExecutor):
        if hasattr(ex, "terminate_workers"):  # Python >= 3.14
            ex.terminate_workers()
            return
        procs = list((getattr(ex, "_processes", None) or {}).values())
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(timeout=5)
    else:
        ex.shutdown(wait=False, cancel_futures=True)


def _shippable(func, serial: bool):
    """``func`` itself if it pickles by reference; else a by-value (cloudpickle) wrapper."""
    if serial:
        return func
    main = sys.modules.get("__main__")
    interactive = getattr(func, "__module__", None) == "__main__" and not hasattr(main, "__file__")
    if not interactive:
        try:
            pickle.dumps(func)
            return func
        except Exception as exc:
            err = exc
    else:
        err = None
    try:
        import cloudpickle
    except ImportError:
        raise TypeError(f"{_func_id(func)} cannot be sent to worker processes: define the cell function "
                        f"at module level in an importable module (or install cloudpickle)") from err
    return _ByValue(func, cloudpickle.dumps(func))


class _ByValue:
    """A function that travels by value (cloudpickle) to other processes; called in place
    by in-process executors (threads)."""

    def __init__(self, func, payload: bytes):
        self.func, self.payload = func, payload

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    def __reduce__(self):
        import cloudpickle

        return cloudpickle.loads, (self.payload,)


def _func_id(func) -> str:
    if isinstance(func, functools.partial):
        return f"partial({_func_id(func.func)}, *{func.args!r}, **{func.keywords!r})"
    mod, name = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
    if mod and name:
        return f"{mod}:{name}"
    return repr(type(func))


def _run_chunk(func, items):
    """Worker side: run cells ``[(index, params, seed), ...]``; return ``[(index, result), ...]``."""
    out = []
    for i, params, seed in items:
        try:
            out.append((i, func(**params, seed=seed)))
        except Exception as exc:
            exc.add_note(f"in sweep cell {i}: {params}")
            raise
    return out


def _progress_bar(total, initial, progress, desc, leave):
    from tqdm import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, initial=initial, desc=desc, unit="cell", disable=disable, file=sys.stderr,
                dynamic_ncols=True, leave=leave)


def _execute(func, cells, todo, root_seed, executor, workers, chunksize, progress, desc, on_results, leave=True):
    """Run cells ``todo`` (indices); call ``on_results([(i, result), ...])`` as chunks finish
    (in the calling thread). On any exception or interrupt: cancel what is pending, keep
    the results of chunks already finished, re-raise."""
    chunksize = int(chunksize)
    if chunksize < 1:
        raise ValueError(f"chunksize must be >= 1, got {chunksize}")
    chunks = [todo[k:k + chunksize] for k in range(0, len(todo), chunksize)]
    backend = _resolve_executor(executor, workers, len(chunks))
    try:
        task = _shippable(func, backend.in_process)
    except BaseException:
        backend.close(clean=False)
        raise
    bar = _progress_bar(len(cells), len(cells) - len(todo), progress, desc, leave)
    pending: dict = {}  # future -> chunk (cell indices)
    it = iter(chunks)

    def harvest(futures):
        for fut in sorted(futures, key=lambda f: pending[f][0]):
            chunk = pending.pop(fut)
            on_results(backend.result(fut))
            bar.update(len(chunk))

    clean = False
    try:
        while True:
            # refill when half the window is free: fewer, larger submissions
            free = backend.window - len(pending)
            new = list(itertools.islice(it, free)) if free >= max(1, backend.window // 2) else []
            if new:
                batches = [[(i, cells[i], cell_seed(root_seed, i)) for i in chunk] for chunk in new]
                pending.update(zip(backend.submit(task, batches), new))
            if not pending:
                break
            harvest(backend.wait(pending))
        clean = True
    finally:
        if not clean:
            backend.cancel(list(pending))
            # keep what finished meanwhile (successful chunks only)
            for fut in [f for f in pending if backend.succeeded(f)]:
                with contextlib.suppress(Exception):
                    harvest([fut])
        backend.close(clean)
        bar.close()


def sweep_map(func: Callable, cells, root_seed, executor=None, *, workers: int | None = None,
              progress: bool | None = None, chunksize: int = 1, on_result=None, desc: str | None = None,
              leave: bool = False) -> list:
    """``[func(**cell, seed=cell_seed(root_seed, i)) for i, cell in enumerate(cells)]`` on an executor.

    The in-memory sibling of :func:`gradexp.sweep.run_sweep`, used by ``gradexp verify``
    (one item per claim) and ``gradexp figures`` (one item per figure's compute step): same
    cells, seeds, executors and progress bar, no file; results are returned as they are (any
    picklable object), in cell order. ``on_result(i, result)`` is called in the calling
    thread as each item finishes (in completion order), so callers can stream. ``executor``:
    ``"serial"``, an int (local pool), a :class:`concurrent.futures.Executor` or a dask
    ``Client``; None with ``workers`` None is a local pool of ``min(cpus, items)`` processes
    (serial for a single item).
    """
    cells = expand_grid(cells)
    root_seed = _check_root_seed(root_seed)
    out: list = [None] * len(cells)

    def on_results(res):
        for i, r in res:
            out[i] = r
            if on_result is not None:
                on_result(i, r)

    _execute(func, cells, list(range(len(cells))), root_seed, executor, workers, chunksize, progress,
             desc or _func_id(func).split(":")[-1], on_results, leave=leave)
    return out


def check_workers(workers) -> int | None:
    """``workers`` as a positive int (or None); ValueError naming ``workers`` otherwise."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers must be a positive int, got {workers!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return int(workers)
