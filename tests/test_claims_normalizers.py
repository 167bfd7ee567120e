"""The normalizer claims (gx-yang-thm8, gx-yang-thm9, gx-normalizer-mc): they run, their verdicts
are the ones their evidence derives, their near misses flip them; and the Monte-Carlo agreement
table of docs/theory/normalizers.md is the generated one."""

from __future__ import annotations

import math
import re

import mpmath as mp
import numpy as np
import pytest

from gradexp.claims import FAILS, HOLDS, all_claims, run_claim
from gradexp.claims.gradexp_own import normalizers as cn
from gradexp.experiments import normalizers as nx
from gradexp.theory.normalizers import normalizer_factor

CLAIMS = {c.id: c for c in all_claims() if c.id in ("gx-yang-thm8", "gx-yang-thm9", "gx-normalizer-mc")}


def test_the_three_claims_are_registered():
    assert set(CLAIMS) == {"gx-yang-thm8", "gx-yang-thm9", "gx-normalizer-mc"}


# ============================================================================ Thm 8
def test_yang_thm8_limits_and_an_independent_route():
    # large B: pi/(pi-1); B = 5 by hand from the arccosine kernel at r = -1/4 (mpmath, 40 digits)
    assert abs(float(cn.yang_thm8(10**12)) - math.pi / (math.pi - 1)) < 1e-11
    with mp.workdps(40):
        r = mp.mpf(-1) / 4
        J = (mp.sqrt(1 - r**2) + (mp.pi - mp.acos(r)) * r) / mp.pi
        Jp = 1 - mp.acos(r) / mp.pi
        ref = (Jp + 4) / (2 * (1 - J)) - mp.mpf(1) / 2
    assert abs(cn.yang_thm8(5, dps=40) - ref) < mp.mpf(10) ** -35


@pytest.mark.parametrize("reference,expected", [("thm8", HOLDS), ("infinite-batch", FAILS)])
def test_thm8_verdict_and_near_miss(reference, expected):
    v = cn._check_thm8(True, reference=reference)
    assert v.status == expected
    err = v.evidence["max_relative_error"]
    assert (err <= cn.THM8_TOL) == (expected == HOLDS)
    assert len(v.hypotheses) == 2


# ============================================================================ Thm 9
def test_thm9_verdict_is_derived_from_the_excesses():
    v = cn._check_thm9(True)
    assert v.status == HOLDS
    ex = v.evidence["relative excess factor/bound - 1 (activation: by batch)"]
    assert max(abs(e) for e in ex["identity"]) <= cn.THM9_TOL
    assert all(min(e) > cn.THM9_TOL for a, e in ex.items() if a != "identity")
    # the bound itself, independently: (B-2)/(B-3) for the identity
    B = np.array([4.0, 8.0, 32.0])
    np.testing.assert_allclose(normalizer_factor("batch", B, "identity"), (B - 2) / (B - 3), rtol=1e-14)


def test_thm9_near_miss_flips():
    c = CLAIMS["gx-yang-thm9"]
    assert run_claim(c, True, **c.falsify.overrides).status == FAILS
    # a move below the tolerance is not detected (the near miss is not below the check's resolution)
    assert cn._check_thm9(True, bound_scale=1 + cn.THM9_TOL / 10).status == HOLDS


# ============================================================================ Monte-Carlo agreement
def test_finite_variance_rule():
    assert [nx.finite_variance("batch", s) for s in (4, 5, 6, 8)] == [False, False, True, True]
    assert [nx.finite_variance("rms", s) for s in (4, 5)] == [False, True]


def test_cell_factor_standard_error_is_honest():
    # two independent streams of one cell agree within their standard errors (5 se)
    a = nx.cell_factor("group", 8, 128, "identity", depth=16, reps=8, rng=1)
    b = nx.cell_factor("group", 8, 128, "identity", depth=16, reps=8, rng=2)
    assert abs(a["factor"] - b["factor"]) < 5 * math.hypot(a["stderr"], b["stderr"])


def test_mc_claim_runs_and_its_near_miss_flips():
    c = CLAIMS["gx-normalizer-mc"]
    base = run_claim(c, True)
    assert base.status == HOLDS, base.note
    pooled = base.evidence["pooled_test"]
    assert pooled["p_statement"] >= pooled["rejection_p (two-sided tail of k se)"]
    assert pooled["p_competitor"] < pooled["rejection_p (two-sided tail of k se)"]
    assert run_claim(c, True, **c.falsify.overrides).status == FAILS


def test_mc_rows_carry_the_theory_at_their_own_size():
    ev = nx.agreement(True)
    assert len(ev["rows"]) == len(nx.cells())
    for r in ev["rows"]:
        assert r["theory"] == float(normalizer_factor(r["norm"], r["size"], r["activation"], backward=r["backward"]))
        assert r["z"] == pytest.approx((r["extrapolated"] - r["theory"]) / r["extrapolated_se"])


# ============================================================================ the docs table
_ROW = re.compile(r"^\| (\w+) \| (\w+) \| (\w+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \|", re.M)


def test_docs_table_lists_every_cell_with_its_theory():
    block = nx.docs_block()
    rows = _ROW.findall(block)
    assert [(n, a, b, int(s)) for n, a, b, s, *_ in rows] == nx.cells()
    for n, a, b, s, th, inf in rows:
        assert th == f"{float(normalizer_factor(n, int(s), a, backward=b)):.4f}"
        assert inf == f"{float(normalizer_factor(n, math.inf, a, backward=b)):.4f}"


@pytest.mark.slow
def test_docs_table_is_the_generated_one():
    mode = "fast" if nx.docs_block().split("\n")[2].startswith("Fast") else "full"
    block = nx.agreement_markdown(nx.agreement(mode == "fast"))
    assert nx.docs_block() == block, "stale: python -m gradexp.experiments.normalizers"
