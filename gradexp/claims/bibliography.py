"""The papers of the claims ledger, by citation key, and the coverage of their statements.

Every claim names its paper by a stable key (``Claim.paper``): ``paik-choi-v2``,
``paik-choi-v1``, ``mehmeti-gopel-wand``, ``do-tvlars``, ``bjorck-gomes-selman`` and
``gradexp`` (gradexp's own results). The metadata below is read off the plain-text copies of
the papers; where the text does not state a field (arXiv id, version, venue, year) it says so
instead of guessing.

:data:`COVERAGE` goes through each paper section by section, appendices included: every
checkable statement maps to the claim ids that check it, every other statement gives the
reason it is not checkable. :func:`coverage_markdown` renders it for the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Paper", "PAPERS", "citation", "Statement", "COVERAGE", "coverage_markdown",
           "statements_for_paper"]

NOT_STATED = "not stated in the text"


@dataclass(frozen=True)
class Paper:
    """One paper of the ledger.

    Attributes
    ----------
    key : citation key used by claims, JSON output, README and figures.
    short : short citation ("Paik & Choi (later version)").
    title, authors : as printed.
    year, venue, arxiv, version : as printed, or ``NOT_STATED`` (with what the text implies
        in ``note``).
    takes : what gradexp takes from it.
    text : file-name prefix of the paper's plain-text copy among the project's paper texts (used
        only by ``tests/test_quotes.py`` to find each claim's quote; never printed).
    """

    key: str
    short: str
    title: str
    authors: tuple[str, ...]
    year: str = NOT_STATED
    venue: str = NOT_STATED
    arxiv: str = NOT_STATED
    version: str = NOT_STATED
    note: str = ""
    takes: str = ""
    text: str = ""

    def as_dict(self) -> dict:
        return {"key": self.key, "citation": self.short, "title": self.title,
                "authors": list(self.authors), "year": self.year, "venue": self.venue,
                "arxiv": self.arxiv, "version": self.version, "note": self.note}


_PC_TITLE = ("The Disharmony between BN and ReLU Causes Gradient Explosion, but is Offset by the "
             "Correlation between Activations")

PAPERS: dict[str, Paper] = {p.key: p for p in (
    Paper("paik-choi-v2", "Paik & Choi (later version)", _PC_TITLE, ("Inyoung Paik", "Jaesik Choi"),
          version="later of two versions (the text carries no version number)",
          note="KAIST. No year, venue or arXiv id printed; the latest cited work is from 2023.",
          text="000",
          takes="ReLU moments (Prop. 2.1), C(R) (Thm 2.2, eq. 4), Cor. 2.3, Thm 2.4 and Remark 2.5, "
                "the perfectly-correlated bound pi/(pi+1) (Thm 2.8), Lemma 2.9, Fig. 1, LALC "
                "(Algorithm 1, Appendix B listing)"),
    Paper("paik-choi-v1", "Paik & Choi (earlier version)", _PC_TITLE, ("Inyoung Paik", "Jaesik Choi"),
          version="earlier of two versions (the text carries no version number)",
          note="KAIST. No year, venue or arXiv id printed; the latest cited work is from 2023.",
          text="001",
          takes="zero-centred Thm 2.2 (pi/(pi-1)), pseudo-linear Cor. 2.3, Thm 2.4 (pi/(2+pi)), "
                "Cor. 2.5 (second derivatives), Fig. 1, the LALC listing (Figure 7)"),
    Paper("mehmeti-gopel-wand", "Mehmeti-Göpel & Wand",
          "Spreads in Effective Learning Rates: The Perils of Batch Normalization During Early Training",
          ("Christian H.X. Ali Mehmeti-Göpel", "Michael Wand"),
          note="Johannes-Gutenberg University Mainz. No year, venue or arXiv id printed; the latest "
               "cited work is from 2023.",
          text="002",
          takes="effective learning rates: discrete model (eq. 4), ODE (eqs. 6-7), momentum model "
                "(eqs. 11-13, Appendix A.2), gradient profiles (eqs. 8-9), eq. 10, Appendix A.1, "
                "eqs. 33-34, ELR constraint (eq. 14), Figures 2, 4, 6, 10, 13, 14"),
    Paper("do-tvlars", "Do et al. (TVLARS)",
          "Revisiting LARS for Large Batch Training Generalization of Neural Networks",
          ("Khoi Do", "Duong Nguyen", "Hoa Nguyen", "Long Tran-Thanh", "Nguyen-Hoang Tran",
           "Quoc-Viet Pham"),
          note="IEEE-style manuscript (Impact Statement, Index Terms); no year, venue or arXiv id "
               "printed; the latest cited work is from 2023.",
          text="003",
          takes="LARS (eq. 2-3), warm-up + cosine (eq. 4), phi(t) (eq. 8) and its bounds (eqs. 9-14), "
                "Algorithm 1"),
    Paper("bjorck-gomes-selman", "Bjorck, Gomes & Selman", "Understanding Batch Normalization",
          ("Johan Bjorck", "Carla Gomes", "Bart Selman"),
          year="2018 (from Mehmeti-Göpel & Wand's reference list; not printed in the text)",
          venue="NeurIPS 2018, pp. 7705-7716 (from Mehmeti-Göpel & Wand's reference list, which also "
                "names Kilian Q. Weinberger as fourth author; not printed in the text)",
          note="Cornell University.",
          text="004",
          takes="SGD noise (eq. 2), products of Gaussian matrices (Thm 1, Appendix D), edge, condition "
                "number and largest singular value against depth (Figs. 8-12), Appendix C"),
    Paper("gradexp", "gradexp", "gradexp's own results", ("gradexp",),
          venue="this package", note="Results derived and checked by gradexp itself (gx- claims)."),
)}


def citation(key: str) -> str:
    """Short citation for a paper key (ValueError naming the key if unknown)."""
    if key not in PAPERS:
        raise ValueError(f"key must be one of {sorted(PAPERS)}, got {key!r}")
    return PAPERS[key].short


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
