r"""The ELR model with weight decay beyond the early phase: its fixed point, the ELR and
relative update there, the rate and time of approach, and the long-time limits of the
ELR notions (derived in gradexp, checked by the ``gx-elr-*`` ledger claims).

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 with weight decay; Sec. 3.4,
eq. 10; Appendix A.3, eqs. 33–34; Wan et al. (2021), "Spherical motion dynamics", Thm 1.
"""

from __future__ import annotations

import math

import numpy as np

from ..._validate import check_interval, check_nonnegative, check_positive
from ...gaussian import _out

__all__ = ["equilibrium_weight_sq", "equilibrium_elr", "equilibrium_relative_update",
           "contraction_factor", "equilibrium_steps", "limit_ratio"]



def _fixed_point_args(lr, weight_decay, momentum):
    """λ > 0, β > 0, μ in [0, 1) with λβ < 2(1 + μ), where the fixed point exists
    (:func:`~gradexp.theory.elr.weight_decay_stability_limit`); a ValueError naming them."""
    lam = check_positive(lr, "lr")
    beta = check_positive(weight_decay, "weight_decay")
    mu = check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False))
    with np.errstate(over="ignore"):
        x = lam * beta
    if (x >= 2.0 * (1.0 + mu)).any():
        raise ValueError(f"lr * weight_decay must be < 2 (1 + momentum) for a fixed point, got "
                         f"{float(np.max(x)):.4g} (see weight_decay_stability_limit)")
    return lam, beta, mu

def equilibrium_weight_sq(c, lr, weight_decay, *, momentum=0.0):
    r"""Fixed point s* of the model with coupled weight decay β (discrete; heavy-ball momentum μ).

    Plain SGD, :math:`s_{k+1} = (1-\lambda\beta)^2 s_k + \lambda^2c^2/s_k`:

    .. math:: s^{*2}\bigl(1 - (1-\lambda\beta)^2\bigr) = \lambda^2 c^2
              \;\Longrightarrow\; s^* = c\,\sqrt{\frac{\lambda}{\beta(2-\lambda\beta)}}.

    With momentum, setting A, B = ⟨w, b⟩, C = ‖b‖² constant in the Gram recursion of
    :func:`momentum_weight_sq` gives B = −βA/(1+μ), λC = 2βA/(1+μ) and

    .. math:: s^{*2} = \frac{\lambda c^2 (1+\mu)}{\beta(1-\mu)\,\bigl(2(1+\mu) - \lambda\beta\bigr)},

    which is the plain formula with λ → λ/(1−μ) to first order in λβ. Defined for
    0 < λβ < 2(1+μ); the fixed point attracts for 0 < λβ < 2, λβ ≠ 1 without momentum
    (:func:`contraction_factor`). The ELR there, :func:`equilibrium_elr`, does not depend on c.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 4 with weight decay added as in their Sec. 4 setups;
    the angular update of the fixed point agrees with Wan et al. (2021, "Spherical motion
    dynamics", Thm 1): :func:`equilibrium_relative_update`.

    Examples
    --------
    >>> s = float(equilibrium_weight_sq(2.0, 0.1, 0.01))
    >>> bool(np.isclose((1 - 0.1 * 0.01) ** 2 * s + 0.1 ** 2 * 2.0 ** 2 / s, s))
    True
    """
    c = check_positive(c, "c")
    lam, beta, mu = _fixed_point_args(lr, weight_decay, momentum)
    x = lam * beta
    return _out(c * np.sqrt(lam * (1.0 + mu) / (beta * (1.0 - mu) * (2.0 * (1.0 + mu) - x))))


def equilibrium_elr(lr, weight_decay, *, momentum=0.0):
    r"""E* = c/s* at the fixed point: :math:`\sqrt{\beta(1-\mu)(2(1+\mu)-\lambda\beta)/(\lambda(1+\mu))}`,
    the same in every layer (independent of c): with weight decay both the ELR and the
    relative update converge to layer-independent values.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 4 with weight decay as in their Sec. 4 setups; Wan et al.
    (2021), "Spherical motion dynamics", Thm 1.
    """
    return _out(1.0 / np.asarray(equilibrium_weight_sq(1.0, lr, weight_decay, momentum=momentum)))


