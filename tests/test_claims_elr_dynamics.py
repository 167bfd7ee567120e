"""gradexp's own ELR-dynamics claims (issue 12): verdicts and JSON evidence of the fast ledger, and
falsifiability through the checks' reference keywords. ``tests/test_falsifiable.py`` runs each
claim's declared ``falsify``; here each declared override must make the verdict *fail* (not just
differ), and further wrong references, given to the check the same way, must fail too."""

from __future__ import annotations

import json

import pytest
from _ledger_results import ledger_results

from gradexp.claims import _ledger, all_claims
from gradexp.claims._ledger import ERROR, FAILS, HOLDS, HOLDS_LOOSELY, run_claim

all_claims()  # imports every claim module (registers the gx-elr claims)

EXPECTED = {
    "gx-elr-wd-equilibrium": (HOLDS, HOLDS_LOOSELY),  # the ToyNet within 5 SE or within 10%
    "gx-elr-continuous-wd-order": (HOLDS,),
    "gx-elr-notions-limits": (HOLDS,),
    "gx-elr-critical-lr": (HOLDS, HOLDS_LOOSELY),  # ToyNet part judged on minibatch noise
    "gx-elr-equalizing-warmup": (HOLDS, HOLDS_LOOSELY),
    "gx-elr-saturation-recovery": (HOLDS,),
}

#: wrong references beyond the declared ``falsify`` (cheap checks only: each runs the check again)
MORE_WRONG = [
    ("gx-elr-continuous-wd-order", {"expected_order": 0.9}),  # the order is 1 to within 0.05
    ("gx-elr-notions-limits", {"lr_over_weight_sq_power": 0.5}),  # ratios sqrt(c_k/c_l)
    ("gx-elr-notions-limits", {"algebraic_exponent": -0.5}),  # deviation ~ k^-1/2
    ("gx-elr-equalizing-warmup", {"one_step_spread": "S0^2/8"}),  # small-S form: far from tight
    ("gx-elr-saturation-recovery", {"asymptote_denominator": 8.0}),  # twice too many steps
]


def _claim(cid):
    return _ledger._REGISTRY[cid]


def test_registered_under_the_gradexp_key():
    ids = {c.id for c in _ledger._REGISTRY.values() if c.paper == "gradexp" and c.id.startswith("gx-elr-")}
    assert ids == set(EXPECTED)
    assert _ledger.PAPERS["gradexp"]


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_fast_verdict_and_json(cid):
    r = ledger_results()[cid]
    assert r.status in EXPECTED[cid], r.note
    json.dumps(r.as_dict())
    assert r.note


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_declared_falsification_fails(cid):
    c = _claim(cid)
    assert c.falsify
    r = run_claim(c, True, **c.falsify.overrides)
    assert r.status == FAILS, (cid, c.falsify, r.status, r.note)


@pytest.mark.parametrize("cid,wrong", MORE_WRONG, ids=[f"{c}-{next(iter(w))}" for c, w in MORE_WRONG])
def test_other_wrong_references_fail(cid, wrong):
    r = run_claim(_claim(cid), True, **wrong)
    assert r.status == FAILS, (cid, wrong, r.status, r.note)


def test_unknown_one_step_form_is_an_error():
    r = run_claim(_claim("gx-elr-equalizing-warmup"), True, one_step_spread="S0/3")
    assert r.status == ERROR and "one_step_spread" in r.note


def test_notes_name_the_reference_used():
    ev = ledger_results()["gx-elr-wd-equilibrium"].evidence
    r = run_claim(_claim("gx-elr-wd-equilibrium"), True, with_momentum_factor=False)
    assert "sqrt(2 lam beta) =" in r.note
    # the ToyNet comparison (mu = 0) does not depend on the momentum factor
    assert r.evidence["toynet_rel_dev_from_reference"] == ev["toynet_rel_dev_from_reference"]
