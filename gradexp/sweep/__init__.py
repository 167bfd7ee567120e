r"""Parameter sweeps at scale: any executor, per-cell seeds, resumable atomic result files.

A *sweep* runs one cell function over a grid of parameters::

    from gradexp.sweep import run_sweep

    res = run_sweep(cell, {"width": [16, 64, 256], "batch": [8, 32]}, root_seed=1,
                    path="sweeps/rate.npz")          # local processes, resumable
    res["rate"]                                       # shape (6,), cell order
    res.as_grid("rate")                               # shape (3, 2): width × batch

The cell function is called as ``func(**params, seed=seed)`` where ``seed`` is the cell's
:class:`numpy.random.SeedSequence` (pass it to ``numpy.random.default_rng``); it returns a
number, an array, a mapping of names to numbers/arrays, or a dataclass of those (nested
mappings/dataclasses are flattened to dotted names, ``None`` fields are dropped). It must be
picklable to run in other processes: define it at module level (a function defined in a
notebook or an interactive session is shipped by value when ``cloudpickle`` is installed).

Reproducibility
    Cell ``i`` (in the canonical order of :func:`expand_grid`) gets the seed
    ``SeedSequence(root_seed, spawn_key=(i,))``, which is exactly
    ``SeedSequence(root_seed).spawn(n)[i]``: independent streams, never ``seed + i``. A
    cell's result therefore depends only on (function, parameters, root seed, index), not on
    the executor, the order of completion, the chunk size or the number of workers: the
    same root seed gives bitwise-identical results serially, on a process pool and on a
    dask cluster.

Executors
    ``executor=None`` uses :func:`default_executor` if one is set (see
    :func:`use_executor`), else a local :class:`~concurrent.futures.ProcessPoolExecutor`
    (``workers`` processes, forkserver start method where available) created and shut down
    by the call. ``"serial"`` runs in this process; an ``int`` is a local pool of that many
    workers; any :class:`concurrent.futures.Executor` is used as is (and not shut down); a
    ``dask.distributed.Client`` is used through ``client.get_executor(pure=False)``. Local
    workers get ``max(1, cpus // workers)`` BLAS/OpenMP/numba threads each (see
    :func:`local_executor`); dask workers get the thread settings of their cluster (dask's
    nanny sets the BLAS/OpenMP variables to 1 by default; set ``NUMBA_NUM_THREADS`` in the
    workers' environment as well).

Result files
    With ``path``, results go to one ``.npz`` per sweep (loadable with ``numpy.load``,
    ``allow_pickle=False``): ``done`` (bool mask over cells), ``result.<name>`` (one array
    per output, first axis = cells; unfinished cells hold NaN/0), ``param.<name>`` (one
    column per scalar parameter) and ``meta`` (JSON: format, gradexp version, function, root
    seed, the cells, the grid axes, timestamps). Every write goes to a temporary file in the
    same directory, is flushed and fsynced, then moved over the old file with
    :func:`os.replace`, so the file on disk is always either the previous or the new
    complete version. Writes happen at the start, at most every ``checkpoint_interval``
    seconds while cells finish, and at the end (also on Ctrl-C or an error). A sweep that
    stops for any reason (Ctrl-C, a crashed cell, a killed worker, a killed process)
    resumes from the file: finished cells are not recomputed. At most the cells finished
    within the last ``checkpoint_interval`` seconds before a SIGKILL are lost. An advisory
    lock (``<path>.lock``, released by the OS when the process dies) stops two processes
    from running the same sweep file at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import contextvars
import dataclasses
import datetime as _dt
import functools
import itertools
import json
import math
import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SweepResult", "SerialExecutor", "expand_grid", "cell_seed", "run_sweep", "sweep_map",
    "load_sweep", "local_executor", "use_executor", "default_executor", "GRIDS", "SweepGrid",
    "chain_rate_cell", "add_sweep_parser",
]

FORMAT = "gradexp-sweep/1"


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
    if root_seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(root_seed, np.integer):
        root_seed = int(root_seed)
    if isinstance(root_seed, bool) or not isinstance(root_seed, (int, list, tuple)):
        raise TypeError(f"root_seed must be a non-negative int (or a list of them), got {root_seed!r}")
    if isinstance(root_seed, int):
        if root_seed < 0:
            raise ValueError(f"root_seed must be >= 0, got {root_seed}")
        return root_seed
    out = [int(s) for s in root_seed]
    if not out or any(s < 0 for s in out) or any(isinstance(s, bool) for s in root_seed):
        raise ValueError(f"root_seed must be a non-empty list of non-negative ints, got {root_seed!r}")
    return out


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


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _init_worker(threads: int) -> None:
    """Worker initializer: at most ``threads`` BLAS/OpenMP/numba threads per worker process
    (unless the environment already says otherwise), so that workers × threads ≤ cores.

    Oversubscription is not a detail: OpenBLAS threads spin while they wait, and on a busy
    machine a BN-chain cell whose matmuls use 2 BLAS threads in each of 2 workers ran 100×
    slower than with 1 (13 s instead of 0.1 s). numba reads ``NUMBA_NUM_THREADS`` when it is
    first imported (after this runs); BLAS is already loaded (numpy is imported before the
    initializer runs), so its pool is resized with ``threadpoolctl`` when that is installed.
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(threads))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        pass
    else:
        blas = os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS"))
        threadpool_limits(limits=int(blas) if blas and blas.isdigit() else threads)
    numba = sys.modules.get("numba")
    if numba is not None:  # already imported (fork): lower its thread count at run time
        try:
            numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        except Exception:  # pragma: no cover - numba without a threading layer
            pass


