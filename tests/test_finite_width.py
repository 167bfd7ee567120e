"""Tests of gradexp.theory.finite_width and gradexp.experiments.finite_width: the Gram
fluctuation law against chains, the second-order expansions against exact one-dimensional
integrals, the algebra against sympy, the measured-table API, its validation and its recipe."""

import ast
import math
import os

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from gradexp.experiments import finite_width as ex
from gradexp.theory import finite_width as fw
from gradexp.theory.finite_size import finite_batch_factor


# ----------------------------------------------------------------- exact references
def _inv_quadratic_mean(mu):
    """E[1/sum mu_i xi_i^2], xi i.i.d. N(0, 1): the integral of prod (1 + 2 t mu_i)^(-1/2)."""
    f = lambda t: np.prod((1.0 + 2.0 * t * mu) ** -0.5)
    return integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]


def _direction_second_moment(mu, i):
    """E[mu_i xi_i^2 / sum mu_j xi_j^2] (the diagonal of E[u u^T] in the eigenbasis)."""
    f = lambda t: mu[i] * np.prod((1.0 + 2.0 * t * mu) ** -0.5) / (1.0 + 2.0 * t * mu[i])
    return integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]


def _traceless(k, rng):
    e = rng.standard_normal(k)
    return e - e.mean()


@pytest.mark.parametrize("B", [8, 16, 33])
def test_inverse_variance_second_order(B):
    """E[1/Q] for Q = sum (1 + s eps_i) xi_i^2, sum eps = 0: 1/(k-2) (1 + 2 s^2 |eps|^2/(k(k+2)))
    up to O(s^3): the remainder over the second-order term is O(s max|eps|)."""
    k = B - 1
    eps = _traceless(k, np.random.default_rng(B))
    for s in (0.08, 0.04, 0.02):
        exact = _inv_quadratic_mean(1.0 + s * eps)
        second = 2 * s * s * (eps @ eps) / (k * (k + 2)) / (k - 2)
        rem = (exact - 1.0 / (k - 2) - second) / second
        assert abs(rem) < 3 * s * np.abs(eps).max()
    # the first-order term is absent only because the trace is fixed: with a trace the
    # deviation is first order and the check above fails
    exact = _inv_quadratic_mean(1.0 + 0.02 * (eps + 0.5))
    assert abs(exact * (k - 2) - 1) > 10 * 2 * 0.02 ** 2 * (eps @ eps) / (k * (k + 2))


@pytest.mark.parametrize("B", [8, 16, 33])
def test_gram_contraction_is_linear_coefficient(B):
    """E[u u^T] = P/k + Delta/(k+2) + O(Delta^2) with B E[uu^T] - mu P = ell (G - mu P)."""
    k = B - 1
    eps = _traceless(k, np.random.default_rng(100 + B))
    s = 1e-4
    mu = 1.0 + s * eps
    m = np.array([_direction_second_moment(mu, i) for i in range(k)])
    slope = (m - 1.0 / k) / (s * eps)
    np.testing.assert_allclose(slope, 1.0 / (k + 2), rtol=1e-3)
    # in terms of the Gram matrix: mu_bar (1 + s eps) -> B m; deviation ratio is ell
    mu_bar = B / (B - 1)
    np.testing.assert_allclose((B * m - mu_bar) / (mu_bar * s * eps), fw.gram_contraction(B),
                               rtol=1e-3)


def test_algebra_sympy():
    """The contributions of identity_simplified_a follow from the stated pieces."""
    B, d = sp.symbols("B d", positive=True)
    k = B - 1
    fluct = B * B * (B - 2) / (d * (B - 1)) / (1 - ((B - 1) / (B + 1)) ** 2)
    assert sp.simplify(fluct - B * (B - 2) * (B + 1) ** 2 / (4 * d * (B - 1))) == 0
    sum_eps2 = ((B - 1) / B) ** 2 * fluct
    a_gram = sp.simplify(d * 2 * sum_eps2 / (k * (k + 2)))
    assert sp.simplify(a_gram - (B - 2) * (B + 1) / (2 * B)) == 0
    # Var/E^2 of 1/chi^2_k is 2/(k-4): E[1/chi^4] = 1/((k-2)(k-4))
    cv = sp.simplify((k - 2) ** 2 / ((k - 2) * (k - 4)) - 1)
    assert sp.simplify(cv - 2 / (B - 5)) == 0
    for b in (8, 16, 32, 64):
        p = fw.identity_simplified_a(b, parts=True)
        assert p["gram"] == pytest.approx(float(a_gram.subs(B, b)), rel=1e-14)
        assert fw.identity_simplified_a(b) == pytest.approx(sum(p.values()), rel=1e-14)


