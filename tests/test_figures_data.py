"""Figure data are reproducible: regenerate every figure's data in --fast form (root seed 0) and
compare with the committed reference in tests/data/figures/ (made by
tests/data/make_figure_reference.py).

Tolerances
    Same seed, same numbers, up to floating-point rounding (another BLAS, another CPU): floats to
    ``rtol = 1e-7`` (Monte-Carlo values from a different random stream would move by about one
    standard error, 1e-3 relative or more at these sizes, so a changed seed or computation
    fails), integers and strings exactly.
    Chaotic computations, where rounding differences grow until single values mean nothing,
    are compared by statistics with their standard errors (at most 4 combined standard errors):
    the ToyNet at λ = 1 (``mgw-fig10-toynet``, arrays ending in ``_1``: the model error per step,
    ``log_err_1`` with ``log_err_se_1``; the per-run ELR trajectories are not compared), and
    direct multiplication of matrix products past 1/ε (``bjorck-fig11-condition``, ``direct_*``:
    means against their run-to-run standard deviation / √runs).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))

from make_figure_reference import OUT, ROOT_SEED, reference_arrays  # noqa: E402

from gradexp.plots import all_figures  # noqa: E402
from gradexp.plots.render import compute_figure_data  # noqa: E402

FIGS = all_figures()
RTOL = 1e-7
K_SE = 4.0


@pytest.fixture(scope="module", autouse=True)
def _shared_store(tmp_path_factory):
    """One store for the figure tests of this session (test_plots renders the same data)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADEXP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "figure-store"))
        yield


def _chaotic(name: str, key: str) -> bool:
    return (name == "mgw-fig10-toynet" and key.endswith("_1")) or \
        (name == "bjorck-fig11-condition" and key.startswith("direct_"))


def _compare_chaotic(name, key, new, ref):
    if name == "mgw-fig10-toynet":
        if key == "log_err_1":
            se = np.hypot(new["log_err_se_1"], ref["log_err_se_1"])
            live = se > 0
            assert np.array_equal(new[key][~live], ref[key][~live])  # step 0: the fit is exact
            assert np.all(np.abs(new[key] - ref[key])[live] <= K_SE * se[live]), key
        return  # elr_*_1, log_err_se_1: single chaotic trajectories, not compared
    if key.endswith("_mean"):
        std = key[:-len("_mean")] + "_std"
        runs = int(ref["runs"])
        se = np.hypot(new[std], ref[std]) / math.sqrt(runs)
        assert np.all(np.abs(new[key] - ref[key]) <= K_SE * np.maximum(se, 1e-12)), key


@pytest.mark.parametrize("name", sorted(FIGS))
def test_fast_figure_data_match_reference(name):
    path = OUT / f"{name}.npz"
    assert path.exists(), f"no reference for {name}: run tests/data/make_figure_reference.py {name}"
    new = reference_arrays(compute_figure_data(FIGS[name], fast=True, seed=ROOT_SEED))
    with np.load(path) as z:
        ref = {k: z[k] for k in z.files}
    assert sorted(new) == sorted(ref)
    for key in sorted(ref):
        a, b = np.asarray(new[key]), ref[key]
        assert a.shape == b.shape, key
        if _chaotic(name, key):
            _compare_chaotic(name, key, new, ref)
        elif b.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=0, equal_nan=True, err_msg=f"{name}: {key}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"{name}: {key}")


def test_reference_files_cover_exactly_the_figures():
    assert sorted(p.stem for p in OUT.glob("*.npz")) == sorted(FIGS)


def test_a_changed_seed_fails_the_comparison():
    """The tolerance can fail: data from another root seed differ from the reference."""
    name = "pc-fig2-relu-vs-dropout"
    other = reference_arrays(compute_figure_data(FIGS[name], fast=True, seed=ROOT_SEED + 1))
    with np.load(OUT / f"{name}.npz") as z:
        with pytest.raises(AssertionError):
            np.testing.assert_allclose(other["h_relu"], z["h_relu"], rtol=RTOL, atol=0)
