"""The Fuss–Catalan law (Bjorck et al. Thm 1, App. D eqs. 9–10) against mpmath, sympy and closed forms.

References: ``mp_fc_pdf`` evaluates eq. 10 literally at 60 digits after solving eq. 9 by
bisection; ``mp_fc_cdf``/``mp_fc_sf`` integrate rho dx along eq. 9 by mpmath quadrature (no
closed form used). Frozen values below carry their mpmath recipe.
"""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import (
    mp_fc_cdf,
    mp_fc_moment,
    mp_fc_pdf,
    mp_fc_sf,
    mp_fc_solve,
    mp_fc_x_phi,
)

import gradexp
from gradexp import (
    fuss_catalan_cdf,
    fuss_catalan_edge,
    fuss_catalan_moment,
    fuss_catalan_pdf,
    fuss_catalan_phi,
    fuss_catalan_ppf,
    fuss_catalan_sf,
    fuss_catalan_singular_pdf,
    fuss_catalan_x,
    ginibre_lyapunov_exponents,
)

TOL = 4e-15  # a few ulp, on the whole support


def _rel(v, ref):
    return float(abs(mp.mpf(v) / ref - 1))


def _seam(M):
    """x at the switch between the small-x and the edge solvers, phi = pi/(2(M+1))."""
    return fuss_catalan_x(math.pi / (2 * (M + 1)), M)


def _points(M):
    e = fuss_catalan_edge(M)
    s = _seam(M)
    return [1e-300, 1e-100, 1e-20, 1e-5, 0.3, s * (1 - 1e-14), s, s * (1 + 1e-14), 0.7 * e,
            e * (1 - 1e-6), e * (1 - 1e-12), np.nextafter(e, 0)]


def test_public_api():
    for name in ("fuss_catalan_pdf", "fuss_catalan_cdf", "fuss_catalan_ppf", "fuss_catalan_sf", "fuss_catalan_edge",
                 "fuss_catalan_moment", "fuss_catalan_x", "fuss_catalan_phi", "fuss_catalan_singular_pdf",
                 "ginibre_lyapunov_exponents"):
        assert name in gradexp.theory.rmt.__all__ and hasattr(gradexp, name)


@pytest.mark.parametrize("M", [1, 2, 3, 6, 25])
def test_pdf_phi_against_mpmath(M):
    for x in _points(M):
        assert _rel(fuss_catalan_pdf(x, M), mp_fc_pdf(x, M)) < TOL, x
        phi, _ = mp_fc_solve(x, M)
        if x > _seam(M):  # phi carries the information near the edge
            assert _rel(fuss_catalan_phi(x, M), phi) < TOL, x


@pytest.mark.parametrize("M", [1, 2, 6])
def test_cdf_sf_against_mpmath_quadrature(M):
    for x in _points(M)[::2] + [_seam(M)]:
        assert _rel(fuss_catalan_cdf(x, M), mp_fc_cdf(x, M)) < TOL, x
        assert _rel(fuss_catalan_sf(x, M), mp_fc_sf(x, M)) < TOL, x


@pytest.mark.slow
@pytest.mark.parametrize("M", [1, 3, 4, 5, 10, 100])
def test_dense_grid_against_mpmath(M):
    e = fuss_catalan_edge(M)
    xs = list(np.geomspace(1e-250, e * 0.999, 23)) + [e * (1 - 10.0**-k) for k in range(2, 16, 2)]
    for x in xs:
        assert _rel(fuss_catalan_pdf(x, M), mp_fc_pdf(x, M)) < TOL, x
    for x in xs[::3]:
        assert _rel(fuss_catalan_sf(x, M), mp_fc_sf(x, M)) < TOL, x
        assert _rel(fuss_catalan_cdf(x, M), mp_fc_cdf(x, M)) < TOL, x


