r"""Spreads and stability of the ELR model: the spread of the ELRs over layers, the
step-size bound of Appendix A.1, the one-step factor, the learning rate above which one step
widens the spread, and the rate that closes it fastest.

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4, Sec. 4.1, Appendix A.1 (eqs. 22–26)
and Appendix A.2.
"""

from __future__ import annotations

import math

import numpy as np

from ..._validate import (
    as_float_array,
    check_int,
    check_interval,
    check_nonnegative,
    check_positive,
    check_real,
)
from ...gaussian import _out
from ..explosion import YANG_RATE

__all__ = ["spread", "log_spread", "stability_bound", "stability_bound_at_init", "one_step_factor",
           "critical_lr", "equalizing_lr"]


def stability_bound(c, w_sq):
    r"""Largest stable step of the explicit Euler (= gradient descent) step for eq. 6
    (Appendix A.1, eqs. 22–25): :math:`|1 - \lambda^2 c^2/\sigma^4| \le 1 \iff
    \lambda \le \sqrt2\,\sigma^2/c`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.1, eqs. 22–25.
    """
    w_sq, c = check_positive(w_sq, "w_sq"), check_positive(c, "c")
    with np.errstate(over="ignore"):  # beyond the float range: inf (no bound)
        return _out(math.sqrt(2.0) * w_sq / c)


def stability_bound_at_init(depth, *, rate=YANG_RATE, w0_sq=2.0):
    r"""Eq. 26: :math:`\lambda \ll 2\sqrt2\,\alpha^{-L}` for σ²(0) = 2 and c = α^L.

    >>> round(stability_bound_at_init(50) / 1e-4, 3)   # the paper quotes 3e-5
    1.955

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.1, eq. 26.
    """
    L = as_float_array(depth, "depth", allow_inf=False)
    if (L < 1).any():
        raise ValueError("depth must be >= 1")
    check_positive(rate, "rate")
    w0 = check_positive(w0_sq, "w0_sq")
    with np.errstate(over="ignore", under="ignore"):  # beyond the float range: inf or 0
        return _out(math.sqrt(2.0) * w0 * np.exp(-L * np.log(rate)))


def spread(elr, axis=-1):
    """Std over layers (population, ddof = 0): the paper's ELR spread Std_ℓ(E_ℓ).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4 (the ELR spread Std(E_k)).
    """
    e = _check_layers(as_float_array(elr, "elr", allow_inf=False), axis)
    return _out(np.std(e, axis=axis))


def _check_layers(e, axis):
    """An integer ``axis`` of ``e`` with at least one layer on it (ValueError/TypeError naming
    axis or elr otherwise)."""
    axis = check_int(axis, "axis")
    if e.ndim and not -e.ndim <= axis < e.ndim:
        raise ValueError(f"axis must lie in [{-e.ndim}, {e.ndim - 1}] for elr of shape {e.shape}, "
                         f"got {axis}")
    if e.ndim == 0 or e.shape[axis] == 0:
        raise ValueError(f"elr must have at least one layer on axis {axis}, got shape {e.shape}")
    return e


def log_spread(elr, axis=-1):
    r"""S = ln(max_ℓ E_ℓ / min_ℓ E_ℓ): the scale-free spread of the ELRs (0 when equal).
    Unlike Std_ℓ(E_ℓ) it is the same for E and for the relative update λE.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4 (the ELR spread; this scale-free form is gradexp's).
    """
    e = _check_layers(check_positive(elr, "elr"), axis)
    return _out(np.log(e.max(axis=axis)) - np.log(e.min(axis=axis)))


def one_step_factor(lr, weight_sq, grad_sq, *, buffer_sq=0.0, weight_buffer_dot=0.0,
                    momentum=0.0, weight_decay=0.0):
    r"""ρ = ‖W'‖²/‖W‖² of one heavy-ball step from the given state (the model's assumption:
    the gradient g orthogonal to w and to the previous buffer b):

    .. math:: w' = w - \lambda(\mu b + \beta w + g),\qquad
              \rho(\lambda) = 1 - 2\lambda p + \lambda^2 Q,

    :math:`p = \mu B/A + \beta`, :math:`Q = (\mu^2 C + 2\mu\beta B + \beta^2 A + G)/A`, with
    A = ‖w‖², G = ‖g‖², B = ⟨w, b⟩, C = ‖b‖². With c held for one step the new ELR is
    E' = E/ρ (E = ‖g‖/‖w‖ = c/A). Arrays broadcast; ``lr`` broadcasts against the layers.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.2 (momentum model), Sec. 4.1.
    """
    A = check_positive(weight_sq, "weight_sq")
    G = as_float_array(grad_sq, "grad_sq", allow_inf=False)
    p, Q = _pq(A, G, buffer_sq, weight_buffer_dot, momentum, weight_decay)
    lam = check_nonnegative(lr, "lr")
    with np.errstate(over="ignore"):  # 1 + λ(λQ − 2p): +inf, never inf − inf, for huge λ
        return _out(1.0 + lam * (lam * Q - 2.0 * p))


