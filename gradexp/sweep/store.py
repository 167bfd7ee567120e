"""Sweep results and their storage: :class:`SweepResult`, the ``.npz`` result file written
atomically (:func:`atomic_savez`, the one atomic-write helper of gradexp), its advisory lock."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .executors import cell_seed

__all__ = ["SweepResult", "load_sweep", "atomic_savez", "FORMAT"]

FORMAT = "gradexp-sweep/1"


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
        atomic_savez(self.path, self.arrays())
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
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def atomic_savez(path, arrays: dict) -> None:
    """Write ``arrays`` to ``path`` as .npz atomically: temporary file in the same directory,
    flush + fsync, ``os.replace``, fsync of the directory. Readers (and a crash) see either
    the previous complete file or the new one, never a partial file.

    Only arrays that load with ``numpy.load(allow_pickle=False)`` are written: an array of
    Python objects (an integer beyond int64, a dict, None) is a TypeError naming its key."""
    path = Path(path)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in arrays.items():
        if v.dtype.hasobject:
            raise TypeError(f"atomic_savez: {k!r} is an array of Python objects, which numpy can only "
                            f"store pickled; convert it to numbers or strings first")
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