def test_frozen_values():
    # float(mp_fc_pdf(x, M, dps=50)): eq. 9 solved by bisection at 50 digits, eq. 10 at that phi
    frozen = [
        (0.5, 2, 0.3183098861837907),   # mp_fc_pdf(0.5, 2, dps=50)
        (1.0, 3, 0.13687779917563558),  # mp_fc_pdf(1.0, 3, dps=50)
        (1e-30, 6, 7.153250356256722e+24),  # mp_fc_pdf(1e-30, 6, dps=50)
    ]
    for x, M, ref in frozen:
        assert abs(fuss_catalan_pdf(x, M) / ref - 1) < TOL
        assert abs(float(mp_fc_pdf(x, M)) / ref - 1) < 1e-15  # the recipe reproduces the frozen value


@pytest.mark.parametrize("M", [1, 3, 20])
def test_ppf_against_mpmath_and_round_trip(M):
    e = fuss_catalan_edge(M)
    for x0 in (1e-200, 1e-10, 0.01, 0.5 * e, _seam(M)):
        q = mp_fc_cdf(x0, M)  # quadrature oracle
        assert abs(fuss_catalan_ppf(float(q), M) / x0 - 1) < TOL * (M + 1)  # dlog x/dlog F -> M + 1
    for x0 in (0.9 * e, e * (1 - 1e-6)):  # near the edge: through 1 - q, within the map's conditioning
        s = float(mp_fc_sf(x0, M))
        # q = 1 - s rounds s by up to 1.1e-16 absolute; dx/x = (2/3)(e - x)/x ds/s since s ~ (e - x)^{3/2}
        assert abs(fuss_catalan_ppf(1 - s, M) / x0 - 1) < TOL + (e - x0) / x0 * 1.2e-16 / s
    q = np.linspace(0, 1, 1001)
    x = fuss_catalan_ppf(q, M)
    assert x[0] == 0 and x[-1] == e and np.all(np.diff(x) > 0)
    np.testing.assert_allclose(fuss_catalan_cdf(x[1:-1], M), q[1:-1], rtol=1e-14, atol=0)
    assert fuss_catalan_ppf(0.5, M, scale=3.0) == pytest.approx(3 * fuss_catalan_ppf(0.5, M), rel=1e-15)
    with pytest.raises(ValueError, match="q must lie in"):
        fuss_catalan_ppf(1.5, M)
    with pytest.raises(ValueError, match="q must not be NaN"):
        fuss_catalan_ppf(np.nan, M)


def test_marchenko_pastur_and_quarter_circle():
    """M = 1: x is a squared singular value (MP of ratio 1); s = sqrt(x) follows the quarter circle."""
    x = np.linspace(1e-3, 4 - 1e-3, 301)
    np.testing.assert_allclose(fuss_catalan_pdf(x, 1), np.sqrt((4 - x) / x) / (2 * np.pi), rtol=TOL, atol=0)
    cdf = (np.sqrt(x * (4 - x)) / 2 + 2 * np.arcsin(np.sqrt(x) / 2)) / np.pi
    np.testing.assert_allclose(fuss_catalan_cdf(x, 1), cdf, rtol=1e-14, atol=0)
    s = np.linspace(1e-3, 2 - 1e-3, 101)
    np.testing.assert_allclose(fuss_catalan_singular_pdf(s, 1), np.sqrt(4 - s * s) / np.pi, rtol=1e-14, atol=0)
    assert fuss_catalan_singular_pdf(0.0, 1) == pytest.approx(2 / np.pi, rel=1e-15)
    np.testing.assert_allclose(fuss_catalan_phi(x, 1), np.arccos(np.sqrt(x / 4)), rtol=1e-12, atol=0)


def test_closed_form_cdf_by_sympy():
    """d/dphi F(x(phi)) = rho(x(phi)) x'(phi) for F = 1 - (M+1)phi/pi + (M/pi) sin((M+1)phi) sin(phi)/sin(M phi)."""
    import sympy as sp

    p = sp.symbols("phi", positive=True)
    for M in (1, 2, 3):
        x = sp.sin((M + 1) * p) ** (M + 1) / (sp.sin(p) * sp.sin(M * p) ** M)
        h = sp.sin((M + 1) * p) * sp.sin(p) / sp.sin(M * p) / sp.pi
        F = 1 - (M + 1) * p / sp.pi + M * h
        assert sp.simplify(sp.expand_trig(sp.diff(F, p) - (h / x) * sp.diff(x, p))) == 0


