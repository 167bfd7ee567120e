"""Property tests of the public closed forms over the whole double range (issue 17).

Every finite double in a function's domain gives a finite number or an honest ±inf, never
NaN, never a warning (pytest runs with ``filterwarnings = error``), never an exception other
than the documented ``ValueError``/``TypeError``; the known monotonicity and limits hold; a
sample of extreme points agrees with the mpmath oracles of ``tests/oracles.py``.
"""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import mp_explosion_factor, mp_relu_moments

import gradexp
from gradexp import (
    activation_factor,
    correlated_explosion_factor,
    explosion_factor,
    explosion_factor_asymptotic,
    fuss_catalan_cdf,
    fuss_catalan_edge,
    fuss_catalan_moment,
    fuss_catalan_pdf,
    fuss_catalan_ppf,
    fuss_catalan_sf,
    fuss_catalan_singular_pdf,
    relu_moments,
    theorem_2_4_probability,
    theorem_2_4_upper_factor,
)

REALS = st.floats(allow_nan=False, allow_infinity=False)
POSITIVE = st.floats(min_value=5e-324, allow_nan=False, allow_infinity=False)
UNIT_OPEN = st.floats(min_value=5e-324, max_value=1 - 2**-53)
INTS = st.one_of(st.integers(1, 10**6), st.floats(1, 1.7e308).map(math.floor))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEDIUM = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _honest(v):
    v = np.asarray(v, dtype=float)
    assert not np.isnan(v).any(), v
    return v


# --------------------------------------------------------------------------- C(R)
@FAST
@given(REALS, REALS)
def test_C_is_at_least_one_and_decreasing(a, b):
    lo, hi = min(a, b), max(a, b)
    c_lo, c_hi = _honest(explosion_factor(lo)), _honest(explosion_factor(hi))
    assert c_hi >= 1.0 and c_lo >= c_hi  # Corollary 2.3: C >= 1, decreasing in R
    assert not np.isneginf(c_lo)


@FAST
@given(st.lists(REALS, min_size=1, max_size=6))
def test_C_array_equals_scalars(rs):
    arr = explosion_factor(np.array(rs))
    assert np.array_equal(arr, [explosion_factor(r) for r in rs])


def test_C_limits_over_the_whole_range():
    assert explosion_factor(1.7e308) == 1.0 and explosion_factor(6.0) == 1.0
    assert explosion_factor(-1.7e308) == np.inf and explosion_factor(-1.4e154) == np.inf
    # the last finite values: C ~ R^2 + 5/2 just below the overflow threshold
    assert np.isfinite(explosion_factor(-1.3e154))


@FAST
@given(REALS)
def test_asymptotic_expansion_has_no_nan(R):
    v = _honest(explosion_factor_asymptotic(R))
    if abs(R) >= 2:  # away from its root the expansion is positive and grows like R^2
        assert v > 0


# --------------------------------------------------------------------------- ReLU moments
@FAST
@given(REALS, POSITIVE)
def test_relu_moments_bounds(mu, sigma):
    m, v = relu_moments(mu, sigma)
    _honest(m), _honest(v)
    assert m >= 0 and v >= 0
    assert m >= max(mu, 0.0) * (1 - 1e-15)
    # Var ReLU(Y) <= Var Y, written without forming sigma^2
    if np.isfinite(v) and v > 0:
        # a subnormal variance carries an absolute rounding of one subnormal step (5e-324):
        # sigma = 9.3e-160 gives v = 8.722e-319 against sigma^2 = 8.72198e-319
        subnormal_ok = v < np.finfo(float).tiny and v <= sigma * sigma * (1 + 2e-15) + 5e-324
        assert math.sqrt(v) <= sigma * (1 + 1e-15) or subnormal_ok
    if np.isinf(v):
        assert sigma > 1e154  # the variance overflows only with sigma^2


@FAST
@given(REALS, REALS, POSITIVE)
def test_relu_moments_increase_with_mu(a, b, sigma):
    lo, hi = min(a, b), max(a, b)
    assert relu_moments(lo, sigma)[0] <= relu_moments(hi, sigma)[0] * (1 + 1e-15)


@FAST
@given(st.lists(st.tuples(REALS, POSITIVE), min_size=1, max_size=5))
def test_relu_moments_array_equals_scalars(pairs):
    mu, sigma = (np.array(v) for v in zip(*pairs))
    m, v = relu_moments(mu, sigma)
    for i, (a, b) in enumerate(pairs):
        assert (m[i], v[i]) == relu_moments(a, b)


# --------------------------------------------------------------------------- activations
@FAST
@given(REALS, POSITIVE, st.floats(-1.0, 1.0))
def test_closed_form_activation_factors(mu, sigma, slope):
    c = _honest(activation_factor("relu", mu, sigma))
    assert c >= 1.0
    lk = _honest(activation_factor("leaky_relu", mu, sigma, slope=slope))
    assert lk > 0 and np.isfinite(lk) or slope == 0.0
    d = _honest(activation_factor("dropout", mu, sigma, keep_prob=0.5))
    assert 0.0 <= d <= 1.0
    assert activation_factor("identity", mu, sigma) == 1.0


