"""gradexp's own ELR-dynamics claims (issue 12): verdicts, JSON evidence, notes formatted from
the evidence, and falsifiability: a perturbed reference flips each verdict."""

from __future__ import annotations

import json
import math

import pytest

from gradexp.claims import _ledger
from gradexp.claims._ledger import FAILS, HOLDS, HOLDS_LOOSELY, run_claim
from gradexp.claims.gradexp_own import elr_dynamics as M

EXPECTED = {
    "gx-elr-wd-equilibrium": (HOLDS, HOLDS_LOOSELY),  # the ToyNet within 5 SE or within 10%
    "gx-elr-continuous-wd-order": (HOLDS,),
    "gx-elr-notions-limits": (HOLDS,),
    "gx-elr-critical-lr": (HOLDS, HOLDS_LOOSELY),  # ToyNet part judged on minibatch noise
    "gx-elr-equalizing-warmup": (HOLDS, HOLDS_LOOSELY),
    "gx-elr-saturation-recovery": (HOLDS,),
}


def test_registered_under_the_gradexp_key():
    ids = {c.id for c in _ledger._REGISTRY.values() if c.paper == "gradexp" and c.id.startswith("gx-elr-")}
    assert ids == set(EXPECTED)
    assert _ledger.PAPERS["gradexp"]


_RESULTS = {}


def _result(cid):
    if cid not in _RESULTS:
        _RESULTS[cid] = run_claim(_ledger._REGISTRY[cid], fast=True)
    return _RESULTS[cid]


@pytest.fixture(scope="module")
def evidence():
    names = {"wd": "gx-elr-wd-equilibrium", "cont": "gx-elr-continuous-wd-order",
             "notions": "gx-elr-notions-limits", "crit": "gx-elr-critical-lr",
             "warm": "gx-elr-equalizing-warmup", "sat": "gx-elr-saturation-recovery"}
    return {k: _result(cid).evidence for k, cid in names.items()}


def _ev(evidence, name, fn):
    return evidence[name]


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_fast_verdict_and_json(cid):
    r = _result(cid)
    assert r.status in EXPECTED[cid], r.note
    json.dumps(r.as_dict())
    assert r.note


def test_wd_equilibrium_flips(evidence):
    ev = _ev(evidence, "wd", M._wd_evidence)
    ref = M._wd_reference(ev)
    assert M._verdict_wd(ev, ref).status in (HOLDS, HOLDS_LOOSELY)
    bad = dict(ref, mu0=ref["mu0"] * 1.001)
    assert M._verdict_wd(ev, bad).status == FAILS
    bad = dict(ref, toynet=ref["toynet"] * 1.3)
    assert M._verdict_wd(ev, bad).status == FAILS
    # the note's numbers come from the evidence
    assert f"{ev['toynet_mean_relative_update_last_third'][0]:.4g}" in M._verdict_wd(ev, ref).note


def test_continuous_order_flips(evidence):
    ev = _ev(evidence, "cont", M._cont_evidence)
    assert M._verdict_cont(ev, 1.0).status == HOLDS
    assert M._verdict_cont(ev, 2.0).status == FAILS
    assert M._verdict_cont(ev, 0.9).status == FAILS


def test_notions_flip(evidence):
    ev = _ev(evidence, "notions", M._notions_evidence)
    ref = M._notions_reference(ev)
    assert M._verdict_notions(ev, ref).status == HOLDS
    for key, val in (("lr_over_weight_sq", ref["lr_over_weight_sq"] ** 0.5),  # the printed sqrt
                     ("relative_update", ev["c"][0] / ev["c"][1]),
                     ("algebraic_exponent", -0.5), ("factor_mu0", 1 - 2 * ev["lr"] * 0.05)):
        assert M._verdict_notions(ev, dict(ref, **{key: val})).status == FAILS, key


def test_critical_flips(evidence):
    ev = _ev(evidence, "crit", M._critical_evidence)
    assert M._verdict_critical(ev).status in (HOLDS, HOLDS_LOOSELY)
    assert M._verdict_critical(ev, expected_widened=1).status == FAILS
    # a margin of 0 makes every "confirmation" a tie: the check would notice
    ev0 = dict(ev, momentum_confirmed_below_narrows_above_widens=ev["momentum_finite_threshold"] - 1)
    assert M._verdict_critical(ev0).status == FAILS


def test_warmup_flips(evidence):
    ev = _ev(evidence, "warm", M._warmup_evidence)
    ref = math.log(math.cosh(ev["S0"] / 2))
    assert M._verdict_warmup(ev, ref).status in (HOLDS, HOLDS_LOOSELY)
    assert M._verdict_warmup(ev, 0.9 * ref).status == FAILS  # S1 above the bound
    assert M._verdict_warmup(ev, 2.0 * ref).status == FAILS  # the bound far from tight
    slower = dict(ev, **{"linear100_steps_to_S<1e-3*S0": 3})
    assert M._verdict_warmup(slower, ref).status == FAILS


def test_saturation_flips(evidence):
    ev = _ev(evidence, "sat", M._saturation_evidence)
    exact = [x[2] for x in ev["c_lr_exact_closed_form_lam2c2/(4r)"]]
    assert M._verdict_saturation(ev, exact).status == HOLDS
    assert M._verdict_saturation(ev, [1.01 * e for e in exact]).status == FAILS
