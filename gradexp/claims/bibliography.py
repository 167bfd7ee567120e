"""The coverage of the papers' statements by the claims ledger (the papers themselves, by
citation key, are :mod:`gradexp.bibliography`; re-exported here).

:data:`COVERAGE` goes through each paper section by section, appendices included: every
checkable statement maps to the claim ids that check it, every other statement gives the
reason it is not checkable. :func:`coverage_markdown` renders it for the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bibliography import NOT_STATED, PAPER_KEYS, PAPERS, Paper, citation

__all__ = ["Paper", "PAPERS", "PAPER_KEYS", "NOT_STATED", "citation", "Statement", "COVERAGE", "coverage_markdown",
           "statements_for_paper"]

# ============================================================================ coverage
@dataclass(frozen=True)
class Statement:
    """One statement of a paper: checked by ``claims`` or not checkable for ``reason``."""

    paper: str
    section: str
    text: str
    claims: tuple[str, ...] = ()
    reason: str = ""
    new: bool = field(default=False, compare=False)  # newly covered in issue 10

    def __post_init__(self):
        if bool(self.claims) == bool(self.reason):
            raise ValueError(f"statement {self.text!r}: give claim ids or a reason, not both/neither")


def _S(paper, section, text, *claims, reason="", new=False):
    return Statement(paper, section, text, tuple(claims), reason, new)


from ._coverage import COVERAGE_ROWS as _ROWS  # noqa: E402  (the long table lives in its own file)

COVERAGE: tuple[Statement, ...] = tuple(_S(*r[:3], *r[3], reason=r[4] if len(r) > 4 else "",
                                           new=r[5] if len(r) > 5 else False) for r in _ROWS)


def statements_for_paper(key: str) -> list[Statement]:
    citation(key)
    return [s for s in COVERAGE if s.paper == key]


def coverage_markdown() -> str:
    """The README's coverage table: per paper, section, statement -> claim ids or reason."""
    rows = []
    for key, paper in PAPERS.items():
        sts = statements_for_paper(key)
        if not sts:
            continue
        rows += ["", f"**{paper.short}** (`{key}`)", "", "| section | statement | claims / not checkable |",
                 "| --- | --- | --- |"]
        for s in sts:
            target = ", ".join(f"`{c}`" for c in s.claims) if s.claims else f"not checkable: {s.reason}"
            mark = " (new)" if s.new else ""
            cells = (s.section, s.text + mark, target)
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows).strip()
