"""Monte-Carlo estimates always travel with their standard error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo estimate: ``mean`` ± ``stderr`` from ``n`` independent samples."""

    mean: float
    stderr: float
    n: int

    def z_score(self, reference: float) -> float:
        """(mean − reference) / stderr: how many standard errors from a reference value."""
        if self.stderr == 0:
            return 0.0 if self.mean == reference else float("inf")
        return (self.mean - reference) / self.stderr

    def __format__(self, spec):
        spec = spec or ".6g"
        return f"{self.mean:{spec}} ± {self.stderr:.2g} (n={self.n})"


def estimate(samples, axis=None) -> Estimate:
    """Mean and standard error (ddof=1) of independent samples."""
    x = np.asarray(samples, dtype=float)
    if axis is not None:
        raise NotImplementedError("estimate() reduces over all samples")
    x = x.ravel()
    n = x.size
    if n < 2:
        raise ValueError("need at least 2 samples for a standard error")
    return Estimate(float(x.mean()), float(x.std(ddof=1) / np.sqrt(n)), int(n))