def local_executor(workers: int | None = None, threads_per_worker: int | None = None) -> cf.ProcessPoolExecutor:
    """A local process pool for sweeps.

    ``workers`` defaults to the number of usable CPUs; ``threads_per_worker`` (BLAS, OpenMP,
    numba) defaults to ``max(1, cpus // workers)``. Workers are started with the
    ``forkserver`` method where available (``spawn`` elsewhere): never ``fork`` from a
    process that may already run threads.
    """
    cpus = _available_cpus()
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
        ctx.set_forkserver_preload(["__main__", "numpy", "gradexp.sweep"])
    else:  # pragma: no cover - Windows
        ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=_init_worker, initargs=(threads,))


_DEFAULT_EXECUTOR: contextvars.ContextVar = contextvars.ContextVar("gradexp_sweep_executor", default=None)


@contextlib.contextmanager
def use_executor(executor):
    """Within the ``with`` block, sweeps called without ``executor`` or ``workers`` use ``executor``.

    Lets a caller choose where every sweep inside a larger computation runs (for example all
    Monte-Carlo panels of ``gradexp figures``) without threading an argument through::

        with local_executor(4) as pool, use_executor(pool):
            render_figures(...)

    ``executor`` takes the same values as in :func:`run_sweep` (``"serial"``, an int, an
    Executor, a dask Client); None restores the default (a local pool per sweep). The
    setting is a :class:`contextvars.ContextVar`: per thread and per asyncio task.
    """
    token = _DEFAULT_EXECUTOR.set(executor)
    try:
        yield executor
    finally:
        _DEFAULT_EXECUTOR.reset(token)


def default_executor():
    """The executor set by the innermost :func:`use_executor` block, or None."""
    return _DEFAULT_EXECUTOR.get()


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
        executor = default_executor()
    if executor is None:
        executor = "serial" if n_tasks <= 1 else min(_available_cpus(), n_tasks)
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


