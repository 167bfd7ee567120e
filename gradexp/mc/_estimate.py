"""Monte-Carlo estimates always travel with their standard error: :class:`Estimate`.

One way to report a standard error in :mod:`gradexp.mc`: an ``Estimate(mean, stderr, n)``.
:func:`estimate` reduces all samples to one scalar estimate; :func:`estimate_over_reps`
reduces the leading (repetition) axis only, giving an estimate whose ``mean`` and ``stderr``
are arrays (one per layer, per depth, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "estimate", "estimate_over_reps"]


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo estimate: ``mean`` ± ``stderr`` from ``n`` independent samples.

    ``mean`` and ``stderr`` are floats, or equally shaped arrays for an estimate per layer
    (:func:`estimate_over_reps`); ``n`` is the number of independent repetitions.
    """

    mean: float | np.ndarray
    stderr: float | np.ndarray
    n: int

    def z_score(self, reference):
        """(mean − reference) / stderr: how many standard errors from a reference value
        (0 where mean equals the reference exactly, ±inf where stderr is 0 and it does not)."""
        if np.ndim(self.mean) == 0 and np.ndim(reference) == 0:
            if self.stderr == 0:
                return 0.0 if self.mean == reference else math.copysign(math.inf, self.mean - reference)
            return (self.mean - reference) / self.stderr
        diff = np.asarray(self.mean, dtype=float) - np.asarray(reference, dtype=float)
        se = np.asarray(self.stderr, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = diff / se
        return np.where(diff == 0, 0.0, z)

    def __format__(self, spec):
        if np.ndim(self.mean):
            return f"Estimate(mean={self.mean}, stderr={self.stderr}, n={self.n})"
        spec = spec or ".6g"
        return f"{self.mean:{spec}} ± {self.stderr:.2g} (n={self.n})"


def estimate(samples) -> Estimate:
    """Mean and standard error (ddof=1) of independent samples (all entries, flattened)."""
    x = np.asarray(samples, dtype=float).ravel()
    n = x.size
    if n < 2:
        raise ValueError(f"samples must hold at least 2 values for a standard error, got {n}")
    return Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)), int(n))


def estimate_over_reps(samples) -> Estimate:
    """Mean and standard error (ddof=1) over the leading axis of ``samples`` (repetitions).

    Returns an :class:`Estimate` with array ``mean`` and ``stderr`` of shape
    ``samples.shape[1:]``; with one repetition the standard error is NaN.
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError("samples must have a leading repetition axis of length >= 1")
    n = x.shape[0]
    se = x.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full(x.shape[1:], np.nan)
    return Estimate(x.mean(axis=0), se, int(n))
