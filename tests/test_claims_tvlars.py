"""TVLARS and LALC claims: verdicts, evidence, speed; the LALC listing transcriptions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _ledger_results import ledger_results

from gradexp.claims import _ledger, all_claims
from gradexp.claims._ledger import ERROR, run_claim
from gradexp.claims.paik_choi_lalc import _lalc_algorithm1, _lalc_listing

EXPECTED = {
    "tvlars-eq4-cosine": "fails", "tvlars-eq10-derivative": "holds", "tvlars-eq9-bounds": "fails",
    "tvlars-eq12-infimum": "holds", "tvlars-alpha1-initial": "holds", "tvlars-sec1-target-lr": "fails",
    "tvlars-alg1-momentum": "fails", "tvlars-eq3-percentage": "holds",
    "tvlars-eq7-batch-noise": "holds-loosely", "tvlars-eq7-proof-step": "fails",
    "tvlars-sec3-wd-denominator": "fails", "tvlars-sec6-sqrt-scaling": "holds",
    "tvlars-sec5-steepness": "holds", "tvlars-sec6c2-sqrt-variance": "holds",
    "pc-lalc-listing": "holds", "pc-lalc-listing-000": "holds",
}


def _claim(cid):
    all_claims()
    return _ledger._REGISTRY[cid]


def test_all_tvlars_claims_listed():
    ids = {c.id for c in all_claims() if c.paper == "do-tvlars"}
    assert ids == {k for k in EXPECTED if k.startswith("tvlars")}


@pytest.mark.parametrize("cid", sorted(EXPECTED))
@pytest.mark.parametrize("fast", [True, False])
def test_verdicts(cid, fast):
    r = ledger_results()[cid] if fast else run_claim(_claim(cid), fast=fast)
    assert r.status != ERROR, r.note
    assert r.status == EXPECTED[cid], r.evidence
    json.dumps(r.evidence)


def test_listing_transcription_is_torch_sgd_without_lalc():
    """With LALC inactive (huge cap) the 001 listing is torch.optim.SGD (momentum, wd)."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(12)
    gs = rng.standard_normal((6, 12))
    got = _lalc_listing(p0, gs, lr=0.1, momentum=0.9, weight_decay=1e-2, eta=1e-12, eps=1e-12)
    p, buf = p0.copy(), None
    for g in gs:
        d = g + 1e-2 * p
        buf = d.copy() if buf is None else 0.9 * buf + d
        p = p - 0.1 * buf
    np.testing.assert_allclose(got, p, rtol=1e-13)


def test_algorithm1_literal_zero_weight_freezes_tensor():
    out = _lalc_algorithm1(np.zeros(5), np.ones((3, 5)), lr=0.5, momentum=0.0)
    np.testing.assert_array_equal(out, 0.0)
    out2 = _lalc_listing(np.zeros(5), np.ones((3, 5)), lr=0.5, momentum=0.0)
    assert np.all(out2 < 0)


def test_proof_step_violation_probability_is_the_normal_tail():
    """Finding 14: g_B <= g_bar + sigma^2/B fails with probability 1 - Phi(sigma/sqrt B); the check's
    evidence carries the exact value, and the measurement is within 5 binomial standard errors."""
    r = ledger_results()["tvlars-eq7-proof-step"]
    for B, (p, se, exact) in r.evidence["B: P(g_B > g_bar + sigma^2/B), se, 1 - Phi(sigma/sqrt B)"].items():
        assert abs(p - exact) < 5 * se, B
    assert r.evidence["B: P(g_B > g_bar + sigma^2/B), se, 1 - Phi(sigma/sqrt B)"]["16"][2] == pytest.approx(0.4013, abs=1e-4)


def test_weight_decay_term_is_sqrt_d_wd():
    """Finding 3: the scalar w_d in the LARS denominator adds sqrt(d) w_d (0.77 for 2.4M parameters)."""
    r = ledger_results()["tvlars-sec3-wd-denominator"]
    assert r.evidence["sqrt(d)*w_d"] == pytest.approx(math.sqrt(512 * 512 * 9) * 5e-4, rel=1e-3)
    lo, hi = r.evidence["||g + term||/||g|| at ||g|| = 1, 0.1"]
    p1, p01 = r.evidence["sqrt(1 + d w_d^2/||g||^2) at ||g|| = 1, 0.1"]
    assert lo == pytest.approx(p1, rel=1e-2) and hi == pytest.approx(p01, rel=1e-2)