# =========================================================================== outputs
def _flatten(result, prefix=""):
    """Cell result -> {name: ndarray}."""
    if result is None:
        return {}
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    if isinstance(result, Mapping):
        out = {}
        for k, v in result.items():
            if not isinstance(k, str) or not k or "/" in k:
                raise TypeError(f"cell outputs must be named by non-empty strings without '/', got {k!r}")
            if v is None:
                continue
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    arr = np.asarray(result)
    if arr.dtype.kind not in "biufcU":
        raise TypeError(f"cell output {prefix[:-1] or 'value'!r}: expected numbers, strings or numeric arrays "
                        f"(or a dict/dataclass of those), got {type(result).__name__}")
    return {prefix[:-1] or "value": arr}


def _fill_value(dtype):
    return {"f": np.nan, "c": np.nan, "U": ""}.get(dtype.kind, 0)


# =========================================================================== results
@dataclasses.dataclass
class SweepResult:
    """Results of a sweep, in canonical cell order.

    Attributes
    ----------
    cells : list of dict
        Parameters of each cell.
    done : ndarray of bool
        Which cells have finished.
    outputs : dict of str -> ndarray
        One array per output, first axis = cells (NaN/0 where not done).
    root_seed : int or list of int
    axes : dict or None
        ``{name: values}`` when the grid was a dict (then ``as_grid`` reshapes outputs).
    meta : dict
        Everything stored in the file's ``meta`` (format, gradexp version, function, ...).
    path : Path or None
    """

    cells: list
    done: np.ndarray
    outputs: dict
    root_seed: Any
    axes: dict | None
    meta: dict
    path: Path | None = None

    def __getitem__(self, name) -> np.ndarray:
        try:
            return self.outputs[name]
        except KeyError:
            raise KeyError(f"no output {name!r}; outputs are {sorted(self.outputs)}") from None

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    @property
    def n_done(self) -> int:
        return int(self.done.sum())

    def param(self, name) -> np.ndarray:
        """The values of parameter ``name`` over the cells."""
        return np.asarray([c.get(name) for c in self.cells])

    @property
    def grid_shape(self) -> tuple | None:
        return None if self.axes is None else tuple(len(v) for v in self.axes.values())

    def as_grid(self, name) -> np.ndarray:
        """Output ``name`` reshaped to the grid: shape ``(len(axis_1), ..., len(axis_k), *value_shape)``."""
        if self.axes is None:
            raise ValueError("as_grid needs a sweep over a dict grid (this one is a list of cells)")
        a = self[name]
        return a.reshape(self.grid_shape + a.shape[1:])

    def seed(self, index) -> np.random.SeedSequence:
        """The seed of cell ``index`` (rerun one cell with ``func(**cells[i], seed=res.seed(i))``)."""
        return cell_seed(self.root_seed, index)


