"""One way to make random streams (SPEC 7): every stochastic function takes ``rng``.

``rng`` may be ``None`` (fresh OS entropy), a non-negative ``int``, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`. Passing the same
int or SeedSequence twice gives the same numbers (a SeedSequence is copied, never advanced);
a Generator is used as the caller's stateful stream (two calls continue it). Independent
streams come from :meth:`numpy.random.SeedSequence.spawn` on that copy, never ``seed + i``:
repetition ``i`` of a call is the same whatever the number of threads or processes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_seed_sequence", "as_generator", "spawn_seeds", "spawn_generators", "RngLike"]

RngLike = "None | int | numpy.random.SeedSequence | numpy.random.Generator"


def as_seed_sequence(rng=None, *, name: str = "rng") -> np.random.SeedSequence:
    """The :class:`~numpy.random.SeedSequence` that ``rng`` stands for.

    An int or a SeedSequence gives a fresh copy (the caller's object is never advanced, so
    the same argument reproduces the run); a Generator contributes one 63-bit draw (so two
    calls with the same Generator differ, as they should); ``None`` draws OS entropy.

    >>> a = as_seed_sequence(7).generate_state(2); b = as_seed_sequence(7).generate_state(2)
    >>> bool((a == b).all())
    True
    """
    if isinstance(rng, np.random.SeedSequence):
        return np.random.SeedSequence(rng.entropy, spawn_key=rng.spawn_key, pool_size=rng.pool_size)
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(0, 2**63)))
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{name} must be a non-negative int, got {int(rng)}")
        return np.random.SeedSequence(int(rng))
    raise TypeError(f"{name} must be None, an int, a numpy SeedSequence or Generator, got {type(rng).__name__}")


def as_generator(rng=None, *, name: str = "rng") -> np.random.Generator:
    """A Generator for ``rng``: a Generator is returned as is, anything else is seeded via
    :func:`as_seed_sequence` (PCG64)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(as_seed_sequence(rng, name=name))


def spawn_seeds(rng, n: int, *, name: str = "rng") -> list[np.random.SeedSequence]:
    """``n`` independent child SeedSequences of ``rng`` (children of a copy: reproducible)."""
    return as_seed_sequence(rng, name=name).spawn(int(n))


def spawn_generators(rng, n: int, *, bit_generator=np.random.PCG64, name: str = "rng") -> list[np.random.Generator]:
    """``n`` independent Generators, one per repetition, from :func:`spawn_seeds`."""
    return [np.random.Generator(bit_generator(s)) for s in spawn_seeds(rng, n, name=name)]
