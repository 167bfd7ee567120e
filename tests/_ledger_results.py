"""The fast ledger, run once per test session and shared by the ledger tests (test_ledger,
test_claims_*, test_falsifiable, test_notes): ``ledger_results()`` caches the results by claim id."""

from __future__ import annotations

from functools import cache


@cache
def ledger_results() -> dict:
    from gradexp.claims import run_ledger

    return {r.claim.id: r for r in run_ledger(fast=True)}
