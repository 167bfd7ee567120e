"""Tests of gradexp.theory.normalizers: every normalizer's factor against mpmath (closed forms and
quadrature), against the finite-batch factor (two routes), against Monte Carlo on the sphere,
the 1/N expansions (sympy and numerically), limits, Yang et al.'s Theorem 9, ε, validation and the
design map."""

import math

import mpmath as mp
import numpy as np
import pytest

import gradexp
from gradexp import explosion_factor, finite_batch_factor
from gradexp.activations import get_activation
from gradexp.theory.normalizers import (
    NORMS,
    depth_to_growth,
    design_map,
    normalizer_expansion,
    normalizer_factor,
    normalizer_moments,
    radial_moments,
    rules,
)
from gradexp.theory.normalizers import factor as fac

SIZES = [4, 5, 6, 7, 8, 11, 16, 64, 1000, 10 ** 6]
SMOOTH = ["tanh", "gelu", "silu", "softplus", "elu"]


# ============================================================================ mpmath references
def _mp_line_moments(norm, G, act, s, dps=30):
    """(D2, A2, E2) by mpmath quadrature over y = sqrt(n) t, density of t prop. to
    (1 - t^2)^((n-3)/2), normalised by the Beta function (independent of the Gauss rule)."""
    n = G - 1 if norm == "group" else G
    with mp.workdps(dps):
        n = mp.mpf(n)
        s = mp.mpf(s)
        ex = (n - 3) / 2
        Z = mp.sqrt(n) * mp.beta(mp.mpf(1) / 2, ex + 1)
        ymax = min(mp.sqrt(n), mp.mpf(45))
        pts = sorted({-ymax, ymax, mp.mpf(0), *(p for p in (-s,) if abs(p) < ymax),
                      *(p for p in (-8, -3, 3, 8) if abs(p) < ymax)})

        def w(y):
            return max(1 - y * y / n, 0) ** ex / Z

        f, d = act
        return tuple(mp.quad(lambda y, g=g: w(y) * g(y), pts)
                     for g in (lambda y: d(y + s) ** 2, lambda y: y * y * d(y + s) ** 2,
                               lambda y: f(y + s) ** 2))


MP_ACTS = {
    "tanh": (mp.tanh, lambda x: 1 - mp.tanh(x) ** 2),
    "gelu": (lambda x: x * mp.ncdf(x), lambda x: mp.ncdf(x) + x * mp.npdf(x)),
    "silu": (lambda x: x / (1 + mp.exp(-x)), lambda x: (1 / (1 + mp.exp(-x))) * (1 + x * (1 - 1 / (1 + mp.exp(-x))))),
    "relu": (lambda x: x if x > 0 else 0, lambda x: 1 if x > 0 else 0),
}


def _mp_factor_line(norm, G, D2, A2, E2, backward):
    G = mp.mpf(G)
    if norm == "group":
        return ((G - 1) * D2 - A2) / (E2 * (G - 3)) if backward == "full" else G * D2 / (E2 * (G - 3))
    return (G * D2 - A2) / (E2 * (G - 2)) if backward == "full" else G * D2 / (E2 * (G - 2))


