"""The papers gradexp implements and checks, by citation key: the one place the keys are defined.

Claims (:mod:`gradexp.claims`), figures (:mod:`gradexp.plots`), the command line and the docs name
a paper by its key: ``paik-choi-v2``, ``paik-choi-v1``, ``mehmeti-gopel-wand``, ``do-tvlars``,
``bjorck-gomes-selman`` and ``gradexp`` (gradexp's own results). The metadata is read off the
plain-text copies of the papers; where the text does not state a field (arXiv id, version, venue,
year) it says so instead of guessing. A new paper is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Paper", "PAPERS", "PAPER_KEYS", "citation", "NOT_STATED"]

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
    prefix : the prefix of its claim ids (``pc-``, ``mgw-``, ...).
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
    prefix: str = ""

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
          text="000", prefix="pc-",
          takes="ReLU moments (Prop. 2.1), C(R) (Thm 2.2, eq. 4), Cor. 2.3, Thm 2.4 and Remark 2.5, "
                "the perfectly-correlated bound pi/(pi+1) (Thm 2.8), Lemma 2.9, Fig. 1, LALC "
                "(Algorithm 1, Appendix B listing)"),
    Paper("paik-choi-v1", "Paik & Choi (earlier version)", _PC_TITLE, ("Inyoung Paik", "Jaesik Choi"),
          version="earlier of two versions (the text carries no version number)",
          note="KAIST. No year, venue or arXiv id printed; the latest cited work is from 2023.",
          text="001", prefix="pc-",
          takes="zero-centred Thm 2.2 (pi/(pi-1)), pseudo-linear Cor. 2.3, Thm 2.4 (pi/(2+pi)), "
                "Cor. 2.5 (second derivatives), Fig. 1, the LALC listing (Figure 7)"),
    Paper("mehmeti-gopel-wand", "Mehmeti-Göpel & Wand",
          "Spreads in Effective Learning Rates: The Perils of Batch Normalization During Early Training",
          ("Christian H.X. Ali Mehmeti-Göpel", "Michael Wand"),
          note="Johannes-Gutenberg University Mainz. No year, venue or arXiv id printed; the latest "
               "cited work is from 2023.",
          text="002", prefix="mgw-",
          takes="effective learning rates: discrete model (eq. 4), ODE (eqs. 6-7), momentum model "
                "(eqs. 11-13, Appendix A.2), gradient profiles (eqs. 8-9), eq. 10, Appendix A.1, "
                "eqs. 33-34, ELR constraint (eq. 14), Figures 2, 4, 6, 10, 13, 14"),
    Paper("do-tvlars", "Do et al. (TVLARS)",
          "Revisiting LARS for Large Batch Training Generalization of Neural Networks",
          ("Khoi Do", "Duong Nguyen", "Hoa Nguyen", "Long Tran-Thanh", "Nguyen-Hoang Tran",
           "Quoc-Viet Pham"),
          note="IEEE-style manuscript (Impact Statement, Index Terms); no year, venue or arXiv id "
               "printed; the latest cited work is from 2023.",
          text="003", prefix="tvlars-",
          takes="LARS (eq. 2-3), warm-up + cosine (eq. 4), phi(t) (eq. 8) and its bounds (eqs. 9-14), "
                "Algorithm 1"),
    Paper("bjorck-gomes-selman", "Bjorck, Gomes & Selman", "Understanding Batch Normalization",
          ("Johan Bjorck", "Carla Gomes", "Bart Selman"),
          year="2018 (from Mehmeti-Göpel & Wand's reference list; not printed in the text)",
          venue="NeurIPS 2018, pp. 7705-7716 (from Mehmeti-Göpel & Wand's reference list, which also "
                "names Kilian Q. Weinberger as fourth author; not printed in the text)",
          note="Cornell University.",
          text="004", prefix="bjorck-",
          takes="SGD noise (eq. 2), products of Gaussian matrices (Thm 1, Appendix D), edge, condition "
                "number and largest singular value against depth (Figs. 8-12), Appendix C"),
    Paper("gradexp", "gradexp", "gradexp's own results", ("gradexp",),
          venue="this package", prefix="gx-", note="Results derived and checked by gradexp itself (gx- claims)."),
)}


#: the citation keys, in ledger order
PAPER_KEYS: tuple[str, ...] = tuple(PAPERS)


def citation(key: str) -> str:
    """Short citation for a paper key (ValueError naming the key if unknown)."""
    if key not in PAPERS:
        raise ValueError(f"key must be one of {sorted(PAPERS)}, got {key!r}")
    return PAPERS[key].short