class _Store:
    """In-memory results of a sweep and their atomic serialisation."""

    def __init__(self, cells, axes, root_seed, func_id, path):
        self.cells, self.axes, self.root_seed, self.func_id = cells, axes, root_seed, func_id
        self.path = None if path is None else Path(path)
        self.done = np.zeros(len(cells), dtype=bool)
        self.outputs: dict[str, np.ndarray] = {}
        now = _now()
        from .. import __version__

        self.meta = {"format": FORMAT, "gradexp_version": __version__, "numpy_version": np.__version__,
                     "func": func_id, "root_seed": root_seed, "n_cells": len(cells), "axes": axes,
                     "cells": cells, "created": now, "updated": now}
        self.dirty = False
        self.last_write = -math.inf

    # -- results
    def add(self, index, result):
        flat = _flatten(result)
        if self.outputs and set(flat) != set(self.outputs):
            raise ValueError(f"cell {index} returned outputs {sorted(flat)}, earlier cells {sorted(self.outputs)}")
        for k, v in flat.items():
            arr = self.outputs.get(k)
            if arr is None:
                arr = np.full((len(self.cells),) + v.shape, _fill_value(v.dtype), dtype=v.dtype)
            elif arr.shape[1:] != v.shape:
                raise ValueError(f"cell {index}: output {k!r} has shape {v.shape}, earlier cells {arr.shape[1:]}")
            else:
                dt = np.result_type(arr.dtype, v.dtype)
                if dt != arr.dtype:
                    new = arr.astype(dt)
                    new[~self.done] = _fill_value(dt)
                    arr = new
            arr[index] = v
            self.outputs[k] = arr
        self.done[index] = True
        self.dirty = True

    def result(self) -> SweepResult:
        return SweepResult(cells=self.cells, done=self.done.copy(), outputs={k: v.copy() for k, v in self.outputs.items()},
                           root_seed=self.root_seed, axes=self.axes, meta=dict(self.meta), path=self.path)

    # -- files
    def arrays(self) -> dict:
        self.meta["updated"] = _now()
        self.meta["outputs"] = sorted(self.outputs)
        data = {"meta": np.asarray(json.dumps(self.meta)), "done": self.done}
        for k, v in self.outputs.items():
            data[f"result.{k}"] = v
        names = dict.fromkeys(k for c in self.cells for k in c)
        for k in names:
            vals = [c.get(k, None) for c in self.cells]
            if any(v is None or isinstance(v, list) for v in vals):
                continue
            col = np.asarray(vals)
            if col.dtype.kind in "biufU":
                data[f"param.{k}"] = col
        return data

    def write(self):
        _atomic_savez(self.path, self.arrays())
        self.dirty = False
        self.last_write = time.monotonic()

    @classmethod
    def read(cls, path) -> _Store:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                done = z["done"].astype(bool)
                outputs = {k[len("result."):]: z[k] for k in z.files if k.startswith("result.")}
        except Exception as exc:
            raise ValueError(f"{path} is not a readable gradexp sweep file ({exc})") from exc
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown sweep file format {meta.get('format')!r} (expected {FORMAT})")
        st = cls(meta["cells"], meta["axes"], meta["root_seed"], meta["func"], path)
        st.meta.update({k: meta[k] for k in ("gradexp_version", "numpy_version", "created", "updated")})
        st.done, st.outputs = done, outputs
        return st


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _atomic_savez(path: Path, arrays: dict) -> None:
    """Write ``arrays`` to ``path`` as .npz atomically: temporary file in the same directory,
    flush + fsync, ``os.replace``, fsync of the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _lock(path: Path):
    """Advisory exclusive lock on ``<path>.lock`` (POSIX flock; released by the OS if we die).

    The lock file is removed on exit; a process that locked a file just unlinked by the
    previous holder notices (different inode) and tries again."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"{path} is being written by another running sweep (lock {lock_path})") from None
        try:
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        # temporary files left by a killed writer of this sweep
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(fd)


def load_sweep(path) -> SweepResult:
    """Read a sweep file written by :func:`run_sweep` (complete or not)."""
    return _Store.read(path).result()


