r"""The continuous ELR model (eqs. 6–7, with coupled weight decay) and its ratios between
layers (eq. 10, eqs. 33–34).

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eqs. 5–7; Sec. 3.4, eq. 10;
Appendix A.3, eqs. 33–34.
"""

from __future__ import annotations

import math

import numpy as np

from ..._validate import as_float_array, check_positive, check_real
from ...gaussian import _out

__all__ = ["continuous_weight_sq", "continuous_elr", "elr_ratio_sq", "gradient_ratio_sq",
           "gradient_ratio_sq_limit"]


def continuous_weight_sq(c, lr, t, *, w0_sq=1.0, weight_decay=0.0):
    r"""The continuous model (eqs. 6–7), with coupled weight decay β: the positive solution of
    :math:`d\sigma^2/dt = \lambda c^2/\sigma^2 - 2\beta\sigma^2` with
    :math:`\sigma^2(0) = \|W(0)\|^2`,

    .. math:: \sigma^4(t) = k_0 e^{-4\beta t} + \frac{\lambda c^2}{2\beta}\bigl(1 - e^{-4\beta t}\bigr)
              \;\xrightarrow{\beta\to0}\; 2\lambda c^2 t + k_0, \qquad k_0 = \|W(0)\|^4,

    in the paper's time t = kλ (σ⁴ obeys the linear ODE :math:`d\sigma^4/dt = 2\lambda c^2 -
    4\beta\sigma^4`). It is the *modified equation* of the discrete model at fixed λ: the exact
    gradient flow conserves ‖W‖ (eq. 2), and eq. 6 keeps the O(λ) term. Without weight decay
    the discrete model satisfies :math:`s_k^2 = k_0 + 2\lambda^2c^2k + \sum_{j<k}\lambda^4c^4/s_j^2`,
    so the two agree to relative order :math:`\lambda^2c^2/k_0^{1/2}`; with weight decay the
    per-step factor :math:`(1-\lambda\beta)^2` of the discrete model differs from
    :math:`e^{-2\lambda\beta}` by :math:`\lambda^2\beta^2`, so at fixed t the two agree to
    first order in λ. Its fixed point :math:`\lambda c^2/(2\beta)` is the λβ → 0 limit of
    :func:`equilibrium_weight_sq` squared. Evaluated with ``expm1`` (no cancellation as β → 0).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eqs. 5–7 (β = 0).

    Examples
    --------
    >>> continuous_weight_sq(1.0, 0.5, 0.0, w0_sq=2.0)
    2.0
    >>> bool(np.isclose(continuous_weight_sq(2.0, 0.1, 1e6, weight_decay=0.01) ** 2, 0.1 * 4 / 0.02))
    True
    """
    c = as_float_array(c, "c", allow_inf=False)
    lr = check_positive(lr, "lr")
    t = as_float_array(t, "t", allow_inf=False)
    if (t < 0).any():
        raise ValueError("t must be >= 0")
    w0 = check_positive(w0_sq, "w0_sq")
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    return _out(np.exp(0.5 * _log_sigma4(c, lr, t, w0, beta)))


def _log_sigma4(c, lr, t, w0, beta):
    """ln σ⁴(t) of :func:`continuous_weight_sq`: the direct sum where it is a normal float,
    else in log space, ln(k₀e^{−4βt} + 2λc²tφ) by ``logaddexp`` (no overflow for any finite
    input; σ⁴ beyond the float range gives σ² = inf, not a warning)."""
    x = 4.0 * beta * t
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        phi = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)  # (1 - e^-x)/x
        direct = w0 * w0 * np.exp(-x) + 2.0 * lr * c * c * t * phi
        logform = np.logaddexp(2.0 * np.log(w0) - x,
                               math.log(2.0) + np.log(lr) + np.log(t * phi) + 2.0 * np.log(np.abs(c)))
        ok = np.isfinite(direct) & (direct > np.finfo(float).tiny)
        return np.where(ok, np.log(np.where(ok, direct, 1.0)), logform)