def test_gram_fluctuation_against_chains():
    """Stationary |G - mu P|_F^2 of a linear BN chain (numpy, fixed seed) vs the law with the
    1/(1 - ell^2) accumulation; tolerance 4 standard errors of the per-chain means."""
    rng = np.random.default_rng(2323)
    B, d, L, keep, reps = 8, 256, 50, 20, 24
    P, mu = np.eye(B) - 1.0 / B, B / (B - 1)
    per = []
    for _ in range(reps):
        x = rng.standard_normal((B, d))
        v = []
        for n in range(L):
            z = x @ rng.standard_normal((d, d)) / math.sqrt(d)
            z -= z.mean(axis=0)
            x = z / np.sqrt((z * z).mean(axis=0))
            if n >= L - keep:
                v.append((((x @ x.T) / d - mu * P) ** 2).sum())
        per.append(np.mean(v))
    per = np.array(per)
    se = per.std(ddof=1) / math.sqrt(reps)
    th = fw.gram_fluctuation(B, d)
    assert abs(per.mean() - th) < 4 * se
    # and the i.i.d.-columns value (no accumulation) is rejected
    assert abs(per.mean() - th * 4 * B / (B + 1) ** 2) > 10 * se


# ----------------------------------------------------------------- the API and validation
def test_factor_is_lambda_times_correction():
    for act in ("relu", "identity"):
        for bk, chain_bk in (("full", "full"), ("frozen", "simplified")):
            c = fw.finite_width_coefficient(16, act, backward=bk)
            lam = finite_batch_factor(16, act, bn_backward=chain_bk)
            assert fw.finite_width_factor(16, 256, act, backward=bk) == pytest.approx(
                lam * (1 + c["a"] / 256), rel=1e-14)
            assert c["source"] == "measured"
            # tabulated batches are returned exactly
            t = fw.MEASURED[(act, chain_bk)][16]
            assert (c["a"], c["a_se"], c["b"], c["b_se"]) == pytest.approx(t[:4], rel=1e-12)


@pytest.mark.parametrize("kw,exc,word", [
    (dict(batch=4, width=64), ValueError, "batch"),
    (dict(batch=128, width=64), ValueError, "batch"),
    (dict(batch=8.5, width=64), (TypeError, ValueError), "batch"),
    (dict(batch=True, width=64), TypeError, "batch"),
    (dict(batch=16, width=1), ValueError, "width"),
    (dict(batch=16, width=64, activation="tanh"), ValueError, "activation"),
    (dict(batch=16, width=64, norm="layer"), ValueError, "norm"),
    (dict(batch=16, width=64, backward="simplified"), ValueError, "backward"),
])
def test_validation(kw, exc, word):
    with pytest.raises(exc, match=word):
        fw.finite_width_factor(**kw)


def test_theory_validation():
    with pytest.raises(ValueError, match="batch"):
        fw.identity_simplified_a(5)
    with pytest.raises(ValueError, match="width"):
        fw.gram_fluctuation(8, 0)


def test_fit_a_recovers_exact_coefficients():
    d = np.array([64.0, 128, 256, 512])
    lam, a, b = 1.3, -3.0, 40.0
    f = lam * (1 + a / d + b / d ** 2)
    r = ex.fit_a(d, f, 1e-4 * np.ones(4), lam)
    assert r["a"] == pytest.approx(a, abs=1e-9) and r["b"] == pytest.approx(b, abs=1e-7)


def test_table_source_round_trip():
    rows = [dict(activation="relu", backward="full", batch=8, a=-1.23456, a_se=0.1, b=12.0,
                 b_se=3.0, chi2=0.5, dof=2)]
    table = ast.literal_eval(ex.table_source(rows).split("=", 1)[1])
    assert table[("relu", "full")][8] == (-1.235, 0.1, 12.0, 3.0, 0.5, 2)


@pytest.mark.slow
def test_measured_table_recipe():
    """One row of MEASURED recomputed from its recipe (cached chains) matches the table."""
    rows = ex.measure_table(batches=(8,), activations=("identity",), backwards=("full",))
    table = ast.literal_eval(ex.table_source(rows).split("=", 1)[1])
    assert table[("identity", "full")][8] == fw.MEASURED[("identity", "full")][8]


# ----------------------------------------------------------------- theory against measurement
@pytest.mark.slow
def test_identity_simplified_theory_vs_chains_b8():
    """Derived a(8) within 2 standard errors of the a + b/d fit of chains at d = 64 … 1024."""
    r = ex.identity_simplified_regime(8)
    assert abs(r["a"] - fw.identity_simplified_a(8)) < 2 * r["a_se"]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("GRADEXP_LONG_TESTS") != "1",
                    reason="about a minute of chains: set GRADEXP_LONG_TESTS=1 (python dev.py test --long)")
@pytest.mark.xfail(strict=True, reason="measured -5.99 +- 0.47 against derived -7.73 (z = +3.7) "
                   "at B = 16, d = 256 ... 2048: an open discrepancy (docs/theory/finite_width.md)")
def test_identity_simplified_theory_vs_chains_b16():
    r = ex.identity_simplified_regime(16)
    assert abs(r["a"] - fw.identity_simplified_a(16)) < 2 * r["a_se"]
