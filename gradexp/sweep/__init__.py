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
    ``executor=None`` uses a local :class:`~concurrent.futures.ProcessPoolExecutor`
    (``workers`` processes, forkserver start method where available) created and shut down
    by the call. ``"serial"`` runs in this process; an ``int`` is a local pool of that many
    workers; any :class:`concurrent.futures.Executor` is used as is (and not shut down); a
    ``dask.distributed.Client`` is used through ``client.get_executor(pure=False)``. Local
    workers get ``max(1, cpus // workers)`` BLAS/OpenMP/numba threads each (see
    :func:`local_executor`); dask workers get the thread settings of their cluster (dask's
    nanny sets the BLAS/OpenMP variables to 1 by default; set ``NUMBA_NUM_THREADS`` in the
    workers' environment as well). Local workers and their fork server end when the process
    that started them dies, however it dies (``kill -9`` included; ``sweep/_lifeline.py``).

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

Package layout
    :mod:`.executors` (cells, seeds, process pools, dask, :func:`sweep_map`), :mod:`.store`
    (result files), :mod:`.grids` (the named sweeps of ``gradexp sweep``, whose every cell is
    checked, memory included, before the first runs), :mod:`.cache` (the result store shared by
    ``verify``, ``figures`` and sweeps, which checks every entry it serves), ``sweep/_lifeline.py``
    (no orphan processes). The command line is in
    :mod:`gradexp.cli`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .executors import (
    SerialExecutor,
    _check_root_seed,
    _execute,
    _func_id,
    _grid_axes,
    available_cpus,
    cell_seed,
    expand_grid,
    local_executor,
    sweep_map,
)
from .store import FORMAT, SweepResult, _lock, _Store, atomic_savez, load_sweep

__all__ = [
    "SweepResult", "SerialExecutor", "expand_grid", "cell_seed", "run_sweep", "sweep_map",
    "load_sweep", "local_executor", "available_cpus", "atomic_savez", "GRIDS", "SweepGrid",
    "chain_rate_cell", "FORMAT",
]


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
        Run on a local pool of this many processes (instead of ``executor``). Default: usable
        CPUs, capped at the number of tasks.
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
        created = not (resume and path.exists())
        if not created:
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
            if created and not store.done.any() and not isinstance(exc, KeyboardInterrupt):
                path.unlink(missing_ok=True)  # nothing finished (a bad parameter?): leave no file
                raise
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



def __getattr__(name):  # the named grids load lazily (they are only needed by ``gradexp sweep``)
    if name in ("GRIDS", "SweepGrid", "chain_rate_cell"):
        from . import grids

        return getattr(grids, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
