"""A per-process memo in front of the result store, shared by the experiments and the claims."""

from __future__ import annotations

from ..sweep.cache import cached_call

_MEMO: dict = {}


def memo_call(func, /, *args, **kwargs):
    """``cached_call(func, *args, **kwargs)``, memoised in this process by the arguments' repr
    (seeds are SeedSequences or ints, whose repr names the stream), so a check run twice in one
    process (the ledger, then its falsification test) simulates once."""
    key = (func.__module__, func.__qualname__, repr(args), repr(sorted(kwargs.items())))
    if key not in _MEMO:
        _MEMO[key] = cached_call(func, *args, **kwargs)
    return _MEMO[key]