def _mp_shifted_relu_batch(B, s, dps=25):
    """BN moments of ReLU(y + s) by the conditional decomposition, in mpmath: y1 = sqrt(B-1) t,
    and given y1, y2 = m + R tau with tau of density (1 - tau^2)^((B-5)/2); the inner
    expectations in closed form (incomplete Beta), the outer by mpmath quadrature split where
    the kink y2 = -s leaves the support (roots of a quadratic, found by mpmath's polyroots)."""
    with mp.workdps(dps):
        B, s = mp.mpf(B), mp.mpf(s)
        rb = mp.sqrt(B - 1)
        a1 = (B - 4) / 2
        Z1 = rb * mp.beta(mp.mpf(1) / 2, a1 + 1)
        b = (B - 3) / 2  # (1 + tau)/2 ~ Beta(b, b)
        Z2 = mp.beta(mp.mpf(1) / 2, b)
        kk2 = B * (B - 2) / (B - 1)

        def p1(y):
            return max(1 - y * y / (B - 1), 0) ** a1 / Z1

        def inner(y):
            m = -y / (B - 1)
            R = mp.sqrt(kk2 * max(1 - y * y / (B - 1), 0))
            if R == 0:
                return m, R, mp.mpf(1 if m > -s else 0), mp.mpf(0)
            c = (-s - m) / R
            if c <= -1:
                P, T = mp.mpf(1), mp.mpf(0)
            elif c >= 1:
                P, T = mp.mpf(0), mp.mpf(0)
            else:
                P = 1 - mp.betainc(b, b, 0, (1 + c) / 2, regularized=True)
                T = (1 - c * c) ** b / ((B - 3) * Z2)
            return m, R, P, T

        # kink leaves the support where (-s - m)^2 = R^2: a quadratic in y
        q = [1 / (B - 1) ** 2 + kk2 / (B - 1), -2 * s / (B - 1), s * s - kk2]
        roots = [r.real for r in mp.polyroots(q) if abs(r.imag) < 1e-20]
        lo = max(-s, -rb)
        pts = sorted({lo, rb, *(r for r in roots if lo < r < rb)})

        def E(g):
            return mp.quad(lambda y: p1(y) * g(y), pts)

        D2 = E(lambda y: 1)
        A2 = E(lambda y: y * y)
        E2 = E(lambda y: (y + s) ** 2)
        O = E(lambda y: inner(y)[2])
        A12 = E(lambda y: y * (lambda m, R, P, T: m * P + R * T)(*inner(y)))
        K = E(lambda y: (y + s) * (lambda m, R, P, T: (m + s) * P + R * T)(*inner(y)))
        return D2, O, A2, A12, E2, K


# ============================================================================ BatchNorm
@pytest.mark.parametrize("act", ["relu", "identity", "tanh", "gelu", "leaky_relu"])
@pytest.mark.parametrize("backward", ["full", "frozen"])
def test_batch_unshifted_is_finite_batch_factor(act, backward):
    B = np.array([2, 3, 4, 5, 8, 64, 1000, math.inf])
    old = finite_batch_factor(B, act, bn_backward="full" if backward == "full" else "simplified")
    np.testing.assert_array_equal(normalizer_factor("batch", B, act, backward=backward), old)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "tanh", "gelu", "elu"])
