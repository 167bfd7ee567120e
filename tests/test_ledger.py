"""The ledger: every check runs without error, ids and paper keys are consistent, the closed-form
verdicts are the derived ones, papers are named by citation key (never by text-file name), and the
README's tables are what the checks and the bibliography compute."""

import json
from pathlib import Path

import pytest
from _ledger_results import ledger_results

from gradexp.claims import ERROR, PAPERS, all_claims, claims_for_paper, run_ledger
from gradexp.claims.bibliography import COVERAGE, coverage_markdown
from gradexp.claims.readme import COVERAGE_END, COVERAGE_START, readme_block
from gradexp.claims.report import ledger_json, ledger_markdown, ledger_table

README = Path(__file__).resolve().parents[1] / "README.md"

# The verdicts gradexp derives for the closed-form claims (reasons in each check's note).
EXPECTED = {
    "pc-prop-2.1": "holds", "pc-thm-2.2-R": "fails", "pc-thm-2.2": "holds", "pc-thm-2.2-accuracy": "holds-loosely",
    "pc-cor-2.3": "holds", "pc-cor-2.3-proof": "fails", "pc-yang-rate": "holds-loosely", "pc-thm-2.4": "holds",
    "pc-thm-2.4-eq26": "fails", "pc-remark-2.5": "holds-loosely", "pc-thm-2.8-algebra": "fails",
    "pc-thm-2.8": "fails", "pc-001-thm-2.4": "fails", "pc-correlation-offsets": "fails",
    "pc-001-thm-2.2": "holds", "pc-001-cor-2.3": "holds", "pc-lemma-2.9-algebra": "holds",
    "pc-fig1-activations": "holds",
}
PREFIX = {key: paper.prefix for key, paper in PAPERS.items()}


def test_ids_unique_and_prefixed():
    ids = [c.id for c in all_claims()]
    assert len(ids) == len(set(ids))
    for c in all_claims():
        assert c.id.startswith(PREFIX[c.paper]), c.id


def test_no_check_errors():
    errors = {k: r.note for k, r in ledger_results().items() if r.status == ERROR}
    assert not errors, errors


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_closed_form_verdicts(claim_id):
    r = ledger_results()[claim_id]
    assert r.status == EXPECTED[claim_id], r.evidence


def test_papers_by_key_and_no_file_names_in_output():
    results = list(ledger_results().values())
    text = ledger_table(results) + ledger_json(results) + ledger_markdown(results) + README.read_text()
    assert "_b4a1e580" not in text and ".txt" not in text
    keys = {json.loads(ledger_json(results))["claims"][i]["paper"] for i in range(len(results))}
    assert keys <= set(PAPERS)
    for key in PAPERS:
        assert all(c.paper == key for c in claims_for_paper(key))
    with pytest.raises(ValueError, match="key"):
        claims_for_paper("000")


def test_run_ledger_filters_by_paper():
    rs = run_ledger(fast=True, papers=["do-tvlars"], ids=["tvlars-eq4-cosine", "pc-thm-2.2-R"])
    assert [r.claim.id for r in rs] == ["tvlars-eq4-cosine"]
    with pytest.raises(ValueError):
        run_ledger(papers=["no-such-paper"])


def test_bibliography_does_not_invent_arxiv_ids():
    for p in PAPERS.values():
        assert p.arxiv == "not stated in the text", p.key  # none of the texts prints one
        assert p.title and p.authors


def test_coverage_names_only_existing_claims_and_every_claim_is_covered():
    ids = {c.id for c in all_claims()}
    named = {cid for s in COVERAGE for cid in s.claims}
    assert named <= ids, named - ids
    paper_claims = {c.id for c in all_claims() if c.paper != "gradexp"}
    assert paper_claims <= named, paper_claims - named
    assert sum(s.new for s in COVERAGE) >= 8


def test_readme_tables_are_generated():
    text = README.read_text()
    table = ledger_markdown(list(ledger_results().values()))
    assert readme_block(text) == table, (
        "README ledger table is stale: run `python -m gradexp.claims.readme --write`")
    assert readme_block(text, COVERAGE_START, COVERAGE_END) == coverage_markdown()
