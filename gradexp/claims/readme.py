"""Keep the README's generated blocks generated: the ledger and coverage tables and the accuracy
table (copied from ``docs/accuracy.md``): ``python -m gradexp.claims.readme [--write]``
(``python dev.py regen readme``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from . import run_ledger
from .bibliography import coverage_markdown
from .report import findings_markdown, ledger_markdown

START, END = "<!-- ledger:start -->", "<!-- ledger:end -->"
COVERAGE_START, COVERAGE_END = "<!-- coverage:start -->", "<!-- coverage:end -->"
ACCURACY_START, ACCURACY_END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"
FINDINGS_START, FINDINGS_END = "<!-- findings:start -->", "<!-- findings:end -->"


def readme_block(readme_text: str, start: str = START, end: str = END) -> str:
    m = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), readme_text, flags=re.S)
    if m is None:
        raise ValueError(f"README has no {start} ... {end} markers")
    return m.group(1).strip()


def replace_block(readme_text: str, table: str, start: str = START, end: str = END) -> str:
    return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: f"{start}\n{table}\n{end}",
                  readme_text, flags=re.S)


def accuracy_markdown(page: str) -> str:
    """The README's accuracy block: ``docs/accuracy.md`` without its generated-by comment and its
    title."""
    lines = page.splitlines()[1:]
    return "\n".join(line for line in lines if not line.startswith("# ")).strip()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path("README.md")
    results = run_ledger(fast=True)
    table = ledger_markdown(results)
    coverage = coverage_markdown()
    findings = findings_markdown(results)
    accuracy = accuracy_markdown(Path("docs/accuracy.md").read_text(encoding="utf-8"))
    if "--write" in argv:
        text = replace_block(path.read_text(), table)
        text = replace_block(text, coverage, COVERAGE_START, COVERAGE_END)
        text = replace_block(text, findings, FINDINGS_START, FINDINGS_END)
        path.write_text(replace_block(text, accuracy, ACCURACY_START, ACCURACY_END))
    else:
        print(table)
        print()
        print(coverage)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
