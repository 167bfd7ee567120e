"""C(R), activation factors and the correlated factor against independent references."""

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from oracles import mp_activation_factor, mp_explosion_factor

import gradexp
from gradexp import (
    activation_factor,
    correlated_explosion_factor,
    explosion_factor,
    explosion_factor_asymptotic,
)
from gradexp.theory.explosion import _ASYMPTOTIC_R


def _rel(v, ref):
    return float(abs((mp.mpf(v) - ref) / ref))


SEAMS = [0.0, -1e-300, 1e-300, -1 / math.sqrt(2), -1 / math.sqrt(2) * (1 + 1e-12), -1 / math.sqrt(2) * (1 - 1e-12),
         _ASYMPTOTIC_R, _ASYMPTOTIC_R * (1 + 1e-12), _ASYMPTOTIC_R * (1 - 1e-12)]


@pytest.mark.parametrize("R", SEAMS + [-1e4, -300.0, -27.0, -3.0, 0.5, 2.0, 6.0, 1e4])
def test_C_vs_mpmath(R):
    assert _rel(explosion_factor(R), mp_explosion_factor(R, dps=80)) < 1e-13


@pytest.mark.slow
def test_C_dense_grid():
    Rs = np.concatenate([-np.logspace(-4, 4, 600), np.logspace(-4, 4, 600)])
    worst = max(_rel(c, mp_explosion_factor(R)) for R, c in zip(Rs, explosion_factor(Rs)))
    assert worst < 1e-13


def test_limits():
    assert explosion_factor(-np.inf) == np.inf
    assert explosion_factor(np.inf) == 1.0
    assert abs(explosion_factor(0.0) - math.pi / (math.pi - 1)) < 1e-15
    assert abs(gradexp.YANG_RATE**2 - explosion_factor(0.0)) < 1e-15


def test_asymptotic_series_with_sympy():
    # C = I0/I2 + exponentially small; I0, I2 from the asymptotic series of the Mills ratio
    t, r = sp.symbols("t r", positive=True)
    i0 = sum((-1) ** k * sp.factorial2(2 * k - 1) / t ** (2 * k + 1) for k in range(7))
    i2 = sp.expand(i0 - t * (1 - t * i0))
    ser = sp.series((i0 / i2).subs(t, sp.sqrt(2) * r), r, sp.oo, 4).removeO()
    assert sp.simplify(ser - (r**2 + sp.Rational(5, 2) - 3 / r**2)) == 0
    R = -200.0
    assert abs(explosion_factor_asymptotic(R) / explosion_factor(R) - 1) < 1e-9


def test_nan_raises():
    with pytest.raises(ValueError, match="R"):
        explosion_factor(float("nan"))


# --------------------------------------------------------------------------- activations
@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (-1.3, 0.7), (2.0, 3.0)])
def test_relu_and_leaky_closed_forms_vs_quadrature(mu, sigma):
    from gradexp.gaussian import gaussian_expectation

    for slope in (0.0, 0.1, 0.5, -0.2):
        act = gradexp.get_activation("leaky_relu", slope=slope)
        f0 = float(act.value(mu))
        d2 = gaussian_expectation(lambda x: float(act.deriv(x)) ** 2, mu, sigma, breakpoints=(0.0,))
        e1 = gaussian_expectation(lambda x: float(act.value(x)) - f0, mu, sigma, breakpoints=(0.0,))
        e2 = gaussian_expectation(lambda x: (float(act.value(x)) - f0) ** 2, mu, sigma, breakpoints=(0.0,))
        quad = sigma**2 * d2 / (e2 - e1 * e1)
        assert abs(activation_factor("leaky_relu", mu, sigma, slope=slope) / quad - 1) < 1e-10
    assert activation_factor("leaky_relu", mu, sigma, slope=0.0) == pytest.approx(
        activation_factor("relu", mu, sigma), rel=1e-14)
    assert activation_factor("leaky_relu", mu, sigma, slope=1.0) == pytest.approx(1.0, rel=1e-14)


def test_gelu_factor_vs_mpmath():
    # independent route: mpmath quadrature of the definition at 30 digits
    mu, s = 0.4, 1.2
    with mp.workdps(30):
        pdf = lambda x: mp.npdf(x, mu, s)  # noqa: E731
        gelu = lambda x: x * mp.ncdf(x)  # noqa: E731
        dgelu = lambda x: mp.ncdf(x) + x * mp.npdf(x)  # noqa: E731
        m1 = mp.quad(lambda x: gelu(x) * pdf(x), [-mp.inf, mu, mp.inf])
        m2 = mp.quad(lambda x: gelu(x) ** 2 * pdf(x), [-mp.inf, mu, mp.inf])
        d2 = mp.quad(lambda x: dgelu(x) ** 2 * pdf(x), [-mp.inf, mu, mp.inf])
        ref = s**2 * d2 / (m2 - m1**2)
    assert _rel(activation_factor("gelu", mu, s), ref) < 1e-10