def test_normalisation_and_moments_mpmath():
    """The formula (eqs. 9-10) integrates to 1 and has the Fuss-Catalan numbers as moments."""
    for M in (1, 2, 4):
        with mp.workdps(30):
            assert abs(mp_fc_moment(0, M) - 1) < mp.mpf(10) ** -25
            for k in (1, 2, 3, 4):
                assert abs(mp_fc_moment(k, M) / fuss_catalan_moment(k, M, exact=True) - 1) < mp.mpf(10) ** -25


@pytest.mark.parametrize("M", [1, 2, 3, 6, 12])
def test_normalisation_of_float_pdf(M):
    """gradexp's pdf integrates to 1 (and to the moments) to 1e-10; Gauss-Jacobi in u, x = edge u^(M+1)."""
    from scipy.special import roots_jacobi

    u, w = roots_jacobi(80, 0.5, 0.0)
    u, w = (u + 1) / 2, w / 2**1.5
    e = fuss_catalan_edge(M)
    x = e * u ** (M + 1)
    base = fuss_catalan_pdf(x, M) * e * (M + 1) * u**M / np.sqrt(1 - u)
    for k in range(4):
        assert abs(np.sum(w * base * x**k) / fuss_catalan_moment(k, M) - 1) < 1e-10


def test_fuss_catalan_numbers():
    import sympy as sp

    assert [fuss_catalan_moment(k, 1, exact=True) for k in range(7)] == [1, 1, 2, 5, 14, 42, 132]
    assert [fuss_catalan_moment(k, 2, exact=True) for k in range(6)] == [1, 1, 3, 12, 55, 273]  # OEIS A001764
    for M in (1, 3, 7):
        for k in (0, 5, 13):
            assert fuss_catalan_moment(k, M, exact=True) == sp.binomial((M + 1) * k, k) / (M * k + 1)
    v = fuss_catalan_moment(np.array([0, 1, 2, 3]), 3, scale=2.0)
    np.testing.assert_array_equal(v, [1.0, 2.0, 16.0, 176.0])
    assert fuss_catalan_moment(4000, 5) == np.inf


def test_cdf_sf_complement_and_pdf_derivative():
    for M in (1, 2, 5):
        x = np.linspace(0, fuss_catalan_edge(M), 997)[1:-1]
        c, s = fuss_catalan_cdf(x, M), fuss_catalan_sf(x, M)
        np.testing.assert_allclose(c + s, 1.0, rtol=0, atol=2e-15)
        assert np.all(np.diff(c) > 0)
        # central difference of the cdf against the pdf in the bulk
        xm = x[200:-200:50]
        h = 1e-5 * xm
        d = (fuss_catalan_cdf(xm + h, M) - fuss_catalan_cdf(xm - h, M)) / (2 * h)
        np.testing.assert_allclose(d, fuss_catalan_pdf(xm, M), rtol=1e-8)


@pytest.mark.parametrize("M", [1, 2, 4, 8])
def test_asymptotics_at_both_ends(M):
    c = math.sin(math.pi / (M + 1)) / math.pi
    for x in (1e-250, 1e-150):
        assert abs(fuss_catalan_pdf(x, M) * x ** (M / (M + 1)) / c - 1) < 1e-12
        assert abs(fuss_catalan_cdf(x, M) / ((M + 1) * c * x ** (1 / (M + 1))) - 1) < 1e-12
    # rho ~ C sqrt(e - x): two distances from the edge give the exponent 1/2. The distance of a
    # double x to the true edge is taken in double-double (the rounded edge is off by ~1e-16)
    from gradexp.theory.rmt import _edge_dd

    hi, lo = _edge_dd(M)
    x1, x2 = hi * (1 - 1e-12), hi * (1 - 1e-10)
    d1, d2 = (hi - x1) + lo, (hi - x2) + lo
    r = math.log(fuss_catalan_pdf(x1, M) / fuss_catalan_pdf(x2, M)) / math.log(d1 / d2)
    assert abs(r - 0.5) < 1e-8
    # sf ~ (M+1)^2 phi^3 / (3 pi)
    x = fuss_catalan_x(1e-6, M)
    phi = fuss_catalan_phi(x, M)  # of the rounded x
    assert abs(fuss_catalan_sf(x, M) / ((M + 1) ** 2 * phi**3 / (3 * math.pi)) - 1) < 1e-9