@FAST
@given(REALS, POSITIVE, st.floats(0.0, 1.0))
def test_leaky_between_identity_and_relu_for_positive_slope(mu, sigma, slope):
    # phi'(x)^2 averages a mixture; the leaky factor stays finite and >= 0; slope 0 is ReLU
    f = activation_factor("leaky_relu", mu, sigma, slope=slope)
    if slope == 0.0:
        assert f == activation_factor("relu", mu, sigma)
    else:
        assert 0 < f < np.inf


@pytest.mark.parametrize("name", gradexp.theory.explosion.QUADRATURE_ACTIVATIONS)
def test_quadrature_activations_refuse_outside_their_domain(name):
    with pytest.raises(ValueError, match="mu"):
        activation_factor(name, 1e3, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        activation_factor(name, 0.0, 1e-300)
    with pytest.raises(ValueError, match="sigma"):
        activation_factor(name, 0.0, 1e300)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(gradexp.theory.explosion.QUADRATURE_ACTIVATIONS), st.floats(-5.0, 5.0),
       st.floats(1e-2, 1e2))
def test_quadrature_activation_factors_inside_their_domain(name, mu, sigma):
    f = _honest(activation_factor(name, mu, sigma))
    assert 0 < f < np.inf


def test_slope_out_of_range_is_refused():
    with pytest.raises(ValueError, match="slope"):
        activation_factor("leaky_relu", 0.0, 1.0, slope=2.0)


# --------------------------------------------------------------------------- correlation, Thm 2.4
@FAST
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_correlated_factor_increasing(a, b):
    lo, hi = min(a, b), max(a, b)
    f_lo, f_hi = _honest(correlated_explosion_factor(lo)), _honest(correlated_explosion_factor(hi))
    assert f_lo <= f_hi * (1 + 1e-14)
    assert f_lo >= explosion_factor(0.0) * (1 - 1e-15)


@FAST
@given(INTS, INTS, UNIT_OPEN)
def test_theorem_2_4_probability(d_in, d_out, delta):
    p = _honest(theorem_2_4_probability(d_in, d_out, delta))
    assert p <= 1.0 and not np.isposinf(p)
    # more output units (a union over more events) can only lower the bound
    assert theorem_2_4_probability(d_in, d_out + 1.0, delta) <= p


@FAST
@given(INTS, UNIT_OPEN, REALS, POSITIVE)
def test_theorem_2_4_upper_factor(d_in, delta, mu_w, sigma_w):
    f = _honest(theorem_2_4_upper_factor(d_in, delta, mu_w, sigma_w))
    g = _honest(theorem_2_4_upper_factor(d_in, delta, mu_w, sigma_w, corrected=True))
    assert f >= 1.0 and g >= f * (1 - 1e-15)  # 1/d^3 <= 1/d


# --------------------------------------------------------------------------- Fuss-Catalan
@MEDIUM
@given(st.integers(1, 40), st.floats(0.0, 1.7e308), POSITIVE)
def test_fuss_catalan_over_the_whole_range(M, x, scale):
    p = _honest(fuss_catalan_pdf(x, M, scale=scale))
    c = _honest(fuss_catalan_cdf(x, M, scale=scale))
    s = _honest(fuss_catalan_sf(x, M, scale=scale))
    sp = _honest(fuss_catalan_singular_pdf(x, M, scale=scale))
    assert p >= 0 and sp >= 0 and 0 <= c <= 1 and 0 <= s <= 1
    assert abs(c + s - 1) <= 4e-16
    if x > 0 and np.isfinite(p):
        # the density of the scaled law is the unscaled density at x/scale, divided by scale;
        # where x/scale is a normal double the two routes must agree
        y = x / scale
        if 1e-300 < y < 1e300 and 1e-300 < scale < 1e300:
            ref = fuss_catalan_pdf(y, M) / scale
            assert p == pytest.approx(ref, rel=1e-13 * (M + 1)) or not np.isfinite(ref)


