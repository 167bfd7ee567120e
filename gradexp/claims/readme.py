"""Keep the README's ledger table generated: ``python -m gradexp.claims.readme [--write]``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from . import run_ledger
from .report import ledger_markdown

START, END = "<!-- ledger:start -->", "<!-- ledger:end -->"


def readme_block(readme_text: str) -> str:
    m = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), readme_text, flags=re.S)
    if m is None:
        raise ValueError("README has no ledger markers")
    return m.group(1).strip()


def replace_block(readme_text: str, table: str) -> str:
    return re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{table}\n{END}",
                  readme_text, flags=re.S)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path("README.md")
    table = ledger_markdown(run_ledger(fast=True))
    if "--write" in argv:
        path.write_text(replace_block(path.read_text(), table))
    else:
        print(table)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