def test_outside_support_and_endpoints():
    M = 3
    e = fuss_catalan_edge(M)
    above = np.nextafter(e, np.inf)  # the double e = fl(256/27) lies just *inside* the support
    assert fuss_catalan_pdf(-1.0, M) == 0 and fuss_catalan_pdf(above, M) == 0 and fuss_catalan_pdf(np.inf, M) == 0
    assert 0 < fuss_catalan_pdf(e, M) < 1e-9 and fuss_catalan_pdf(4.0, 1) == 0
    assert fuss_catalan_pdf(0.0, M) == np.inf
    assert fuss_catalan_cdf(-1.0, M) == 0 and fuss_catalan_cdf(0.0, M) == 0 and fuss_catalan_cdf(e * 2, M) == 1
    assert fuss_catalan_sf(-1.0, M) == 1 and fuss_catalan_sf(above, M) == 0 and 0 < fuss_catalan_sf(e, M) < 1e-15
    assert fuss_catalan_x(0.0, M) == e and fuss_catalan_x(math.pi / (M + 1), M) == 0
    assert fuss_catalan_phi(0.0, M) == math.pi / (M + 1) and fuss_catalan_phi(4.0, 1) == 0
    assert fuss_catalan_pdf(5e-324, M) > 0  # the smallest subnormal still has a finite density


def test_edge_values_and_limit():
    assert fuss_catalan_edge(1) == 4.0 and fuss_catalan_edge(2) == 6.75
    assert fuss_catalan_edge(3) == 256 / 27
    assert fuss_catalan_edge(2, scale=4.0) == 27.0
    for M in (10, 100, 1000):
        e = fuss_catalan_edge(M)
        assert abs(e / (math.e * (M + 1)) - (1 + 1 / M) ** M / math.e) < 1e-12
        assert abs(e / (math.e * (M + 1)) - 1 + 1 / (2 * M)) < 2 / M**2


def _kappa_phi(x, M):
    """Condition number |d log phi / d log x| of the inverse map (large near the edge)."""
    from gradexp.theory.rmt import _D

    phi = fuss_catalan_phi(x, M)
    return 1.0 / abs(_D(np.array([phi]), M)[1][0]) if phi <= math.pi / (2 * (M + 1)) else 1.0


def test_x_against_mpmath_and_round_trip():
    for M in (1, 2, 5, 30):
        a = math.pi / (M + 1)
        phis = np.array([1e-12, 1e-6, 0.1 * a, 0.5 * a, 0.5 * a + 1e-14, 0.9 * a, 0.999 * a])
        x = fuss_catalan_x(phis, M)
        for p, v in zip(phis, x):
            with mp.workdps(40):
                ref = mp_fc_x_phi(p, M)
            assert _rel(v, ref) < TOL * (1 if p <= 0.5 * a else 1 + (M + 1) * a / (a - p)), (M, p)
        assert np.all(np.diff(x) < 0)
        for p, v in zip(phis[1:5], x[1:5]):  # phi -> x -> phi within the conditioning of the inverse
            assert abs(fuss_catalan_phi(v, M) / p - 1) < TOL * (1 + _kappa_phi(v, M)), (M, p)


def test_scale():
    x = np.array([0.1, 1.0, 5.0])
    np.testing.assert_allclose(fuss_catalan_pdf(x, 2, scale=3.0), fuss_catalan_pdf(x / 3, 2) / 3, rtol=1e-15)
    np.testing.assert_allclose(fuss_catalan_cdf(x, 2, scale=3.0), fuss_catalan_cdf(x / 3, 2), rtol=1e-15)
    np.testing.assert_allclose(fuss_catalan_singular_pdf(x, 2, scale=4.0),
                               fuss_catalan_singular_pdf(x / 2, 2) / 2, rtol=1e-15)


