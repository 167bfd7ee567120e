"""gaussian.py against mpmath at high precision, on both sides of every seam."""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradexp import gaussian as g

mp.mp.dps = 50


def mp_partial(n, t):
    # I_n(t) = E[(Z - t)_+^n] / phi(t) via the exact parabolic-cylinder identity
    # I_n(t) = n! e^{t^2/4} D_{-n-1}(t)  (DLMF 12.5.1)
    t = mp.mpf(t)
    return mp.factorial(n) * mp.exp(t * t / 4) * mp.pcfd(-n - 1, t)


SEAM = g.PARTIAL_MOMENT_SEAM
POINTS = [-30.0, -5.0, -1.0, 0.0, 0.3, SEAM * (1 - 1e-12), SEAM, SEAM * (1 + 1e-12), 1.7, 3.0, 8.0,
          30.0, 1e3, 1e6]


@pytest.mark.parametrize("t", POINTS)
def test_partial_moments_vs_mpmath(t):
    vals = g.scaled_partial_moments(t)
    for n, v in enumerate(vals):
        ref = mp_partial(n, t)
        assert abs((mp.mpf(v) - ref) / ref) < 4e-15, (n, t)


def test_partial_moments_limits_and_shapes():
    i0, i1, i2 = g.scaled_partial_moments(np.array([[np.inf, -np.inf]]))
    assert i0.shape == (1, 2)
    assert i0[0, 0] == i1[0, 0] == i2[0, 0] == 0.0
    assert np.isinf(i1[0, 1]) and np.isinf(i2[0, 1])


def test_interval_prob_far_tail():
    # the example of STYLE.md: ndtr(11) - ndtr(10) is 0.0; the truth is 7.62e-24
    ref = mp.ncdf(11) - mp.ncdf(10)
    assert abs(g.norm_interval_prob(10.0, 11.0) / ref - 1) < 1e-13
    ref = mp.ncdf(-10) - mp.ncdf(-11)
    assert abs(g.norm_interval_prob(-11.0, -10.0) / ref - 1) < 1e-13
    assert abs(g.norm_interval_prob(-1.0, 2.0) - float(mp.ncdf(2) - mp.ncdf(-1))) < 1e-16
    assert g.norm_interval_prob(3.0, 3.0) == 0.0
    with pytest.raises(ValueError):
        g.norm_interval_prob(2.0, 1.0)


@pytest.mark.parametrize("rho", [-1.0, -0.999999, -0.3, 0.0, 0.5, 0.999999999, 1.0])
def test_relu_kernel_vs_quadrature(rho):
    # E[ReLU(X)ReLU(Y)] by mpmath 2-d integration in polar-free form: condition on X
    rho_m = mp.mpf(rho)

    def inner(x):
        if abs(rho_m) == 1:
            y = rho_m * x
            return x * max(y, 0) * mp.npdf(x)
        s = mp.sqrt(1 - rho_m**2)
        m = rho_m * x  # Y | X = x ~ N(m, s^2); E ReLU = m Phi(m/s) + s phi(m/s)
        return x * (m * mp.ncdf(m / s) + s * mp.npdf(m / s)) * mp.npdf(x)

    ref = mp.quad(inner, [0, mp.inf])
    val = g.relu_kernel(rho)
    assert abs(val - float(ref)) <= 1e-15 * max(1.0, abs(float(ref))) + 1e-16


def test_gaussian_expectation_identities():
    assert abs(g.gaussian_expectation(lambda x: 1.0) - 1.0) < 1e-13  # mpmath: quad(npdf) == 1
    assert abs(g.gaussian_expectation(lambda x: x * x, 0.5, 2.0) - 4.25) < 1e-12
    relu = lambda x: max(x, 0.0)  # noqa: E731
    assert abs(g.gaussian_expectation(relu, breakpoints=(0.0,)) - 1 / math.sqrt(2 * math.pi)) < 1e-14


@settings(max_examples=50, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, max_value=0.0))
def test_check_positive_rejects_nonpositive(x):
    with pytest.raises(ValueError, match="sigma"):
        g.check_positive(x, "sigma")


@settings(max_examples=50, deadline=None)
@given(st.one_of(st.floats(max_value=-1.0000001, allow_nan=False), st.floats(min_value=1.0000001, allow_nan=False)))
def test_relu_kernel_rejects_out_of_range(rho):
    with pytest.raises(ValueError, match="rho"):
        g.relu_kernel(rho)


def test_nan_rejected():
    for fn in (g.mills_ratio, g.scaled_partial_moments, g.relu_kernel):
        with pytest.raises(ValueError, match="NaN"):
            fn(float("nan"))


def test_exact_quotient():
    q, r = g.exact_quotient(1.0, 3.0)
    assert abs(mp.mpf(q) + mp.mpf(r) - mp.mpf(1) / 3) < mp.mpf(2) ** -104
