"""Small statistics shared by the experiments and the claims: weighted least squares."""

from __future__ import annotations

import numpy as np


def wls(columns, y, se):
    """Weighted least squares y ≈ X c (X from ``columns``, weights 1/se²); returns
    (c, standard errors of c, χ², degrees of freedom).

    >>> c, s, chi2, dof = wls([np.ones(3), np.arange(3.0)], [1.0, 3.0, 5.0], [0.1, 0.1, 0.1])
    >>> [round(float(v), 12) for v in c], dof
    ([1.0, 2.0], 1)
    """
    X = np.column_stack(columns).astype(float)
    w = 1.0 / np.asarray(se, dtype=float)
    A = X * w[:, None]
    b = np.asarray(y, dtype=float) * w
    coef, *_ = np.linalg.lstsq(A, b, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    chi2 = float(((A @ coef - b) ** 2).sum())
    return coef, np.sqrt(np.diag(cov)), chi2, len(y) - X.shape[1]
