"""Render registered figures: compute (data, saved as .npz beside the image), then plot.

The compute steps run on the sweep executor (local worker processes by default, one item per
figure, each seeded by :func:`figure_seed` from the root seed and the figure's *data name*, never
by its position) and go through the shared result store
(:func:`gradexp.sweep.cache.cached_call`). Plotting happens in the calling process as each
compute step finishes, and the image files go through the store too (keyed by the plotting code
and the data, byte-identical to drawing again), so a rerun with unchanged code writes the stored
files; when every compute step is already stored, no worker process is started.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from ._registry import FigureSpec

__all__ = ["compute_figure_data", "figure_code", "figure_seed", "render_figure", "render_figures", "save_figure"]


def figure_seed(name: str, seed: int) -> int:
    """Per-figure seed derived from the root seed and the figure's name (not seed + i)."""
    ss = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def compute_figure_data(spec: FigureSpec, fast: bool = False, seed: int = 0) -> dict:
    """The figure's data: ``spec.compute(fast, figure_seed(spec.data_name, seed))`` through the
    result store (figures sharing a compute step and data name compute it once)."""
    from ..sweep.cache import cached_call

    return cached_call(spec.compute, fast, figure_seed(spec.data_name, seed))


def _seed_value(seed):
    """A seed as .npz data that loads with ``allow_pickle=False``: an int64 when it fits, else
    its decimal string (seeds are non-negative integers of any size)."""
    seed = int(seed)
    return np.int64(seed) if -(2**63) <= seed < 2**63 else str(seed)


def save_figure(spec: FigureSpec, data: dict, out: Path, formats=("png",), fast=False, seed=0) -> list[Path]:
    """Write the figure drawn from ``data`` in each format, then ``data`` itself (.npz).

    Every file is written atomically (a temporary file in ``out``, then :func:`os.replace`), the
    images first and the data last: a run killed at any moment leaves each file either complete
    or as it was, and a new ``.npz`` always has its images beside it. The ``.npz`` loads with
    ``numpy.load(allow_pickle=False)`` (seeds are stored as int64, or as decimal strings when
    they do not fit)."""
    import matplotlib.pyplot as plt

    from ..sweep.store import atomic_savez

    s = figure_seed(spec.data_name, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if _registered(spec):  # the image files through the result store: a rerun with unchanged code and data
        from ..sweep.cache import cached_call, code_hash  # writes the stored bytes instead of drawing again

        # the plot step's own module is discovered at run time, not imported by this one: its code
        # hash is part of the key explicitly
        files = cached_call(_figure_files, spec.name, tuple(formats), data, code_hash(spec.plot))
        for fmt in formats:
            p = out / f"{spec.name}.{fmt}"
            _atomic_write(p, files[fmt])
            paths.append(p)
    else:
        fig = spec.plot(data)
        try:
            for fmt in formats:
                p = out / f"{spec.name}.{fmt}"
                _atomic_savefig(fig, p, fmt, _METADATA.get(fmt, {"Date": None}))
                paths.append(p)
        finally:
            plt.close(fig)
    atomic_savez(out / f"{spec.name}.npz", {**data, "_seed": _seed_value(s), "_root_seed": _seed_value(seed),
                                            "_fast": bool(fast), "_paper": spec.paper, "_code": figure_code(spec)})
    return paths


def figure_code(spec: FigureSpec) -> str:
    """Hash of the code a figure is made by (its compute and plot steps and every gradexp module
    they import, :func:`gradexp.sweep.cache.code_hash`), saved in its ``.npz`` as ``_code``: a
    committed figure whose ``_code`` differs from the current one is stale."""
    from ..sweep.cache import code_hash

    return code_hash(spec.compute)[:16] + code_hash(spec.plot)[:16]


# fixed metadata so that same seed gives byte-identical files
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None}}


def _registered(spec: FigureSpec) -> bool:
    from . import all_figures

    return all_figures().get(spec.name) is spec


def _figure_files(name: str, formats: tuple, data: dict, plot_code: str) -> dict:
    """``{format: bytes}`` of the registered figure ``name`` drawn from ``data``: module level
    with plain arguments, so that the result store keeps the images, keyed by the data and
    ``plot_code`` (the hash of the figure's plot step and the modules it imports)."""
    import io

    import matplotlib.pyplot as plt

    from . import all_figures

    fig = all_figures()[name].plot(data)
    files = {}
    try:
        for fmt in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, metadata=_METADATA.get(fmt, {"Date": None}))
            files[fmt] = buf.getvalue()
    finally:
        plt.close(fig)
    return files


