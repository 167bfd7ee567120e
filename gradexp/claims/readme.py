"""Keep the README's ledger and coverage tables generated:
``python -m gradexp.claims.readme [--write]``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from . import run_ledger
from .bibliography import coverage_markdown
from .report import ledger_markdown

START, END = "<!-- ledger:start -->", "<!-- ledger:end -->"
COVERAGE_START, COVERAGE_END = "<!-- coverage:start -->", "<!-- coverage:end -->"


def readme_block(readme_text: str, start: str = START, end: str = END) -> str:
    m = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), readme_text, flags=re.S)
    if m is None:
        raise ValueError(f"README has no {start} ... {end} markers")
    return m.group(1).strip()


def replace_block(readme_text: str, table: str, start: str = START, end: str = END) -> str:
    return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: f"{start}\n{table}\n{end}",
                  readme_text, flags=re.S)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path("README.md")
    table = ledger_markdown(run_ledger(fast=True))
    coverage = coverage_markdown()
    if "--write" in argv:
        text = replace_block(path.read_text(), table)
        path.write_text(replace_block(text, coverage, COVERAGE_START, COVERAGE_END))
    else:
        print(table)
        print()
        print(coverage)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
