"""Every claim quotes its paper verbatim: the quote occurs in the paper's plain-text copy, after
normalising whitespace and line-break hyphenation ("explo-\\nsion" -> "explosion") on both sides.

The paper texts are not part of the repository. They are looked up in ``GRADEXP_PAPERS`` (a folder)
or in ``../shared/papers`` beside the clone; where neither exists the text test is skipped with that
reason (the other tests here run everywhere).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gradexp.claims import PAPERS, all_claims

CLAIMS = {c.id: c for c in all_claims()}
ROOT = Path(__file__).resolve().parents[1]


def _paper_dir() -> Path | None:
    for d in (os.environ.get("GRADEXP_PAPERS"), ROOT.parent / "shared" / "papers",
              ROOT.parent.parent / "shared" / "papers"):
        if d and Path(d).is_dir() and any(Path(d).glob("000_*.txt")):
            return Path(d)
    return None


def normalise(text: str) -> str:
    """Join hyphenated line breaks, unify dashes/quotes that PDF conversion varies, collapse
    whitespace."""
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.split())


def _paper_text(key: str) -> str:
    d = _paper_dir()
    (path,) = d.glob(f"{PAPERS[key].text}_*.txt")
    return normalise(path.read_text(encoding="utf-8"))


def test_every_claim_has_a_quote_and_a_place():
    missing = [cid for cid, c in CLAIMS.items() if not c.quote.strip() or not c.where.strip()]
    assert not missing, f"claims without quote or where: {missing}"


def test_paper_keys_with_texts():
    assert {k for k, p in PAPERS.items() if p.text} == set(PAPERS) - {"gradexp"}


@pytest.mark.parametrize("cid", sorted(cid for cid, c in CLAIMS.items() if c.paper != "gradexp"))
def test_quote_occurs_in_the_paper(cid):
    if _paper_dir() is None:
        pytest.skip("paper texts not found (set GRADEXP_PAPERS or place them in ../shared/papers)")
    c = CLAIMS[cid]
    text = _paper_text(c.paper)
    assert normalise(c.quote) in text, (cid, c.quote)


def test_normalise_joins_hyphenated_line_breaks():
    assert normalise("gradient explo-\n  sion  of\tBN") == "gradient explosion of BN"