def _atomic_write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _atomic_savefig(fig, path: Path, fmt: str, metadata) -> None:
    """``fig.savefig(path)`` through a temporary file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, metadata=metadata)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def render_figure(spec: FigureSpec, out: Path, formats=("png",), fast=False, seed=0) -> list[Path]:
    """Compute (through the store) and save one figure in this process."""
    return save_figure(spec, compute_figure_data(spec, fast, seed), Path(out), formats, fast, seed)


def _compute_task(name: str, fast: bool, root_seed: int, cache_enabled: bool, cache_dir: str, seed=None):
    """Worker side: one figure's data and the seconds its compute step took."""
    from ..sweep import cache
    from . import all_figures

    spec = all_figures()[name]
    t0 = time.perf_counter()
    with cache.using(enabled=cache_enabled, directory=cache_dir):
        data = compute_figure_data(spec, fast, root_seed)
    return data, time.perf_counter() - t0


def render_figures(names, out="figures", formats=("png",), fast=False, seed=0, *, executor=None,
                   workers: int | None = None, progress: bool | None = None, on_written=None) -> dict:
    """Render figures by name; return ``{name: (paths, compute_seconds, plot_seconds)}``.

    Figures that share their data (same compute step and ``data_name``, e.g. Bjorck et al.
    Figs. 11 and 12) are computed by one task and both drawn from its result (the second
    reports 0 compute seconds).

    Compute steps run on ``executor``/``workers`` (see :func:`gradexp.sweep.executors.sweep_map`;
    ``workers=1`` runs in this process); each figure is plotted and written here as soon as its
    data arrives, and ``on_written(name, paths)`` is called. A tqdm bar shows on a terminal.
    """
    from ..sweep import cache
    from ..sweep.executors import available_cpus, check_workers, sweep_map
    from . import all_figures

    figures = all_figures()
    names = list(names)
    unknown = [n for n in names if n not in figures]
    if unknown:
        raise ValueError(f"unknown figure(s): {', '.join(unknown)}")
    workers = check_workers(workers)
    # figures drawing the same data (same compute step and data name) share one task
    groups: dict = {}
    for n in names:
        spec = figures[n]
        groups.setdefault((_compute_id(spec.compute), spec.data_name), []).append(n)
    heads = [members[0] for members in groups.values()]
    if executor is None:
        n = min(available_cpus(), len(names)) if workers is None else min(workers, len(names))
        # every compute step already stored (a rerun with unchanged code): reading them back here
        # costs less than starting worker processes that import the figure modules to read them
        executor = "serial" if n <= 1 or _all_stored([figures[h] for h in heads], fast, seed) else n
    st = cache.settings()
    task = functools.partial(_compute_task, fast=fast, root_seed=int(seed), cache_enabled=st["enabled"],
                             cache_dir=st["directory"])
    done: dict = {}

    def plot(i, payload):
        data, secs = payload
        for name in groups[_compute_id(figures[heads[i]].compute), figures[heads[i]].data_name]:
            t0 = time.perf_counter()
            paths = save_figure(figures[name], data, Path(out), formats, fast, seed)
            done[name] = (paths, secs if name == heads[i] else 0.0, time.perf_counter() - t0)
            if on_written is not None:
                on_written(name, paths)

    sweep_map(task, [{"name": n} for n in heads], 0, executor, progress=progress, on_result=plot,
              desc="figures", leave=False)
    return {n: done[n] for n in names}


def _all_stored(specs, fast: bool, seed: int) -> bool:
    """Whether the result store holds an entry for every figure's compute step (by its key; the
    entry is checked when it is read)."""
    from ..sweep import cache

    if not cache.is_enabled() or cache.unusable_reason() is not None:
        return False
    location = str(cache.cache_dir())
    try:
        return all(cache._entry_path(location, cache.call_key(s.compute, (fast, figure_seed(s.data_name, seed)))).is_file()
                   for s in specs)
    except (cache._Uncacheable, TypeError):  # a compute step that cannot be keyed: the workers compute it
        return False


def _compute_id(compute) -> tuple:
    if isinstance(compute, functools.partial):
        return (_compute_id(compute.func), compute.args, tuple(sorted(compute.keywords.items())))
    return (compute.__module__, compute.__qualname__)
