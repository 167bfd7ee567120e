"""Tests of gradexp.theory.finite_size: closed forms against mpmath, the quadrature against the
closed forms, against mpmath and against a Monte-Carlo integral, the 1/B expansion against
sympy, limits, divergences and validation."""

import math

import mpmath as mp
import numpy as np
import pytest

from gradexp.theory import finite_size as fs
from gradexp.theory.explosion import activation_factor
from gradexp.theory.finite_size import (
    finite_batch_expansion,
    finite_batch_factor,
    finite_batch_moments,
    finite_batch_rate,
    rate_vs_batch_overlay,
    sphere_pair_rule,
)

SMOOTH = ["tanh", "gelu", "silu", "elu", "softplus"]
BATCHES = [4, 5, 6, 7, 8, 11, 16, 33, 64, 100, 256, 1000, 4096, 10 ** 5]


# ----------------------------------------------------------------- mpmath references
def _mp_leaky_factor(B, a, backward, dps=50):
    """The closed form of the module, re-derived and evaluated in mpmath (Gaussian kernels at
    rho = -1/(B-1) for a positively homogeneous activation with negative slope a)."""
    with mp.workdps(dps):
        B, a = mp.mpf(B), mp.mpf(a)
        rho = -1 / (B - 1)
        orth = mp.mpf(1) / 4 + mp.asin(rho) / (2 * mp.pi)
        k1 = (mp.sqrt(1 - rho ** 2) + rho * (mp.pi - mp.acos(rho))) / (2 * mp.pi)
        d2 = (1 + a * a) / 2
        o = a * a + a * (1 - a) + (1 - a) ** 2 * orth
        k = a * a * rho + a * (1 - a) * rho + (1 - a) ** 2 * k1
        alpha = d2 - k
        if backward == "full":
            return (B - 1) * d2 + o - d2 + k, alpha * (B - 3)
        return B * d2, alpha * (B - 3)


def _mp_sphere_moments(B, f, df, kink_angles=True, dps=20):
    """Moments by mpmath 2-D quadrature over the disk density (1 - |s|^2)^((B-5)/2) of the
    pair (y1, y2) = sqrt(B-1) L s: independent of the closed forms and of the Gauss rule."""
    with mp.workdps(dps):
        rho = -mp.mpf(1) / (B - 1)
        c = mp.sqrt(1 - rho ** 2)
        sB = mp.sqrt(B - 1)
        cuts = sorted(float(x) % (2 * math.pi) for x in
                      (math.pi / 2, -math.pi / 2, math.atan2(1 / (B - 1), float(c)),
                       math.atan2(1 / (B - 1), float(c)) + math.pi))
        cuts = [mp.mpf(x) for x in cuts] + [mp.mpf(cuts[0]) + 2 * mp.pi]
        ex = mp.mpf(B - 5) / 2

        def integral(g):
            tot = 0
            for lo, hi in zip(cuts[:-1], cuts[1:]):
                tot += mp.quad(lambda r, t: g(sB * r * mp.cos(t), sB * (rho * r * mp.cos(t)
                                                                         + c * r * mp.sin(t)))
                               * r * (1 - r * r) ** ex, [0, 1], [lo, hi])
            return tot

        norm = integral(lambda y1, y2: 1)
        return {
            "D2": integral(lambda y1, y2: df(y1) ** 2) / norm,
            "O": integral(lambda y1, y2: df(y1) * df(y2)) / norm,
            "A2": integral(lambda y1, y2: (y1 * df(y1)) ** 2) / norm,
            "A12": integral(lambda y1, y2: y1 * df(y1) * y2 * df(y2)) / norm,
            "E2": integral(lambda y1, y2: f(y1) ** 2) / norm,
            "K": integral(lambda y1, y2: f(y1) * f(y2)) / norm,
        }


# ----------------------------------------------------------------- closed forms
@pytest.mark.parametrize("backward", ["full", "simplified"])
@pytest.mark.parametrize("name,a", [("relu", 0.0), ("identity", 1.0), ("leaky_relu", 0.2)])
def test_closed_forms_against_mpmath(name, a, backward):
    params = {"slope": a} if name == "leaky_relu" else {}
    B = np.array(BATCHES + [10 ** 7], dtype=float)
    got = finite_batch_factor(B, name, bn_backward=backward, **params)
    for b, g in zip(B, got):
        num, den = _mp_leaky_factor(int(b), a, backward)
        ref = float(num / den)
        assert abs(g / ref - 1) < 1e-13, (b, g, ref)


