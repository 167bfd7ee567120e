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
autodoc_typehints = "none"
autodoc_inherit_docstrings = False  # a method documents itself (not, e.g., concurrent.futures')
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

nitpicky = True
# numpydoc turns a References section into citations; a bibliography entry the text does not
# cite inline is normal there, so Sphinx's "citation not referenced" is not a defect.
suppress_warnings = ["ref.citation"]


# ----------------------------------------------------------------------------- numbers in prose
# Numbers quoted in the theory pages are computed here, never typed ({{ name }} in the pages).
def _substitutions() -> dict[str, str]:
    import numpy as np
    from scipy import special

    def eq4_as_printed(R):
        e, g = special.erfc(-R), np.exp(-R * R) / np.sqrt(np.pi)
        with np.errstate(all="ignore"):
            return e / ((1 + 2 * R * R) * e + 2 * R * g - (R * e + g) ** 2)

    first_bad = nan_R = None
    for R in range(0, -100, -1):
        v, c = eq4_as_printed(float(R)), float(gradexp.explosion_factor(R))
        if first_bad is None and not (np.isfinite(v) and abs(v / c - 1) < 1e-3):
            first_bad = (R, v)
        if nan_R is None and np.isnan(v):
            nan_R = R
    err20 = abs(eq4_as_printed(-20.0) / float(gradexp.explosion_factor(-20.0)) - 1)
    return {
        "c0": f"{float(gradexp.explosion_factor(0.0)):.4f}",
        "yang_rate": f"{gradexp.YANG_RATE:.4f}",
        "corr_0_9": f"{float(gradexp.correlated_explosion_factor(0.9)):.2f}",
        "eq4_err_m20": f"{err20:.0e}",
        "eq4_first_bad_R": str(first_bad[0]),
        "eq4_first_bad_value": f"{first_bad[1]:g}",
        "eq4_nan_R": str(nan_R),
    }


myst_enable_extensions.append("substitution")
myst_substitutions = _substitutions()

# Objects of other projects: without network access there is no intersphinx inventory to
# resolve them against, so references to them are not checked. Every gradexp reference is.
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|concurrent|contextvars|os|matplotlib|dask|distributed|threadpoolctl|numba|mpmath|sympy|typing|collections|pathlib|joblib|functools|tqdm)(\..*)?"),
    (r"py:class", r"(array_like|array-like|optional|callable|ndarray|float|int|bool|str|dict|list|tuple|sequence|None)"),
    # fragments of string annotations ('Callable[..., Verdict]') that autodoc shows in dataclass
    # signatures under `from __future__ import annotations` and cannot parse
    (r"py:class", r"'.*"),
]
