"""Monte-Carlo claims (gradexp/claims/paik_choi_mc.py): each check runs in fast mode, returns
JSON-able evidence and the verdict derived in its note (the same in fast and full mode)."""

from __future__ import annotations

import json

import pytest

from gradexp.claims import _ledger
from gradexp.claims import paik_choi_mc  # noqa: F401  (registers the claims)
from gradexp.claims._ledger import ERROR, FAILS, HOLDS, HOLDS_LOOSELY, run_claim

EXPECTED = {
    "pc-mc-thm-2.2": HOLDS,
    "pc-mc-yang-rate": HOLDS,
    "pc-mc-activation-factor": HOLDS,
    "pc-mc-fig1-chains": HOLDS_LOOSELY,
    "pc-mc-layernorm-none": HOLDS,
    "pc-mc-thm-2.4": HOLDS,
    "pc-mc-correlated-factor": HOLDS,
    "pc-mc-thm-2.8": FAILS,
    "pc-mc-lemma-2.9": HOLDS_LOOSELY,
    "pc-mc-001-cor-2.5": HOLDS,
    "mgw-mc-eq1-2": HOLDS,
    "mgw-mc-eq8": FAILS,
    "mgw-mc-eq9": HOLDS_LOOSELY,
}


def _mc_claims():
    return {cid: c for cid, c in _ledger._REGISTRY.items() if c.check.__module__ == paik_choi_mc.__name__}


def test_all_mc_claims_listed_with_prefixes():
    claims = _mc_claims()
    assert set(claims) == set(EXPECTED)
    for cid, c in claims.items():
        prefix = "mgw-mc-" if c.paper == "002" else "pc-mc-"
        assert cid.startswith(prefix)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_fast_verdict(cid):
    r = run_claim(_mc_claims()[cid], fast=True)
    assert r.status != ERROR, r.note
    assert r.status == EXPECTED[cid], (r.status, r.evidence)
    json.dumps(r.evidence)  # JSON-able
    assert r.note and r.evidence
    assert r.seconds < 30  # fast mode stays fast (the target is ~3 s on an idle machine)


def test_weighted_least_squares_recovers_a_line():
    import numpy as np

    x = np.linspace(1, 2, 5)
    y = 3.0 + 2.0 * x
    coef, se, chi2, dof = paik_choi_mc._wls([np.ones_like(x), x], y, np.full(5, 0.1))
    np.testing.assert_allclose(coef, [3.0, 2.0], rtol=1e-12)
    assert chi2 < 1e-20 and dof == 3 and np.all(se > 0)