def test_identity_rationals():
    B = np.arange(4, 200)
    assert np.allclose(finite_batch_factor(B, "identity"), (B - 2) / (B - 3), rtol=1e-14, atol=0)
    assert np.allclose(finite_batch_factor(B, "identity", bn_backward="simplified"),
                       (B - 1) / (B - 3), rtol=1e-14, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("B", [4, 5, 9])
def test_relu_moments_against_mpmath_quadrature(B):
    """The homogeneity reduction (sphere moments = Gaussian kernels at rho = -1/(B-1))
    against a direct 2-D mpmath integral over the sphere's pair density."""
    ref = _mp_sphere_moments(B, lambda x: mp.mpf(x) if x > 0 else mp.mpf(0),
                             lambda x: mp.mpf(1) if x > 0 else mp.mpf(0))
    got = finite_batch_moments(B, "relu")
    for k, v in ref.items():
        assert abs(float(got[k]) - float(v)) < 1e-12 * max(1.0, abs(float(v))), k


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh", "elu"])
def test_quadrature_against_mpmath(name):
    B = 5
    act = fs.get_activation(name)
    if name == "tanh":
        f, df = mp.tanh, (lambda x: 1 - mp.tanh(x) ** 2)
    else:
        f = (lambda x: x if x > 0 else mp.expm1(x))
        df = (lambda x: mp.mpf(1) if x > 0 else mp.exp(x))
    ref = _mp_sphere_moments(B, f, df, dps=15)
    got = finite_batch_moments(B, act)
    for k, v in ref.items():
        assert abs(float(got[k]) - float(v)) < 1e-11 * max(1.0, abs(float(v))), k


# ----------------------------------------------------------------- quadrature
@pytest.mark.parametrize("name,params", [("relu", {}), ("identity", {}),
                                         ("leaky_relu", {"slope": 0.3}),
                                         ("dropout", {"keep_prob": 0.7})])
def test_quadrature_matches_closed_forms(name, params):
    """The Gauss rule (the path of the smooth activations) on the activations with closed forms."""
    act = fs.get_activation(name, **params)
    if name == "dropout":  # the rule integrates over y only; the mask is averaged by hand
        return _dropout_by_rule(act)
    keys = ("D2", "O", "A2", "A12", "E2", "K")
    for B in BATCHES:
        q = dict(zip(keys + ("alpha",), fs._quadrature_moments(act, B)))
        c = finite_batch_moments(B, act)
        for k in keys + ("alpha",):
            assert abs(q[k] - float(c[k])) <= 1e-12 * max(abs(float(c[k])), 1e-3), (B, k)


def _dropout_by_rule(act):
    p = act.param
    for B in (4, 16, 256):
        y1, y2, w = sphere_pair_rule(B)
        c = finite_batch_moments(B, act)
        assert abs(p * (w @ (y1 * y2)) * p - float(c["K"])) < 1e-13
        assert abs(p * (w @ (y1 * y1)) - float(c["E2"])) < 1e-13


@pytest.mark.parametrize("name", SMOOTH)
def test_quadrature_converged(name):
    """≤ 1e-10 relative: the default rule against one with twice the nodes per direction."""
    act = fs.get_activation(name)
    for B in BATCHES:
        y1, y2, w = sphere_pair_rule(B, 2 * fs._N_CHI, 2 * fs._N_ARC)
        f1, f2, d1, d2 = act.value(y1), act.value(y2), act.deriv(y1), act.deriv(y2)
        c1, c2 = f1 - f1 @ w, f2 - f2 @ w
        D2, O, A2, A12 = w @ (d1 * d1), w @ (d1 * d2), w @ (y1 * y1 * d1 * d1), w @ (y1 * d1 * y2 * d2)
        al = w @ (c1 * c1) - w @ (c1 * c2)
        ref_full = ((B - 1) * D2 + O - A2 + A12) / (al * (B - 3))
        ref_simp = B * D2 / (al * (B - 3))
        assert abs(finite_batch_factor(B, act) / ref_full - 1) < 1e-10, B
        assert abs(finite_batch_factor(B, act, bn_backward="simplified") / ref_simp - 1) < 1e-10, B


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu"])
def test_moments_against_monte_carlo(name):
    """Sphere moments against a Monte-Carlo integral over y = sqrt(B) Pz/|Pz| (5 standard errors)."""
    B, n = 6, 200_000
    rng = np.random.default_rng(7)
    z = rng.standard_normal((n, B))
    z -= z.mean(axis=1, keepdims=True)
    y = math.sqrt(B) * z / np.linalg.norm(z, axis=1, keepdims=True)
    act = fs.get_activation(name)
    y1, y2 = y[:, 0], y[:, 1]
    f1, f2, d1, d2 = act.value(y1), act.value(y2), act.deriv(y1), act.deriv(y2)
    samples = {"D2": d1 * d1, "O": d1 * d2, "A2": (y1 * d1) ** 2, "A12": y1 * d1 * y2 * d2,
               "E2": f1 * f1, "K": f1 * f2}
    got = finite_batch_moments(B, act)
    for k, s in samples.items():
        se = s.std(ddof=1) / math.sqrt(n)
        assert abs(s.mean() - float(got[k])) < 5 * se, (k, s.mean(), float(got[k]), se)


def test_rule_integrates_the_sphere():
    """Second moments of the pair: E y1² = 1, E y1 y2 = −1/(B−1), weights sum to 1."""
    for B in BATCHES:
        y1, y2, w = sphere_pair_rule(B)
        assert abs(w.sum() - 1) < 1e-14
        assert abs(w @ (y1 * y1) - 1) < 1e-13
        assert abs(w @ (y2 * y2) - 1) < 1e-13
        assert abs(w @ (y1 * y2) + 1 / (B - 1)) < 1e-13
        # fourth moment of one coordinate of sqrt(B-1) t, t ~ (1-t²)^((B-4)/2): 3(B-1)/(B+1)
        assert abs(w @ y1 ** 4 - 3 * (B - 1) / (B + 1)) < 1e-12


# ----------------------------------------------------------------- limits and expansion
@pytest.mark.parametrize("name", ["relu", "identity", "tanh", "gelu", "elu", "softplus", "silu"])
def test_infinite_batch_is_activation_factor(name):
    for bk in ("full", "simplified"):
        assert finite_batch_factor(math.inf, name, bn_backward=bk) == float(activation_factor(name))


@pytest.mark.slow
def test_relu_expansion_against_sympy():
    sp = pytest.importorskip("sympy")
    e = sp.symbols("e", positive=True)  # e = 1/B
    B = 1 / e
    rho = -1 / (B - 1)
    orth = sp.Rational(1, 4) + sp.asin(rho) / (2 * sp.pi)
    k1 = (sp.sqrt(1 - rho ** 2) + rho * (sp.pi / 2 + sp.asin(rho))) / (2 * sp.pi)
    alpha = sp.Rational(1, 2) - k1
    full = ((B - 1) / 2 + orth - sp.Rational(1, 2) + k1) / (alpha * (B - 3))
    simp = (B / 2) / (alpha * (B - 3))
    for expr, bk in ((full, "full"), (simp, "simplified")):
        ser = sp.series(expr, e, 0, 2).removeO()
        lam0 = sp.nsimplify(ser.coeff(e, 0))
        c1 = ser.coeff(e, 1)
        got = finite_batch_expansion("relu", bn_backward=bk)
        assert abs(got[0] - float(lam0)) < 1e-13
        assert abs(got[1] - float(c1)) < 1e-10 * max(1, abs(float(c1))), (bk, got, float(c1))
        # the second-order coefficient of the docstring, against the factor itself
        ser3 = sp.series(expr, e, 0, 4).removeO()
        c2, c3 = float(ser3.coeff(e, 2)), float(ser3.coeff(e, 3))
        doc = {"full": (12 * math.pi ** 3 - 19 * math.pi ** 2 + 8) / (4 * (math.pi - 1) ** 3),
               "simplified": math.pi * (29 * math.pi ** 2 - 62 * math.pi + 34) / (4 * (math.pi - 1) ** 3)}
        assert abs(doc[bk] - c2) < 1e-12 * c2
        Bn = 1e4
        resid = (finite_batch_factor(Bn, bn_backward=bk) - got[0] - got[1] / Bn) * Bn ** 2
        assert abs(resid - c2) < 2 * abs(c3) / Bn + 1e-6  # the next term is c3/B


@pytest.mark.parametrize("name", ["relu", "identity", "leaky_relu", "tanh", "gelu", "elu", "silu"])
def test_expansion_against_large_batches(name):
    """c1 against (λ(B) − λ∞)·B: the residual must shrink like 1/B (B = 2000 and 8000)."""
    for bk in ("full", "simplified"):
        lam, c1 = finite_batch_expansion(name, bn_backward=bk)
        r = [(finite_batch_factor(B, name, bn_backward=bk) - lam) * B - c1 for B in (2000, 8000)]
        assert abs(r[1]) < 1e-2 * max(1, abs(c1)), (bk, r, c1)
        assert abs(r[1]) < 0.4 * abs(r[0]) or abs(r[0]) < 1e-6, (bk, r)


def test_identity_expansion_exact():
    assert finite_batch_expansion("identity") == pytest.approx((1.0, 1.0), abs=1e-12)
    assert finite_batch_expansion("identity", bn_backward="simplified") == pytest.approx((1.0, 2.0), abs=1e-12)


def test_special_cases_agree():
    B = np.array([4, 8, 64, 1000])
    assert np.allclose(finite_batch_factor(B, "leaky_relu", slope=0.0), finite_batch_factor(B, "relu"),
                       rtol=1e-15)
    assert np.allclose(finite_batch_factor(B, "leaky_relu", slope=1.0),
                       finite_batch_factor(B, "identity"), rtol=1e-15)
    assert np.allclose(finite_batch_factor(B, "dropout", keep_prob=1.0),
                       finite_batch_factor(B, "identity"), rtol=1e-15)


def test_monotone_in_batch_and_above_limit():
    B = np.arange(4, 400)
    for name in ("relu", "identity", "tanh"):
        for bk in ("full", "simplified"):
            lam = finite_batch_factor(B, name, bn_backward=bk)
            assert np.all(np.diff(lam) < 0)
            assert np.all(lam > finite_batch_factor(math.inf, name, bn_backward=bk))
    # the simplified backward is above the full one (it keeps the directions 1 and y)
    assert np.all(finite_batch_factor(B, "relu", bn_backward="simplified") > finite_batch_factor(B, "relu"))


# ----------------------------------------------------------------- divergence and validation
def test_small_batches():
    assert finite_batch_factor(2, "relu") == 0.0
    assert finite_batch_factor(3, "relu") == math.inf
    assert finite_batch_factor(2, "tanh", bn_backward="simplified") == math.inf
    assert finite_batch_factor(3, "tanh", bn_backward="simplified") == math.inf
    out = finite_batch_factor([2, 3, 4, math.inf], "gelu")
    assert out[0] == 0 and out[1] == math.inf and np.isfinite(out[2:]).all()


@pytest.mark.parametrize("bad", [1, 0, -4, 2.5, math.nan, -math.inf, [4, 1.5], 10**400])
def test_bad_batch(bad):
    with pytest.raises(ValueError, match="batch"):
        finite_batch_factor(bad)


@pytest.mark.parametrize("bad", ["8", True, np.bool_(True), [4, "8"], None])
def test_batch_of_the_wrong_type(bad):
    with pytest.raises(TypeError, match="batch"):
        finite_batch_factor(bad)


def test_huge_integer_batch_is_computed():
    """10**30 is an integer (a Python int beyond int64): computed, and equal to the float 1e30."""
    for name in ("relu", "identity", "leaky_relu"):
        big = finite_batch_factor(10**30, name)
        assert big == finite_batch_factor(1e30, name)
        assert abs(big - finite_batch_factor(math.inf, name)) < 1e-12
    assert finite_batch_factor([4, 10**30]).shape == (2,)


def test_batch_two_gives_zero_with_the_full_backward():
    """Two BN-normalised samples are exactly ±1 whatever the input, so the full backward
    (through the statistics) passes no gradient: the factor is 0, not infinite; the simplified
    backward (statistics held constant) divides by a chi-square with 1 degree of freedom:
    infinite. A finite-difference check of the forward map confirms the zero Jacobian."""
    assert finite_batch_factor(2, "relu") == 0.0
    assert finite_batch_factor(2, "relu", bn_backward="simplified") == math.inf
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 5))

    def bn(z):
        c = z - z.mean(axis=0)
        return c / np.sqrt((c * c).mean(axis=0))

    h = 1e-6
    dz = rng.standard_normal(z.shape)
    assert np.abs(bn(z + h * dz) - bn(z)).max() < 1e-12


def test_scalar_in_float_out():
    assert type(finite_batch_rate(8)) is float and type(finite_batch_factor(8)) is float
    assert finite_batch_rate([4, 8]).shape == (2,)


def test_bad_backward_and_activation():
    with pytest.raises(ValueError, match="bn_backward"):
        finite_batch_factor(8, bn_backward="exact")
    with pytest.raises(ValueError, match="activation"):
        finite_batch_factor(8, "sigmoid")


def test_vectorised_equals_loop_and_shape():
    B = np.array([[4, 8, 16], [32, 2, math.inf]])
    for name in ("relu", "tanh"):
        got = finite_batch_factor(B, name)
        assert got.shape == B.shape
        loop = np.array([[finite_batch_factor(b, name) for b in row] for row in B])
        assert np.array_equal(got, loop)
    assert isinstance(finite_batch_factor(8), float)
    assert finite_batch_factor(8.0) == finite_batch_factor(8)


def test_overlay():
    ov = rate_vs_batch_overlay([8, 32, 128])
    assert np.allclose(ov["rate"] ** 2, finite_batch_factor(np.array([8, 32, 128])))
    assert ov["rate_inf"] == pytest.approx(math.sqrt(math.pi / (math.pi - 1)), rel=1e-15)
