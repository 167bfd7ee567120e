"""Claims of paper paik_choi (filled in by its issue)."""

from ._ledger import claim, Verdict, HOLDS, HOLDS_LOOSELY, FAILS, NOT_CHECKABLE  # noqa: F401
