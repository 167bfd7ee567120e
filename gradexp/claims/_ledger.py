"""The claims ledger: registry, verdicts and the runner.

A *claim* is a checkable statement of one of the papers of the bibliography
(:mod:`gradexp.claims.bibliography`, one citation key per paper). It records its source (paper
key and theorem/equation), the statement in words, and a *check*: a function that computes
evidence (closed form against mpmath or sympy, model against an independent simulation) and
returns a :class:`Verdict`. Verdicts are computed every time the check runs; nothing is stored.

A check has the signature ``check(fast: bool, **reference) -> Verdict``. ``fast=True`` uses
fewer samples (the whole ledger in well under a minute); the verdict must not depend on it.
The keyword arguments name the check's *references* (the paper's printed value, an
independent formula); their defaults are the real ones. Every claim declares ``falsify``:
reference overrides under which the verdict comes out otherwise (the paper's value moved
beyond the tolerance, a wrong formula, the corrected statement in place of the printed one).
``tests/test_falsifiable.py`` runs each check with them and requires a different verdict.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from .bibliography import PAPERS, citation

HOLDS = "holds"
HOLDS_LOOSELY = "holds-loosely"
FAILS = "fails"
NOT_CHECKABLE = "not-checkable"
ERROR = "error"  # the check itself raised: never a verdict about the paper

STATUSES = (HOLDS, HOLDS_LOOSELY, FAILS, NOT_CHECKABLE)


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check.

    Attributes
    ----------
    status : one of ``holds``, ``holds-loosely``, ``fails``, ``not-checkable``.
    evidence : the numbers the verdict rests on (plain floats, ints, strings or short lists).
    note : one or two sentences; for ``fails`` the corrected statement. Every number in it is
        formatted from the evidence (``tests/test_notes.py``).
    """

    status: str
    evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str  # citation key of gradexp.claims.bibliography.PAPERS
    source: str  # "Thm 2.2, eq. 4"
    statement: str
    check: Callable[..., Verdict]
    falsify: dict[str, Any] = field(default_factory=dict)  # reference overrides that flip the verdict

    @property
    def citation(self) -> str:
        """Short citation of the paper ("Paik & Choi (later version)")."""
        return citation(self.paper) if self.paper in PAPERS else self.paper


@dataclass(frozen=True)
class Result:
    claim: Claim
    status: str
    evidence: dict[str, Any]
    note: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.claim.id,
            "paper": self.claim.paper,
            "citation": self.claim.citation,
            "source": self.claim.source,
            "statement": self.claim.statement,
            "status": self.status,
            "evidence": self.evidence,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


_REGISTRY: dict[str, Claim] = {}


def claim(id: str, *, paper: str, source: str, statement: str, falsify: dict | None = None):
    """Decorator registering ``check(fast, **reference) -> Verdict`` as the check of a claim.

    Parameters
    ----------
    id : unique claim id (``pc-``, ``mgw-``, ``tvlars-``, ``bjorck-`` or ``gx-`` prefix).
    paper : citation key (``paik-choi-v2``, ..., ``gradexp``).
    source : theorem, equation or figure of the paper.
    statement : the statement in words.
    falsify : keyword overrides of the check's references under which its verdict differs.
    """
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {sorted(PAPERS)}, got {paper!r}")
    if falsify is not None and not isinstance(falsify, dict):
        raise TypeError(f"falsify must be a dict of reference overrides, got {type(falsify).__name__}")

    def register(check: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if id in _REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        _REGISTRY[id] = Claim(id=id, paper=paper, source=source, statement=statement, check=check,
                              falsify=dict(falsify or {}))
        return check

    return register


def run_claim(c: Claim, fast: bool = True, **reference) -> Result:
    """Run one check (with optional reference overrides); an exception becomes status ``error``
    with the traceback as note."""
    t0 = time.perf_counter()
    try:
        v = c.check(fast, **reference)
        if not isinstance(v, Verdict):
            raise TypeError(f"check of {c.id} returned {type(v).__name__}, not Verdict")
        status, evidence, note = v.status, v.evidence, v.note
    except Exception:  # noqa: BLE001 - reported, and turns the exit code non-zero
        status, evidence, note = ERROR, {}, traceback.format_exc(limit=3)
    return Result(c, status, evidence, note, time.perf_counter() - t0)
