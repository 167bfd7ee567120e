"""Memory a chain cell of ``gradexp sweep`` needs, estimated before anything runs.

A stand-in until the Monte-Carlo layer publishes its own estimator: the lead points
:func:`chain_bytes_needed` at ``gradexp.mc.chain_bytes_needed`` when the two branches merge.
Until then a conservative bound: ``K`` float64 arrays of shape (depth, width, batch) per
repetition (pre-activations, activations and gradients of every layer), for all ``reps``
repetitions at once.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["chain_bytes_needed", "K"]

#: float64 arrays of shape (depth, width, batch) held per repetition (an upper bound)
K = 3


def chain_bytes_needed(spec_or_kwargs) -> int:
    """Conservative bytes for one chain cell: ``depth * width * batch * reps * 8 * K``.

    ``spec_or_kwargs``: a mapping with ``depth``, ``width``, ``batch`` (and optionally ``reps``,
    default 1), or an object with those attributes (a chain specification). Python integers, so
    astronomically large sizes give an exact (huge) product, never an overflow.

    >>> chain_bytes_needed({"depth": 10, "width": 32, "batch": 16, "reps": 4})
    491520
    """
    get = spec_or_kwargs.get if isinstance(spec_or_kwargs, Mapping) else (
        lambda k, d=None: getattr(spec_or_kwargs, k, d))
    sizes = [int(get(k)) for k in ("depth", "width", "batch")] + [int(get("reps", 1) or 1)]
    out = 8 * K
    for n in sizes:
        out *= n
    return out
