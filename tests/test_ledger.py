"""The ledger: every check runs without error, paik_choi verdicts are the derived ones, and the
README's table is what the checks compute."""

from pathlib import Path

import pytest

from gradexp.claims import ERROR, all_claims, run_ledger
from gradexp.claims.readme import readme_block
from gradexp.claims.report import ledger_markdown

README = Path(__file__).resolve().parents[1] / "README.md"

# The verdicts gradexp derives for the closed-form claims (reasons in each check's note).
EXPECTED = {
    "pc-prop-2.1": "holds", "pc-thm-2.2-R": "fails", "pc-thm-2.2": "holds", "pc-thm-2.2-accuracy": "holds",
    "pc-cor-2.3": "holds", "pc-cor-2.3-proof": "fails", "pc-yang-rate": "holds", "pc-thm-2.4": "holds",
    "pc-thm-2.4-eq26": "fails", "pc-remark-2.5": "holds-loosely", "pc-thm-2.8-algebra": "fails",
    "pc-thm-2.8": "fails", "pc-001-thm-2.4": "holds-loosely", "pc-correlation-offsets": "fails",
    "pc-001-thm-2.2": "holds", "pc-001-cor-2.3": "holds", "pc-lemma-2.9-algebra": "holds",
    "pc-fig1-activations": "holds",
}


@pytest.fixture(scope="session")
def ledger():
    return {r.claim.id: r for r in run_ledger(fast=True)}


def test_ids_unique_and_prefixed():
    ids = [c.id for c in all_claims()]
    assert len(ids) == len(set(ids))
    prefix = {"000": "pc-", "001": "pc-", "002": "mgw-", "003": "tvlars-", "004": "bjorck-", "gradexp": "gx-"}
    for c in all_claims():
        assert c.id.startswith(prefix[c.paper]), c.id


def test_no_check_errors(ledger):
    errors = {k: r.note for k, r in ledger.items() if r.status == ERROR}
    assert not errors, errors


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_closed_form_verdicts(ledger, claim_id):
    assert ledger[claim_id].status == EXPECTED[claim_id], ledger[claim_id].evidence


def test_readme_table_is_generated(ledger):
    table = ledger_markdown(list(ledger.values()))
    assert readme_block(README.read_text()) == table, (
        "README ledger table is stale: run `python -m gradexp.claims.readme --write`")


def test_fast_ledger_budget(ledger):
    # the whole ledger with --fast must stay under a minute (issue 2); leave CI headroom
    assert sum(r.seconds for r in ledger.values()) < 60
