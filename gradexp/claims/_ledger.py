"""The claims ledger: registry, verdicts and the runner.

A *claim* is a checkable statement of one of the papers in ``../shared/papers``. It records
its source (paper file and theorem/equation), the statement in words, and a *check*: a
function that computes evidence (closed form against mpmath or sympy, model against
simulation) and returns a :class:`Verdict`. Verdicts are computed every time the check
runs; nothing is stored.

A check has the signature ``check(fast: bool) -> Verdict``. ``fast=True`` uses fewer
samples (the whole ledger in well under a minute); the verdict must not depend on it.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

HOLDS = "holds"
HOLDS_LOOSELY = "holds-loosely"
FAILS = "fails"
NOT_CHECKABLE = "not-checkable"
ERROR = "error"  # the check itself raised: never a verdict about the paper

STATUSES = (HOLDS, HOLDS_LOOSELY, FAILS, NOT_CHECKABLE)

PAPERS = {
    "000": "000_b4a1e580b0f034bd.txt",  # Paik & Choi (later version)
    "001": "001_ba96530b9903e33a.txt",  # Paik & Choi (earlier version)
    "002": "002_dd5754da8201044e.txt",  # Mehmeti-Göpel & Wand
    "003": "003_febb6d4e6d4555eb.txt",  # Do et al. (TVLARS)
    "004": "004_2f83347b479196cb.txt",  # Bjorck, Gomes & Selman
    "gradexp": "gradexp (own results)",  # gx- claims (claims/gradexp_own)
}


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check.

    Attributes
    ----------
    status : one of ``holds``, ``holds-loosely``, ``fails``, ``not-checkable``.
    evidence : the numbers the verdict rests on (plain floats, ints, strings or short lists).
    note : one or two sentences; for ``fails`` the corrected statement.
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
    paper: str  # key of PAPERS
    source: str  # "Thm 2.2, eq. 4"
    statement: str
    check: Callable[[bool], Verdict]

    @property
    def paper_file(self) -> str:
        return PAPERS[self.paper]


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
            "paper": self.claim.paper_file,
            "source": self.claim.source,
            "statement": self.claim.statement,
            "status": self.status,
            "evidence": self.evidence,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


_REGISTRY: dict[str, Claim] = {}


def claim(id: str, *, paper: str, source: str, statement: str):
    """Decorator registering ``check(fast) -> Verdict`` as the check of a claim."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {sorted(PAPERS)}, got {paper!r}")

    def register(check: Callable[[bool], Verdict]) -> Callable[[bool], Verdict]:
        if id in _REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        _REGISTRY[id] = Claim(id=id, paper=paper, source=source, statement=statement, check=check)
        return check

    return register


def run_claim(c: Claim, fast: bool = True) -> Result:
    """Run one check; an exception becomes status ``error`` with the traceback as note."""
    t0 = time.perf_counter()
    try:
        v = c.check(fast)
        if not isinstance(v, Verdict):
            raise TypeError(f"check of {c.id} returned {type(v).__name__}, not Verdict")
        status, evidence, note = v.status, v.evidence, v.note
    except Exception:  # noqa: BLE001 - reported, and turns the exit code non-zero
        status, evidence, note = ERROR, {}, traceback.format_exc(limit=3)
    return Result(c, status, evidence, note, time.perf_counter() - t0)
