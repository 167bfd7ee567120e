r"""Layer-wise rules as pure functions of norms: each maps ‖w‖, ‖g‖ (or ‖m‖) to a ratio or a
step size, never touching arrays of weights.

:func:`decayed_norm`, :func:`lars_ratio`, :func:`lamb_trust_ratio`, :func:`lambc_trust_ratio`,
:func:`clars_ratio`, :func:`agc_factor`, :func:`lalc_step_size`, :func:`elr_constraint_factor`.
The rule classes of :mod:`gradexp.optim.rules` call them; so can a user with norms of their own.

Zero norms: every formula is undefined or degenerate when ‖w‖ = 0 or the direction is zero.
By default (``zero_norm="fallback"``) the ratio is then 1 (the step the plain learning rate),
which is what the LALC listing (Paik & Choi, Appendix B) and the common LARS/LAMB
implementations do; ``zero_norm="formula"`` evaluates the printed formula literally (giving
0, ∞ or NaN).

Hyperparameters are checked on every call (a ValueError/TypeError naming them): scale
parameters (η, clipping, E_goal) finite and > 0, ε finite and >= 0, options among their
documented choices.

References
----------
Paik & Choi [paik-choi-v2], Sec. 3, Table 1; You et al. (2017, 2019); Fong et al. (2020);
Huo et al. (2021); Brock et al. (2021); Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 14.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_clamp, check_nonnegative, check_positive
from ..gaussian import _out

__all__ = ["decayed_norm", "lars_ratio", "lamb_trust_ratio", "lambc_trust_ratio", "clars_ratio",
           "agc_factor", "lalc_step_size", "elr_constraint_factor"]

ZERO_NORM_CHOICES = ("fallback", "formula")


def _check_zero_norm(zero_norm):
    return check_choice(zero_norm, "zero_norm", ZERO_NORM_CHOICES)


def _fallback(value, bad, fallback, zero_norm):
    if _check_zero_norm(zero_norm) == "formula":
        return value
    return np.where(bad, fallback, value)


def decayed_norm(g_norm, w_norm, weight_decay=0.0, *, gw_dot=0.0, form="sum"):
    r"""The gradient norm with weight decay β as the LARS-family denominators use it.

    ``form="sum"``: :math:`\|g\| + \beta\|w\|` (You et al. 2017; Paik & Choi Table 1).
    ``form="joint"``: :math:`\|g + \beta w\| = \sqrt{\|g\|^2 + 2\beta\langle g,w\rangle + \beta^2\|w\|^2}`
    (TVLARS eq. 2 and Algorithm 1 line 6 read as ‖∇L + w_d w‖; the printed ‖∇L + w_d‖ adds the
    scalar coefficient). For scale-invariant layers ⟨g, w⟩ = 0 (Mehmeti-Göpel & Wand eq. 2).

    References
    ----------
    You et al. (2017) as cited by Do et al., TVLARS [do-tvlars], eq. 2; Paik & Choi [paik-choi-v2], Sec. 3,
    Table 1.
    """
    check_choice(form, "form", ("sum", "joint"))
    weight_decay = check_nonnegative(weight_decay, "weight_decay")
    g = np.asarray(g_norm, float)
    w = np.asarray(w_norm, float)
    if form == "sum":
        return g + weight_decay * w
    if form == "joint":
        return np.sqrt(np.maximum(g * g + 2.0 * weight_decay * np.asarray(gw_dot, float)
                                  + weight_decay ** 2 * w * w, 0.0))


def lars_ratio(w_norm, g_norm, *, eta=1e-3, weight_decay=0.0, eps=0.0, decay_form="sum",
               gw_dot=0.0, zero_norm="fallback"):
    r"""LARS local learning rate (You et al. 2017; Paik & Choi Table 1; TVLARS eq. 2).

    .. math:: \lambda^\ell = \frac{\eta\,\|w^\ell\|}{\|g^\ell\| + \beta\|w^\ell\| + \epsilon}

    (``decay_form="joint"`` uses ‖g + βw‖, see :func:`decayed_norm`). With
    ``zero_norm="fallback"`` the ratio is 1 when ‖w‖ = 0 or the denominator is 0.

    References
    ----------
    You et al. (2017) as cited by Do et al., TVLARS [do-tvlars], eq. 2; Paik & Choi [paik-choi-v2], Sec. 3,
    Table 1.
    """
    eta = check_positive(eta, "eta")
    eps = check_nonnegative(eps, "eps")
    _check_zero_norm(zero_norm)
    w = np.asarray(w_norm, float)
    den = decayed_norm(g_norm, w, weight_decay, gw_dot=gw_dot, form=decay_form) + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        r = eta * w / den
    return _out(_fallback(r, (w == 0) | (den == 0), 1.0, zero_norm))


def lamb_trust_ratio(w_norm, u_norm, *, eps=0.0, w_clamp=None, zero_norm="fallback"):
    r"""LAMB's layer-wise trust ratio (You et al. 2019): :math:`\phi(\|w\|)/(\|u\| + \epsilon)`
    with the scaling function :math:`\phi(z) = \min(\max(z, \gamma_l), \gamma_u)` when
    ``w_clamp=(γ_l, γ_u)`` is given, φ(z) = z by default (LAMB's experiments; some
    implementations clamp ‖w‖ at 10). ``zero_norm="fallback"``: ratio 1 if ‖w‖ = 0 or ‖u‖ = 0
    (NVIDIA's and most public implementations).

    References
    ----------
    You et al. (2019), LAMB; Paik & Choi [paik-choi-v2], Sec. 3, Table 1.
    """
    eps = check_nonnegative(eps, "eps")
    check_clamp(w_clamp, "w_clamp")
    _check_zero_norm(zero_norm)
    w = np.asarray(w_norm, float)
    u = np.asarray(u_norm, float)
    phi = w if w_clamp is None else np.clip(w, w_clamp[0], w_clamp[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = phi / (u + eps)
    return _out(_fallback(r, (w == 0) | (u == 0), 1.0, zero_norm))


def lambc_trust_ratio(w_norm, u_norm, *, clip=1.0, eps=0.0, w_clamp=None, zero_norm="fallback"):
    r"""LAMBC's clipped trust ratio (Fong et al. 2020; Paik & Choi Table 1):
    :math:`\min(\phi(\|w\|)/(\|u\| + \epsilon), \mu)`, with μ = ``clip`` = 1 (Fong et al.'s best).

    References
    ----------
    Fong et al. (2020), LAMBC; Paik & Choi [paik-choi-v2], Sec. 3, Table 1.
    """
    clip = check_positive(clip, "clip")
    r = np.asarray(lamb_trust_ratio(w_norm, u_norm, eps=eps, w_clamp=w_clamp,
                                    zero_norm=zero_norm), float)
    return _out(np.minimum(r, clip))


def clars_ratio(w_norm, per_sample_norm, *, eta=1e-3, eps=0.0, zero_norm="fallback"):
    r"""CLARS local rate (Huo et al. 2021; Paik & Choi Table 1):
    :math:`\eta\|w\| / (\frac1B\sum_b \|m_b\| + \epsilon)` with the *average per-sample*
    gradient norm in the denominator (≥ the minibatch norm by the triangle inequality).

    References
    ----------
    Huo et al. (2021), CLARS; Paik & Choi [paik-choi-v2], Sec. 3, Table 1.
    """
    eta = check_positive(eta, "eta")
    eps = check_nonnegative(eps, "eps")
    _check_zero_norm(zero_norm)
    w = np.asarray(w_norm, float)
    den = np.asarray(per_sample_norm, float) + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        r = eta * w / den
    return _out(_fallback(r, (w == 0) | (den == 0), 1.0, zero_norm))


def agc_factor(w_norm, g_norm, *, clipping=0.01, eps=1e-3, eps_mode="weight_floor"):
    r"""Adaptive gradient clipping factor (Brock et al. 2021), per unit:

    .. math:: \min\Bigl(\frac{\lambda \max(\|w_u\|, \epsilon)}{\|g_u\|}, 1\Bigr)

    with λ = ``clipping`` = 0.01 and ε = 10⁻³ (Brock et al.; Paik & Choi Table 2).
    ``eps_mode="table1"`` uses Paik & Choi's Table 1 form
    :math:`\min(\lambda\|w_u\|/(\|g_u\| + \epsilon), 1)` (ε added to the gradient norm instead
    of flooring the weight norm). A zero gradient gives factor 1.

    References
    ----------
    Brock et al. (2021), adaptive gradient clipping; Paik & Choi [paik-choi-v2], Sec. 3, Table 1 and
    Table 2.
    """
    clipping = check_positive(clipping, "clipping")
    eps = check_nonnegative(eps, "eps")
    check_choice(eps_mode, "eps_mode", ("weight_floor", "table1"))
    w = np.asarray(w_norm, float)
    g = np.asarray(g_norm, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if eps_mode == "weight_floor":
            r = clipping * np.maximum(w, eps) / g
        else:
            r = clipping * w / (g + eps)
    r = np.where(g == 0, 1.0, r)
    return _out(np.minimum(r, 1.0))


def lalc_step_size(lr, w_norm, m_norm, *, eta=1e3, eps=1.0, zero_norm="fallback"):
    r"""LALC step size (Paik & Choi, Algorithm 1; Table 1; defaults η = 10³, ε = 1 of Table 2).

    .. math:: \min\Bigl(\gamma_t,\; \frac{1}{\eta\,\|m_t\|^2/\|w_t\|^2 + \epsilon}\Bigr)

    The Appendix B listings compute the ratio from *mean squares*
    (``d_p.pow(2).mean() / p.data.pow(2).mean()``), which is the same number since both
    tensors have the same number of elements. ε enters in the denominator only, so the step
    never exceeds min(γ_t, 1/ε).

    Zero norms: the listings fall back to γ_t when ``w_norm * g_norm == 0``
    (``zero_norm="fallback"``, default). Algorithm 1 evaluated literally
    (``zero_norm="formula"``) gives step 0 for ‖w‖ = 0 < ‖m‖ (a zero-initialised tensor
    never moves), min(γ_t, 1/ε) for ‖m‖ = 0 < ‖w‖, and NaN for 0/0.

    References
    ----------
    Paik & Choi [paik-choi-v2], Sec. 4, Algorithm 1; Table 1; Table 2; Appendix B listing.
    """
    lr = check_nonnegative(lr, "lr")
    eta = check_positive(eta, "eta")
    eps = check_nonnegative(eps, "eps")
    _check_zero_norm(zero_norm)
    w = np.asarray(w_norm, float)
    m = np.asarray(m_norm, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        local = 1.0 / (eta * (m * m) / (w * w) + eps)
        step = np.minimum(lr, local)
    step = np.where(np.isnan(local), np.nan, step)
    return _out(_fallback(step, (w * m) == 0, lr, zero_norm))


def elr_constraint_factor(w_norm, g_norm, *, e_goal=0.01, eps=1e-5):
    r"""Mehmeti-Göpel & Wand's ELR constraint (eq. 14): the gradient is multiplied by
    :math:`E_{\rm goal}/(E + \epsilon)` with :math:`E = \|\nabla W\|/\|W\|` and ε = 10⁻⁵, so
    that the update's relative size is ≈ λ·E_goal in every layer. ε must be > 0: the factor
    is unbounded as E → 0.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.5, eq. 14.
    """
    e_goal = check_positive(e_goal, "e_goal")
    eps = check_positive(eps, "eps")
    w = np.asarray(w_norm, float)
    g = np.asarray(g_norm, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = g / w
    e = np.where(w == 0, 0.0, e)
    return _out(e_goal / (e + eps))


