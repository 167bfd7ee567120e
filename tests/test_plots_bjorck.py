"""Bjorck et al. figures (8-12): render in fast mode; their data agree with the theory they show."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradexp import fuss_catalan_edge
from gradexp.plots import all_figures
from gradexp.plots.render import render_figure

FIGS = {k: v for k, v in all_figures().items() if k.startswith("bjorck-")}


@pytest.fixture(scope="module", autouse=True)
def _shared_store(tmp_path_factory):
    """One result store for the figure tests of this session: a figure's fast data are computed
    once and read back by the other figure tests (never the user's cache directory)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADEXP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "figure-store"))
        yield


def test_registered():
    assert set(FIGS) == {"bjorck-fig8-histograms", "bjorck-fig9-x-phi", "bjorck-fig10-densities",
                         "bjorck-fig11-condition", "bjorck-fig12-sigma-max"}
    assert all(spec.paper == "bjorck-gomes-selman" for spec in FIGS.values())


@pytest.mark.parametrize("name", sorted(FIGS))
def test_render(name, tmp_path):
    paths = render_figure(FIGS[name], tmp_path, formats=("png",), fast=True, seed=0)
    assert paths[0].stat().st_size > 5000


def test_fig8_histograms_are_normalised_densities():
    d = FIGS["bjorck-fig8-histograms"].compute(True, 1)
    for M in d["Ms"]:
        w = np.diff(d[f"edges_{M}"])
        np.testing.assert_allclose(d[f"density_{M}"] @ w, 1.0, rtol=1e-12)  # every sample lies in range
        assert np.all(d[f"smax_{M}"] < 1.08 * math.sqrt(fuss_catalan_edge(int(M))))
        from gradexp import fuss_catalan_cdf

        exact = np.diff(fuss_catalan_cdf(d[f"edges_{M}"] ** 2, int(M)))  # mass of each bin under the law
        assert np.max(np.abs(d[f"density_{M}"].mean(axis=0) * w - exact)) < 0.02


def test_fig9_data():
    d = FIGS["bjorck-fig9-x-phi"].compute(True, 0)
    for M in d["Ms"]:
        x = d[f"x_{M}"]
        assert x[0] == fuss_catalan_edge(int(M)) and x[-1] == 0 and np.all(np.diff(x) < 0)


def test_fig10_markers_follow_the_density():
    d = FIGS["bjorck-fig10-densities"].compute(True, 2)
    from gradexp import fuss_catalan_cdf

    for M in d["Ms"]:
        e = d[f"edges_{M}"]
        mass = d[f"mean_{M}"] * np.diff(e)
        exact = np.diff(fuss_catalan_cdf(e, int(M)))
        # eigenvalue histograms are far more regular than i.i.d. counts: the binned mass agrees
        # with the law to a few per cent of the total in every bin at N = 200
        assert np.max(np.abs(mass - exact)) < 0.02


def test_fig11_12_data():
    d = FIGS["bjorck-fig11-condition"].compute(True, 3)
    dep = d["depths"]
    stable, direct = d["stable_log10_condition_mean"], d["direct_log10_condition_mean"]
    assert stable[-1] > 30 and np.all(np.diff(stable) > 0)
    assert direct[-1] < 19  # saturated by rounding
    # different draws of the same law: a two-sample t bound on the difference of the means
    # (few runs, so Student's t with 2(runs-1) dof; 0.1% two-sided over the 5 depths)
    from scipy.special import stdtrit

    runs = int(d["runs"])
    se = np.hypot(d["stable_log10_condition_std"], d["direct_log10_condition_std"]) / np.sqrt(runs)
    ok = dep <= 5
    t = stdtrit(2 * (runs - 1), 1 - 0.001 / 2 / ok.sum())
    assert np.all(np.abs(stable[ok] - direct[ok]) < t * se[ok])
    slope = np.polyfit(dep[dep >= 10], stable[dep >= 10], 1)[0] * math.log(10)
    assert abs(slope / d["lyapunov_gap"] - 1) < 0.25
    assert np.all(d["stable_sigma_max_mean"] < 1.2 * np.sqrt([fuss_catalan_edge(int(m)) for m in dep]))
