"""Rendering of ledger results: a readable text table, the README's Markdown summary, JSON
(one document, or one line per claim as it completes) and the counts per paper and verdict.

Papers are named by their citation keys (``paik-choi-v2``, ..., ``gradexp``), never by the
file names of the paper texts."""

from __future__ import annotations

import json
import textwrap
from collections import Counter

from ._ledger import ERROR, STATUSES, Result


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
        lines.append(f"[{r.status.upper()}] {c.id}  —  {c.paper}, {c.where}  ({r.seconds:.1f} s)")
        lines += textwrap.wrap(f"\u201c{c.quote}\u201d", width, initial_indent="    quote:    ",
                               subsequent_indent="              ")
        if c.formalisation:
            lines += textwrap.wrap(c.formalisation, width, initial_indent="    tested:   ",
                                   subsequent_indent="              ")
        for h in r.hypotheses:
            lines += textwrap.wrap(f"{h.name} = {_fmt(h.value)} (z = {h.z:+.2f})", width,
                                   initial_indent="    versus:   ", subsequent_indent="              ")
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
    """The README's ledger summary: id, place, the quoted sentence, verdict."""
    rows = ["| claim | paper, place | quote | verdict |", "| --- | --- | --- | --- |"]
    for r in results:
        c = r.claim
        quote = c.quote.replace("|", "\\|")
        rows.append(f"| `{c.id}` | {c.paper}, {c.where} | \u201c{quote}\u201d | {r.status} |")
    counts = Counter(r.status for r in results)
    rows.append("")
    rows.append("Totals: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".")
    return "\n".join(rows)


def findings_markdown(results: list[Result]) -> str:
    """What the checks find, per paper: every claim that does not simply hold, with its quote,
    verdict and note (the README's findings block; every number in a note comes from the
    evidence)."""
    from ..bibliography import PAPERS

    out = []
    for key, paper in PAPERS.items():
        rs = [r for r in results if r.claim.paper == key and r.status != "holds"]
        if not rs:
            continue
        n = sum(r.claim.paper == key for r in results)
        out += ["", f"**{paper.short}** ({n - len(rs)} of {n} claims hold; the others:)", ""]
        for r in rs:
            c = r.claim
            note = " ".join(r.note.split()).replace("|", "\\|")
            out.append(f"- `{c.id}` ({c.where}), **{r.status}**: \u201c{c.quote}\u201d \u2014 {note}")
    return "\n".join(out).strip()


def result_dict(r: Result) -> dict:
    """One claim's result as plain JSON-ready data (``seconds``: the check alone, in its worker)."""
    return r.as_dict()


def ledger_json(results: list[Result]) -> str:
    """The whole ledger as one JSON document ``{"claims": [...]}``."""
    return json.dumps({"claims": [result_dict(r) for r in results]}, indent=2, default=str)


def result_jsonl(r: Result) -> str:
    """One claim as one line of JSON (``gradexp verify --jsonl``)."""
    return json.dumps(result_dict(r), default=str)


def summary_table(results: list[Result]) -> str:
    """Counts per paper (rows, by citation key) and verdict (columns), with totals."""
    cols = [s for s in (*STATUSES, ERROR) if any(r.status == s for r in results)] or list(STATUSES)
    papers = list(dict.fromkeys(r.claim.paper for r in results))
    counts = Counter((r.claim.paper, r.status) for r in results)
    head = ["paper", *cols, "total"]
    rows = [[p, *(str(counts[p, s]) for s in cols), str(sum(counts[p, s] for s in cols))] for p in papers]
    rows.append(["total", *(str(sum(counts[p, s] for p in papers)) for s in cols), str(len(results))])
    widths = [max(len(h), *(len(row[j]) for row in rows)) for j, h in enumerate(head)]
    fmt = lambda row: "  ".join(x.ljust(w) if j == 0 else x.rjust(w) for j, (x, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(head), *(fmt(r) for r in rows)])
