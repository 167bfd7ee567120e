"""gradexp's ELR-dynamics figures: their data show what the captions say (rendering of every
registered figure is tested in test_plots.py)."""

from __future__ import annotations

import numpy as np

from gradexp.plots import all_figures

FIGS = {k: v for k, v in all_figures().items() if k.startswith("gx-elr-")}


def test_registered_under_gradexp():
    assert set(FIGS) == {"gx-elr-weight-decay", "gx-elr-notions", "gx-elr-critical-lr",
                         "gx-elr-warmup", "gx-elr-saturation"}
    assert all(v.paper == "gradexp" for v in FIGS.values())


def test_critical_data():
    d = FIGS["gx-elr-critical-lr"].compute(True, 0)
    assert np.all(d["plain"] <= 1e-12) and np.all(d["plain_wd"] <= 1e-12)
    lc = d["lam_crit"]
    assert 0 < lc < np.inf
    below, above = d["lams"] < 0.99 * lc, d["lams"] > 1.01 * lc
    assert np.all(d["momentum"][below] < 0) and np.all(d["momentum"][above] > 0)


def test_notions_and_saturation_data():
    d = FIGS["gx-elr-notions"].compute(True, 0)
    assert abs(d["ru_ratio_wd0.05"][-1] - 1) < 1e-6
    assert abs(d["lrw_ratio_wd0.05"][-1] - d["c"][0] / d["c"][1]) < 1e-6
    d = FIGS["gx-elr-saturation"].compute(True, 0)
    np.testing.assert_allclose(np.interp(d["pts"], d["lam_c"], d["closed"]), d["exact"], rtol=0.05)
    assert np.all(np.diff(d["deep_rec"][:, 0]) > 0)  # larger lam, longer recovery of layer 1
