"""ReLU moments (Paik & Choi Prop. 2.1) against the literal formula in mpmath at 60 digits."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import mp_relu_moments

from gradexp import relu_moments


def _rel(v, ref):
    return float(abs((mp.mpf(v) - ref) / ref))


@pytest.mark.parametrize("z", [-35.0, -20.0, -1.0 - 1e-12, -1.0, -1.0 + 1e-12, -1e-9, 0.0, 1e-9, 1.0, 5.0, 35.0])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 7.0])
def test_seams_and_points(z, sigma):
    mu = z * sigma
    m, v = relu_moments(mu, sigma)
    rm, rv = mp_relu_moments(mu, sigma)
    if rm != 0:
        assert _rel(m, rm) < 1e-13
    assert _rel(v, rv) < 1e-13


@pytest.mark.slow
def test_dense_grid_accuracy():
    zs = np.linspace(-35, 35, 1401)
    for sigma in (0.37, 2.9):
        m, v = relu_moments(zs * sigma, sigma)
        for zi, mi, vi in zip(zs, m, v):
            rm, rv = mp_relu_moments(zi * sigma, sigma)
            assert _rel(vi, rv) < 1e-13 and (rm == 0 or _rel(mi, rm) < 1e-13), zi


def test_limits_and_broadcast():
    m, v = relu_moments(np.array([-np.inf, np.inf]), 2.0)
    assert m[0] == 0 and v[0] == 0 and m[1] == np.inf and v[1] == 4.0
    m, v = relu_moments(np.zeros((2, 3)), np.ones(3))
    assert m.shape == (2, 3)
    # the naive formula is NaN at -37; the true variance 1.3e-302 is still a normal double
    m, v = relu_moments(-37.0, 1.0)
    rm, rv = mp_relu_moments(-37.0, 1.0, dps=80)
    assert _rel(v, rv) < 1e-13 and _rel(m, rm) < 1e-13
    # below the smallest double the result underflows to 0, never NaN
    assert relu_moments(-45.0, 1.0) == (0.0, 0.0)


@settings(max_examples=100, deadline=None)
@given(st.floats(-30, 30), st.floats(0.01, 100))
def test_variance_bounds(mu, sigma):
    m, v = relu_moments(mu, sigma)
    assert 0 <= v <= sigma**2 * (1 + 1e-14)
    assert m >= max(mu, 0.0) * (1 - 1e-14)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_sigma(bad):
    with pytest.raises(ValueError, match="sigma"):
        relu_moments(0.0, bad)


def test_nan_mu():
    with pytest.raises(ValueError, match="mu"):
        relu_moments(float("nan"), 1.0)