# =========================================================================== public drivers
def run_sweep(func: Callable, grid, *, root_seed, executor=None, workers: int | None = None, path=None,
              resume: bool = True, progress: bool | None = None, chunksize: int = 1,
              checkpoint_interval: float = 1.0) -> SweepResult:
    """Run ``func`` on every cell of ``grid``, in parallel, resumably.

    Parameters
    ----------
    func : callable
        ``func(**params, seed=SeedSequence) -> number | array | dict | dataclass``; module
        level (picklable) unless ``executor="serial"``.
    grid : dict of lists or list of dicts
        See :func:`expand_grid` (canonical cell order).
    root_seed : int, list of int or None
        Cell i gets ``SeedSequence(root_seed, spawn_key=(i,))`` (:func:`cell_seed`). None draws
        fresh entropy, which is recorded in the result (and the file).
    executor : None, "serial", int, concurrent.futures.Executor or dask.distributed.Client
        Where cells run (see the module docstring). Executors passed in are not shut down.
    workers : int, optional
        Run on a local pool of this many processes (instead of ``executor``; also overrides
        :func:`use_executor`). Default: usable CPUs, capped at the number of tasks.
    path : str or Path, optional
        Result file (.npz). Without it nothing is written.
    resume : bool
        If ``path`` exists: True continues it (it must be the same function, cells and root
        seed, written by the same gradexp version, else ValueError); False starts over.
    progress : bool or None
        tqdm progress bar on stderr; None shows it only when stderr is a terminal.
    chunksize : int
        Cells per task (larger chunks amortise per-task overhead for very cheap cells;
        results do not depend on it).
    checkpoint_interval : float
        Minimum seconds between writes of ``path`` while cells finish (0: after every chunk).

    Returns
    -------
    SweepResult
        Complete results (the function raises if the sweep does not finish).

    Raises
    ------
    KeyboardInterrupt, BrokenProcessPool, or the first exception raised by a cell (with a
    note naming the cell), after the finished cells have been saved to ``path``.
    """
    cells = expand_grid(grid)
    axes = _grid_axes(grid)
    root_seed = _check_root_seed(root_seed)
    if checkpoint_interval < 0 or not np.isfinite(checkpoint_interval):
        raise ValueError(f"checkpoint_interval must be finite and >= 0, got {checkpoint_interval}")
    store = _Store(cells, axes, root_seed, _func_id(func), path)
    if path is None:
        _execute(func, cells, list(range(len(cells))), root_seed, executor, workers, chunksize, progress,
                 _func_id(func).split(":")[-1], lambda res: [store.add(i, r) for i, r in res])
        return store.result()

    path = Path(path)
    with _lock(path):
        if resume and path.exists():
            old = _Store.read(path)
            _check_same(old, store, path)
            store = old
        store.write()
        todo = [int(i) for i in np.flatnonzero(~store.done)]
        if not todo:
            return store.result()

        def on_results(res):
            for i, r in res:
                store.add(i, r)
            if time.monotonic() - store.last_write >= checkpoint_interval:
                store.write()

        try:
            _execute(func, cells, todo, root_seed, executor, workers, chunksize, progress, path.name, on_results)
        except BaseException as exc:
            store.write()
            exc.add_note(f"sweep interrupted: {store.done.sum()}/{len(cells)} cells saved in {path}; "
                         f"run it again with the same arguments to resume")
            raise
        store.write()
        return store.result()


def _check_same(old: _Store, new: _Store, path):
    def differs(what, a, b):
        raise ValueError(f"{path} holds a different sweep ({what}: file has {a!r}, this call {b!r}); "
                         f"start over with resume=False (gradexp sweep --fresh) or use another path")

    if old.meta["gradexp_version"] != new.meta["gradexp_version"]:
        differs("gradexp version", old.meta["gradexp_version"], new.meta["gradexp_version"])
    if old.func_id != new.func_id:
        differs("function", old.func_id, new.func_id)
    if old.root_seed != new.root_seed:
        differs("root seed", old.root_seed, new.root_seed)
    if len(old.cells) != len(new.cells):
        differs("number of cells", len(old.cells), len(new.cells))
    for i, (a, b) in enumerate(zip(old.cells, new.cells)):
        if json.dumps(a) != json.dumps(b):
            differs(f"cell {i}", a, b)
    old.axes = new.axes if old.axes is None else old.axes


def sweep_map(func: Callable, cells, root_seed, executor=None, *, workers: int | None = None,
              progress: bool | None = None, chunksize: int = 1) -> list:
    """``[func(**cell, seed=cell_seed(root_seed, i)) for i, cell in enumerate(cells)]`` on an executor.

    The in-memory sibling of :func:`run_sweep` for figure and claim code: same cells, seeds,
    executors and progress bar, no file; results are returned as they are (any picklable
    object), in cell order. ``executor=None`` uses :func:`default_executor` if set, else a
    local process pool (serial for a single cell).
    """
    cells = expand_grid(cells)
    root_seed = _check_root_seed(root_seed)
    out: list = [None] * len(cells)

    def on_results(res):
        for i, r in res:
            out[i] = r

    _execute(func, cells, list(range(len(cells))), root_seed, executor, workers, chunksize, progress,
             _func_id(func).split(":")[-1], on_results, leave=False)  # nested in figure/claim bars
    return out


