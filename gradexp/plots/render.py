"""Render registered figures: compute (data, saved as .npz beside the image), then plot."""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import numpy as np

from ._registry import FigureSpec


def figure_seed(name: str, seed: int) -> int:
    """Per-figure seed derived from the root seed and the figure's name (not seed + i)."""
    ss = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _atomic_savez(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in data.items()})
    os.replace(tmp, path)


def render_figure(spec: FigureSpec, out: Path, formats=("png",), fast=False, seed=0) -> list[Path]:
    import matplotlib.pyplot as plt

    s = figure_seed(spec.name, seed)
    data = spec.compute(fast, s)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_savez(out / f"{spec.name}.npz", {**data, "_seed": s, "_root_seed": seed, "_fast": fast})
    fig = spec.plot(data)
    paths = []
    for fmt in formats:
        p = out / f"{spec.name}.{fmt}"
        # fixed metadata so that same seed gives byte-identical files
        meta = {"Software": None} if fmt == "png" else ({"CreationDate": None} if fmt == "pdf" else {"Date": None})
        fig.savefig(p, format=fmt, metadata=meta)
        paths.append(p)
    plt.close(fig)
    return paths


def render_figures(names, out="figures", formats=("png",), fast=False, seed=0):
    """Render figures by name; yields the written paths. A progress bar shows on a terminal."""
    from tqdm import tqdm

    from . import all_figures

    figures = all_figures()
    out = Path(out)
    bar = tqdm(names, desc="figures", unit="fig", disable=not sys.stderr.isatty(), file=sys.stderr)
    for name in bar:
        bar.set_postfix_str(name)
        yield from render_figure(figures[name], out, formats, fast, seed)
