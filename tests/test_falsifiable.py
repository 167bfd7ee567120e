"""Every claim can come out otherwise under a near miss (:class:`gradexp.claims.Falsify`): the
best competitor in the paper's place (``competitor``) or a reference moved by the smallest effect
the check claims to detect (``smallest-effect``). Its check, fed those overrides, returns a
different verdict. Negations of the claim, self-comparisons and perturbations below the check's
numerical tolerance are not falsifications: each override declares its kind and says why it is a
near miss, and the perturbed run must be a decided verdict, not an error."""

from __future__ import annotations

import inspect

import pytest
from _ledger_results import ledger_results

from gradexp.claims import ERROR, FALSIFY_KINDS, Falsify, all_claims, run_claim

CLAIMS = {c.id: c for c in all_claims()}
#: words that mark a negation of the claim rather than a near miss, in override names
NEGATION_WORDS = ("claimed_sign", "claimed_lower", "claimed_flip", "negate", "invert", "not_")


def test_every_claim_declares_a_near_miss():
    bad = [cid for cid, c in CLAIMS.items()
           if not isinstance(c.falsify, Falsify) or c.falsify.kind not in FALSIFY_KINDS]
    assert not bad, f"claims without a declared near miss (kind and why): {bad}"


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_overrides_are_references_not_negations(cid):
    c = CLAIMS[cid]
    params = inspect.signature(c.check).parameters
    overrides = c.falsify.overrides
    assert set(overrides) <= set(params), (cid, set(overrides) - set(params))
    for name, value in overrides.items():
        assert params[name].default is not inspect.Parameter.empty, (cid, name)
        assert not any(w in name for w in NEGATION_WORDS), (cid, name, "a negation, not a near miss")
        assert value != params[name].default, (cid, name, "the override equals the real reference")


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_near_miss_changes_the_verdict(cid):
    c = CLAIMS[cid]
    base = ledger_results()[cid]
    assert base.status != ERROR, base.note
    perturbed = run_claim(c, True, **c.falsify.overrides)
    assert perturbed.status != ERROR, perturbed.note
    assert perturbed.status != base.status, (cid, base.status, c.falsify, perturbed.evidence)