# =========================================================================== common grids
@dataclasses.dataclass(frozen=True)
class SweepGrid:
    """A named sweep for ``gradexp sweep``: a cell function and its grid (full and fast)."""

    name: str
    description: str
    func: Callable
    grid: dict
    fast_grid: dict


def chain_rate_cell(*, seed, **params) -> dict:
    """Sweep cell: the per-layer gradient growth rate of a BN chain.

    Calls :func:`gradexp.mc.chain.simulate_chain` with the cell's parameters and returns
    ``{"rate": ..., "rate_stderr": ...}``.
    """
    from ..mc.chain import simulate_chain

    r = simulate_chain(**params, seed=seed)
    return {"rate": float(r.rate), "rate_stderr": float(r.rate_stderr)}


GRIDS: dict[str, SweepGrid] = {}


def _register(name, description, func, grid, fast_grid):
    GRIDS[name] = SweepGrid(name, description, func, grid, fast_grid)


# Paik & Choi's setting: ReLU after BatchNorm, He init, i.i.d. Gaussian upstream gradient;
# ``rate`` is the geometric-mean growth of the gradient norm per layer (Yang's rate
# sqrt(pi/(pi-1)) = 1.2116 in the limit of wide layers and large batches).
_CHAIN = {"depth": 50, "width": 128, "batch": 64, "activation": "relu", "norm": "batch", "reps": 16}
_CHAIN_FAST = {"depth": 10, "width": 32, "batch": 16, "activation": "relu", "norm": "batch", "reps": 4}
_ACTS = ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "softplus", "identity"]
_register("rate-vs-width", "gradient growth rate per layer against width (BN + ReLU chain)", chain_rate_cell,
          {**_CHAIN, "width": [16, 32, 64, 128, 256]}, {**_CHAIN_FAST, "width": [8, 16, 32]})
_register("rate-vs-batch", "gradient growth rate per layer against batch size (BN + ReLU chain)", chain_rate_cell,
          {**_CHAIN, "batch": [4, 8, 16, 32, 64, 128, 256]}, {**_CHAIN_FAST, "batch": [4, 8, 16]})
_register("rate-vs-activation", "gradient growth rate per layer for each activation (BN chain)", chain_rate_cell,
          {**_CHAIN, "activation": _ACTS}, {**_CHAIN_FAST, "activation": ["relu", "tanh", "identity"]})
_register("rate-vs-width-batch", "gradient growth rate per layer on a width × batch grid (BN + ReLU chain)",
          chain_rate_cell, {**_CHAIN, "width": [16, 32, 64, 128, 256], "batch": [4, 8, 16, 32, 64, 128]},
          {**_CHAIN_FAST, "width": [8, 32], "batch": [4, 16]})


# =========================================================================== command line
def add_sweep_parser(subparsers):
    """Register ``gradexp sweep`` on an ``argparse`` subparsers object (handler in ``func``)."""
    p = subparsers.add_parser(
        "sweep", help="run a common Monte-Carlo parameter sweep (parallel, resumable)",
        description="Run a named parameter sweep of the Monte-Carlo simulators on local processes or a "
                    "dask cluster. Results go to one .npz file written atomically; rerunning the same "
                    "command resumes an interrupted sweep without recomputing finished cells.")
    p.add_argument("grid", nargs="?", metavar="GRID", help="name of the sweep (see --list)")
    p.add_argument("--list", action="store_true", help="list the available sweeps and their grids, then exit")
    p.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="override one axis or fixed parameter of the grid (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="root seed (same seed, same numbers; default 0)")
    p.add_argument("--out", default=None, metavar="PATH",
                   help="result file (default: sweeps/GRID-seedN[-fast].npz)")
    p.add_argument("--fresh", action="store_true", help="start over even if the result file exists")
    p.add_argument("--fast", action="store_true", help="a small, quick version of the grid")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes, also of --dask local (default: all CPUs)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on the dask.distributed scheduler at ADDRESS (e.g. tcp://host:8786), or "
                        "'local' to start a LocalCluster of --workers processes with one thread each")
    g.add_argument("--serial", action="store_true", help="run in this process (debugging)")
    p.add_argument("--chunksize", type=int, default=1, help="cells per task (default 1)")
    p.set_defaults(func=_cmd_sweep)
    return p