def _pq(A, G, C, B, momentum, weight_decay):
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    C = as_float_array(C, "buffer_sq", allow_inf=False)
    B = as_float_array(B, "weight_buffer_dot", allow_inf=False)
    p = mu * B / A + beta
    Q = (mu * mu * C + 2.0 * mu * beta * B + beta * beta * A + G) / A
    return p, Q


def critical_lr(weight_sq, grad_sq, *, buffer_sq=0.0, weight_buffer_dot=0.0, momentum=0.0,
                weight_decay=0.0):
    r"""Smallest learning rate at which one step of the model *widens* the ELR spread.

    The spread is :func:`log_spread` S = ln(max E/min E) (the same for E and for λE). One
    step multiplies E_ℓ by 1/ρ_ℓ(λ) (:func:`one_step_factor`, c held for the step), so S'
    exceeds S iff some pair (ℓ, k) has

    .. math:: F_{\ell k}(\lambda) = \rho_\ell(\lambda) - \theta_{\ell k}\,\rho_k(\lambda) < 0,
              \qquad \theta_{\ell k} = \frac{E_\ell}{E_k}\,\frac{E_{\min}}{E_{\max}} \le 1,

    a quadratic in λ: :math:`F = (1-\theta) - 2\lambda(p_\ell - \theta p_k)
    + \lambda^2(Q_\ell - \theta Q_k)`. The critical rate is the smallest positive λ where some
    F_ℓk turns negative (its smaller root, or 0 when the extreme pair, θ = 1, has a negative
    slope at 0), ``inf`` if none does.

    **No threshold without momentum** (a result): with μ = 0, p = β and Q = β² + E², so
    :math:`F = (1-\theta)(1-\lambda\beta)^2 + \lambda^2 E_\ell(E_\ell - E_kE_{\min}/E_{\max})
    \ge 0` for every λ (since E_ℓ ≥ E_min ≥ E_k E_min/E_max): in the plain discrete model,
    with or without weight decay, no learning rate widens the spread in one step. Equivalently
    ln E ↦ ln E − ln((1−λβ)² + λ²E²) has slope in (−1, 1]: a contraction. Large rates
    *flip* the layers (E ↦ E/(1+λ²E²) falls for λE > 1) but cannot widen the ratio;
    :func:`equalizing_lr` is the rate that closes it fastest. With momentum the buffer adds
    the layer-dependent terms μB/A and μ²C/A, and a finite threshold appears as a function of
    (E, B/A, C/A): returned here.

    Parameters
    ----------
    weight_sq, grad_sq : arrays ``batch + (L,)``
        ‖W_ℓ‖² and the squared gradient norm the step will use.
    buffer_sq, weight_buffer_dot : arrays broadcasting to them
        ‖b‖² and ⟨w, b⟩ of the buffer *before* the step (0 at the first step).
    momentum, weight_decay : floats.

    Returns
    -------
    array ``batch``: the critical λ (0: every step widens; inf: none does).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.1 (the flip), Appendix A.2 (momentum model).

    Examples
    --------
    >>> float(critical_lr([1.0, 1.0, 1.0], [1.0, 100.0, 1e4]))   # plain SGD: no threshold
    inf
    """
    A = check_positive(weight_sq, "weight_sq")
    G = check_positive(grad_sq, "grad_sq")
    if A.ndim == 0 or A.shape[-1] == 0:
        raise ValueError("weight_sq must have a layer axis with at least one layer")
    A, G = np.broadcast_arrays(A, G)
    p, Q = _pq(A, G, buffer_sq, weight_buffer_dot, momentum, weight_decay)
    p, Q = np.broadcast_to(p, A.shape), np.broadcast_to(Q, A.shape)
    E = np.sqrt(G / A)
    Emax = E.max(axis=-1, keepdims=True)
    Emin = E.min(axis=-1, keepdims=True)
    # pairs: l on axis -2, k on axis -1
    El, Ek = E[..., :, None], E[..., None, :]
    theta = (El / Emax[..., None]) * (Emin[..., None] / Ek)
    c0 = 1.0 - theta
    b = -2.0 * (p[..., :, None] - theta * p[..., None, :])
    a = Q[..., :, None] - theta * Q[..., None, :]
    # rounding: the plain-model pair (min, max) has a = 0 exactly (see Notes); coefficients
    # within a few ulp of 0 are 0
    tol = 1e-12
    a = np.where(np.abs(a) <= tol * (Q[..., :, None] + theta * Q[..., None, :]), 0.0, a)
    b = np.where(np.abs(b) <= tol * 2.0 * (np.abs(p[..., :, None]) + theta * np.abs(p[..., None, :])),
                 0.0, b)
    lam = _first_negative(a, b, c0)
    return _out(lam.min(axis=(-2, -1)))


