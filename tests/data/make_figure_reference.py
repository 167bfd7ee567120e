"""Generate the fast-form reference data of every figure: ``tests/data/figures/<name>.npz``.

    PYTHONPATH=. python tests/data/make_figure_reference.py [NAME ...]

Each file holds ``compute(fast=True, figure_seed(data_name, 0))`` of one figure (root seed 0,
as ``gradexp figures --fast``), every array of more than 2000 entries thinned to at most
2000 by a fixed stride (``_stride.<key>``), compressed. Generated: do not edit by hand;
``tests/test_figures_data.py`` regenerates the data and compares (tolerances stated there).
Rerun this script only when a figure's computation changes on purpose, and say so in the
commit message.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "figures"
MAX_ENTRIES = 2000
ROOT_SEED = 0


def thin(key: str, value) -> dict:
    """``{key: array}`` (thinned by a stride if large) plus ``{"_stride.key": stride}``."""
    a = np.asarray(value)
    if a.dtype.kind in "biufc" and a.size > MAX_ENTRIES:
        stride = -(-a.size // MAX_ENTRIES)
        return {key: a.ravel()[::stride], f"_stride.{key}": np.int64(stride)}
    return {key: a}


def reference_arrays(data: dict) -> dict:
    out = {}
    for k, v in data.items():
        out.update(thin(k, v))
    return out


def main(names=None) -> int:
    from gradexp.plots import all_figures
    from gradexp.plots.render import compute_figure_data
    from gradexp.sweep import cache

    figures = all_figures()
    OUT.mkdir(parents=True, exist_ok=True)
    with cache.using(enabled=False):
        for name in names or figures:
            spec = figures[name]
            data = compute_figure_data(spec, fast=True, seed=ROOT_SEED)
            np.savez_compressed(OUT / f"{name}.npz", **reference_arrays(data))
            print(OUT / f"{name}.npz")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