def test_identity_and_dropout_give_one_at_zero_mean():
    assert activation_factor("identity", 0.3, 2.0) == 1.0
    assert activation_factor("dropout", 0.0, 1.0, keep_prob=0.3) == 1.0
    assert activation_factor("dropout", 1.0, 1.0, keep_prob=0.5) == pytest.approx(1 / 1.5, rel=1e-15)


def test_activation_factor_broadcasts():
    out = activation_factor("tanh", np.array([0.0, 0.5]), 1.0)
    assert out.shape == (2,) and np.all(out > 1)


# --------------------------------------------------------------------------- correlation
def _mp_correlated(rho):
    with mp.workdps(40):
        rho = mp.mpf(rho)
        kappa = (mp.sqrt(1 - rho**2) + (mp.pi - mp.acos(rho)) * rho) / (2 * mp.pi)
        v = mp.mpf(1) / 2 - 1 / (2 * mp.pi)
        c = kappa - 1 / (2 * mp.pi)
        a = v - c
        return mp.quad(lambda z: mp.npdf(z) / (a + c * z * z), [-mp.inf, 0, mp.inf]) / 2


@pytest.mark.parametrize("rho", [0.0, 1e-8, 0.01, 0.3, 0.7, 0.9, 0.99, 0.999999])
def test_correlated_factor_vs_mpmath(rho):
    assert _rel(correlated_explosion_factor(rho), _mp_correlated(rho)) < 1e-12


def test_correlated_factor_ends_and_domain():
    assert correlated_explosion_factor(0.0) == pytest.approx(math.pi / (math.pi - 1), rel=1e-15)
    assert correlated_explosion_factor(1.0) == np.inf
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError, match="rho"):
            correlated_explosion_factor(bad)


def test_theorem_2_4_helpers():
    assert gradexp.theorem_2_4_probability(100, 100, 0.3) == pytest.approx(
        1 - 100 * math.exp(-50 * (0.3 - 1 - math.log(0.3))), rel=1e-15)
    assert gradexp.theorem_2_4_upper_factor(100, 0.3) == pytest.approx(1 + 2 / (1e6 * 0.027), rel=1e-14)
    with pytest.raises(ValueError, match="delta"):
        gradexp.theorem_2_4_probability(10, 10, 1.0)
    with pytest.raises(ValueError, match="d_in"):
        gradexp.theorem_2_4_upper_factor(0, 0.5)


# --------------------------------------------------------------------------- seams added for issue 17
def _mp_leaky(a, z):
    """Leaky-ReLU factor from its definition in mpmath: E phi'^2 / Var(phi(Y))/sigma^2 with
    phi(y) = a y + (1-a) ReLU(y) and the Prop. 2.1 moments (50 digits + 8 per decade of z)."""
    with mp.workdps(int(50 + 8 * math.log10(abs(z) + 1))):
        a, z = mp.mpf(a), mp.mpf(z)
        cdf, pdf = mp.ncdf(z), mp.npdf(z)
        m1 = z * cdf + pdf  # E ReLU(z + Z)
        m2 = (1 + z * z) * cdf + z * pdf  # E ReLU(z + Z)^2
        var_relu = m2 - m1**2
        cov = cdf  # Cov(Y, ReLU(Y)) / sigma^2 (Stein)
        var = a * a + (1 - a) ** 2 * var_relu + 2 * a * (1 - a) * cov
        return (cdf + a * a * (1 - cdf)) / var


@pytest.mark.parametrize("slope", [0.1, -1.0, 1e-200, 0.5])
@pytest.mark.parametrize("z", [-1e5, -60.0, -38.0, -1e-300, 0.0, 1e-300, 3.0, 1e5])
def test_leaky_factor_vs_mpmath_on_both_sides_of_zero(slope, z):
    ref = _mp_leaky(slope, z)
    assert _rel(activation_factor("leaky_relu", z, 1.0, slope=slope), ref) < 1e-13


def test_dropout_factor_vs_definition():
    for mu, sigma in ((1e200, 1.0), (1.0, 1e-300), (-3.0, 2.0), (1e-300, 1e300)):
        with mp.workdps(50):
            ref = mp.mpf(sigma) ** 2 / (mp.mpf(sigma) ** 2 + mp.mpf(0.5) * mp.mpf(mu) ** 2)
            fref = float(ref)
        v = activation_factor("dropout", mu, sigma, keep_prob=0.5)
        assert v == fref if fref == 0 else _rel(v, ref) < 1e-15