def test_shapes_and_scalars():
    assert isinstance(fuss_catalan_pdf(1.0, 2), float)
    assert isinstance(fuss_catalan_cdf(1.0, 2), float)
    assert fuss_catalan_pdf(np.ones((2, 3)), 2).shape == (2, 3)
    assert fuss_catalan_phi(np.ones((4, 1)), 2).shape == (4, 1)
    assert fuss_catalan_x(np.full(3, 0.2), 2).shape == (3,)
    assert fuss_catalan_pdf(np.float32(1.0), np.int64(2)) == pytest.approx(fuss_catalan_pdf(1.0, 2), rel=1e-15)
    assert fuss_catalan_pdf(1.0, 2.0) == fuss_catalan_pdf(1.0, 2)  # integral floats are accepted


@pytest.mark.parametrize("M", [0, -1, 2.5, float("nan"), float("inf"), True, "3", None, [2], 1001])
def test_bad_M(M):
    # a value out of range is a ValueError, a non-integer a TypeError; both name M
    err = ValueError if isinstance(M, int) and not isinstance(M, bool) else TypeError
    for f in (fuss_catalan_pdf, fuss_catalan_cdf, fuss_catalan_sf, fuss_catalan_phi, fuss_catalan_singular_pdf):
        with pytest.raises(err, match="M must be"):
            f(1.0, M)
    with pytest.raises(err, match="M must be"):
        fuss_catalan_edge(M)
    with pytest.raises(err, match="M must be"):
        fuss_catalan_x(0.1, M)
    with pytest.raises(err, match="M must be"):
        fuss_catalan_moment(1, M)


