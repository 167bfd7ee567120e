"""TVLARS and LALC claims: verdicts, evidence, speed; the LALC listing transcriptions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _ledger_results import ledger_results
from gradexp.claims import _ledger, all_claims
from gradexp.claims._ledger import ERROR, run_claim
from gradexp.claims.paik_choi_lalc import _lalc_algorithm1, _lalc_listing

EXPECTED = {
    "tvlars-eq4-cosine": "fails", "tvlars-eq10-derivative": "holds", "tvlars-eq9-bounds": "fails",
    "tvlars-eq12-infimum": "holds", "tvlars-alpha1-initial": "fails",
    "tvlars-alg1-momentum": "fails", "tvlars-eq3-percentage": "holds",
    "tvlars-eq7-batch-noise": "holds-loosely", "tvlars-alg1-weight-decay": "fails",
    "pc-lalc-listing": "fails", "pc-lalc-listing-000": "fails",
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
