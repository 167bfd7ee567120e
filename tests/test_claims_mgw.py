"""Mehmeti-Göpel & Wand claims: each check runs fast, returns JSON-able evidence, and gives the
verdict derived in its note (the same in fast and full mode)."""

from __future__ import annotations

import json

import pytest

from _ledger_results import ledger_results
from gradexp.claims import _ledger, all_claims
from gradexp.claims._ledger import ERROR, run_claim

EXPECTED = {
    "mgw-eq3-pythagoras": "holds", "mgw-momentum-vectors": "holds",
    "mgw-eq12-13-main-text": "holds-loosely", "mgw-eq6-gradient-flow": "holds-loosely",
    "mgw-k0-he": "fails", "mgw-eq9-residual": "holds", "mgw-eq10-equalize": "holds",
    "mgw-eq33-34-limit": "fails", "mgw-a1-eq25": "holds", "mgw-a1-numbers": "fails",
    "mgw-a1-warmup": "holds", "mgw-sec41-flip": "holds", "mgw-fig2-mean-spread": "holds",
    "mgw-fig14-steps": "holds", "mgw-fig4-momentum": "holds", "mgw-fig13-steps": "holds",
    "mgw-fig6-warmup": "holds", "mgw-eq14-constraint": "holds", "mgw-eq8-rate": "fails",
    "mgw-eq2-orthogonality": "holds", "mgw-fig10-toynet": "holds-loosely",
    "mgw-sec36-placement": "holds",
}
SLOW_FULL = {"mgw-fig10-toynet", "mgw-momentum-vectors", "mgw-eq8-rate", "mgw-fig4-momentum"}


def _claim(cid):
    all_claims()
    return _ledger._REGISTRY[cid]


def test_all_mgw_claims_listed():
    # mgw-mc-* are Monte-Carlo checks on the chain (gradexp/claims/mehmeti_gopel_wand_mc.py, tests/test_claims_mc.py)
    ids = {c.id for c in all_claims() if c.paper == "mehmeti-gopel-wand" and not c.id.startswith("mgw-mc-")}
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_fast_verdict(cid):
    r = ledger_results()[cid]
    assert r.status != ERROR, r.note
    assert r.status == EXPECTED[cid], r.evidence
    json.dumps(r.evidence)
    assert r.evidence and (r.status == "holds" or r.note)


@pytest.mark.parametrize("cid", sorted(set(EXPECTED) - SLOW_FULL))
def test_full_verdict_equals_fast(cid):
    assert run_claim(_claim(cid), fast=False).status == EXPECTED[cid]


@pytest.mark.slow
@pytest.mark.parametrize("cid", sorted(SLOW_FULL))
def test_full_verdict_equals_fast_slow(cid):
    r = run_claim(_claim(cid), fast=False)
    assert r.status == EXPECTED[cid], r.evidence