@pytest.mark.slow
@pytest.mark.parametrize("name", gradexp.theory.explosion.QUADRATURE_ACTIVATIONS)
def test_quadrature_activations_at_the_corners_of_their_domain(name):
    from gradexp.theory.explosion import QUAD_MU_MAX, QUAD_SIGMA_RANGE

    lo, hi = QUAD_SIGMA_RANGE  # the four corners and the centre (tests/accuracy_table.py covers a grid)
    for mu, s in ((-QUAD_MU_MAX, lo), (-QUAD_MU_MAX, hi), (QUAD_MU_MAX, lo), (QUAD_MU_MAX, hi), (0.0, 1.0)):
        assert _rel(activation_factor(name, mu, s), mp_activation_factor(name, mu, s, dps=20)) < 1e-10, (mu, s)
    with pytest.raises(ValueError, match="mu"):
        activation_factor(name, np.nextafter(QUAD_MU_MAX, np.inf), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        activation_factor(name, 0.0, np.nextafter(lo, 0))


def test_theorem_2_4_helpers_at_extremes_vs_mpmath():
    cases = [(1e300, 1e300, 0.5), (1.0, 1e308, 5e-324), (100.0, 100.0, 1 - 1e-12), (3.0, 7.0, 0.3)]
    for d_in, d_out, delta in cases:
        with mp.workdps(60):
            dl = mp.mpf(delta)
            ref = 1 - mp.mpf(d_out) * mp.exp(-mp.mpf(d_in) / 2 * (dl - 1 - mp.log(dl)))
        assert _rel(gradexp.theorem_2_4_probability(d_in, d_out, delta), ref) < 1e-13, (d_in, d_out, delta)
    for d_in, delta, mu_w, sigma_w in [(1e300, 0.5, 1e200, 1e-200), (1.0, 5e-324 * 2**60, 0.0, 1.0),
                                       (1e100, 0.5, 1e200, 1e-200), (100.0, 0.3, 0.7, 1.3)]:
        with mp.workdps(60):
            m = (mp.mpf(mu_w) / mp.mpf(sigma_w)) ** 2
            ref = 1 + 2 * (1 + m) * (1 + 2 * m) / (mp.mpf(d_in) ** 3 * mp.mpf(delta) ** 3)
            fref = float(ref)
        v = gradexp.theorem_2_4_upper_factor(d_in, delta, mu_w, sigma_w)
        assert v == fref if math.isinf(fref) else _rel(v, ref) < 1e-14, (d_in, delta, mu_w, sigma_w)


def test_theorem_2_4_seams_vs_mpmath():
    # the series of delta - 1 - log(delta) switches at |delta - 1| = 0.2; 1 + m switches to m
    # (and to 1) at m = 2**(+-60): reference points on both sides, one tolerance
    for delta in (0.8 * (1 - 1e-12), 0.8, 0.8 * (1 + 1e-12), 1 - 1e-15, 0.3):
        with mp.workdps(60):
            dl = mp.mpf(delta)
            ref = 1 - 7 * mp.exp(-mp.mpf(50) / 2 * (dl - 1 - mp.log(dl)))
        assert _rel(gradexp.theorem_2_4_probability(50, 7, delta), ref) < 1e-14, delta
    for r in (2.0**30 * (1 - 1e-12), 2.0**30, 2.0**30 * (1 + 1e-12), 2.0**-30 * (1 - 1e-12), 2.0**-30 * (1 + 1e-12)):
        with mp.workdps(60):
            m = mp.mpf(r) ** 2
            ref = 1 + 2 * (1 + m) * (1 + 2 * m) / (mp.mpf(10) ** 3 * mp.mpf(0.5) ** 3)
        assert _rel(gradexp.theorem_2_4_upper_factor(10, 0.5, r, 1.0), ref) < 1e-14, r


@pytest.mark.parametrize("bad", ["1.0", True, np.bool_(False), np.array([True, False]), [1.0, "2"], 1j, None])
def test_explosion_factor_refuses_text_bools_and_complex(bad):
    """numpy would convert "1.0" and True to numbers; a number given as text or as a truth value
    is a caller's mistake: TypeError naming R (issue 25)."""
    from gradexp import explosion_factor, explosion_factor_asymptotic

    for f in (explosion_factor, explosion_factor_asymptotic):
        with pytest.raises(TypeError, match="R must be a real number"):
            f(bad)


def test_leaky_slope_outside_the_domain_is_refused_like_in_the_simulator():
    from gradexp import activation_factor

    with pytest.raises(ValueError, match=r"slope of leaky_relu must lie in \[-1.0, 1.0\]"):
        activation_factor("leaky_relu", 0.0, 1.0, slope=5)
