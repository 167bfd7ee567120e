"""Claims of paper bjorck (filled in by its issue)."""

from ._ledger import claim, Verdict, HOLDS, HOLDS_LOOSELY, FAILS, NOT_CHECKABLE  # noqa: F401
