"""Bjorck, Gomes & Selman claims: verdicts, evidence, speed, and the helpers behind them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _ledger_results import ledger_results

from gradexp import fuss_catalan_ppf
from gradexp.claims import _ledger, all_claims
from gradexp.claims._ledger import ERROR, run_claim
from gradexp.experiments.bjorck import ks_distance as _ks
from gradexp.experiments.bjorck import sgd_noise as _sgd_noise_mc
from gradexp.experiments.bjorck import spectral_errors as _spectral_errors
from gradexp.experiments.references import exact_m2 as _exact_m2

# The verdicts gradexp derives (reasons in each check's note).
EXPECTED = {
    "bjorck-eq2-sgd-noise": "holds",
    "bjorck-appD-parametrisation": "holds",
    "bjorck-thm1-density": "holds",
    "bjorck-thm1-singular-vs-squared": "fails",
    "bjorck-thm1-sigma-scaling": "fails",
    "bjorck-thm1-small-x": "holds",
    "bjorck-thm1-edge": "holds",
    "bjorck-thm1-moments": "holds",
    "bjorck-sec4-linear-growth": "fails",
    "bjorck-fig12-caption": "holds",
    "bjorck-appE-condition": "holds",
    "bjorck-appC-gd-rate": "holds",
    "bjorck-appC-prop1": "holds",
    "bjorck-appC-single-layer-rate": "holds-loosely",
    "bjorck-eq4-conv-gradient": "holds",
    "bjorck-sec21-noise-scaling": "holds-loosely",
    "bjorck-sec4-channel-variance": "holds-loosely",
}
# full mode of these is cheap enough for the test suite; the sample-based claims (N up to 1000,
# 10-60 s in full mode) are run in full by `gradexp verify`
CHEAP_FULL = ("bjorck-appD-parametrisation", "bjorck-appE-condition", "bjorck-appC-gd-rate",
              "bjorck-appC-prop1", "bjorck-appC-single-layer-rate", "bjorck-sec4-channel-variance",
              "bjorck-sec21-noise-scaling", "bjorck-eq2-sgd-noise")


def _claim(cid):
    all_claims()
    return _ledger._REGISTRY[cid]


def test_all_bjorck_claims_listed():
    ids = {c.id for c in all_claims() if c.paper == "bjorck-gomes-selman"}
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_verdicts_fast(cid):
    r = ledger_results()[cid]
    assert r.status != ERROR, r.note
    assert r.status == EXPECTED[cid], r.evidence
    json.dumps(r.evidence)
    assert r.note and r.hypotheses, cid


@pytest.mark.parametrize("cid", CHEAP_FULL)
def test_verdicts_full_equal_fast(cid):
    r = run_claim(_claim(cid), fast=False)
    assert r.status == EXPECTED[cid], r.evidence


def test_exact_second_moment_recursion_small_n():
    """E N^-1 tr (P^T P)^2 for N = 1: E prod g_k^4 = 3^M."""
    for M in (1, 2, 5):
        assert _exact_m2(M, 1) == pytest.approx(3.0**M, rel=1e-14)
    # large N limit: the Fuss-Catalan number M + 1
    assert _exact_m2(4, 10**7) == pytest.approx(5.0, rel=1e-5)


def test_ks_helper_detects_a_wrong_law():
    x = fuss_catalan_ppf(np.random.default_rng(0).random(2000), 2)  # exact samples by inversion
    assert _ks(x, 2) < 1.63 / math.sqrt(x.size)  # 99% quantile of the KS distance
    assert _ks(x, 3) > 0.05
    assert _ks(np.sqrt(x), 2) > 0.1


def test_sgd_noise_estimator_both_samplings():
    rng = np.random.default_rng(1)
    G = rng.standard_normal((10, 3))
    M = float(np.mean(np.sum((G - G.mean(0)) ** 2, axis=1)))
    e = _sgd_noise_mc(G, 4, 40_000, rng, replace=True)
    assert abs(e.z_score(M / 4)) < 5
    e = _sgd_noise_mc(G, 4, 40_000, rng, replace=False)
    assert abs(e.z_score(M / 4 * (10 - 4) / (10 - 1))) < 5
    assert abs(e.z_score(M / 4)) > 5  # eq. 2 is for sampling with replacement
    e = _sgd_noise_mc(G, 10, 100, rng, replace=False)  # the whole data set: no noise
    assert e.mean < 1e-25


def test_spectral_error_curve():
    lam = np.array([1.0, 0.25])
    c = np.array([3.0, 4.0])
    got = _spectral_errors(lam, c, 0.5, 3)
    np.testing.assert_allclose(got, [math.hypot(3 * 0.5**k, 4 * 0.875**k) for k in (1, 2, 3)], rtol=1e-15)


def test_channel_variances_mean_is_exactly_preserved_in_expectation():
    """E ||P||_F^2 / N = 1 at every depth (the first Fuss-Catalan moment): 5 standard errors."""
    from gradexp.experiments.bjorck import channel_variances

    ev = channel_variances((1, 3), 40, reps=64, rng=1)
    assert np.all(np.abs(ev["mean"] - 1) < 5 * ev["mean_se"])
    assert ev["spread"][1] > ev["spread"][0] + 5 * math.hypot(*ev["spread_se"])


def test_orthogonal_products_keep_singular_values_at_one():
    from gradexp.experiments.bjorck import orthogonal_sigma_max

    assert np.allclose(orthogonal_sigma_max((1, 4), 20, reps=2, rng=0), 1.0, atol=1e-12)
