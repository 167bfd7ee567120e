"""The claims ledger: one module per paper, verdicts computed by running checks.

``all_claims()`` imports the per-paper modules and every non-underscore submodule of
:mod:`gradexp.claims.gradexp_own` (which register their claims) and returns them in a stable
order; ``run_ledger`` runs them, optionally for some papers only (by citation key, see
:mod:`gradexp.claims.bibliography`).
"""

from __future__ import annotations

import importlib
import pkgutil

from ._ledger import (
    _REGISTRY,
    ERROR,
    FAILS,
    FALSIFY_KINDS,
    HOLDS,
    HOLDS_LOOSELY,
    INCONCLUSIVE,
    NOT_CHECKABLE,
    STATUSES,
    Claim,
    Falsify,
    Hypothesis,
    Result,
    Verdict,
    claim,
    run_claim,
    weigh,
)
from .bibliography import PAPERS, citation

#: per-paper modules, in ledger order (gradexp_own's submodules follow, alphabetically)
PAPER_MODULES = ("paik_choi", "paik_choi_bounds", "paik_choi_mc", "paik_choi_lalc", "mehmeti_gopel_wand",
                 "mehmeti_gopel_wand_mc", "mehmeti_gopel_wand_sim", "tvlars", "bjorck")


def _own_modules() -> list[str]:
    from . import gradexp_own

    return sorted(f"gradexp_own.{m.name}" for m in pkgutil.iter_modules(gradexp_own.__path__)
                  if not m.name.startswith("_"))


def all_claims() -> list[Claim]:
    """All registered claims in ledger order: the paper modules (PAPER_MODULES), then gradexp's
    own; within a module as written (independent of which module was imported first)."""
    modules = list(PAPER_MODULES) + _own_modules()
    for name in modules:
        importlib.import_module(f"{__name__}.{name}")
    order = {f"{__name__}.{name}": k for k, name in enumerate(modules)}
    claims = list(_REGISTRY.values())
    position = {c.id: i for i, c in enumerate(claims)}
    return sorted(claims, key=lambda c: (order.get(c.check.__module__, len(order)), position[c.id]))


def claims_for_paper(key: str) -> list[Claim]:
    """The claims of one paper, by citation key (``paik-choi-v2``, ..., ``gradexp``)."""
    citation(key)  # ValueError naming the key when unknown
    return [c for c in all_claims() if c.paper == key]


def run_ledger(fast: bool = True, ids=None, progress=None, papers=None) -> list[Result]:
    """Run the checks (all, those whose id is in ``ids``, and/or those of the citation keys in
    ``papers``) and return their results."""
    claims = all_claims()
    if ids is not None:
        unknown = set(ids) - {c.id for c in claims}
        if unknown:
            raise ValueError(f"unknown claim ids: {sorted(unknown)}")
        claims = [c for c in claims if c.id in set(ids)]
    if papers is not None:
        papers = [papers] if isinstance(papers, str) else list(papers)
        for p in papers:
            citation(p)
        claims = [c for c in claims if c.paper in papers]
    results = []
    for c in claims:
        results.append(run_claim(c, fast))
        if progress is not None:
            progress(results[-1])
    return results


__all__ = [
    "ERROR", "FAILS", "FALSIFY_KINDS", "HOLDS", "HOLDS_LOOSELY", "INCONCLUSIVE", "NOT_CHECKABLE",
    "PAPERS", "STATUSES", "Claim", "Falsify", "Hypothesis", "Result", "Verdict", "claim", "run_claim",
    "weigh", "all_claims", "claims_for_paper",
    "run_ledger", "citation",
]