def _log_affine(c, lr, t, k0):
    """ln(2λc²t + k₀) for c, λ, k₀ > 0 and t >= 0, without overflow."""
    with np.errstate(over="ignore", divide="ignore"):
        return np.logaddexp(math.log(2.0) + np.log(lr) + np.log(t) + 2.0 * np.log(c), np.log(k0))


def continuous_elr(c, lr, t, *, w0_sq=1.0):
    r"""E(t) = c/σ²(t) in the continuous model: increasing in c at every t (no flip).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eqs. 6–7; Sec. 3.4.
    """
    c = as_float_array(c, "c", allow_inf=False)
    continuous_weight_sq(c, lr, t, w0_sq=w0_sq)  # the checks of the weights' route
    lr, t, w0 = (np.asarray(v, float) for v in (lr, t, w0_sq))
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        mag = np.exp(np.log(np.abs(c)) - 0.5 * _log_sigma4(c, lr, t, w0, 0.0))
    return _out(np.sign(c) * mag)


def elr_ratio_sq(c_l, c_k, lr, t, *, k0=1.0):
    r"""Eq. 10: :math:`E_\ell^2/E_k^2 = \frac{c_\ell^2(2\lambda c_k^2 t + k_0)}{c_k^2(2\lambda c_\ell^2 t + k_0)} \to 1`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4, eq. 10.
    """
    c_l, c_k, lr, t, k0 = _ratio_args(c_l, c_k, lr, t, k0)
    with np.errstate(over="ignore", under="ignore"):  # in log space: inf or 0 beyond the range
        return _out(np.exp(2.0 * (np.log(c_l) - np.log(c_k)) + _log_affine(c_k, lr, t, k0)
                           - _log_affine(c_l, lr, t, k0)))


def _ratio_args(c_l, c_k, lr, t, k0):
    c_l = check_positive(c_l, "c_l")
    c_k = check_positive(c_k, "c_k")
    lr = check_positive(lr, "lr")
    t = as_float_array(t, "t", allow_inf=False)
    if (t < 0).any():
        raise ValueError(f"t must be >= 0, got {t[t < 0].ravel()[0]!r}")
    return c_l, c_k, lr, t, check_positive(k0, "k0")


def gradient_ratio_sq(c_l, c_k, lr, t, *, k0=1.0):
    r"""Eq. 33: :math:`\frac{\|\nabla W_\ell\|^2}{\|\nabla W_k\|^2}(t)
    = \frac{c_\ell^2\sqrt{2\lambda c_k^2 t + k_0}}{c_k^2\sqrt{2\lambda c_\ell^2 t + k_0}}`
    (squared gradient norm c²/σ²). It starts at c_ℓ²/c_k² and tends to
    :func:`gradient_ratio_sq_limit` = c_ℓ/c_k.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.3, eq. 33.
    """
    c_l, c_k, lr, t, k0 = _ratio_args(c_l, c_k, lr, t, k0)
    with np.errstate(over="ignore", under="ignore"):  # in log space: inf or 0 beyond the range
        return _out(np.exp(2.0 * (np.log(c_l) - np.log(c_k)) + 0.5 * (_log_affine(c_k, lr, t, k0)
                                                                     - _log_affine(c_l, lr, t, k0))))


def gradient_ratio_sq_limit(c_l, c_k):
    r"""t → ∞ limit of eq. 33: :math:`c_\ell/c_k` (the square root of the initial ratio
    c_ℓ²/c_k²). The paper prints :math:`\sqrt{c_\ell/c_k}`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.3, eqs. 33–34.
    """
    c_l, c_k = check_positive(c_l, "c_l"), check_positive(c_k, "c_k")
    with np.errstate(over="ignore", under="ignore"):  # beyond the float range: inf or 0
        return _out(c_l / c_k)
