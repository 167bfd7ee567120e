"""Rendering of ledger results: a readable text table and the README's Markdown summary."""

from __future__ import annotations

import json
import textwrap
from collections import Counter

from ._ledger import Result


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def ledger_table(results: list[Result], width: int = 100) -> str:
    """Human-readable ledger: one block per claim with its verdict, evidence and note."""
    lines = []
    for r in results:
        c = r.claim
        lines.append(f"[{r.status.upper()}] {c.id}  —  {c.paper}, {c.source}  ({r.seconds:.1f} s)")
        lines += textwrap.wrap(c.statement, width, initial_indent="    claim:    ", subsequent_indent="              ")
        for k, v in r.evidence.items():
            lines += textwrap.wrap(f"{k} = {_fmt(v)}", width, initial_indent="    evidence: ",
                                   subsequent_indent="              ")
        if r.note:
            lines += textwrap.wrap(r.note, width, initial_indent="    note:     ", subsequent_indent="              ")
        lines.append("")
    counts = Counter(r.status for r in results)
    lines.append("summary: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f"  ({len(results)} claims)")
    return "\n".join(lines)


def ledger_markdown(results: list[Result]) -> str:
    """The README's ledger summary: id, source, verdict."""
    rows = ["| claim | paper, source | verdict |", "| --- | --- | --- |"]
    for r in results:
        rows.append(f"| `{r.claim.id}` | {r.claim.paper}, {r.claim.source} | {r.status} |")
    counts = Counter(r.status for r in results)
    rows.append("")
    rows.append("Totals: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".")
    return "\n".join(rows)


def ledger_json(results: list[Result]) -> str:
    return json.dumps({"claims": [r.as_dict() for r in results]}, indent=2, default=str)
