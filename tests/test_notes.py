"""Every number printed in a claim's note is formatted from that claim's evidence (no typed
numbers that can go stale). Decimal numbers and numbers in scientific notation (and percentages)
are checked; integers (depths, counts, exponents in formulas) and the numbers in references to
the papers (Thm 2.8, eq. 26, Appendix A.1) and claim ids are not."""

from __future__ import annotations

import math
import re

import pytest
from _ledger_results import ledger_results

from gradexp.claims import ERROR, all_claims

CLAIMS = [c.id for c in all_claims()]

_REFS = re.compile(
    r"\b(?:pc|mgw|tvlars|bjorck|gx)-[\w.-]*\w"  # claim ids
    r"|(?:Thm|Theorem|Cor|Corollary|Lemma|Remark|Prop|Proposition|Sec|Section|Appendix|Fig|Figure|"
    r"Table|Algorithm|eqs?|equations?)\.?\s*[A-Z]?\d+(?:\.\d+)*(?:\s*(?:-|and|,)\s*[A-Z]?\d+(?:\.\d+)*)*"
    r"|\b[A-Z]\.\d+")  # A.1, B.4
_NUM = re.compile(r"(?<![\w.])([-+]?)(\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+)(%?)")


def _numbers(obj):
    """Every number in the evidence, also inside strings, lists, dict keys and values."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            yield float(obj)
        return
    if isinstance(obj, str):
        for m in re.finditer(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", obj):
            yield float(m.group(0))
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(k)
            yield from _numbers(v)
        return
    if isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _numbers(v)
        return
    try:
        yield float(obj)
    except (TypeError, ValueError):
        return


def _half_unit(text: str) -> float:
    """Half a unit in the last printed place of a decimal or scientific token."""
    mant, _, exp = text.lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 0.5 * 10.0 ** (-decimals + (int(exp) if exp else 0))


def _formatted_from(token: str, sign: str, percent: bool, values) -> bool:
    t = float(sign + token)
    tol = _half_unit(token) * (1 + 1e-9) + 1e-300
    for v in values:
        for cand in ((100 * v, -100 * v) if percent else (v, -v, abs(v))):
            if abs(cand - t) <= tol or (percent and abs(cand - abs(t)) <= tol):
                return True
    return False


def stray_numbers(note: str, evidence) -> list[str]:
    values = list(_numbers(evidence))
    text = _REFS.sub(" ", note)
    bad = []
    for m in _NUM.finditer(text):
        sign, token, pct = m.groups()
        if not _formatted_from(token, sign, bool(pct), values):
            bad.append(m.group(0))
    return bad


def test_the_checker_catches_a_typed_number():
    assert stray_numbers("about +4% and 6.5x", {"a": 0.0401}) == ["6.5"]
    assert stray_numbers("slope 0.37, Thm 2.8, pc-thm-2.8", {"s": 0.369}) == []
    assert stray_numbers("+4.0%", {"a": 0.0401}) == []
    assert stray_numbers("1.2e-15", {"e": 1.2371e-15}) == []
    assert stray_numbers("1.3e-15", {"e": 1.2371e-15}) == ["1.3e-15"]


@pytest.mark.parametrize("cid", CLAIMS)
def test_note_numbers_come_from_the_evidence(cid):
    r = ledger_results()[cid]
    assert r.status != ERROR, r.note
    assert stray_numbers(r.note, r.evidence) == [], r.note
