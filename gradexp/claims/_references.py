"""Reference values for the claims: re-exports of :mod:`gradexp.experiments.references` (the one
module of mpmath references, shared with the tests), kept so the claims modules that import
from here keep working until they import that module directly.

References
----------
Paik & Choi (``paik-choi-v2``), Prop. 2.1 (eqs. 1-2) and Thm 2.2 (eq. 4).
"""

from __future__ import annotations

from functools import cache

from ..experiments import references as _ref
from ..experiments._memo import memo_call
from ..experiments.references import mp_explosion_factor, mp_relu_moments  # noqa: F401


@cache
def mp_activation_factor(name: str, mu: float = 0.0, dps: int = 18) -> float:
    """Var(x) E[phi'(x)^2] / Var(phi(x)) for x ~ N(mu, 1) as a float:
    :func:`gradexp.experiments.references.mp_activation_factor` at unit scale, kept in the result
    store (a quadrature of seconds) and memoised in this process."""
    return memo_call(_activation_factor_float, name, float(mu), int(dps))


def _activation_factor_float(name: str, mu: float, dps: int) -> float:
    """The stored computation of :func:`mp_activation_factor` (module level, plain arguments)."""
    return float(_ref.mp_activation_factor(name, mu, 1.0, dps=dps))