@MEDIUM
@given(st.integers(1, 1000), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_fuss_catalan_x_and_phi_over_their_domains(M, a, b):
    top = math.pi / (M + 1)
    p_lo, p_hi = sorted((a * top, b * top))
    x_lo, x_hi = _honest(gradexp.fuss_catalan_x(p_lo, M)), _honest(gradexp.fuss_catalan_x(p_hi, M))
    assert fuss_catalan_edge(M) >= x_lo >= x_hi >= 0  # x(phi) decreases from the edge to 0
    e = fuss_catalan_edge(M)
    phi = _honest(gradexp.fuss_catalan_phi(a * e, M))
    assert 0 <= phi <= top


@MEDIUM
@given(st.integers(1, 40), st.floats(0.0, 1.0), st.floats(0.0, 1.0), POSITIVE)
def test_fuss_catalan_ppf_monotone_and_bounded(M, a, b, scale):
    lo, hi = min(a, b), max(a, b)
    x_lo = _honest(fuss_catalan_ppf(lo, M, scale=scale))
    x_hi = _honest(fuss_catalan_ppf(hi, M, scale=scale))
    assert 0 <= x_lo <= x_hi
    with np.errstate(over="ignore"):
        assert x_hi <= fuss_catalan_edge(M) * scale * (1 + 1e-15)


@MEDIUM
@given(st.integers(0, 5000), st.integers(1, 10), POSITIVE)
def test_fuss_catalan_moments(k, M, scale):
    v = _honest(fuss_catalan_moment(k, M, scale=scale))
    assert v >= 0
    if k <= 30 and 1e-8 < scale < 1e8:
        exact = fuss_catalan_moment(k, M, exact=True)
        assert v == pytest.approx(exact * scale**k, rel=4e-16)


# --------------------------------------------------------------------------- gaussian building blocks
@FAST
@given(REALS, REALS)
def test_gaussian_primitives_have_no_nan(t, u):
    from gradexp import gaussian as g

    for v in g.scaled_partial_moments(t):
        assert _honest(v) >= 0
    assert _honest(g.mills_ratio(t)) > 0 or t > 38  # Q(t)/phi(t) ~ 1/t, positive
    a, b = min(t, u), max(t, u)
    p = _honest(g.norm_interval_prob(a, b))
    assert 0.0 <= p <= 1.0
    m, j = g.pdf_frexp(t)
    assert (m == 0 and abs(t) > g.PDF_FREXP_CUT) or 0.28 < m < 0.57


# --------------------------------------------------------------------------- extreme points vs mpmath
EXTREME_R = [-1.3e154, -1e100, -1e20, -1e6 * (1 + 1e-12), -1e6 * (1 - 1e-12), -3e4, 5e-324, -5e-324,
             1e8, 1e20, 1e300]


@pytest.mark.parametrize("R", EXTREME_R)
def test_C_extreme_points_vs_mpmath(R):
    ref = mp_explosion_factor(R)
    v = explosion_factor(R)
    assert float(abs(mp.mpf(v) / ref - 1)) < 1e-13


EXTREME_MS = [(-1e10, 1e-10), (1e200, 1.0), (1.0, 1e-300), (-4e301, 1e300), (-37.0, 1.0), (-38.7, 1e10),
              (-38.7 * 1e-300, 1e-300), (0.0, 1.3e154), (5e-324, 1e-300), (-1e300, 1e-8), (-45.0, 1e100),
              (-79.9, 1e300), (-80.1, 1e300)]


@pytest.mark.parametrize("mu,sigma", EXTREME_MS)
def test_relu_extreme_points_vs_mpmath(mu, sigma):
    m, v = relu_moments(mu, sigma)
    rm, rv = mp_relu_moments(mu, sigma)
    for val, ref in ((m, rm), (v, rv)):
        with mp.workdps(30):
            fref = float(ref)  # the correctly rounded double (0 or inf where it under/overflows)
        if fref == 0.0 or math.isinf(fref):
            assert val == fref
        elif abs(fref) < 2.2250738585072014e-308:  # subnormal: absolute error of an ulp of 2**-1074
            assert abs(val - fref) <= 4 * 5e-324
        else:
            assert float(abs(mp.mpf(val) / ref - 1)) < 1e-13, (val, ref)


def test_none_is_a_type_error_naming_the_argument():
    with pytest.raises(TypeError, match="R"):
        explosion_factor(None)
    with pytest.raises(TypeError, match="mu"):
        relu_moments(None)
    with pytest.raises(TypeError, match="sigma"):
        relu_moments(0.0, None)
    with pytest.raises(TypeError, match="rho"):
        correlated_explosion_factor(None)
    with pytest.raises(TypeError, match="d_in"):
        theorem_2_4_probability(None, 3, 0.5)
    with pytest.raises(TypeError, match="x"):
        fuss_catalan_pdf(None, 2)


def test_gradexp_elr_and_optim_import_as_modules():
    import importlib

    elr = importlib.import_module("gradexp.elr")
    optim = importlib.import_module("gradexp.optim")
    assert elr is gradexp.theory.elr and optim is gradexp.optim


def test_public_functions_cite_their_source():
    """numpydoc References on every public function of the theory layer (issue 14)."""
    import inspect

    from gradexp import activations, gaussian
    from gradexp.theory import explosion, relu, rmt

    missing = [f"{mod.__name__}.{name}" for mod in (gaussian, activations, relu, explosion, rmt)
               for name, f in vars(mod).items()
               if not name.startswith("_") and inspect.isfunction(f) and f.__module__ == mod.__name__
               and "References" not in (f.__doc__ or "")]
    assert not missing, missing
