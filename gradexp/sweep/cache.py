"""The shared result store (stub; issue 13 makes it a content-addressed on-disk cache).

``cached_call(func, *args, **kwargs)`` returns ``func(*args, **kwargs)``; with the store
enabled, the result is kept on disk keyed by the function's identity, a hash of its code,
its arguments and seed, so verify, figures and sweeps never compute the same experiment twice.
"""

from __future__ import annotations

__all__ = ["cached_call"]


def cached_call(func, /, *args, **kwargs):
    """``func(*args, **kwargs)``, memoised in the result store when one is active."""
    return func(*args, **kwargs)