def equilibrium_relative_update(lr, weight_decay, *, momentum=0.0):
    r"""‖ΔW‖/‖W‖ at the fixed point: exactly :math:`\sqrt{2\lambda\beta/(1+\mu)}`, the same in
    every layer.

    ΔW = λb with ‖b‖² = C and λC = 2βA/(1+μ) at the fixed point (:func:`equilibrium_weight_sq`),
    so λ²C/A = 2λβ/(1+μ). Without momentum this is λ²(E*² + β²) = λβ(2 − λβ) + λ²β² = 2λβ:
    the weight-decay part of the step counts. Wan et al. (2021, "Spherical motion dynamics",
    Thm 1) derive the same angular update :math:`\sqrt{2\lambda\beta/(1+\mu)}` of scale-invariant
    weights at equilibrium (to leading order in λβ): the independent reference of the ledger.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 4 with weight decay as in their Sec. 4 setups; Wan et al.
    (2021), "Spherical motion dynamics", Thm 1.

    Examples
    --------
    >>> bool(np.isclose(equilibrium_relative_update(0.1, 0.05), np.sqrt(0.01)))
    True
    """
    lam, beta, mu = _fixed_point_args(lr, weight_decay, momentum)
    return _out(np.sqrt(2.0 * lam * beta / (1.0 + mu)))


def contraction_factor(lr, weight_decay):
    r"""Per-step factor of the deviation from the fixed point, plain SGD with weight decay.

    With u = s² the discrete model is :math:`u' = a^2u + 2ab + b^2/u`, a = (1−λβ)², b = λ²c²,
    u* = b/(1−a); hence exactly

    .. math:: u_{k+1} - u^* = \Bigl(a^2 - (1-a)^2\frac{u^*}{u_k}\Bigr)(u_k - u^*),

    whose factor tends to :math:`2a - 1 = 2(1-\lambda\beta)^2 - 1 \approx 1 - 4\lambda\beta`
    near the fixed point (independent of c). For u_k > u* it lies between 2a − 1 and a²; the
    approach is geometric, where without weight decay it is algebraic (∝ 1/k, see
    :func:`limit_ratio`). Returns 2a − 1.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 with weight decay; the contraction
    is derived in gradexp.
    """
    lam = check_positive(lr, "lr")
    beta = check_nonnegative(weight_decay, "weight_decay")
    x = lam * beta
    if (x >= 2.0).any():
        raise ValueError(f"lr * weight_decay must be < 2 for a fixed point to contract to, got "
                         f"{float(np.max(x)):.4g} (see weight_decay_stability_limit)")
    return _out(2.0 * (1.0 - x) ** 2 - 1.0)


