"""The Sphinx documentation builds with warnings as errors, and its generated pages are complete.

The build runs in a subprocess exactly as documented (``python -m sphinx -W -b html docs OUT``,
``-j 1``, a temporary output folder), with ``nitpicky`` on: a broken cross-reference, a malformed
docstring, a public name missing from the API reference, or a tour or figure that fails to
render fails this test.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("numpydoc")
pytest.importorskip("pydata_sphinx_theme")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAPER_FILE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


def _extension():
    spec = importlib.util.spec_from_file_location("_gradexp_docs_ext", DOCS / "_ext" / "gradexp_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-j", "1",
         "-d", str(out / ".doctrees"), str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True)
    problems = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0, "sphinx -W failed:\n" + "\n".join(problems or proc.stderr.splitlines()[-30:])
    return out


@pytest.mark.slow
def test_docs_build_without_warnings(html):
    for page in ("index.html", "getting_started.html", "tours.html", "_gen/ledger.html",
                 "_gen/gallery.html", "_gen/api/index.html", "genindex.html"):
        assert (html / page).exists(), page


@pytest.mark.slow
def test_every_public_name_has_an_api_page(html):
    ext = _extension()
    modules = ext.public_modules()
    pages = ext.assign_pages(modules)
    for m, (own, reexported) in pages.items():
        assert (html / "_gen" / "api" / f"{m}.html").exists(), m
        for name in own:
            assert (html / "_gen" / "api" / "stubs" / f"{m}.{name}.html").exists(), f"{m}.{name}"
        for name, documented_on in reexported:
            assert documented_on is not None, f"{m}.{name} is documented nowhere"


@pytest.mark.slow
def test_ledger_gallery_and_tours_are_complete(html):
    from gradexp.claims import all_claims
    from gradexp.plots import all_figures

    ledger = (html / "_gen" / "ledger.html").read_text(encoding="utf-8")
    for c in all_claims():
        assert c.id in ledger, c.id
    gallery = (html / "_gen" / "gallery.html").read_text(encoding="utf-8")
    for name in all_figures():
        assert name in gallery, name
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        page = html / "_gen" / "notebooks" / f"{src.stem}.html"
        assert page.exists(), page.name
        assert "<img" in page.read_text(encoding="utf-8"), f"{page.name}: no figure rendered"


@pytest.mark.slow
def test_paper_file_names_appear_in_no_page(html):
    offenders = [str(p.relative_to(html)) for p in html.rglob("*.html")
                 if PAPER_FILE.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"paper text-file names in: {offenders[:10]}"


@pytest.mark.slow
def test_numbers_in_prose_are_substituted(html):
    """Theory pages quote computed numbers through MyST substitutions, never a raw {{ name }}."""
    for page in (html / "theory").glob("*.html"):
        assert "{{" not in page.read_text(encoding="utf-8"), page.name
