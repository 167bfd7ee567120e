"""TVLARS Figure 5: renders, and its data respect the corrected bounds."""

from __future__ import annotations

import numpy as np
import pytest

from gradexp.plots import all_figures
from gradexp.plots.render import render_figure

SPEC = all_figures()["tvlars-fig5-phi"]


@pytest.fixture(scope="module", autouse=True)
def _shared_store(tmp_path_factory):
    """The session's figure store (never the user's cache directory)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADEXP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "figure-store"))
        yield


def test_render(tmp_path):
    paths = render_figure(SPEC, tmp_path, formats=("png",), fast=True, seed=0)
    assert paths[0].stat().st_size > 5000


def test_phi_data_bounds():
    d = SPEC.compute(True, 0)
    gmin = float(d["base"][3])
    for key in ("lam", "d_e", "alpha"):
        phi = d[f"phi_{key}"]
        np.testing.assert_allclose(phi[:, 0], d[f"upper_{key}"], rtol=1e-14)
        assert np.all(phi >= gmin) and np.all(np.diff(phi, axis=1) <= 0)
        np.testing.assert_allclose(d[f"upper_{key}"] - d[f"upper_printed_{key}"], gmin, rtol=1e-12)