def equilibrium_steps(c, lr, weight_decay, *, w0_sq=1.0, rtol=0.01):
    r"""Proven bounds on the number of plain-SGD steps until ‖W‖⁴ is within ``rtol`` of its
    fixed point (relative).

    With δ_k = u_k/u* − 1, u = ‖W‖⁴, :func:`contraction_factor` gives exactly
    :math:`\delta_{k+1} = q(\delta_k)\,\delta_k`, :math:`q(\delta) = a^2 - (1-a)^2/(1+\delta)`,
    a = (1 − λβ)², increasing in δ, q(0) = 2a − 1 (> 0 for λβ < 1 − 1/√2, required here).

    * δ > 0: q ∈ (2a−1, a²), so the first step K with δ_K ≤ r obeys
      :math:`\lceil\ln(\delta_0/r)/(-\ln(2a-1))\rceil \le K \le \lceil\ln(\delta_0/r)/(-\ln a^2)\rceil`.
    * δ < 0 with q(δ) ≥ 0: δ stays negative and q ∈ [q(δ₀), 2a−1): the bounds with those rates.
    * δ < 0 with q(δ) < 0 (far below, u ≪ u*: the first steps overshoot): iterated exactly
      until one of the cases above applies.

    Both bounds are ≈ ``ln(|δ₀|/r)/(4λβ)``, the continuous form's time (δ(t) = δ₀e^{−4βt} exactly,
    :func:`continuous_weight_sq`). Returns ``(lower, upper)`` (floats holding integers).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 with weight decay; the bounds are derived in
    gradexp.

    Examples
    --------
    >>> lo, hi = equilibrium_steps(2.0, 0.1, 0.05, w0_sq=100.0)
    >>> int(lo), int(hi)
    (617, 620)
    """
    c = check_positive(c, "c")
    lam = check_positive(lr, "lr")
    beta = check_positive(weight_decay, "weight_decay")
    w0 = check_positive(w0_sq, "w0_sq")
    r = float(check_interval(rtol, "rtol", 0.0, 1.0, closed=(False, False)))
    with np.errstate(over="ignore"):
        x = lam * beta
    if (x >= 1.0 - 1.0 / math.sqrt(2.0)).any():
        raise ValueError("lr * weight_decay must be < 1 - 1/sqrt(2) (monotone approach)")
    a = (1.0 - x) ** 2
    ustar = np.asarray(equilibrium_weight_sq(c, lam, beta), float) ** 2
    d = w0 * w0 / ustar - 1.0
    a, d = np.broadcast_arrays(a, d)
    d = d.astype(float).copy()
    k0 = np.zeros(d.shape)

    def q(dd):
        return a * a - (1.0 - a) ** 2 / (1.0 + dd)

    for _ in range(10000):
        m = (d < -r) & (q(d) < 0)
        if not m.any():
            break
        d = np.where(m, q(d) * d, d)
        k0 = k0 + m
    qa, qb = 2 * a - 1, a * a
    with np.errstate(divide="ignore", invalid="ignore"):
        ld = np.log(np.abs(d) / r)
        q0 = np.where(d < 0, q(np.minimum(d, 0.0)), qa)
        lo = np.where(d > r, ld / -np.log(qa),
                      np.where(d < -r, np.where(q0 > 0, ld / -np.log(q0), 1.0), 0.0))
        hi = np.where(d > r, ld / -np.log(qb), np.where(d < -r, ld / -np.log(qa), 0.0))
    return _out(k0 + np.ceil(lo)), _out(k0 + np.ceil(hi))


def limit_ratio(c_l, c_k, notion="relative_update"):
    r"""Long-time limit of the ratio of layer ℓ to layer k for each ELR notion.

    In every form of the model (discrete with or without weight decay, momentum, continuous)
    the weights end where ‖W_ℓ‖² ∝ c_ℓ: without weight decay :math:`s_\ell \simeq
    \lambda c_\ell\sqrt{2k}/(1-\mu)`, with it :math:`s_\ell \to s^*_\ell \propto c_\ell`
    (:func:`equilibrium_weight_sq`). Hence

    ========================  ========================================  =============
    notion                    quantity                                  ratio ℓ/k →
    ========================  ========================================  =============
    ``"relative_update"``     λ‖∇W‖/‖W‖ = λE = λc/s (also E itself)      1
    ``"lr_over_weight_sq"``   λ/‖W‖² (the seed's ELR, Sec. 3.4)          c_k/c_ℓ
    ``"grad_sq"``             ‖∇W‖² = c²/s (eq. 33)                      c_ℓ/c_k
    ========================  ========================================  =============

    Rates. Without weight decay (β = 0, μ = 0): :math:`s_\ell^2 = k_0 + 2\lambda^2c_\ell^2 k
    + \tfrac12\lambda^2c_\ell^2\ln(2\lambda^2c_\ell^2k/k_0) + \dots`, so :math:`E_\ell/E_k - 1 \simeq \bigl[k_0(c_k^{-2} - c_\ell^{-2})
    - \lambda^2\ln(c_\ell/c_k)\bigr]/(4\lambda^2 k)` (the second term from the log, whose
    argument 2λ²c²k/k₀ depends on c): algebraic, ∝ 1/k (the same 1/k law for the other
    notions). With β > 0: geometric, by
    :func:`contraction_factor` per step.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4, eq. 10 and Appendix A.3, eqs. 33–34
    (corrected limit).
    """
    c_l = check_positive(c_l, "c_l")
    c_k = check_positive(c_k, "c_k")
    if notion == "relative_update":
        return _out(np.ones(np.broadcast(c_l, c_k).shape))
    if notion == "lr_over_weight_sq":
        return _out(c_k / c_l)
    if notion == "grad_sq":
        return _out(c_l / c_k)
    raise ValueError("notion must be 'relative_update', 'lr_over_weight_sq' or 'grad_sq', "
                     f"got {notion!r}")
