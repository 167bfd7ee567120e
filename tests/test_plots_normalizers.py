"""The normalizer design map: renders, is listed, and its data are the theory's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradexp.plots import all_figures
from gradexp.plots.render import render_figure
from gradexp.theory.normalizers import depth_to_growth, normalizer_factor

SPEC = all_figures()["gx-normalizer-design-map"]


@pytest.fixture(scope="module", autouse=True)
def _shared_store(tmp_path_factory):
    """The session's figure store (never the user's cache directory)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADEXP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "figure-store"))
        yield


def test_render(tmp_path):
    paths = render_figure(SPEC, tmp_path, formats=("png",), fast=True, seed=0)
    assert paths[0].stat().st_size > 5000
    with np.load(tmp_path / f"{SPEC.name}.npz") as d:
        assert {"factor", "depth_to_growth", "bounded", "size"} <= set(d.files)


def test_listed_by_the_cli(capsys):
    from gradexp.cli import main

    main(["figures", "--list"])
    assert "gx-normalizer-design-map" in capsys.readouterr().out


def test_data_are_the_theory():
    d = SPEC.compute(True, 0)
    N = d["size"]
    for i, k in enumerate(d["norms"]):
        for j, a in enumerate(d["activations"]):
            np.testing.assert_array_equal(d["factor"][i, j], normalizer_factor(str(k), N, str(a)))
            np.testing.assert_array_equal(d["depth_to_growth"][i, j, :, 0],
                                          depth_to_growth(d["factor"][i, j], 10.0))
    # LayerNorm + ReLU: (G-2)/(G-3); bounded at depth 50 iff ((G-2)/(G-3))^25 <= 10
    i, j = list(d["norms"]).index("group"), list(d["activations"]).index("relu")
    np.testing.assert_array_equal(d["bounded"][i, j], ((N - 2) / (N - 3)) ** 25 <= 10)
    assert math.isnan(d["smallest_bounded_size"][list(d["norms"]).index("batch"), j])
