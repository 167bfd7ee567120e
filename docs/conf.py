"""Sphinx configuration of the gradexp documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` from the repository root.

Pages generated at build time (into ``docs/_gen/``, never committed) by ``docs/_ext/gradexp_docs.py``:

* ``api/``      one page per public module, an autosummary of its public names;
* ``ledger.md`` the claims ledger (statement, evidence, verdict, per paper), from a fast run
  of ``gradexp verify`` cached under ``docs/_gen/cache`` and keyed by the source of ``gradexp/``;
* ``gallery.md`` the figure registry with the committed ``figures/*.png``;
* ``notebooks/`` copies of the executed tours in ``notebooks/*.ipynb`` (rendered, never re-executed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import gradexp  # noqa: E402

project = "gradexp"
author = "the gradexp authors"
copyright = "2026, the gradexp authors"
version = release = gradexp.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "gradexp_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "_gen/cache"]
templates_path = ["_templates"]

# MyST: $...$ and $$...$$ maths, ::: fences, definition lists
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# myst-nb: render the committed outputs, never execute at build time
nb_execution_mode = "off"
nb_merge_streams = True

# API
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# HTML
html_theme = "pydata_sphinx_theme"
html_title = f"gradexp {release}"
html_static_path = []
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "navbar_align": "left",
}
html_show_sourcelink = False

suppress_warnings = []
