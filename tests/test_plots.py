"""Every registered figure renders in fast mode, writes its data, and is reproducible."""

import numpy as np
import pytest

from gradexp.plots import all_figures
from gradexp.plots.render import render_figure

FIGS = all_figures()


@pytest.fixture(scope="module", autouse=True)
def _shared_store(tmp_path_factory):
    """One result store for the figure tests of this session: a figure's fast data are computed
    once and read back by the other figure tests (never the user's cache directory)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADEXP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "figure-store"))
        yield


@pytest.mark.parametrize("name", sorted(FIGS))
def test_figure_renders(name, tmp_path):
    paths = render_figure(FIGS[name], tmp_path, formats=("png",), fast=True, seed=0)
    assert paths[0].stat().st_size > 5000
    with np.load(tmp_path / f"{name}.npz") as data:
        assert "_seed" in data.files


def test_same_seed_same_data(tmp_path):
    from gradexp.sweep import cache

    spec = FIGS["pc-fig2-relu-vs-dropout"]
    with cache.using(enabled=False):  # computed twice, not read back from the store
        render_figure(spec, tmp_path / "a", fast=True, seed=3)
        render_figure(spec, tmp_path / "b", fast=True, seed=3)
    with np.load(tmp_path / "a" / f"{spec.name}.npz") as a, np.load(tmp_path / "b" / f"{spec.name}.npz") as b:
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
    assert (tmp_path / "a" / f"{spec.name}.png").read_bytes() == (tmp_path / "b" / f"{spec.name}.png").read_bytes()


def test_figure_modules_are_discovered():
    import pkgutil

    import gradexp.plots as plots
    from gradexp.plots import figure_modules

    mods = figure_modules()
    expected = {m.name for m in pkgutil.iter_modules(plots.__path__)} - {"style", "render"}
    assert set(mods) == {m for m in expected if not m.startswith("_")}
    assert mods[:5] == ["paik_choi", "paik_choi_mc", "mehmeti_gopel_wand", "tvlars", "bjorck"]
    modules_of_figures = {getattr(s.compute, "func", s.compute).__module__.rsplit(".", 1)[-1] for s in FIGS.values()}
    assert modules_of_figures <= set(mods)


def test_figures_carry_paper_keys():
    from gradexp.plots import PAPER_KEYS

    assert {s.paper for s in FIGS.values()} <= set(PAPER_KEYS)
    with pytest.raises(ValueError, match="paper"):
        from gradexp.plots import register_figure

        register_figure("x-test", paper="000", description="", compute=len, plot=len)
    with pytest.raises(ValueError, match="module-level"):
        from gradexp.plots import register_figure

        register_figure("x-test2", paper="gradexp", description="", compute=lambda f, s: {}, plot=len)