def _first_negative(a, b, c0):
    """Smallest λ > 0 at which a λ² + b λ + c0 (c0 ≥ 0) becomes negative (inf if never)."""
    inf = np.full(np.broadcast(a, b, c0).shape, np.inf)
    a, b, c0 = (np.broadcast_to(x, inf.shape) for x in (a, b, c0))
    zero = c0 <= 0
    out = inf.copy()
    # extreme pair (c0 = 0): F = λ (b + a λ)
    out = np.where(zero & (b < 0), 0.0, out)
    out = np.where(zero & (b == 0) & (a < 0), 0.0, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(zero & (b > 0) & (a < 0), -b / a, out)
        # c0 > 0
        disc = b * b - 4.0 * a * c0
        disc = np.where(np.abs(disc) <= 1e-12 * (b * b + np.abs(4.0 * a * c0)), 0.0, disc)
        sq = np.sqrt(np.maximum(disc, 0.0))
        # stable roots: q = -(b + sign(b) sq)/2, roots q/a and c0/q
        q = -0.5 * (b + np.where(b >= 0, 1.0, -1.0) * sq)
        r1 = np.where(a != 0, q / a, np.inf)
        r2 = np.where(q != 0, c0 / q, np.inf)
        lo = np.minimum(r1, r2)
        hi = np.maximum(r1, r2)
        pos = ~zero
        # a > 0: negative strictly between two positive roots (needs disc > 0, b < 0)
        out = np.where(pos & (a > 0) & (disc > 0) & (b < 0), lo, out)
        # a < 0: one positive root
        out = np.where(pos & (a < 0), np.where(hi > 0, hi, lo), out)
        # a = 0: linear
        out = np.where(pos & (a == 0) & (b < 0), -c0 / b, out)
    return out


def equalizing_lr(elr, axis=-1):
    r"""The rate that equalizes the extreme layers in one plain-SGD step: :math:`\lambda^* =
    1/\sqrt{E_{\max}E_{\min}}`.

    One step maps E ↦ f(E) = E/(1+λ²E²) (eq. 4 with c held), and f(E) = f(1/(λ²E)): at
    λ = λ* the two extremes land on the same value and every other layer between them
    and the maximum 1/(2λ) (at E = 1/λ). The new spread is

    .. math:: S' \le \ln\frac{1/(2\lambda^*)}{f(E_{\min})} = \ln\cosh(S/2),

    with equality when a layer sits at E = 1/λ*; ≈ S²/8 for small S (quadratic convergence)
    and < S/2 always. For a continuum of layers between the extremes no other rate does
    better (for λ ≠ λ* one of the extremes ends lower). This is the rate the hyperparameter-free
    warm-up :class:`gradexp.optim.EqualizingWarmup` takes while it is below the target rate.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.1 (flip) and Appendix A.1 ('Warm-up').

    Examples
    --------
    >>> E = np.array([0.5, 2.0, 8.0])
    >>> lam = equalizing_lr(E)
    >>> f = E / (1 + lam ** 2 * E ** 2)
    >>> bool(np.isclose(f[0], f[-1]))
    True
    >>> bool(np.isclose(log_spread(f), np.log(np.cosh(log_spread(E) / 2))))
    True
    """
    e = check_positive(elr, "elr")
    e = _check_layers(e, axis)
    return _out(1.0 / (np.sqrt(e.max(axis=axis)) * np.sqrt(e.min(axis=axis))))
