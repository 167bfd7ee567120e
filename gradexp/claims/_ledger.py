"""The claims ledger: registry, verdicts and the runner.

A *claim* is one sentence of one of the papers of the bibliography
(:mod:`gradexp.claims.bibliography`, one citation key per paper), quoted verbatim
(``Claim.quote``) with its place (``Claim.where``: section, theorem, equation). The verdict
grades that sentence. Where the check needs a formalisation of it (a setting, a quantity, a
tolerance), ``Claim.formalisation`` states it and the note says where the two differ. Two
sentences that can differ in truth are two claims.

A *check* computes evidence (closed form against mpmath or sympy, model against an independent
simulation) and returns a :class:`Verdict`: ``holds``, ``holds-loosely``, ``fails``,
``inconclusive`` (the evidence at this sample size cannot separate the paper's statement from its
best competitor; the note says what sample size would) or ``not-checkable``. Verdicts are
computed every time the check runs; nothing is stored. A quantitative check names the paper's
value and its best competitor (the corrected formula, the exact finite-batch or finite-width
value, or no effect) as :class:`Hypothesis` objects with the discrepancy of the evidence from each
in standard errors; :func:`weigh` turns an estimate and its standard error into that verdict.

A check has the signature ``check(fast: bool, **reference) -> Verdict``. ``fast=True`` uses
fewer samples; it may say ``inconclusive`` where full mode decides, never the opposite verdict
(``tests/test_fast_full.py``). The keyword arguments name the check's *references* (the paper's
printed value, the competitor); their defaults are the real ones. Every claim declares a
:class:`Falsify`: a near miss under which the verdict comes out otherwise, of one of two kinds:
``competitor`` (the best competitor put in the paper's place) or ``smallest-effect`` (a reference
moved by the smallest effect the check claims to detect). Negations of the claim, comparisons of
a formula with itself and perturbations below the check's own numerical tolerance are not
falsifications. ``tests/test_falsifiable.py`` runs each check with its overrides and requires a
different verdict.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .bibliography import PAPERS, citation

HOLDS = "holds"
HOLDS_LOOSELY = "holds-loosely"
FAILS = "fails"
INCONCLUSIVE = "inconclusive"
NOT_CHECKABLE = "not-checkable"
ERROR = "error"  # the check itself raised: never a verdict about the paper

STATUSES = (HOLDS, HOLDS_LOOSELY, FAILS, INCONCLUSIVE, NOT_CHECKABLE)

#: kinds of falsification (see :class:`Falsify`)
FALSIFY_KINDS = ("competitor", "smallest-effect")


@dataclass(frozen=True)
class Hypothesis:
    """One value a quantitative claim is tested against, and the evidence's distance from it.

    Attributes
    ----------
    name : who says it and what it is ("paper: pi/(pi+2)", "competitor: exact factor at B = 64").
    value : the hypothesised value of the estimated quantity.
    z : (estimate - value) / standard error; for a deterministic check, the discrepancy in units of
        the check's numerical tolerance.
    """

    name: str
    value: float
    z: float

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "z": self.z}


@dataclass(frozen=True)
class Falsify:
    """A near miss under which a claim's verdict comes out otherwise.

    Attributes
    ----------
    kind : ``competitor`` (the best competitor in the paper's place) or ``smallest-effect`` (a
        reference moved by the smallest effect the check claims to detect).
    overrides : keyword overrides of the check's references.
    why : one line: which competitor, or which effect and why it is the smallest detectable one.
    """

    kind: str
    overrides: dict[str, Any]
    why: str

    def __post_init__(self):
        if self.kind not in FALSIFY_KINDS:
            raise ValueError(f"kind must be one of {FALSIFY_KINDS}, got {self.kind!r}")
        if not isinstance(self.overrides, dict) or not self.overrides:
            raise ValueError("overrides must be a non-empty dict of reference overrides")
        if not self.why.strip():
            raise ValueError("why must say which competitor or which smallest effect")


def weigh(estimate: float, stderr: float, *, paper: float, competitor: float, paper_name: str,
          competitor_name: str, k: float = 3.0, n: int | None = None) -> tuple[str, tuple[Hypothesis, ...], dict]:
    r"""The verdict of an estimate between the paper's value and its best competitor.

    With :math:`z_p = (\hat x - x_\text{paper})/\text{se}` and
    :math:`z_c = (\hat x - x_\text{competitor})/\text{se}`: ``holds`` when
    :math:`|z_p| \le k < |z_c|`, ``fails`` when :math:`|z_c| \le k < |z_p|` or when both exceed
    :math:`k` (the evidence rejects the paper's value, whatever the competitor),
    ``inconclusive`` when both are within :math:`k`. For an inconclusive verdict with ``n``
    samples, ``evidence["n_needed"]`` is the sample size at which the two values would be
    :math:`2k` standard errors apart (standard error :math:`\propto 1/\sqrt n`).

    Returns ``(status, hypotheses, evidence)``.

    >>> weigh(1.0, 0.01, paper=1.0, competitor=1.1, paper_name="p", competitor_name="c")[0]
    'holds'
    >>> weigh(1.0, 0.1, paper=1.0, competitor=1.1, paper_name="p", competitor_name="c", n=10)[2]["n_needed"]
    360
    """
    estimate, stderr = float(estimate), float(stderr)
    if not stderr > 0 or not math.isfinite(stderr):
        raise ValueError(f"stderr must be positive and finite, got {stderr}")
    zp, zc = (estimate - paper) / stderr, (estimate - competitor) / stderr
    hyps = (Hypothesis(paper_name, float(paper), zp), Hypothesis(competitor_name, float(competitor), zc))
    evidence: dict[str, Any] = {"z_paper": zp, "z_competitor": zc}
    if abs(zp) > k:
        return FAILS, hyps, evidence
    if abs(zc) > k:
        return HOLDS, hyps, evidence
    if n is not None and paper != competitor:
        evidence["n_needed"] = int(math.ceil(n * (2 * k * stderr / abs(paper - competitor)) ** 2))
    return INCONCLUSIVE, hyps, evidence


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check.

    Attributes
    ----------
    status : one of ``holds``, ``holds-loosely``, ``fails``, ``not-checkable``.
    evidence : the numbers the verdict rests on (plain floats, ints, strings or short lists).
    note : one or two sentences; for ``fails`` the corrected statement; for ``inconclusive`` the
        sample size that would decide. Every number in it is formatted from the evidence
        (``tests/test_notes.py``).
    hypotheses : for a quantitative claim, the paper's value and its best competitor with the
        evidence's discrepancy from each (:class:`Hypothesis`, see :func:`weigh`).
    """

    status: str
    evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    hypotheses: tuple[Hypothesis, ...] = ()

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


@dataclass(frozen=True)
class Claim:
    """A quoted sentence of a paper and the check that grades it.

    Attributes
    ----------
    id : unique id (``pc-``, ``mgw-``, ``tvlars-``, ``bjorck-`` or ``gx-`` prefix).
    paper : citation key of :data:`gradexp.claims.bibliography.PAPERS`.
    where : section, theorem, equation ("Thm 2.2, eq. 4").
    quote : the paper's sentence (or formula line) verbatim from its text; for gradexp's own
        claims, the statement gradexp makes.
    check : ``check(fast, **reference) -> Verdict``.
    falsify : the near miss that flips the verdict (:class:`Falsify`).
    formalisation : what the check tests where the quote needs making precise ("" when the
        check grades the quote as it stands).
    """

    id: str
    paper: str
    where: str
    quote: str
    check: Callable[..., Verdict]
    falsify: Falsify | None = None
    formalisation: str = ""

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
    hypotheses: tuple[Hypothesis, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``seconds``: the check alone, in its worker)."""
        c = self.claim
        return {
            "id": c.id,
            "paper": c.paper,
            "citation": c.citation,
            "where": c.where,
            "quote": c.quote,
            "formalisation": c.formalisation,
            "status": self.status,
            "hypotheses": [h.as_dict() for h in self.hypotheses],
            "evidence": self.evidence,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


_REGISTRY: dict[str, Claim] = {}


def claim(id: str, *, paper: str, where: str, quote: str, falsify: Falsify, formalisation: str = ""):
    """Decorator registering ``check(fast, **reference) -> Verdict`` as the check of a claim.

    Parameters
    ----------
    id : unique claim id (``pc-``, ``mgw-``, ``tvlars-``, ``bjorck-`` or ``gx-`` prefix).
    paper : citation key (``paik-choi-v2``, ..., ``gradexp``).
    where : section, theorem, equation or figure of the paper.
    quote : the sentence verbatim (``tests/test_quotes.py`` finds it in the paper's text).
    falsify : the near miss under which the verdict differs (:class:`Falsify`).
    formalisation : what the check tests, where the quote needs making precise.
    """
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {sorted(PAPERS)}, got {paper!r}")
    if not isinstance(falsify, Falsify):
        raise TypeError(f"falsify must be a Falsify, got {type(falsify).__name__}")
    if not quote.strip() or not where.strip():
        raise ValueError(f"claim {id!r}: quote and where must give the paper's sentence and its place")

    def register(check: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if id in _REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        _REGISTRY[id] = Claim(id=id, paper=paper, where=where, quote=" ".join(quote.split()), check=check,
                              falsify=falsify, formalisation=formalisation)
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
        status, evidence, note, hyps = v.status, v.evidence, v.note, v.hypotheses
    except Exception:  # noqa: BLE001 - reported, and turns the exit code non-zero
        status, evidence, note, hyps = ERROR, {}, traceback.format_exc(limit=3), ()
    return Result(c, status, evidence, note, time.perf_counter() - t0, hyps)
