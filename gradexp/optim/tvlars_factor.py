r"""The TVLARS time-varying factor φ(t) (Do et al., eq. 8), its derivative and bounds.

Shared by the schedule :class:`~gradexp.optim.TVLARSSchedule` and the layer-wise rule
:class:`~gradexp.optim.TVLARS`.

References
----------
Do et al., TVLARS [do-tvlars], eqs. 8–14; Algorithm 1.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_nonnegative, check_positive
from ..gaussian import _out

__all__ = ["tvlars_phi", "tvlars_phi_derivative", "tvlars_phi_bounds"]


def _check_phi_params(lam, d_e, alpha, gamma_min):
    """The parameters of φ where TVLARS is defined (eqs. 8–9): λ >= 0 (λ = 0: φ constant),
    d_e finite, α > 0, γ_min >= 0. (:func:`tvlars_phi` itself accepts any finite λ and α,
    e.g. the pole of α < 0.)"""
    check_nonnegative(lam, "lam")
    as_float_array(d_e, "d_e", allow_inf=False)
    check_positive(alpha, "alpha")
    check_nonnegative(gamma_min, "gamma_min")


def tvlars_phi(t, *, lam, d_e, alpha=1.0, gamma_min=0.0):
    r"""The TVLARS time-varying factor (Do et al., eq. 8).

    .. math:: \phi(t) = \frac{1}{\alpha + e^{\psi_t}} + \gamma_{\min},
              \qquad \psi_t = \lambda (t - d_e).

    Evaluated without overflow (``exp`` of a large ψ gives φ = γ_min). For α < 0 the
    denominator vanishes at :math:`t^* = d_e + \ln(-\alpha)/\lambda` (a pole, so the bounds of
    eq. 9 fail); ``alpha`` is therefore only validated to be finite.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 8; Algorithm 1.

    Examples
    --------
    >>> round(tvlars_phi(0.0, lam=1e-3, d_e=0.0), 12)   # α = 1: φ(0) = 1/2, not 1
    0.5
    """
    t = as_float_array(t, "t", allow_inf=False)
    lam = as_float_array(lam, "lam", allow_inf=False)
    d_e = as_float_array(d_e, "d_e", allow_inf=False)
    alpha = as_float_array(alpha, "alpha", allow_inf=False)
    gamma_min = as_float_array(gamma_min, "gamma_min", allow_inf=False)
    psi = lam * (t - d_e)
    with np.errstate(over="ignore", divide="ignore"):
        out = 1.0 / (alpha + np.exp(np.minimum(psi, 700.0))) + gamma_min
    return _out(np.asarray(out, dtype=float))


def tvlars_phi_derivative(t, *, lam, d_e, alpha=1.0):
    r"""dφ/dt of eq. 8 (Do et al., eq. 10): :math:`-\lambda e^{\psi_t}/(\alpha+e^{\psi_t})^2 \le 0`.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 10.
    """
    t = as_float_array(t, "t", allow_inf=False)
    lam = as_float_array(lam, "lam", allow_inf=False)
    d_e = as_float_array(d_e, "d_e", allow_inf=False)
    alpha = as_float_array(alpha, "alpha", allow_inf=False)
    psi = lam * (t - d_e)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(np.minimum(psi, 700.0))
        out = -lam * e / (alpha + e) ** 2
    return _out(np.asarray(out, dtype=float))


def tvlars_phi_bounds(*, lam, d_e, alpha=1.0, gamma_min=0.0, as_printed=False):
    r"""Infimum and maximum of φ(t) on t ≥ 0 (Do et al., eqs. 9, 12–14).

    For λ > 0 and α > 0, φ decreases (eq. 10), so

    .. math:: \gamma_{\min} < \phi(t) \le \phi(0) = \frac{1}{\alpha + e^{-\lambda d_e}} + \gamma_{\min}.

    ``as_printed=True`` returns the upper bound as printed in eqs. 9, 13 and 14,
    :math:`1/(\alpha + e^{-\lambda d_e})`, which drops the γ_min of eq. 8. The lower bound is
    an infimum, attained only as t → ∞ (eq. 12).

    Raises ``ValueError`` for λ ≤ 0 or α ≤ 0, where the bounds do not hold.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eqs. 9, 12–14.
    """
    _check_phi_params(lam, d_e, alpha, gamma_min)
    check_positive(lam, "lam")
    lam, d_e, alpha, gamma_min = (np.asarray(x, float) for x in (lam, d_e, alpha, gamma_min))
    with np.errstate(over="ignore"):  # exp(-λ d_e) = inf for d_e ≪ 0: upper bound γ_min
        upper = 1.0 / (alpha + np.exp(-lam * d_e))
    if not as_printed:
        upper = upper + gamma_min
    return _out(gamma_min), _out(np.asarray(upper, dtype=float))


