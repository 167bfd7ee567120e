"""Closed-form and LALC claims of Paik & Choi (gradexp/claims/paik_choi.py, paik_choi_lalc.py): the
fast verdicts, a hypothesis for every quantitative claim, and checks of the references that the
verdicts rest on."""

from __future__ import annotations

import math

import pytest
from _ledger_results import ledger_results

from gradexp.claims import all_claims, paik_choi, paik_choi_bounds, paik_choi_lalc
from gradexp.claims._ledger import FAILS, HOLDS, HOLDS_LOOSELY

EXPECTED = {
    "pc-prop-2.1": HOLDS, "pc-thm-2.2-R": FAILS, "pc-thm-2.2": HOLDS, "pc-thm-2.2-accuracy": HOLDS_LOOSELY,
    "pc-a2-erfc-definition": FAILS, "pc-a2-erfc-phi": HOLDS, "pc-cor-2.3": HOLDS, "pc-cor-2.3-proof": FAILS,
    "pc-cor-2.3-limit": FAILS, "pc-001-sec2.1-blocked": FAILS, "pc-yang-rate": HOLDS_LOOSELY, "pc-001-yang-rate": HOLDS,
    "pc-thm-2.4": HOLDS, "pc-thm-2.4-eq26": FAILS, "pc-a4-chernoff": HOLDS, "pc-a4-union": HOLDS,
    "pc-remark-2.5": HOLDS_LOOSELY, "pc-thm-2.8-algebra": FAILS, "pc-thm-2.8": FAILS, "pc-001-thm-2.4": FAILS,
    "pc-001-a4-jensen": FAILS, "pc-correlation-offsets": FAILS, "pc-001-thm-2.2": HOLDS, "pc-001-cor-2.3": HOLDS,
    "pc-lemma-2.9-algebra": HOLDS, "pc-sec2.3-series-example": HOLDS, "pc-sec2.2-weight-gradient": FAILS,
    "pc-fig1-activations": HOLDS, "pc-fig1-dropout": HOLDS, "pc-001-relu-variance": HOLDS,
    "pc-lalc-listing": HOLDS, "pc-lalc-listing-000": HOLDS, "pc-sec3-ratio": HOLDS,
}
MODULES = (paik_choi.__name__, paik_choi_bounds.__name__, paik_choi_lalc.__name__)


def test_every_claim_of_the_modules_is_listed():
    assert {c.id for c in all_claims() if c.check.__module__ in MODULES} == set(EXPECTED)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_fast_verdict_and_hypotheses(cid):
    r = ledger_results()[cid]
    assert r.status == EXPECTED[cid], (r.status, r.note, r.evidence)
    assert r.hypotheses, "every claim here is quantitative: it names the paper's value"


def test_remark_2_5_numbers():
    """Finding 4: the failure bound of Thm 2.4 at d = 100, delta = 0.3 exceeds 1e-9; the ratio's excess is 0."""
    ev = ledger_results()["pc-remark-2.5"].evidence
    assert ev["failure_bound_thm_2.4"] == pytest.approx(100 * math.exp(-50 * (0.3 - 1 - math.log(0.3))), rel=1e-12)
    assert ev["failure_bound_thm_2.4"] > 1e-9 and ev["ratio_excess_in_setting"] == 0.0


def test_printed_eq4_breaks_in_double_where_the_evidence_says():
    ev = ledger_results()["pc-thm-2.2-accuracy"].evidence
    assert -30 < ev["double_literal_first_R_giving_0_or_nan"] < -25


def test_equalising_variances_leaves_the_perfectly_correlated_ratio_unchanged():
    """Finding 5: the equality condition of the earlier Thm 2.4 can be imposed by rescaling columns."""
    ev = ledger_results()["pc-001-thm-2.4"].evidence
    assert ev["max_rel_change_by_rescaling"] < 1e-12 and ev["median_equalised"] > 2


def test_thm_2_8_slope_is_positive_with_power():
    """Finding 7: the mean log ratio grows with ln d; fast mode already resolves it from 0."""
    ev = ledger_results()["pc-thm-2.8"].evidence
    assert ev["slope_mean_log_ratio_per_ln_d"] > 4 * ev["its_se"]
    assert 0.7 < ev["tail_index_per_unit"] < 1.3