def test_shifted_pair_rule_at_zero_shift_matches_finite_batch_factor(act):
    """Second route: the new pair rule (split along lines off the origin) at s = 0 against the
    closed forms / the ray-split rule of finite_size."""
    a = get_activation(act)
    B = np.array([4.0, 5, 6, 7, 8, 16, 64, 1000, 1e6])
    keys = ("D2", "O", "A2", "A12", "E2", "K", "alpha")
    mom = {k: np.array([fac._pair_moments(a, int(b), 0.0)[i] for b in B]) for i, k in enumerate(keys)}
    for bk, old in (("full", "full"), ("frozen", "simplified")):
        ref = finite_batch_factor(B, act, bn_backward=old)
        np.testing.assert_allclose(fac._factor_eps0("batch", B, mom, bk), ref, rtol=5e-15, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("B,s", [(4, 0.5), (6, 0.5), (9, -0.8), (16, 1.7), (64, -1.2)])
def test_shifted_relu_batch_against_mpmath(B, s):
    D2, O, A2, A12, E2, K = _mp_shifted_relu_batch(B, s)
    m = normalizer_moments("batch", B, "relu", shift=s)
    for k, ref in zip(("D2", "O", "A2", "A12", "E2", "K"), (D2, O, A2, A12, E2, K)):
        assert abs(float(m[k]) - float(ref)) <= 3e-15 * max(1.0, abs(float(ref))), k
    alpha = E2 - K
    Bm = mp.mpf(B)
    full = ((Bm - 1) * D2 + O - A2 + A12) / (alpha * (Bm - 3))
    frozen = Bm * D2 / (alpha * (Bm - 3))
    assert abs(normalizer_factor("batch", B, shift=s) / float(full) - 1) < 1e-13
    assert abs(normalizer_factor("batch", B, shift=s, backward="frozen") / float(frozen) - 1) < 1e-13


@pytest.mark.parametrize("act,s", [("relu", 0.6), ("tanh", -0.7), ("gelu", 1.1)])
def test_batch_moments_against_monte_carlo_on_the_sphere(act, s):
    """Third route: uniform points of the sphere of 1-perp (numpy), 5 standard errors."""
    B = 7
    rng = np.random.default_rng(20261207)
    z = rng.standard_normal((200_000, B))
    z -= z.mean(axis=1, keepdims=True)
    y = math.sqrt(B) * z / np.linalg.norm(z, axis=1, keepdims=True)
    a = get_activation(act)
    f, d = a.value(y + s), a.deriv(y + s)
    samples = {"D2": d[:, 0] ** 2, "O": d[:, 0] * d[:, 1], "A2": (y[:, 0] * d[:, 0]) ** 2,
               "A12": y[:, 0] * d[:, 0] * y[:, 1] * d[:, 1], "E2": f[:, 0] ** 2, "K": f[:, 0] * f[:, 1]}
    m = normalizer_moments("batch", B, act, shift=s)
    for k, x in samples.items():
        se = x.std(ddof=1) / math.sqrt(len(x))
        assert abs(x.mean() - float(m[k])) < 5 * se, (k, x.mean(), float(m[k]), se)


@pytest.mark.parametrize("s", [-2.0, -0.5, 0.3, 1.0, 3.0])
def test_batch_limit_is_paik_choi_C_at_R_equal_s_over_sqrt2(s):
    assert abs(normalizer_factor("batch", math.inf, shift=s) / explosion_factor(s / math.sqrt(2)) - 1) < 1e-14
    # and the finite sizes approach it at the rate of the 1/B expansion
    lam, c1 = normalizer_expansion("batch", shift=s)
    assert abs(lam / explosion_factor(s / math.sqrt(2)) - 1) < 1e-12
    B = np.array([1e4, 2e4])
    r = normalizer_factor("batch", B, shift=s) - lam - c1 / B
    assert np.all(np.abs(r) * B ** 2 < 50 * (1 + abs(c1)))


def test_identity_shift_cancels():
    B = np.array([4, 5, 8, 100])
    np.testing.assert_allclose(normalizer_factor("batch", B, "identity", shift=1.3), (B - 2) / (B - 3),
                               rtol=1e-15)


# ============================================================================ group and rms
@pytest.mark.parametrize("act,params", [("relu", {}), ("identity", {}), ("leaky_relu", {"slope": 0.2}),
                                        ("dropout", {"keep_prob": 0.7})])
def test_homogeneous_closed_forms_against_mpmath(act, params):
    G = [2, 3, 4, 5, 8, 64, 1000, 10 ** 6, 10 ** 12]
    for norm in ("group", "rms"):
        for bk in ("full", "frozen"):
            got = normalizer_factor(norm, G, act, backward=bk, **params)
            for g, v in zip(G, got):
                with mp.workdps(40):
                    g_ = mp.mpf(g)
                    if norm == "group" and g == 2:
                        ref = 0 if bk == "full" else mp.inf
                    elif (norm == "group" and g == 3) or (norm == "rms" and g == 2):
                        ref = mp.inf
                    elif norm == "group":
                        ref = (g_ - 2) / (g_ - 3) if bk == "full" else g_ / (g_ - 3)
                    else:
                        ref = (g_ - 1) / (g_ - 2) if bk == "full" else g_ / (g_ - 2)
                if ref in (0, mp.inf):
                    assert v == float(ref)
                else:
                    assert abs(v / float(ref) - 1) <= 1e-15


def test_coordinate_rule_reproduces_closed_forms():
    """Second route for group/rms: the Gauss rule for ReLU (kink at 0) against D2 = A2 = E2 = 1/2."""
    a = get_activation("relu")
    for n in [3.0, 4.0, 5.0, 7.0, 63.0, 1e3, 1e6]:
        D2, A2, E2 = fac._line_moments(a, n, 0.0)
        for v in (D2, A2, E2):
            assert abs(v - 0.5) < 2e-15


@pytest.mark.parametrize("act", ["tanh", "gelu", "silu", "relu"])
@pytest.mark.parametrize("norm", ["group", "rms"])
def test_line_quadrature_against_mpmath(act, norm):
    for G in [4, 5, 8, 64, 1000, 10 ** 6]:
        for s in ([0.0, 0.8] if act != "relu" else [0.8, -1.5]):
            D2, A2, E2 = _mp_line_moments(norm, G, MP_ACTS[act], s)
            for bk in ("full", "frozen"):
                ref = float(_mp_factor_line(norm, G, D2, A2, E2, bk))
                got = normalizer_factor(norm, G, act, shift=s, backward=bk)
                assert abs(got / ref - 1) < 1e-12, (G, s, bk, got, ref)


@pytest.mark.parametrize("norm,centred", [("group", True), ("rms", False)])
def test_line_moments_against_monte_carlo(norm, centred):
    G, s = 6, 0.4
    rng = np.random.default_rng(7)
    z = rng.standard_normal((200_000, G))
    if centred:
        z -= z.mean(axis=1, keepdims=True)
    y = math.sqrt(G) * z / np.linalg.norm(z, axis=1, keepdims=True)
    a = get_activation("tanh")
    d, f = a.deriv(y[:, 0] + s), a.value(y[:, 0] + s)
    m = normalizer_moments(norm, G, "tanh", shift=s)
    for k, x in (("D2", d * d), ("A2", (y[:, 0] * d) ** 2), ("E2", f * f)):
        assert abs(x.mean() - float(m[k])) < 5 * x.std(ddof=1) / math.sqrt(len(x))


def test_layernorm_relu_does_not_explode_but_batchnorm_does():
    d = 4096
    assert normalizer_factor("group", d) == pytest.approx(1 + 1 / (d - 3), rel=1e-15)
    assert normalizer_factor("batch", d) > 1.46


# ============================================================================ Yang et al., Thm 9
@pytest.mark.parametrize("act", ["relu", "tanh", "gelu", "silu", "elu", "softplus", "leaky_relu"])
@pytest.mark.parametrize("s", [0.0, 0.7])
def test_yang_theorem_9_lower_bound(act, s):
    B = np.array([4, 5, 8, 16, 64, 256])
    lam = normalizer_factor("batch", B, act, shift=s)
    assert np.all(lam > (B - 2) / (B - 3) * (1 + 1e-9))


def test_yang_theorem_7_tanh_values():
    """Yang et al.'s Theorem 7 integrated numerically for tanh (values quoted in issue 22, to the
    4 decimals given): 1.3585 (B = 8), 1.2463 (16), 1.2083 (32)."""
    got = normalizer_factor("batch", [8, 16, 32], "tanh")
    np.testing.assert_array_equal(np.round(got, 4), [1.3585, 1.2463, 1.2083])


def test_yang_theorem_9_equality_for_linear():
    B = np.array([4, 5, 8, 16, 64, 256])
    np.testing.assert_allclose(normalizer_factor("batch", B, "identity"), (B - 2) / (B - 3), rtol=1e-15)
    np.testing.assert_allclose(normalizer_factor("batch", B, "leaky_relu", slope=1.0), (B - 2) / (B - 3),
                               rtol=1e-15)


# ============================================================================ expansions
def test_expansion_sympy_closed_forms():
    import sympy as sp

    G = sp.symbols("G", positive=True)
    forms = {("group", "full"): (G - 2) / (G - 3), ("group", "frozen"): G / (G - 3),
             ("rms", "full"): (G - 1) / (G - 2), ("rms", "frozen"): G / (G - 2)}
    for (norm, bk), expr in forms.items():
        ser = sp.series(expr.subs(G, 1 / sp.Symbol("e")), sp.Symbol("e"), 0, 2).removeO()
        lam0 = float(ser.subs(sp.Symbol("e"), 0))
        c1 = float(ser.coeff(sp.Symbol("e"), 1))
        for act in ("relu", "identity"):
            lam, c = normalizer_expansion(norm, act, backward=bk)
            assert abs(lam - lam0) < 1e-13 and abs(c - c1) < 1e-11, (norm, bk, act, lam, c)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("act,s", [("tanh", 0.0), ("gelu", 0.7), ("relu", -0.6), ("dropout", 0.5)])
@pytest.mark.parametrize("backward", ["full", "frozen"])
def test_expansion_against_large_sizes(norm, act, s, backward):
    lam, c1 = normalizer_expansion(norm, act, shift=s, backward=backward)
    assert abs(normalizer_factor(norm, math.inf, act, shift=s, backward=backward) - lam) < 1e-12
    N = np.array([2e4, 4e4])
    f = normalizer_factor(norm, N, act, shift=s, backward=backward)
    est = N * (f - lam)
    # est = c1 + c2/N: Richardson-extrapolate the two sizes
    c1_rich = 2 * est[1] - est[0]
    assert abs(c1_rich - c1) < 1e-5 * (1 + abs(c1)), (c1_rich, c1)


def test_no_cancellation_at_large_size():
    """At N = 1e6 the factor minus its limit is c1/N to relative O(1/N): nothing lost."""
    for norm in NORMS:
        lam, c1 = normalizer_expansion(norm, "tanh")
        f = normalizer_factor(norm, 1e6, "tanh")
        assert abs((f - lam) * 1e6 / c1 - 1) < 1e-4


# ============================================================================ eps
def test_radial_moments_against_mpmath():
    for n in [1, 3, 7, 40, 1e4, 1e6]:
        for u, e in [(1.0, 1e-6), (0.3, 0.1), (1e-3, 2.0)]:
            R1, Rb, Xi = radial_moments(n, u, e)
            with mp.workdps(30):
                hn = mp.mpf(n) / 2

                def E(g):
                    f = lambda x: x ** (hn - 1) * mp.exp(-x / 2 - hn * mp.log(2) - mp.loggamma(hn)) * g(x)
                    return mp.quad(f, sorted({0, e / u, n / 2, n, n + 10 * mp.sqrt(n) + 10}) + [mp.inf])

                ref = (E(lambda x: 1 / (u * x + e)),
                       E(lambda x: (u * x / (u * x + e)) * (2 - u * x / (u * x + e)) / (u * x + e)),
                       E(lambda x: u * x / (u * x + e)))
            for v, r in zip((R1, Rb, Xi), ref):
                assert abs(v / float(r) - 1) < 1e-13, (n, u, e, v, r)


def test_eps_backward_algebra_against_monte_carlo():
    """The ε-Jacobian (P - yy^T/B)/sigma is not a projection: check the trace algebra
    (T0, T1, beta = 2 - xi^2) by sampling X, the direction and the backward noise directly."""
    B, eps, u = 6, 0.3, 0.25
    rng = np.random.default_rng(11)
    n_s = 200_000
    z = rng.standard_normal((n_s, B))
    z -= z.mean(axis=1, keepdims=True)
    X = np.sum(z * z, axis=1)
    sig2 = u * X + eps
    y = z * np.sqrt(B) / np.sqrt(X)[:, None] * np.sqrt(u * X / sig2)[:, None]
    a = get_activation("relu")
    D = a.deriv(y)
    v = rng.standard_normal((n_s, B))
    v -= v.mean(axis=1, keepdims=True)  # v ~ N(0, P), c = 1
    g = D * v
    Jg = (g - g.mean(axis=1, keepdims=True) - y * np.sum(y * g, axis=1, keepdims=True) / B) / np.sqrt(sig2)[:, None]
    x = np.sum(Jg * Jg, axis=1)
    mom = {k: float(v_) for k, v_ in normalizer_moments("batch", B, "relu").items()}
    R1, Rb, _ = radial_moments(B - 1, u, eps)
    T0 = (B - 2) * mom["D2"] + (mom["D2"] + (B - 1) * mom["O"]) / B
    T1 = (B - 1) / B * (mom["A2"] - mom["A12"])
    ref = R1 * T0 - Rb * T1
    assert abs(x.mean() - ref) < 5 * x.std(ddof=1) / math.sqrt(n_s)


@pytest.mark.parametrize("norm", NORMS)
def test_eps_to_zero_is_continuous(norm):
    for bk in ("full", "frozen"):
        f0 = normalizer_factor(norm, [5, 16, 200], backward=bk)
        f1 = normalizer_factor(norm, [5, 16, 200], eps=1e-12, backward=bk)
        np.testing.assert_allclose(f1, f0, rtol=1e-9)


def test_larger_eps_lowers_the_batchnorm_explosion():
    """Yang et al. (2019): a larger ε reduces the gradient explosion. Holds here at every batch."""
    eps = np.array([0.0, 1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3])
    for B in [4, 8, 32, 256]:
        lam = np.array([normalizer_factor("batch", B, eps=e) for e in eps])
        assert np.all(np.diff(lam) < 0), (B, lam)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("N,eps", [(5, 0.01), (8, 0.1), (4, 1e-8), (100, 0.5)])
def test_general_eps_path_reproduces_the_separable_one(norm, N, eps):
    """Second route for ε: the general radial average (moments recomputed at every radius, any φ
    and shift) against the separable formulas for ReLU at s = 0."""
    a = get_activation("relu")
    for bk in ("full", "frozen"):
        g = fac._factor_eps_general(norm, float(N), a, 0.0, eps, bk)
        assert abs(g / normalizer_factor(norm, N, eps=eps, backward=bk) - 1) < 1e-13


@pytest.mark.parametrize("norm,act,s", [("group", "tanh", 0.0), ("rms", "gelu", 0.5), ("batch", "tanh", 0.3)])
def test_general_eps_to_zero_is_continuous(norm, act, s):
    f0 = normalizer_factor(norm, 8, act, shift=s)
    f1 = normalizer_factor(norm, 8, act, shift=s, eps=1e-10)
    assert abs(f1 / f0 - 1) < 1e-7


def test_larger_eps_lowers_the_explosion_for_smooth_activations():
    eps = np.array([0.0, 1e-3, 1e-2, 0.03, 0.1, 0.3])
    for act in ("tanh", "gelu"):
        lam = np.array([normalizer_factor("batch", 8, act, eps=e) for e in eps])
        assert np.all(np.diff(lam) < 0), (act, lam)


def test_eps_collapse_threshold():
    """No positive fixed point iff sigma_w^2 A0 n/(N eps) <= 1: then v = 0 and lambda = sigma_w^2 D2/eps (frozen)."""
    G = 16
    thr = 2.0 * 0.5 * (G - 1) / G
    assert fac.forward_fixed_point("group", G, thr * 1.01, 0.5) == 0.0
    assert fac.forward_fixed_point("group", G, thr * 0.99, 0.5) > 0.0
    assert normalizer_factor("group", G, eps=2.0, backward="frozen") == pytest.approx(2 * 0.5 / 2.0, rel=1e-15)


def test_eps_makes_small_sizes_finite():
    f = normalizer_factor("batch", [2, 3], eps=0.1)
    assert np.all(np.isfinite(f)) and np.all(f > 0)


# ============================================================================ validation
@pytest.mark.parametrize("kw,exc,match", [
    ({"norm": "layer"}, ValueError, "norm"),
    ({"backward": "simplified"}, ValueError, "backward"),
    ({"activation": "swish"}, ValueError, "activation"),
    ({"size": 1}, ValueError, "size"),
    ({"size": 4.5}, ValueError, "size"),
    ({"size": np.nan}, ValueError, "size"),
    ({"size": "8"}, TypeError, "size"),
    ({"size": True}, TypeError, "size"),
    ({"shift": np.nan}, ValueError, "shift"),
    ({"shift": math.inf}, ValueError, "shift"),
    ({"eps": -1e-3}, ValueError, "eps"),
    ({"eps": np.nan}, ValueError, "eps"),
    ({"eps": 0.1, "activation": "tanh", "size": 3}, ValueError, "size"),
])
def test_bad_input(kw, exc, match):
    args = {"norm": "batch", "size": 8, "activation": "relu"}
    args.update(kw)
    with pytest.raises(exc, match=match):
        normalizer_factor(args.pop("norm"), args.pop("size"), args.pop("activation"), **args)


def test_vectorised_equals_loop():
    N = np.array([[4, 8], [16, 1000]])
    for norm in NORMS:
        vec = normalizer_factor(norm, N, "tanh", shift=0.3)
        assert vec.shape == N.shape
        for idx in np.ndindex(N.shape):
            assert vec[idx] == normalizer_factor(norm, int(N[idx]), "tanh", shift=0.3)


def test_rules_are_read_only_and_normalised():
    y, w = rules.coordinate_rule(9.0, (0.3,))
    assert abs(w.sum() - 1) < 1e-15 and not w.flags.writeable
    y1, y2, w2 = rules.shifted_pair_rule(9, (-0.4,))
    assert abs(w2.sum() - 1) < 1e-15 and not y2.flags.writeable
    with pytest.raises(ValueError, match="batch"):
        rules.shifted_pair_rule(3)


# ============================================================================ design map
def test_depth_to_growth_identity():
    lam = np.array([1.2, 1.4669, 3.0])
    for g in (10.0, 1e6):
        L = depth_to_growth(lam, g)
        np.testing.assert_allclose(lam ** (L / 2), g, rtol=1e-13)
    assert depth_to_growth(1.0) == math.inf and depth_to_growth(0.5) == math.inf
    assert depth_to_growth(math.inf) == 0.0
    # near 1, log1p keeps the depth accurate: 2 log 10 / log(1 + 1e-12)
    assert depth_to_growth(1 + 2 ** -40, 10.0) / (2 * math.log(10) / math.log1p(2 ** -40)) == pytest.approx(1, abs=1e-15)
    with pytest.raises(ValueError, match="growth"):
        depth_to_growth(1.5, 1.0)
    with pytest.raises(ValueError, match="factor"):
        depth_to_growth(-1.0)


def test_design_map_consistency():
    m = design_map([4, 8, 64, 512], depth=40)
    assert m["factor"].shape == (3, 4, 4)
    assert m["depth_to_growth"].shape == (3, 4, 4, 2)
    np.testing.assert_array_equal(m["bounded"], m["growth_at_depth"] <= m["max_growth"])
    # bounded iff the depth to 10x is at least the depth
    np.testing.assert_array_equal(m["bounded"], m["depth_to_growth"][..., 0] >= 40)
    k_b, k_g = list(m["norms"]).index("batch"), list(m["norms"]).index("group")
    a_r = list(m["activations"]).index("relu")
    assert math.isnan(m["smallest_bounded_size"][k_b, a_r])  # BN + ReLU never bounded at depth 40
    assert m["smallest_bounded_size"][k_g, a_r] == 64  # LayerNorm + ReLU from G = 64 (1.0167^20 < 10)


# ============================================================================ finite-width chains
def _chain_ratio(norm, N, act, backward, s=0.0, d=512, L=30, reps=24, seed=0, eps=0.0, skip=10):
    """Per-layer ratio of squared gradient norms in a width-d chain x -> norm -> +s -> phi -> W,
    exact backward (tied weights, correct pairing). Columns = samples (batch N for BN; 1 sample
    per column for group/rms: groups of N units)."""
    rng = np.random.default_rng(seed)
    a = get_activation(act)
    cols = N if norm == "batch" else 4
    out = []
    for _ in range(reps):
        Ws = [rng.standard_normal((d, d)) * math.sqrt(2.0 / d) for _ in range(L + 1)]
        h = rng.standard_normal((d, cols))
        cache = []
        for W in Ws[:L]:
            x = W @ h  # (d, cols)
            if norm == "batch":
                c = x - x.mean(1, keepdims=True)
                sig = np.sqrt((c * c).mean(1, keepdims=True) + eps)
                y = c / sig
            else:
                xg = x.T.reshape(cols, -1, N)
                c = xg - xg.mean(2, keepdims=True) if norm == "group" else xg
                sig = np.sqrt((c * c).mean(2, keepdims=True) + eps)
                y = c / sig
            cache.append((y, sig))
            yy = y if norm == "batch" else y.reshape(cols, d).T
            h = a.value(yy + s)
        g = rng.standard_normal((d, cols))  # dL/dh_L (through the readout W_{L+1})
        norms = []
        for l in range(L - 1, -1, -1):
            y, sig = cache[l]
            yy = y if norm == "batch" else y.reshape(cols, d).T
            gy = a.deriv(yy + s) * g  # dL/dy_l
            if norm == "batch":
                if backward == "full":
                    gx = (gy - gy.mean(1, keepdims=True) - y * (y * gy).mean(1, keepdims=True)) / sig
                else:
                    gx = gy / sig
            else:
                gg = gy.T.reshape(cols, -1, N)
                if backward == "frozen":
                    gxg = gg / sig
                elif norm == "group":
                    gxg = (gg - gg.mean(2, keepdims=True) - y * (y * gg).mean(2, keepdims=True)) / sig
                else:
                    gxg = (gg - y * (y * gg).mean(2, keepdims=True)) / sig
                gx = gxg.reshape(cols, d).T
            norms.append(np.sum(gx * gx))
            g = Ws[l].T @ gx  # dL/dh_{l-1}
        norms = np.array(norms)  # from the output side down
        out.append(norms[1:-skip] / norms[:-skip - 1])  # the input-side layers are not at the fixed point
    r = np.concatenate(out)
    return r.mean(), r.std(ddof=1) / math.sqrt(len(r))


CHAIN_CASES = [("batch", 8, "relu", "full", 0.0, 0.0), ("batch", 8, "relu", "full", 0.7, 0.0),
               ("batch", 8, "tanh", "frozen", -0.5, 0.0), ("group", 8, "relu", "full", 0.0, 0.0),
               ("group", 8, "tanh", "frozen", 0.0, 0.0), ("rms", 8, "gelu", "full", 0.5, 0.0),
               ("group", 16, "relu", "full", 0.7, 0.0), ("batch", 8, "relu", "full", 0.0, 0.1),
               ("group", 8, "relu", "full", 0.0, 0.5), ("rms", 4, "relu", "frozen", 0.0, 0.3),
               ("batch", 8, "relu", "full", 0.5, 0.1), ("batch", 8, "tanh", "frozen", -0.3, 0.2),
               ("group", 16, "tanh", "full", 0.0, 0.3), ("rms", 8, "gelu", "full", 0.5, 0.2)]


@pytest.mark.slow
@pytest.mark.parametrize("norm,N,act,backward,s,eps", CHAIN_CASES)
def test_finite_width_chain_with_exact_backward(norm, N, act, backward, s, eps):
    """Independent route: a width-512 chain (numpy, exact backward by hand, tied weights, no
    gradient-independence assumption), per-layer ratio of squared gradient norms averaged over
    layers at the fixed point (the 10 input-side layers are a transient) and 24 networks;
    5 standard errors (during development, at another seed, |z| <= 2.1 for these cases)."""
    m, se = _chain_ratio(norm, N, act, backward, s=s, eps=eps, seed=20261207)
    th = normalizer_factor(norm, N, act, shift=s, eps=eps, backward=backward)
    assert abs(m - th) < 5 * se, (m, se, th)


# ============================================================================ extreme shifts
def test_relu_group_limit_closed_form_against_mpmath_and_quadrature():
    for s in [-40.0, -8.0, -1.3, 0.0, 0.4, 1.3, 7.0]:
        with mp.workdps(60):
            S = mp.mpf(s)
            d2 = mp.ncdf(S)
            e2 = (1 + S * S) * mp.ncdf(S) + S * mp.npdf(S)
            ref = float(d2 / e2)
        for norm in ("group", "rms"):
            assert abs(normalizer_factor(norm, math.inf, shift=s) / ref - 1) < 1e-14, (s, norm)
        if abs(s) < 5:  # second route: the quadrature path of leaky ReLU with slope 0
            q = normalizer_factor("group", math.inf, "leaky_relu", shift=s, slope=0.0)
            assert abs(q / ref - 1) < 1e-10


def test_activation_vanishing_on_the_support_is_an_error():
    # |y| <= sqrt(n) < 5: ReLU(y - 5) is identically 0, the factor is 0/0
    for norm in NORMS:
        with pytest.raises(ValueError, match="shift"):
            normalizer_factor(norm, 8, shift=-5.0)
    with pytest.raises(ValueError, match="shift"):
        normalizer_factor("batch", math.inf, "tanh", shift=6.0)  # outside the quadrature domain
    assert math.isfinite(normalizer_factor("batch", 8, "tanh", shift=6.0))  # finite sizes are fine


@pytest.mark.parametrize("norm", ["batch", "group", "rms"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("backward", ["full", "frozen"])
def test_large_size_seam(norm, activation, backward):
    """Either side of LARGE_SIZE (exact rules below, λ∞ + c1/N above) the factor moves by what
    c1/N says, to the quadrature's accuracy, and sizes far beyond the double's integers work."""
    from gradexp.theory.normalizers.factor import LARGE_SIZE

    lam, c1 = gradexp.normalizer_expansion(norm, activation, backward=backward)
    below, above = gradexp.normalizer_factor(norm, [LARGE_SIZE, LARGE_SIZE + 1e4], activation, backward=backward)
    predicted = c1 * (1 / LARGE_SIZE - 1 / (LARGE_SIZE + 1e4))
    assert abs((below - above) - predicted) <= 2e-14 * lam
    far = gradexp.normalizer_factor(norm, [1e30, 1e300], activation, backward=backward)
    assert np.all(far == lam + c1 / np.array([1e30, 1e300]))
