"""Monte-Carlo claims (gradexp/claims/paik_choi_mc.py, mehmeti_gopel_wand_mc.py): each check runs in
fast mode (once per session, shared), returns JSON-able evidence and the verdict derived in its note."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _ledger_results import ledger_results

from gradexp.claims import _common, all_claims, mehmeti_gopel_wand_mc, paik_choi_mc
from gradexp.claims._ledger import ERROR, FAILS, HOLDS, HOLDS_LOOSELY, INCONCLUSIVE

EXPECTED = {
    "pc-mc-thm-2.2": HOLDS,
    "pc-mc-yang-rate": HOLDS,
    "pc-mc-activation-factor": HOLDS,
    "pc-mc-fig1-chains": INCONCLUSIVE,  # leaky ReLU's 0.9% below ReLU needs more networks than fast mode has
    "pc-mc-fig1-dropout": HOLDS,
    "pc-mc-001-identity": HOLDS,
    "pc-mc-layernorm-none": HOLDS_LOOSELY,
    "pc-mc-no-bn": HOLDS_LOOSELY,
    "pc-mc-residual": HOLDS,
    "pc-mc-thm-2.4": HOLDS,
    "pc-mc-correlated-factor": FAILS,
    "pc-mc-thm-2.8": FAILS,
    "pc-mc-lemma-2.9": HOLDS,
    "pc-mc-001-cor-2.5": HOLDS,
    "mgw-mc-eq1-2": HOLDS,
    "mgw-mc-eq8": FAILS,
    "mgw-mc-eq9": FAILS,
}
MODULES = (paik_choi_mc.__name__, mehmeti_gopel_wand_mc.__name__)


def _mc_claims():
    return {c.id: c for c in all_claims() if c.check.__module__ in MODULES}


def test_all_mc_claims_listed_with_prefixes_and_in_their_paper_module():
    claims = _mc_claims()
    assert set(claims) == set(EXPECTED)
    for cid, c in claims.items():
        if c.paper == "mehmeti-gopel-wand":
            assert cid.startswith("mgw-mc-") and c.check.__module__ == mehmeti_gopel_wand_mc.__name__
        else:
            assert cid.startswith("pc-mc-") and c.check.__module__ == paik_choi_mc.__name__


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_fast_verdict(cid):
    r = ledger_results()[cid]
    assert r.status != ERROR, r.note
    assert r.status == EXPECTED[cid], (r.status, r.evidence)
    json.dumps(r.evidence)  # JSON-able
    assert r.note and r.evidence


def test_paper_settings():
    ev = {k: ledger_results()[k].evidence for k in ("mgw-mc-eq8", "mgw-mc-eq9", "pc-mc-fig1-chains")}
    assert ev["mgw-mc-eq8"]["depth"] == 56 and ev["mgw-mc-eq9"]["depth"] == 56  # the ELR paper's ResNet56
    assert ev["pc-mc-fig1-chains"]["depth"] == 51  # 001 Fig. 1(b): 51-layer VGG-like network


def test_weighted_least_squares_recovers_a_line():
    x = np.linspace(1, 2, 5)
    y = 3.0 + 2.0 * x
    coef, se, chi2, dof = _common.wls([np.ones_like(x), x], y, np.full(5, 0.1))
    np.testing.assert_allclose(coef, [3.0, 2.0], rtol=1e-12)
    assert chi2 < 1e-20 and dof == 3 and np.all(se > 0)


def test_memo_returns_the_same_object_for_the_same_arguments():
    calls = []

    def f(a, b=1):
        calls.append((a, b))
        return [a, b]

    x = _common.memo_call(f, 1, b=np.random.SeedSequence(3))
    y = _common.memo_call(f, 1, b=np.random.SeedSequence(3))
    z = _common.memo_call(f, 1, b=np.random.SeedSequence(4))
    assert x is y and z is not x and len(calls) == 2