def test_bad_arguments():
    with pytest.raises(ValueError, match="x must not be NaN"):
        fuss_catalan_pdf([1.0, np.nan], 2)
    with pytest.raises(ValueError, match="x must not be NaN"):
        fuss_catalan_cdf(np.nan, 2)
    with pytest.raises(ValueError, match="s must not be NaN"):
        fuss_catalan_singular_pdf(np.nan, 2)
    with pytest.raises(ValueError, match="phi must lie in"):
        fuss_catalan_x(2.0, 2)
    with pytest.raises(ValueError, match="phi must lie in"):
        fuss_catalan_x(-1e-300, 2)
    with pytest.raises(ValueError, match="phi must not be NaN"):
        fuss_catalan_x(np.nan, 2)
    with pytest.raises(ValueError, match="x must lie in"):
        fuss_catalan_phi(7.0, 2)
    with pytest.raises(ValueError, match="x must lie in"):
        fuss_catalan_phi(-0.1, 2)
    with pytest.raises(ValueError, match="scale must be > 0"):
        fuss_catalan_pdf(1.0, 2, scale=0.0)
    with pytest.raises(ValueError, match="scale must be finite"):
        fuss_catalan_cdf(1.0, 2, scale=np.inf)
    for k in (-1, 1.5, np.nan, True):
        with pytest.raises(ValueError, match="k must be a non-negative integer"):
            fuss_catalan_moment(k, 2)
    with pytest.raises(ValueError, match="exact=True"):
        fuss_catalan_moment([1, 2], 2, exact=True)
    with pytest.raises(ValueError, match="N must be >= 1"):
        ginibre_lyapunov_exponents(0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        ginibre_lyapunov_exponents(3, sigma=-1.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.floats(1e-6, 1 - 1e-6))
def test_phi_x_inverse_property(M, t):
    a = math.pi / (M + 1)
    phi = t * a
    x = fuss_catalan_x(phi, M)
    if x > _seam(M):  # near the edge phi is determined up to the conditioning of the inverse
        assert abs(fuss_catalan_phi(x, M) / phi - 1) < TOL * (1 + _kappa_phi(x, M))
    else:  # near 0 the distance to pi/(M+1) carries the information (a - phi is exact here)
        assert abs((a - fuss_catalan_phi(x, M)) / (a - phi) - 1) < TOL * (M + 1)


def test_lyapunov_exponents_against_mpmath():
    for N in (1, 2, 7, 1000):
        lam = ginibre_lyapunov_exponents(N, sigma=1.5)
        for i in (1, N):
            k = N - i + 1
            with mp.workdps(30):
                if k <= 7:  # E log(chi_k) by quadrature of the chi density
                    c = 2 ** (mp.mpf(k) / 2 - 1) * mp.gamma(mp.mpf(k) / 2)
                    elog = mp.quad(lambda r, k=k, c=c: mp.log(r) * r ** (k - 1) * mp.exp(-r * r / 2) / c, [0, 1, 4, mp.inf])
                else:  # E log chi_k = (psi(k/2) + log 2)/2 in mpmath
                    elog = (mp.digamma(mp.mpf(k) / 2) + mp.log(2)) / 2
                ref = elog + mp.log(1.5) - mp.log(N) / 2
            assert abs(lam[i - 1] - float(ref)) < 1e-13
        assert np.all(np.diff(lam) < 0)


# --------------------------------------------------------------------------- seams added for issue 17
@pytest.mark.parametrize("M", [299, 300, 301, 302])
def test_edge_seam_exact_rationals_vs_mpmath(M):
    from gradexp.theory.rmt import _edge_dd

    hi, lo = _edge_dd(M)
    with mp.workdps(60):
        ref = mp.mpf(M + 1) ** (M + 1) / mp.mpf(M) ** M
        assert abs((mp.mpf(hi) + mp.mpf(lo)) / ref - 1) < mp.mpf(10) ** -30


@pytest.mark.parametrize("M", [998, 999, 1000, 5])
def test_root_seam_vs_mpmath(M):
    from gradexp.theory.rmt import _root

    xs = np.array([5e-324, 1e-310, 1e-300, 0.3, 1.0, 7.0, 1e300, 1.7e308])
    r = _root(xs, M)
    for x, v in zip(xs, r):
        with mp.workdps(40):
            ref = mp.mpf(x) ** (mp.mpf(1) / (M + 1))
        assert _rel(v, ref) < TOL, x


@pytest.mark.parametrize("M", [1])  # for M >= 2 the quantile at q = 1e-290 underflows even at scale 1e300
def test_ppf_tiny_q_seam(M):
    from gradexp.theory.rmt import _TINY_Q

    scale = 1e300
    for q in (_TINY_Q * (1 - 1e-12), _TINY_Q, _TINY_Q * (1 + 1e-12), _TINY_Q * 10):
        x = fuss_catalan_ppf(q, M, scale=scale)
        assert 0 < x < np.inf
        # through the cdf (tested against the quadrature oracle): dlog x / dlog F -> M + 1
        assert abs(fuss_catalan_cdf(x, M, scale=scale) / q - 1) < TOL * (M + 1)


@pytest.mark.parametrize("M", [1, 2, 6])
def test_scale_extremes_against_mpmath(M):
    # rho(x/s)/s with x/s below the smallest double: only the root of x/s is used
    from gradexp.theory.rmt import _TINY_ROOT

    # both sides of the seam (x/s)^(1/(M+1)) = _TINY_ROOT of the leading-term branch (reachable
    # for M = 1 only: for M >= 2 the root of a double ratio exceeds (5e-324/1.8e308)^(1/3) = 3e-211)
    seam = [(float(mp.mpf(_TINY_ROOT) ** 2 * f * mp.mpf(1e300)), 1e300) for f in (1 - 1e-9, 1 + 1e-9)] if M == 1 else []
    for x, s in [(1e-300, 1e300), (1e-200, 1e150), (5e-324, 1e10)] + seam:
        with mp.workdps(60):
            y = mp.mpf(x) / mp.mpf(s)
            ref = mp_fc_pdf(y, M, dps=60) / mp.mpf(s)
            refc = mp_fc_cdf(y, M)
        assert _rel(fuss_catalan_pdf(x, M, scale=s), ref) < TOL * 2, (x, s)
        assert _rel(fuss_catalan_cdf(x, M, scale=s), refc) < TOL * 2, (x, s)


@pytest.mark.slow
@pytest.mark.parametrize("M", [300, 301, 1000])
def test_large_M_against_mpmath(M):
    e = fuss_catalan_edge(M)
    for x in (1e-300, 1e-5, 1.0, 0.5 * e, 0.9 * e):
        assert _rel(fuss_catalan_pdf(x, M), mp_fc_pdf(x, M)) < TOL, x
