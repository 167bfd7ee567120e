"""Execute the tours and write them as notebooks with outputs: ``python notebooks/_build.py [NAME ...]``.

The sources are the Jupytext percent files ``notebooks/NN_name.py``; this script converts each to
a notebook, executes it top to bottom (nbclient, a fresh kernel, the notebooks folder as working
directory) and writes ``notebooks/NN_name.ipynb`` with its outputs. Commit both files.

Each tour ends with a cell tagged ``key-numbers`` that prints a JSON object of the numbers the
tour's text relies on. ``tests/test_notebooks.py`` executes every source afresh and compares
those numbers with the committed notebook's (:func:`compare_key_numbers`), so committed outputs
that no longer match the code fail the suite.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEY_TAG = "key-numbers"

#: relative tolerance for deterministic numbers (closed forms, deterministic models): the
#: committed value is printed with repr, so a fresh run agrees to rounding
REL_TOL = 1e-9
#: Monte-Carlo numbers {"mean", "stderr"} agree when |Δmean| <= Z_TOL * sqrt(se_a² + se_b²);
#: the seeds are fixed, so on one platform the runs are identical and this only absorbs
#: floating-point differences between BLAS/numba builds
Z_TOL = 5.0


def sources() -> list[Path]:
    """The tour sources ``NN_name.py`` in order."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


def read_source(path: Path):
    """The notebook (nbformat v4, no outputs) of a Jupytext percent source."""
    import jupytext

    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                          "language": "python"})
    nb.metadata.pop("jupytext", None)
    return nb


def execute(nb, timeout: int = 600):
    """Execute ``nb`` in place in a fresh python3 kernel; returns the wall time in seconds."""
    import nbclient

    env_backend = os.environ.pop("MPLBACKEND", None)  # let the kernel use the inline backend
    # small matrices dominate the tours: multi-threaded OpenBLAS only spin-waits on them
    blas = os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(HERE)}})
        t0 = time.perf_counter()
        client.execute()
        return time.perf_counter() - t0
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend
        del blas


def key_numbers(nb) -> dict:
    """The JSON object printed by the cell tagged ``key-numbers``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and KEY_TAG in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected one cell tagged {KEY_TAG!r}, found {len(cells)}")
    text = "".join(o.get("text", "") for o in cells[0].get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    if not text.strip():
        raise ValueError(f"the {KEY_TAG!r} cell has no printed output (not executed?)")
    return json.loads(text)


def compare_key_numbers(committed, fresh, path: str = "") -> list[str]:
    """Differences between two key-number objects beyond the stated tolerances (empty: agree).

    floats: relative difference <= REL_TOL; {"mean", "stderr"} pairs: within Z_TOL combined
    standard errors; strings, ints, booleans: equal; dicts and lists: element by element.
    """
    problems = []
    if isinstance(committed, dict) and set(committed) == {"mean", "stderr"}:
        if not (isinstance(fresh, dict) and set(fresh) == {"mean", "stderr"}):
            return [f"{path}: Monte-Carlo estimate became {fresh!r}"]
        se = math.hypot(committed["stderr"], fresh["stderr"])
        diff = abs(committed["mean"] - fresh["mean"])
        if not diff <= Z_TOL * se:
            problems.append(f"{path}: mean {committed['mean']!r} -> {fresh['mean']!r}, "
                            f"{diff / se if se else math.inf:.1f} combined standard errors")
        return problems
    if isinstance(committed, dict):
        if not isinstance(fresh, dict) or set(committed) != set(fresh):
            return [f"{path}: keys {sorted(committed)} -> "
                    f"{sorted(fresh) if isinstance(fresh, dict) else fresh!r}"]
        for k in committed:
            problems += compare_key_numbers(committed[k], fresh[k], f"{path}/{k}")
        return problems
    if isinstance(committed, list):
        if not isinstance(fresh, list) or len(committed) != len(fresh):
            return [f"{path}: {committed!r} -> {fresh!r}"]
        for i, (a, b) in enumerate(zip(committed, fresh)):
            problems += compare_key_numbers(a, b, f"{path}[{i}]")
        return problems
    if isinstance(committed, float) and not isinstance(fresh, bool) and isinstance(fresh, (int, float)):
        if math.isnan(committed) and math.isnan(fresh):
            return []
        if committed == fresh or abs(committed - fresh) <= REL_TOL * max(abs(committed), abs(fresh)):
            return []
        return [f"{path}: {committed!r} -> {fresh!r}"]
    if committed != fresh or type(committed) is not type(fresh):
        return [f"{path}: {committed!r} -> {fresh!r}"]
    return []


def build(path: Path) -> float:
    """Execute one source and write its ``.ipynb``; returns the execution time."""
    import nbformat

    nb = read_source(path)
    seconds = execute(nb)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    if errors:
        raise RuntimeError(f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    key_numbers(nb)  # present and valid JSON
    nbformat.write(nb, path.with_suffix(".ipynb"))
    return seconds


def main(argv=None) -> int:
    names = sys.argv[1:] if argv is None else argv
    paths = [p for p in sources() if not names or p.stem in names or p.name in names]
    for p in paths:
        seconds = build(p)
        print(f"{p.with_suffix('.ipynb').name}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
