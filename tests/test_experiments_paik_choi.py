"""The Paik & Choi experiments (gradexp/experiments/paik_choi.py): identities of the closed-form
layer of Theorem 2.8, the tail-index estimator, the width ladder's extrapolation, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradexp.experiments import paik_choi as ex


def test_perfectly_correlated_terms_are_column_scale_invariant():
    rng = np.random.default_rng(0)
    t, W = rng.standard_normal(40), rng.standard_normal((40, 30))
    scale = rng.uniform(0.1, 10.0, 30)
    np.testing.assert_allclose(ex.perfectly_correlated_terms(W * scale, t), ex.perfectly_correlated_terms(W, t),
                               rtol=1e-12)


def test_perfectly_correlated_variance_matches_a_simulated_batch():
    """sigma_hat_j^2 of eq. 29 (correctly evaluated) against the variance over a large batch of x = b t."""
    rng = np.random.default_rng(1)
    d, n = 12, 400_000
    t, W = rng.standard_normal(d), rng.standard_normal((d, 5))
    b = rng.standard_normal(n)
    pre = np.maximum(np.outer(b, t), 0.0) @ W
    emp = pre.var(axis=0)
    tp, tn = np.where(t > 0, t, 0.0), np.where(t < 0, -t, 0.0)
    P, N = tp @ W, tn @ W
    exact = ex.V_RELU * (P**2 + N**2) - P * N / math.pi
    # standard error of a sample variance of a non-Gaussian variable: sqrt(Var((x - m)^2) / n)
    se = np.sqrt(((pre - pre.mean(0)) ** 2).var(axis=0) / n)
    assert np.all(np.abs(emp - exact) < 5 * se)


def test_tail_index_recovers_a_pareto_exponent():
    rng = np.random.default_rng(2)
    for alpha in (1.0, 2.0):
        x = rng.pareto(alpha, 200_000) + 1.0
        a, se = ex.tail_index(x)
        assert abs(a - alpha) < 5 * se


def test_wls_recovers_a_line_and_width_ladder_shape():
    x = np.array([64.0, 128.0, 256.0])
    y = 0.4 + 3.0 / x
    coef, _se, chi2, dof = ex.wls([np.ones(3), 1 / x], y, np.full(3, 0.01))
    np.testing.assert_allclose(coef, [0.4, 3.0], rtol=1e-10)
    assert dof == 1 and chi2 < 1e-20


def test_iid_unit_prediction_is_flat_for_constant_terms():
    pred = ex.iid_unit_prediction(np.full(100, 2.0), (4, 16, 64), rng=3, n=50)
    np.testing.assert_allclose(pred, math.log(2.0), rtol=1e-12)


@pytest.mark.parametrize("rng", [5, np.random.SeedSequence(5)])
def test_experiments_are_reproducible(rng):
    a = ex.perfectly_correlated_ratios((8, 16), rng=rng, reps=3)
    b = ex.perfectly_correlated_ratios((8, 16), rng=rng, reps=3)
    assert a["log_mean"] == b["log_mean"]
    e1 = ex.equalised_variance_ratios(16, rng=rng, reps=3)
    assert e1 == ex.equalised_variance_ratios(16, rng=rng, reps=3)
    assert e1["max_rel_change_by_rescaling"] < 1e-12


def test_chain_log_factor_of_a_bn_chain_is_near_the_finite_batch_factor():
    from gradexp import finite_batch_factor

    lad = ex.width_ladder(12, (64, 256), 64, rng=7, reps=6)
    z = (lad["intercept"] - math.log(finite_batch_factor(64))) / lad["intercept_se"]
    assert abs(z) < 5, lad


def test_pre_ln_transformer_factors_small():
    """Tiny pre-LN stack: the per-block factors are finite, their mean is the reported mean, the run is
    reproducible from its seed, and the residual stream makes the input gradient grow (factor > 0)."""
    a = ex.pre_ln_transformer_factors(16, depth=3, tokens=4, batch=2, heads=2, rng=7, reps=3)
    b = ex.pre_ln_transformer_factors(16, depth=3, tokens=4, batch=2, heads=2, rng=7, reps=3)
    assert a["block_mean"].shape == (3,) and np.all(np.isfinite(a["block_mean"]))
    assert np.isclose(a["mean"], a["block_mean"].mean())
    assert np.array_equal(a["block_mean"], b["block_mean"])
    assert a["mean"] > 4 * a["stderr"]
