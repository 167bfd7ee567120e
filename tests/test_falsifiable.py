"""Every claim can come out otherwise: its check, fed the reference overrides it declares
(``Claim.falsify``: the paper's value moved beyond the tolerance, a wrong formula, the corrected
statement in place of the printed one), returns a different verdict. A check that cannot be
made to change its verdict would be a constant, not a check."""

from __future__ import annotations

import inspect

import pytest

from _ledger_results import ledger_results
from gradexp.claims import ERROR, all_claims, run_claim

CLAIMS = {c.id: c for c in all_claims()}


def test_every_claim_declares_a_falsification():
    missing = [cid for cid, c in CLAIMS.items() if not c.falsify]
    assert not missing, f"claims without falsify overrides: {missing}"


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_overrides_are_parameters_of_the_check(cid):
    c = CLAIMS[cid]
    params = inspect.signature(c.check).parameters
    assert set(c.falsify) <= set(params), (cid, set(c.falsify) - set(params))
    for name in c.falsify:  # keyword with a default: the real reference
        assert params[name].default is not inspect.Parameter.empty, (cid, name)


@pytest.mark.parametrize("cid", sorted(CLAIMS))
def test_perturbed_reference_changes_the_verdict(cid):
    c = CLAIMS[cid]
    base = ledger_results()[cid]
    assert base.status != ERROR, base.note
    perturbed = run_claim(c, True, **c.falsify)
    assert perturbed.status != ERROR, perturbed.note
    assert perturbed.status != base.status, (cid, base.status, c.falsify, perturbed.evidence)
