"""The tours in notebooks/ execute from their Jupytext sources and their committed outputs are current.

For every source ``notebooks/NN_name.py``:

* the committed ``NN_name.ipynb`` holds the same cells as the source (so the rendered notebook
  is the reviewed one) and was executed (every code cell has run, no error output);
* a fresh execution of the source raises nothing and prints, in its cell tagged
  ``key-numbers``, the same key numbers as the committed notebook, within the tolerances of
  ``notebooks/_build.py``: relative 1e-9 for deterministic numbers (printed with repr),
  5 combined standard errors for Monte-Carlo estimates (fixed seeds), equality for verdicts.

Rebuild the committed notebooks with ``python notebooks/_build.py``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"


def _load_build():
    spec = importlib.util.spec_from_file_location("_gradexp_nb_build", NB_DIR / "_build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


build = _load_build()
SOURCES = build.sources()
IDS = [p.stem for p in SOURCES]


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.fixture(autouse=True)
def _kernel_sees_this_checkout(monkeypatch):
    """The kernel imports the gradexp of this checkout (as the tests do)."""
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), path) if p))


def test_there_is_a_tour_per_paper():
    names = [p.stem for p in SOURCES]
    for stem in ("01_paik_choi", "02_mehmeti_gopel_wand", "03_tvlars", "04_bjorck"):
        assert stem in names
    # every committed notebook has its source, and the other way round
    assert sorted(p.stem for p in NB_DIR.glob("[0-9][0-9]_*.ipynb")) == names


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_committed_notebook_matches_its_source(src):
    committed = nbformat.read(src.with_suffix(".ipynb"), as_version=4)
    assert _cells(committed) == _cells(build.read_source(src)), \
        f"{src.with_suffix('.ipynb').name} is stale: run python notebooks/_build.py {src.stem}"
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "committed without executing every cell"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" for c in code for o in c.outputs), "no figure inline"
    build.key_numbers(committed)


def test_paper_file_names_never_appear():
    import re

    pattern = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")
    for p in SOURCES + [s.with_suffix(".ipynb") for s in SOURCES]:
        assert not pattern.search(p.read_text(encoding="utf-8")), p.name


@pytest.mark.slow
@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_fresh_run_reproduces_committed_key_numbers(src):
    if src.stem == "06_torch_digits":  # the tour of the optional extra gradexp[torch]
        pytest.importorskip("torch")
        pytest.importorskip("sklearn")
    committed = build.key_numbers(nbformat.read(src.with_suffix(".ipynb"), as_version=4))
    nb = build.read_source(src)
    build.execute(nb)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors, f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
    problems = build.compare_key_numbers(committed, build.key_numbers(nb))
    assert not problems, "committed outputs are stale:\n" + "\n".join(problems)


def test_compare_key_numbers_detects_changes():
    """The comparison itself can fail: deterministic, Monte-Carlo and verdict changes."""
    base = {"C": 1.4669422069242600, "mc": {"mean": 1.0, "stderr": 0.01}, "v": {"a": "holds"}, "n": 3}
    assert build.compare_key_numbers(base, base) == []
    assert build.compare_key_numbers(base, {**base, "C": 1.4669422069242600 * (1 + 1e-12)}) == []
    assert build.compare_key_numbers(base, {**base, "C": 1.4669 }) != []
    assert build.compare_key_numbers(base, {**base, "mc": {"mean": 1.05, "stderr": 0.01}}) == []
    assert build.compare_key_numbers(base, {**base, "mc": {"mean": 1.08, "stderr": 0.01}}) != []
    assert build.compare_key_numbers(base, {**base, "v": {"a": "fails"}}) != []
    assert build.compare_key_numbers(base, {**base, "n": 4}) != []
    assert build.compare_key_numbers(base, {k: v for k, v in base.items() if k != "n"}) != []
