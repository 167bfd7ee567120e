"""Figures of Mehmeti-Göpel & Wand: their data show what the captions say (rendering of every
registered figure is tested in test_plots.py)."""

from __future__ import annotations

import numpy as np
import pytest

from gradexp.plots import all_figures
from gradexp.plots.render import render_figure

FIGS = {k: v for k, v in all_figures().items() if v.paper == "mehmeti-gopel-wand" or k == "mgw-optimizers"}


@pytest.fixture(scope="module", autouse=True)
def _shared_store(tmp_path_factory):
    """One result store for the figure tests of this session: a figure's fast data are computed
    once and read back by the other figure tests (never the user's cache directory)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADEXP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "figure-store"))
        yield
NAMES = ["mgw-fig1-discrete-vs-continuous", "mgw-fig2-mean-spread-vs-lr", "mgw-fig14-mean-spread-steps",
         "mgw-fig4-momentum-spread", "mgw-fig6-schedulers", "mgw-fig10-toynet", "mgw-optimizers"]


def test_registered():
    assert set(NAMES) <= set(FIGS)


@pytest.mark.parametrize("name", ["mgw-fig1-discrete-vs-continuous"])
def test_render_png(name, tmp_path):
    paths = render_figure(FIGS[name], tmp_path, formats=("png",), fast=True, seed=0)
    assert paths[0].stat().st_size > 5000


def test_fig1_flip_in_data():
    d = FIGS["mgw-fig1-discrete-vs-continuous"].compute(True, 0)
    small, large = d["elr_discrete"][0], d["elr_discrete"][-1]
    assert np.all(np.diff(small[1]) < 0)  # input side keeps the largest ELR
    assert large[1, 0] < large[1, -1]  # after one large step the input side is below the top
    assert np.all(np.diff(d["elr_continuous"][-1]) < 0)  # continuous: never flips


def test_fig2_and_fig14_monotone():
    for name in ("mgw-fig2-mean-spread-vs-lr", "mgw-fig14-mean-spread-steps"):
        d = FIGS[name].compute(True, 0)
        for key in ("mean_plain", "spread_plain", "mean_residual", "spread_residual"):
            assert np.all(np.diff(d[key], axis=-1) < 0), (name, key)


def test_fig4_momentum_lowers_spread():
    d = FIGS["mgw-fig4-momentum-spread"].compute(True, 0)
    for name in ("plain", "residual"):
        S = d[f"spread_{name}"]  # (steps, mu, lam)
        assert np.all(S[:, 1:, :] < S[:, :1, :])


def test_fig6_warmup_lowers_weighted_spread():
    d = FIGS["mgw-fig6-schedulers"].compute(True, 0)
    names = list(d["names"])
    w = {n: float(np.mean(d[f"spread_lamE_{i}"])) for i, n in enumerate(names)}
    assert max(w["warm-up + cosine"], w["OneCycle"]) < min(w["constant"], w["cosine"],
                                                            w["step (T/2, 3T/4)"])


def test_optimizer_zoo_normalised_rules_freeze_relative_spread():
    d = FIGS["mgw-optimizers"].compute(True, 0)
    labels = list(d["labels"])
    for i, lab in enumerate(labels):
        cv = d[f"cv_elr_{i}"]
        if lab.startswith(("LARS", "LAMB ", "CLARS", "ELR")):
            np.testing.assert_allclose(cv, cv[0], rtol=1e-9)
            assert np.max(d[f"cv_step_{i}"]) < 1e-3
        if lab.startswith("SGD λ"):
            assert cv[-1] < 0.5 * cv[0]
