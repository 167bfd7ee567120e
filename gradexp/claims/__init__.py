"""The claims ledger: one module per paper, verdicts computed by running checks.

``all_claims()`` imports the per-paper modules (which register their claims) and returns
them in a stable order; ``run_ledger`` runs them.
"""

from __future__ import annotations

import importlib

from ._ledger import (
    ERROR,
    FAILS,
    HOLDS,
    HOLDS_LOOSELY,
    NOT_CHECKABLE,
    PAPERS,
    STATUSES,
    Claim,
    Result,
    Verdict,
    _REGISTRY,
    claim,
    run_claim,
)

#: per-paper modules, in ledger order
PAPER_MODULES = ("paik_choi", "paik_choi_mc", "mehmeti_gopel_wand", "tvlars", "bjorck")


def _own_modules() -> list[str]:
    """gradexp's own claim modules (``gradexp_own.<topic>``, ids ``gx-…``), sorted by name."""
    import pkgutil

    from . import gradexp_own

    return sorted(f"gradexp_own.{m.name}" for m in pkgutil.iter_modules(gradexp_own.__path__)
                  if not m.name.startswith("_"))


def all_claims() -> list[Claim]:
    """All registered claims in ledger order: by PAPER_MODULES, then gradexp's own modules,
    then as written in the module (independent of which module happened to be imported first)."""
    modules = list(PAPER_MODULES) + _own_modules()
    for name in modules:
        importlib.import_module(f"{__name__}.{name}")
    order = {f"{__name__}.{name}": k for k, name in enumerate(modules)}
    claims = list(_REGISTRY.values())
    position = {c.id: i for i, c in enumerate(claims)}
    return sorted(claims, key=lambda c: (order.get(c.check.__module__, len(order)), position[c.id]))


def run_ledger(fast: bool = True, ids=None, progress=None) -> list[Result]:
    """Run the checks (all, or those whose id is in ``ids``) and return their results."""
    claims = all_claims()
    if ids is not None:
        unknown = set(ids) - {c.id for c in claims}
        if unknown:
            raise ValueError(f"unknown claim ids: {sorted(unknown)}")
        claims = [c for c in claims if c.id in set(ids)]
    results = []
    for c in claims:
        results.append(run_claim(c, fast))
        if progress is not None:
            progress(results[-1])
    return results


__all__ = [
    "ERROR", "FAILS", "HOLDS", "HOLDS_LOOSELY", "NOT_CHECKABLE", "PAPERS", "STATUSES",
    "Claim", "Result", "Verdict", "claim", "run_claim", "all_claims", "run_ledger",
]