def _parse_value(text):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _apply_sets(grid: dict, sets) -> dict:
    grid = dict(grid)
    for s in sets:
        name, eq, values = s.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or not values.strip():
            raise ValueError(f"--set takes NAME=V1,V2,...; got {s!r}")
        vals = [_parse_value(v.strip()) for v in values.split(",") if v.strip()]
        grid[name] = vals if len(vals) > 1 else vals[0]
    return grid


def _format_grid(grid):
    return ", ".join(f"{k}={v}" for k, v in grid.items())


def _cmd_sweep(args) -> int:
    import signal

    err = functools.partial(print, file=sys.stderr)
    if args.list:
        if not GRIDS:
            err("gradexp sweep: no sweeps available")
        for name, g in GRIDS.items():
            print(f"{name:<22} {g.description}\n{'':<22} {_format_grid(g.grid)}")
        return 0
    if args.grid is None:
        err("gradexp sweep: name a sweep (see gradexp sweep --list)")
        return 2
    spec = GRIDS.get(args.grid)
    if spec is None:
        err(f"gradexp sweep: unknown sweep {args.grid!r}; available: {', '.join(GRIDS) or 'none'} (see --list)")
        return 2
    try:
        grid = _apply_sets(spec.fast_grid if args.fast else spec.grid, args.set)
        expand_grid(grid)
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        if args.workers is not None and (args.serial or args.dask not in (None, "local")):
            raise ValueError("--workers applies to the local pool and to --dask local only")
        if args.chunksize < 1:
            raise ValueError(f"--chunksize must be >= 1, got {args.chunksize}")
    except (ValueError, TypeError) as exc:
        err(f"gradexp sweep: {exc}")
        return 2
    out = Path(args.out or f"sweeps/{spec.name}-seed{args.seed}{'-fast' if args.fast else ''}.npz")

    cluster = client = None
    executor = "serial" if args.serial else args.workers
    if args.dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            err("gradexp sweep: --dask needs dask.distributed (pip install 'gradexp[dask]')")
            return 2
        if args.dask == "local":
            cluster = LocalCluster(n_workers=args.workers or _available_cpus(), threads_per_worker=1,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(args.dask)
        executor = client

    def on_term(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        res = run_sweep(spec.func, grid, root_seed=args.seed, executor=executor, path=out,
                        resume=not args.fresh, chunksize=args.chunksize)
    except KeyboardInterrupt:
        done = load_sweep(out).n_done if out.exists() else 0
        err(f"gradexp sweep: interrupted; {done} finished cells are saved in {out}; rerun the same command to resume")
        return 130
    except (ValueError, RuntimeError) as exc:
        err(f"gradexp sweep: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, old)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    _print_table(res)
    print(out)
    return 0


def _print_table(res: SweepResult):
    names = list(dict.fromkeys(k for c in res.cells for k in c))
    varying = [k for k in names if len({json.dumps(c.get(k)) for c in res.cells}) > 1] or names[:1]
    outs = [k for k in res.outputs if not k.endswith("_stderr")]
    head = [*varying, *outs]
    rows = []
    for i, c in enumerate(res.cells):
        row = [str(c.get(k)) for k in varying]
        for k in outs:
            v, se = res.outputs[k][i], res.outputs.get(f"{k}_stderr")
            if np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.number):
                row.append(f"{v:.6g}" + (f" ± {se[i]:.2g}" if se is not None else ""))
            else:
                row.append(str(v))
        rows.append(row)
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    for r in [head, *rows]:
        print("  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())
