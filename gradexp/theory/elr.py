r"""The effective-learning-rate (ELR) model of Mehmeti-Göpel & Wand (``mehmeti-gopel-wand``).

For a scale-invariant layer (a linear map followed by a normalization layer) the gradient is
orthogonal to the weights (eq. 2) and scales as 1/‖W‖ (eq. 1). With the *base gradient*
:math:`c_\ell = \|\nabla W_\ell(0)\|\,\|W_\ell(0)\|` held constant over the first steps, the
gradient norm is :math:`c_\ell/\|W_\ell\|` and plain SGD gives the **discrete model** (eq. 4)

.. math:: s_{k+1} = s_k + \frac{\lambda_k^2 c^2}{s_k}, \qquad s_k = \|W(k)\|_F^2,

whose effective learning rate is :math:`E_k = \|\nabla W\|/\|W\| = c/s_k`.

Contents
--------
:func:`simulate`
    The model for any depth, base-gradient profile, learning-rate schedule and layer-wise
    optimizer of :mod:`gradexp.optim` (momentum, LARS, LAMB, LAMBC, CLARS, AGC, LALC, the
    ELR constraint of eq. 14, TVLARS). Under the model's orthogonality assumption (every new
    gradient orthogonal to the initial weights and to all earlier gradients, Appendix A.2)
    the optimizer's vectors live in a space where only their Gram matrix matters; the
    simulation runs the *same* :class:`gradexp.optim.Optimizer` on 3-d coordinate vectors and
    rotates them back after every step, which is exact and costs O(1) per step.
:func:`discrete_weight_sq`, :func:`momentum_weight_sq`
    Direct transcriptions of eq. 4 and of the loop of Appendix A.2 (eqs. 27, 29, 32): the
    independent routes the tests compare :func:`simulate` with.
:func:`continuous_weight_sq`, :func:`continuous_elr`
    The continuous model (eqs. 6–7).
:func:`plain_profile`, :func:`residual_profile`, :func:`residual_rate`
    Initial gradient norms of plain (eq. 8) and residual (eq. 9) networks.
:func:`elr_ratio_sq`, :func:`gradient_ratio_sq`, :func:`gradient_ratio_sq_limit`
    Eq. 10 and eqs. 33–34 (with the corrected limit).
:func:`stability_bound`, :func:`stability_bound_at_init`
    Appendix A.1, eqs. 25–26.

Beyond the early phase (derived here, checked by the ``gx-elr-*`` ledger claims)
--------------------------------------------------------------------------------
:func:`equilibrium_weight_sq`, :func:`equilibrium_elr`, :func:`equilibrium_relative_update`, :func:`contraction_factor`, :func:`equilibrium_steps`
    Coupled weight decay (``simulate(..., weight_decay=β)``): the fixed point, its ELR and
    relative update, the rate and the time to reach it; :func:`momentum_state` is the
    momentum model as a Gram recursion (with weight decay).
:func:`limit_ratio`
    The long-time limits of the two ELR notions (relative update → 1, λ/‖W‖² → c_k/c_ℓ).
:func:`critical_lr`, :func:`one_step_factor`, :func:`log_spread`, :func:`equalizing_lr`
    The rate above which one step widens the spread (none without momentum), and the rate
    that closes it fastest (the hyperparameter-free warm-up :class:`gradexp.optim.EqualizingWarmup`).
:func:`recovery_steps`, :func:`recovery_steps_exact`, :func:`saturation_orbit`
    Recovery of saturated layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import check_real
from .._validate import as_float_array, check_interval, check_positive
from ..gaussian import _out
from ..optim import SGD, LayerRule, Optimizer, StateSchedule, schedule_values
from .explosion import YANG_RATE

__all__ = [
    "ELRTrajectory", "simulate", "discrete_weight_sq", "momentum_weight_sq",
    "continuous_weight_sq", "continuous_elr", "plain_profile", "residual_profile",
    "residual_rate", "base_gradient", "elr_ratio_sq", "gradient_ratio_sq",
    "gradient_ratio_sq_limit", "stability_bound", "stability_bound_at_init", "he_weight_sq",
    "spread", "YANG_RATE",
    # beyond the early phase (issue 12)
    "equilibrium_weight_sq", "equilibrium_elr", "equilibrium_relative_update",
    "contraction_factor", "equilibrium_steps", "limit_ratio", "one_step_factor",
    "critical_lr", "equalizing_lr", "momentum_state", "log_spread", "recovery_steps", "recovery_steps_exact", "saturation_orbit",
]


# ============================================================================== profiles
def plain_profile(depth: int, *, rate: float = YANG_RATE, convention: str = "norm") -> np.ndarray:
    r"""Initial gradient norms :math:`\|\nabla W_\ell(0)\|` of a plain BN network (eq. 8).

    .. math:: \|\nabla W_\ell(0)\| = \alpha^{L-\ell+1}, \qquad \ell = 1, \dots, L,
              \qquad \alpha = \sqrt{\pi/(\pi-1)} \approx 1.2112,

    returned input side first (index 0 is layer 1), top layer α, as the base case of eq. 9.

    **Which quantity grows at α.** Yang et al.'s rate :math:`\sqrt{\pi/(\pi-1)}` is the
    per-layer growth of the gradient *norm*; the *squared* norm grows by π/(π−1) ≈ 1.467
    (C(0) of Paik & Choi is a ratio of variances). ``convention="norm"`` (default) applies α to
    the norm, as eq. 9 does and as the toy network of :mod:`gradexp.mc.training` measures.
    Eq. 8 as printed (:math:`\|\nabla W_\ell(0)\|_F^2 \sim \alpha^{L-\ell}`) applies it to the
    squared norm, i.e. the norm would grow at α^{1/2} ≈ 1.10: ``convention="squared"``.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 8; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019 (the rate √(π/(π−1))).

    Examples
    --------
    >>> p = plain_profile(3)
    >>> bool(np.allclose(p, [YANG_RATE**3, YANG_RATE**2, YANG_RATE]))
    True
    """
    L = _check_depth(depth)
    check_positive(rate, "rate")
    ell = np.arange(1, L + 1, dtype=float)
    expo = L - ell + 1.0
    if convention == "norm":
        return float(rate) ** expo
    if convention == "squared":
        return float(rate) ** (expo / 2.0)
    raise ValueError(f"convention must be 'norm' or 'squared', got {convention!r}")


def residual_profile(depth: int, skip: int = 2, *, rate: float = YANG_RATE) -> np.ndarray:
    r"""Initial gradient norms of a residual network by the recursion of eq. 9.

    .. math::
        g_\ell = \begin{cases}
          \tfrac12\bigl(\alpha\, g_{\ell+1} + g_{\ell+s}\bigr) & \ell \equiv 0 \pmod s,\ \ell < L-s\\
          \alpha\, g_{\ell+1} & \text{otherwise,}\end{cases}
        \qquad g_L = \alpha,

    for layers ℓ = L−1, ..., 1 (returned input side first). α applies to the norm (see
    :func:`plain_profile`). With ``skip > depth`` this is the plain profile.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 9.
    """
    L = _check_depth(depth)
    s = int(skip)
    if s != skip or s < 1:
        raise ValueError(f"skip must be a positive integer, got {skip!r}")
    check_positive(rate, "rate")
    g = np.empty(L + s + 1)
    g[L] = float(rate)
    for ell in range(L - 1, 0, -1):
        if ell % s == 0 and ell < L - s:
            g[ell] = 0.5 * (rate * g[ell + 1] + g[ell + s])
        else:
            g[ell] = rate * g[ell + 1]
    return g[1:L + 1].copy()


def residual_rate(skip: int, *, rate: float = YANG_RATE) -> float:
    r"""Asymptotic per-layer growth of eq. 9 deep inside the network:
    :math:`\bigl((1+\alpha^s)/2\bigr)^{1/s}` (< α for s ≥ 1), since a block of s layers
    multiplies the norm by α^{s−1} and then averages α·(α^{s−1} g) with g.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 9 (its asymptotics derived in gradexp).
    """
    s = int(skip)
    if s != skip or s < 1:
        raise ValueError(f"skip must be a positive integer, got {skip!r}")
    return float(((1.0 + rate ** s) / 2.0) ** (1.0 / s))


def base_gradient(grad_norm, w0_sq=1.0):
    r"""The model's constant :math:`c = \|\nabla W(0)\|\,\|W(0)\|` (gradient norm c/‖W‖).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 (c = ‖∇W(0)‖‖W(0)‖).
    """
    g = as_float_array(grad_norm, "grad_norm", allow_inf=False)
    w = check_positive(w0_sq, "w0_sq")
    return _out(g * np.sqrt(w))


def he_weight_sq(n_in, n_out):
    r"""Expected squared Frobenius norm of an ``n_out × n_in`` He-initialised weight matrix,
    :math:`E\|W\|_F^2 = n_{out} n_{in} \cdot 2/n_{in} = 2 n_{out}`; one unit's (row's) squared
    norm has expectation 2. (Mehmeti-Göpel & Wand state 2 for the layer, hence k₀ = 4.)

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1 (He initialization, σ²(0) = 2); He et al.
    (2015).
    """
    check_positive(n_in, "n_in")
    return _out(2.0 * check_positive(n_out, "n_out"))


# ========================================================================== closed forms
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
    beta = _check_wd(weight_decay)
    x = 4.0 * beta * t
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)  # (1 - e^-x)/x
    return _out(np.sqrt(w0 * w0 * np.exp(-x) + 2.0 * lr * c * c * t * phi))


def continuous_elr(c, lr, t, *, w0_sq=1.0):
    r"""E(t) = c/σ²(t) in the continuous model: increasing in c at every t (no flip).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eqs. 6–7; Sec. 3.4.
    """
    return _out(np.asarray(c, float) / np.asarray(continuous_weight_sq(c, lr, t, w0_sq=w0_sq)))


def elr_ratio_sq(c_l, c_k, lr, t, *, k0=1.0):
    r"""Eq. 10: :math:`E_\ell^2/E_k^2 = \frac{c_\ell^2(2\lambda c_k^2 t + k_0)}{c_k^2(2\lambda c_\ell^2 t + k_0)} \to 1`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4, eq. 10.
    """
    c_l = as_float_array(c_l, "c_l", allow_inf=False)
    c_k = as_float_array(c_k, "c_k", allow_inf=False)
    lr = check_positive(lr, "lr")
    t = as_float_array(t, "t", allow_inf=False)
    k0 = check_positive(k0, "k0")
    return _out(c_l ** 2 * (2 * lr * c_k ** 2 * t + k0) / (c_k ** 2 * (2 * lr * c_l ** 2 * t + k0)))


def gradient_ratio_sq(c_l, c_k, lr, t, *, k0=1.0):
    r"""Eq. 33: :math:`\frac{\|\nabla W_\ell\|^2}{\|\nabla W_k\|^2}(t)
    = \frac{c_\ell^2\sqrt{2\lambda c_k^2 t + k_0}}{c_k^2\sqrt{2\lambda c_\ell^2 t + k_0}}`
    (squared gradient norm c²/σ²). It starts at c_ℓ²/c_k² and tends to
    :func:`gradient_ratio_sq_limit` = c_ℓ/c_k.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.3, eq. 33.
    """
    c_l = as_float_array(c_l, "c_l", allow_inf=False)
    c_k = as_float_array(c_k, "c_k", allow_inf=False)
    lr = check_positive(lr, "lr")
    t = as_float_array(t, "t", allow_inf=False)
    k0 = check_positive(k0, "k0")
    return _out(c_l ** 2 * np.sqrt(2 * lr * c_k ** 2 * t + k0)
                / (c_k ** 2 * np.sqrt(2 * lr * c_l ** 2 * t + k0)))


def gradient_ratio_sq_limit(c_l, c_k):
    r"""t → ∞ limit of eq. 33: :math:`c_\ell/c_k` (the square root of the initial ratio
    c_ℓ²/c_k²). The paper prints :math:`\sqrt{c_\ell/c_k}`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.3, eqs. 33–34.
    """
    return _out(as_float_array(c_l, "c_l") / as_float_array(c_k, "c_k"))


def stability_bound(c, w_sq):
    r"""Largest stable step of the explicit Euler (= gradient descent) step for eq. 6
    (Appendix A.1, eqs. 22–25): :math:`|1 - \lambda^2 c^2/\sigma^4| \le 1 \iff
    \lambda \le \sqrt2\,\sigma^2/c`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.1, eqs. 22–25.
    """
    return _out(math.sqrt(2.0) * check_positive(w_sq, "w_sq") / check_positive(c, "c"))


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
    return _out(math.sqrt(2.0) * check_positive(w0_sq, "w0_sq") * np.exp(-L * np.log(rate)))


def spread(elr, axis=-1):
    """Std over layers (population, ddof = 0): the paper's ELR spread Std_ℓ(E_ℓ).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4 (the ELR spread Std(E_k)).
    """
    return _out(np.std(np.asarray(elr, float), axis=axis))


# ======================================================================= direct routes
def discrete_weight_sq(c, lr, steps, *, w0_sq=1.0, weight_decay=0.0):
    r"""Eq. 4 iterated, with coupled weight decay β (W ← W − λ(g + βW), g ⊥ W):

    .. math:: s_{k+1} = (1 - \lambda_k\beta)^2 s_k + \frac{\lambda_k^2 c^2}{s_k}

    (β = 0 is eq. 4). Returns s of shape ``(steps + 1,) + c.shape``. ``lr`` is a float or a
    sequence of ``steps`` rates.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4.
    """
    c = as_float_array(c, "c", allow_inf=False)
    steps = _check_steps(steps)
    lrs = np.broadcast_to(_check_lr_array(lr), (steps,))
    beta = _check_wd(weight_decay)
    s = np.empty((steps + 1,) + c.shape)
    s[0] = check_positive(w0_sq, "w0_sq")
    for k in range(steps):
        s[k + 1] = (1.0 - lrs[k] * beta) ** 2 * s[k] + lrs[k] ** 2 * c * c / s[k]
    return s


def momentum_weight_sq(c, lr, steps, momentum, *, w0_sq=1.0, weight_decay=0.0):
    r"""The momentum model as the loop of Appendix A.2 (constant λ, heavy ball, buf₀ = ĝ₀).

    1. :math:`\|\hat g_k\|^2 = c^2/\|w_k\|^2` (eq. 27);
    2. :math:`\|g_k\|^2 = \sum_{i=0}^k \mu^{2(k-i)}\|\hat g_i\|^2` (eq. 29);
    3. :math:`\|w_{k+1}\|^2 = \|w_0\|^2 + \lambda^2\sum_{j=0}^k
       \bigl(\tfrac{1-\mu^{k+1-j}}{1-\mu}\bigr)^2 \|\hat g_j\|^2` (eq. 32),

    with the history of :math:`\|\hat g_j\|^2` stored in a table, as the paper describes.

    With weight decay β > 0 the buffer b_k = μ b_{k−1} + ĝ_k + β w_k has a component along
    the weights and eqs. 29/32 no longer apply; the model is then the exact recursion of the
    Gram matrix of (w, b) (A = ‖w‖², B = ⟨w, b⟩, C = ‖b‖², every new gradient orthogonal to
    both, as in Appendix A.2):

    .. math::
        C' = \mu^2 C + 2\mu\beta B + \beta^2 A + c^2/A,\quad
        B' = \mu B + \beta A - \lambda C',\quad
        A' = A - 2\lambda(\mu B + \beta A) + \lambda^2 C'.

    Returns ``(weight_sq, grad_sq, buffer_sq)`` of shapes ``(steps+1,) + c.shape`` (the last
    two: gradient and buffer at each step; buffer_sq[steps] is the buffer that step would use).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.2, eqs. 27–32.
    """
    c = as_float_array(c, "c", allow_inf=False)
    steps = _check_steps(steps)
    lr = float(check_positive(lr, "lr"))
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    beta = _check_wd(weight_decay)
    w = np.empty((steps + 1,) + c.shape)
    gh = np.empty_like(w)
    buf = np.empty_like(w)
    w[0] = check_positive(w0_sq, "w0_sq")
    if beta > 0:
        st = momentum_state(c, lr, steps, mu, w0_sq=w0_sq, weight_decay=beta)
        C = st["buffer_sq"]
        buf = np.empty_like(w)
        buf[:-1] = C[1:]
        B = st["weight_buffer_dot"][steps]
        buf[steps] = (mu * mu * C[steps] + 2 * mu * beta * B + beta * beta * st["weight_sq"][steps]
                      + st["grad_sq"][steps])
        return st["weight_sq"], st["grad_sq"], buf
    j = np.arange(steps + 1)
    for k in range(steps + 1):
        gh[k] = c * c / w[k]
        buf[k] = np.tensordot(mu ** (2.0 * (k - j[:k + 1])), gh[:k + 1], axes=(0, 0))
        if k < steps:
            coef = ((1.0 - mu ** (k + 1 - j[:k + 1])) / (1.0 - mu)) ** 2
            w[k + 1] = w[0] + lr * lr * np.tensordot(coef, gh[:k + 1], axes=(0, 0))
    return w, gh, buf


def momentum_state(c, lr, steps, momentum, *, w0_sq=1.0, weight_decay=0.0):
    r"""The heavy-ball model as the recursion of the Gram matrix of (w_k, b_{k−1}).

    With A = ‖w‖², B = ⟨w, b⟩, C = ‖b‖² and every new gradient (norm² c²/A) orthogonal to
    w and b (Appendix A.2's assumption), one step b ← μb + g + βw, w ← w − λb is

    .. math::
        C' = \mu^2 C + 2\mu\beta B + \beta^2 A + c^2/A,\quad
        A' = A - 2\lambda(\mu B + \beta A) + \lambda^2 C',\quad
        B' = \mu B + \beta A - \lambda C'

    (buf₀ = d₀, PyTorch's first step). Returns a dict of arrays ``(steps + 1,) + c.shape``:
    ``weight_sq`` (A_k), ``grad_sq`` (c²/A_k), ``buffer_sq`` and ``weight_buffer_dot``
    (C and B of the buffer *before* step k: the state :func:`critical_lr` takes).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.2, eqs. 27–32 (β = 0).
    """
    c = as_float_array(c, "c", allow_inf=False)
    steps = _check_steps(steps)
    lam = float(check_positive(lr, "lr"))
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    beta = _check_wd(weight_decay)
    A = np.empty((steps + 1,) + c.shape)
    Bs = np.zeros_like(A)
    Cs = np.zeros_like(A)
    A[0] = check_positive(w0_sq, "w0_sq")
    B = np.zeros(c.shape)
    C = np.zeros(c.shape)
    for k in range(steps):
        Ak = A[k]
        C = mu * mu * C + 2 * mu * beta * B + beta * beta * Ak + c * c / Ak
        Bw = mu * B + beta * Ak
        A[k + 1] = Ak - 2 * lam * Bw + lam * lam * C
        B = Bw - lam * C
        Bs[k + 1], Cs[k + 1] = B, C
    return {"weight_sq": A, "grad_sq": c * c / A, "buffer_sq": Cs, "weight_buffer_dot": Bs}


# ============================================================================ simulation
@dataclass(frozen=True)
class ELRTrajectory:
    """Result of :func:`simulate`. Arrays have shape ``batch + (time, L)``.

    Attributes
    ----------
    weight_sq : ‖W_k‖², k = 0..steps (after the max-norm rescaling, if any: the weights at
        which gradient k is evaluated).
    grad_sq : ‖∇Ŵ_k‖² = c²/‖W_k‖², the raw gradient, k = 0..steps.
    direction_sq : ‖m_k‖², the direction the step scales (momentum buffer, or the gradient
        after weight decay and the rule's factor), k = 0..steps−1.
    update_sq : ‖ΔW_k‖², k = 0..steps−1.
    step_size : the per-layer step size η_k of the rule, k = 0..steps−1.
    lr : the schedule's γ_k, shape ``batch + (steps,)``.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Sec. 3.4; Appendix A.2, eqs. 27–32.
    """

    weight_sq: np.ndarray
    grad_sq: np.ndarray
    direction_sq: np.ndarray
    update_sq: np.ndarray
    step_size: np.ndarray
    lr: np.ndarray

    @property
    def steps(self) -> int:
        return self.update_sq.shape[-2]

    @property
    def elr(self) -> np.ndarray:
        """E_k = ‖∇Ŵ_k‖/‖W_k‖ (Sec. 3.4) of the raw gradient, k = 0..steps."""
        return np.sqrt(self.grad_sq / self.weight_sq)

    @property
    def mean(self) -> np.ndarray:
        """Mean_ℓ(E_ℓ) per step, shape ``batch + (steps+1,)``."""
        return self.elr.mean(axis=-1)

    @property
    def spread(self) -> np.ndarray:
        """Std_ℓ(E_ℓ) per step (ddof = 0), the paper's ELR spread."""
        return self.elr.std(axis=-1)

    @property
    def relative_update(self) -> np.ndarray:
        """‖ΔW_k‖/‖W_k‖, the step actually taken relative to the weights (= λ_k E_k for plain
        SGD), k = 0..steps−1."""
        return np.sqrt(self.update_sq / self.weight_sq[..., :-1, :])

    @property
    def direction_elr(self) -> np.ndarray:
        """‖m_k‖/‖W_k‖: the ELR with the momentum buffer in place of the gradient."""
        return np.sqrt(self.direction_sq / self.weight_sq[..., :-1, :])


def simulate(c, lr, steps, *, w0_sq=1.0, momentum=0.0, weight_decay=0.0,
             rule: LayerRule | None = None, optimizer: Optimizer | None = None,
             engine: str = "auto") -> ELRTrajectory:
    r"""Run the ELR model (Mehmeti-Göpel & Wand eq. 4; momentum: Appendix A.2) for any
    profile, schedule and layer-wise optimizer, with or without weight decay.

    Each layer ℓ has weights W_ℓ with ‖W_ℓ(0)‖² = ``w0_sq``; at step k its raw gradient has
    norm :math:`c_\ell/\|W_\ell(k)\|` (eq. 27) and is orthogonal to W_ℓ(0) and to all earlier
    gradients (the assumption of Appendix A.2; for plain SGD only eq. 2 is needed). The
    optimizer then moves the weights exactly as :class:`gradexp.optim.Optimizer` moves real
    arrays. For plain SGD with coupled weight decay β this is
    :math:`s_{k+1} = (1-\lambda_k\beta)^2 s_k + \lambda_k^2 c^2/s_k` (eq. 4 for β = 0);
    with momentum it is eqs. 29 and 32 (β = 0) or the Gram recursion of
    :func:`momentum_weight_sq`.

    Parameters
    ----------
    c : array_like, shape ``batch + (L,)``
        Base gradients :math:`c_\ell = \|\nabla W_\ell(0)\|\,\|W_\ell(0)\|` (> 0), e.g.
        :func:`plain_profile` (with ``w0_sq = 1``). Leading axes are independent configurations.
    lr : float, Schedule, StateSchedule, callable or array
        γ_k ≥ 0: constant, a :class:`gradexp.optim.Schedule` or callable ``k -> γ_k``, a
        sequence of ``steps`` rates, an array ``(..., steps)`` with one schedule per
        configuration, or a :class:`gradexp.optim.StateSchedule` (e.g.
        :class:`gradexp.optim.EqualizingWarmup`) that reads the current norms every step.
    steps : int
        Number of updates (≥ 0).
    w0_sq : float or array broadcasting to c
        Initial ‖W‖² (1 in the paper's Figure 1; see :func:`he_weight_sq`).
    momentum : float
        Heavy-ball momentum μ (shortcut for ``Optimizer(momentum=μ)``).
    weight_decay : float
        Coupled L2 weight decay β ≥ 0 (shortcut for ``Optimizer(weight_decay=β)``).
    rule : LayerRule, optional
        Layer-wise rule (shortcut for ``Optimizer(rule=rule, momentum=momentum)``).
    optimizer : Optimizer, optional
        Full specification; excludes ``rule``, ``momentum`` and ``weight_decay``.
    engine : ``"auto"`` (default): the recursion directly for plain SGD (no momentum or
        rescaling, any weight decay), else ``"rotating"`` (O(1) per step); ``"full"`` keeps
        one coordinate per gradient (O(steps) per step; the tests' independent route).

    Returns
    -------
    ELRTrajectory

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix A.2, eqs. 27–32.

    Examples
    --------
    >>> tr = simulate([1.0, 100.0], 0.1, 1)
    >>> [round(float(x), 6) for x in tr.weight_sq[1]]   # 1 + λ²c²
    [1.01, 101.0]
    >>> [round(float(x), 6) for x in tr.elr[1]]   # E = c/s: the layers flip
    [0.990099, 0.990099]
    >>> tr = simulate([3.0], 0.1, 1, weight_decay=0.5)   # (1 - λβ)² s + λ²c²/s
    >>> bool(np.isclose(tr.weight_sq[1, 0], 0.95 ** 2 + 0.09))
    True
    """
    c = check_positive(c, "c")
    if c.ndim == 0:
        c = c[None]
    if c.shape[-1] == 0 or c.size == 0:
        raise ValueError("c must not be empty (at least one layer)")
    steps = _check_steps(steps)
    w0 = np.broadcast_to(check_positive(w0_sq, "w0_sq"), c.shape).astype(float)
    beta = _check_wd(weight_decay)
    if optimizer is None:
        optimizer = Optimizer(rule=SGD() if rule is None else rule, momentum=momentum,
                              weight_decay=beta)
    elif (rule is not None or beta != 0.0
          or (not callable(momentum) and float(momentum) != 0.0)):
        raise ValueError("pass either optimizer or rule/momentum/weight_decay, not both")
    if engine not in ("auto", "rotating", "full"):
        raise ValueError(f"engine must be 'auto', 'rotating' or 'full', got {engine!r}")
    batch = c.shape[:-1]
    L = c.shape[-1]
    adaptive = isinstance(lr, StateSchedule)
    if adaptive:
        lrs = np.empty(batch + (steps,))
    else:
        lrs = _check_lr_array(np.array(schedule_values(lr, steps, batch), dtype=float))
    if engine == "auto":
        plain = (type(optimizer.rule) is SGD and not optimizer.has_memory
                 and not optimizer.rescale_max_norm and optimizer.form == "heavy_ball"
                 and not optimizer.lr_in_momentum)
        if plain:
            return _simulate_sgd(c, lr if adaptive else lrs, steps, w0,
                                 float(optimizer.weight_decay))
        engine = "rotating"

    D = 3 if engine == "rotating" else steps + 1
    w = np.zeros(batch + (L, D))
    w[..., 0] = np.sqrt(w0)
    state = optimizer.init_state(w)
    weight_sq = np.empty(batch + (steps + 1, L))
    direction_sq = np.empty(batch + (steps, L))
    update_sq = np.empty(batch + (steps, L))
    step_size = np.empty(batch + (steps, L))
    for k in range(steps + 1):
        w = optimizer.prepare(w)
        s = np.sum(w * w, axis=-1)
        weight_sq[..., k, :] = s
        if k == steps:
            break
        if adaptive:
            lrs[..., k] = _check_lr_array(lr.rate(k, s, c * c / s))
        gcol = 2 if engine == "rotating" else k + 1
        g = np.zeros_like(w)
        g[..., gcol] = c / np.sqrt(s)
        w, state, info = optimizer.step(w, g, state, lr=lrs[..., k][..., None], gw_dot=0.0)
        direction_sq[..., k, :] = np.asarray(info["direction_norm"]) ** 2
        update_sq[..., k, :] = np.asarray(info["update_norm"]) ** 2
        step_size[..., k, :] = np.broadcast_to(info["step_size"], batch + (L,))
        if engine == "rotating":
            w, state = _rotate(w, state)
    grad_sq = c[..., None, :] ** 2 / weight_sq
    return ELRTrajectory(weight_sq=weight_sq, grad_sq=grad_sq, direction_sq=direction_sq,
                         update_sq=update_sq, step_size=step_size, lr=lrs)


def _simulate_sgd(c, lr, steps, w0, beta) -> ELRTrajectory:
    """Plain SGD: eq. 4 with coupled weight decay, vectorised over configurations and layers
    (``lr`` an array ``batch + (steps,)`` or a StateSchedule)."""
    batch, L = c.shape[:-1], c.shape[-1]
    adaptive = isinstance(lr, StateSchedule)
    lrs = np.empty(batch + (steps,)) if adaptive else lr
    s = np.empty(batch + (steps + 1, L))
    s[..., 0, :] = w0
    c2 = c * c
    for k in range(steps):
        sk = s[..., k, :]
        if adaptive:
            lrs[..., k] = _check_lr_array(lr.rate(k, sk, c2 / sk))
        lam = lrs[..., k, None]
        s[..., k + 1, :] = (1.0 - lam * beta) ** 2 * sk + lam ** 2 * c2 / sk
    grad_sq = c2[..., None, :] / s
    lr_b = np.broadcast_to(lrs[..., :, None], batch + (steps, L))
    direction_sq = grad_sq[..., :-1, :] + beta * beta * s[..., :-1, :]
    return ELRTrajectory(weight_sq=s, grad_sq=grad_sq, direction_sq=direction_sq,
                         update_sq=lr_b ** 2 * direction_sq, step_size=lr_b.copy(), lr=lrs)


def _rotate(w, state):
    """Rotate (w, p) — p the buffer or look-ahead vector — into the first two coordinates.

    Only inner products of w and p enter the optimizer, so an orthogonal change of
    coordinates (Gram–Schmidt on w, p) leaves the dynamics unchanged and frees coordinate 2
    for the next gradient, which is orthogonal to both.
    """
    p = state.buffer if state.buffer is not None else state.lookahead
    a = np.sqrt(np.sum(w * w, axis=-1))
    safe = np.where(a > 0, a, 1.0)
    e1 = np.where((a > 0)[..., None], w / safe[..., None], _unit(w.shape, 0))
    w_new = np.zeros_like(w)
    w_new[..., 0] = a
    if p is None:
        return w_new, state
    p = np.broadcast_to(p, w.shape)
    p1 = np.sum(p * e1, axis=-1)
    rest = p - p1[..., None] * e1
    p2 = np.sqrt(np.sum(rest * rest, axis=-1))
    p_new = np.zeros_like(w)
    p_new[..., 0] = p1
    p_new[..., 1] = p2
    if state.buffer is not None:
        return w_new, type(state)(step=state.step, buffer=p_new, lookahead=state.lookahead)
    return w_new, type(state)(step=state.step, buffer=None, lookahead=p_new)


def _unit(shape, i):
    e = np.zeros(shape)
    e[..., i] = 1.0
    return e


def _check_depth(depth) -> int:
    L = int(depth)
    if L != depth or L < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    return L


def _check_steps(steps) -> int:
    if isinstance(steps, bool):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    try:
        ok = int(steps) == steps
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"steps must be an integer, got {steps!r}") from None
    if not ok or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def _check_wd(weight_decay) -> float:
    """Coupled weight decay β: a finite real ≥ 0."""
    return check_real(weight_decay, "weight_decay", lo=0.0)


def _check_lr_array(lr) -> np.ndarray:
    """Learning rates: finite and ≥ 0."""
    a = as_float_array(lr, "lr", allow_inf=False)
    if (a < 0).any():
        raise ValueError(f"lr must be >= 0, got {a[a < 0].ravel()[0]!r}")
    return a


# ===================================================== beyond the early phase (issue 12)
def _check_lr(lr, name="lr") -> np.ndarray:
    a = as_float_array(lr, name, allow_inf=False)
    if (a <= 0).any():
        raise ValueError(f"{name} must be > 0, got {a[a <= 0].ravel()[0]!r}")
    return a


def _check_wd_array(weight_decay, *, positive=False) -> np.ndarray:
    b = as_float_array(weight_decay, "weight_decay", allow_inf=False)
    if (b < 0).any() or (positive and (b <= 0).any()):
        op = ">" if positive else ">="
        raise ValueError(f"weight_decay must be {op} 0, got {b.ravel()[np.argmin(b.ravel())]!r}")
    return b


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
    lam = _check_lr(lr)
    beta = _check_wd_array(weight_decay, positive=True)
    mu = check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False))
    x = lam * beta
    if (x >= 2.0 * (1.0 + mu)).any():
        raise ValueError("lr * weight_decay must be < 2 (1 + momentum) for a fixed point")
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
    lam = _check_lr(lr)
    beta = _check_wd_array(weight_decay, positive=True)
    mu = check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False))
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
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 with weight decay; the contraction is derived in
    gradexp.
    """
    lam = _check_lr(lr)
    beta = _check_wd_array(weight_decay)
    return _out(2.0 * (1.0 - lam * beta) ** 2 - 1.0)


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
    lam = _check_lr(lr)
    beta = _check_wd_array(weight_decay, positive=True)
    w0 = check_positive(w0_sq, "w0_sq")
    r = float(check_interval(rtol, "rtol", 0.0, 1.0, closed=(False, False)))
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
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4, eq. 10 and Appendix A.3, eqs. 33–34 (corrected limit).
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


def log_spread(elr, axis=-1):
    r"""S = ln(max_ℓ E_ℓ / min_ℓ E_ℓ): the scale-free spread of the ELRs (0 when equal).
    Unlike Std_ℓ(E_ℓ) it is the same for E and for the relative update λE.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4 (the ELR spread; this scale-free form is gradexp's).
    """
    e = np.asarray(elr, float)
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
    lam = np.asarray(lr, float)
    return _out(1.0 - 2.0 * lam * p + lam * lam * Q)


def _pq(A, G, C, B, momentum, weight_decay):
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    beta = _check_wd(weight_decay)
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
    return _out(1.0 / np.sqrt(e.max(axis=axis) * e.min(axis=axis)))


def saturation_orbit(v0, steps):
    r"""Iterate the universal saturation map :math:`v_{k+1} = v_k + 2 + 1/v_k`,
    v = 1/(λE)², for ``steps`` steps (elementwise over v0; returns v at the end).

    Eq. 4 at constant λ gives 1/E'² = 1/E² + 2λ² + λ⁴E², i.e. this map: every layer follows
    the same orbit, only its starting point v₀ = s₀²/(λc)² differs. A few starting points
    are iterated with Python floats (10⁷ steps in a few seconds, no numba); more as numpy
    arrays.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 at constant λ; Appendix B.1.
    """
    v = check_positive(v0, "v0").astype(float)
    steps = _check_steps(steps)
    if v.size <= 4:
        out = []
        for x in v.ravel().tolist():
            for _ in range(steps):
                x = x + 2.0 + 1.0 / x
            out.append(x)
        return np.array(out).reshape(v.shape)
    v = v.copy()
    for _ in range(steps):
        v += 2.0 + 1.0 / v
    return v


def recovery_steps_exact(c, lr, c_ref, *, w0_sq=1.0, rtol=0.01, max_steps=10**7):
    """The first step k with ``|E(c)/E(c_ref) − 1| ≤ rtol``, by iterating eq. 4 (in the variable
    v of :func:`saturation_orbit`) with Python floats; scalars only; None beyond
    ``max_steps``. The reference :func:`recovery_steps` is checked against.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix B.1 ('saturated layers ... can never
    recover').
    """
    c = float(check_positive(c, "c"))
    cr = float(check_positive(c_ref, "c_ref"))
    lam = float(_check_lr(lr))
    s0 = float(check_positive(w0_sq, "w0_sq"))
    r = float(check_interval(rtol, "rtol", 0.0, 1.0, closed=(False, False)))
    max_steps = _check_steps(max_steps)
    v, vr = (s0 / (lam * c)) ** 2, (s0 / (lam * cr)) ** 2
    lo2, hi2 = (1.0 - r) ** 2, (1.0 + r) ** 2
    for k in range(max_steps + 1):
        q = vr / v
        if lo2 <= q <= hi2:
            return k
        v = v + 2.0 + 1.0 / v
        vr = vr + 2.0 + 1.0 / vr
    return None


def _orbit_closed(v0, k):
    """v_k ≈ v0 + 2k + ½ ln(1 + 2k/v0) (the sum of 1/v_j by its integral); v0 ≥ 1."""
    return v0 + 2.0 * k + 0.5 * np.log1p(2.0 * k / v0)


def recovery_steps(c, lr, c_ref, *, w0_sq=1.0, rtol=0.01):
    r"""Steps until a layer's ELR is within ``rtol`` of a reference layer's, constant λ.

    With v = 1/(λE)² both layers follow :func:`saturation_orbit`, v' = v + 2 + 1/v, from
    v₀ = s₀²/(λc)². After the first step v ≥ 4 and the map is increasing, so the order is
    kept and the ratio E/E_ref = √(v_ref/v) moves monotonically to 1; with
    :math:`v_k \approx v_1 + 2(k-1) + \tfrac12\ln(1 + 2(k-1)/v_1)` the condition
    ``|√(v_ref/v) − 1| ≤ r`` is solved for k (bisection on the closed form). A layer that
    *saturates* (λE₀ ≫ 1, flipped to E₁ ≈ 1/(λ²E₀)) has v₁ ≈ (λc/s₀)², hence

    .. math:: k_{\rm rec} \approx \frac{(1-r)^2 v_1 - v_{1,\rm ref}}{2r(2-r)}
              \approx \frac{\lambda^2 c^2}{4 r s_0^2}:

    finite, but 10⁸–10¹² steps for the profiles of deep plain networks: the seed's "never
    recover" holds on any practical horizon. Returns the step index (counted from step 0, 0
    if the ELRs start within rtol); :func:`recovery_steps_exact` iterates the model instead
    (the tests find the two within a few steps of each other up to 10⁷ steps).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 ('saturated layers ... can never recover').
    """
    c = check_positive(c, "c")
    cr = check_positive(c_ref, "c_ref")
    lam = _check_lr(lr)
    s0 = check_positive(w0_sq, "w0_sq")
    r = float(check_interval(rtol, "rtol", 0.0, 1.0, closed=(False, False)))
    v0 = (s0 / (lam * c)) ** 2
    vr0 = (s0 / (lam * cr)) ** 2
    v1 = v0 + 2.0 + 1.0 / v0
    vr1 = vr0 + 2.0 + 1.0 / vr0
    v1, vr1 = np.broadcast_arrays(v1, vr1)

    def ok(k):
        v, vr = _orbit_closed(v1, k), _orbit_closed(vr1, k)
        return np.abs(np.sqrt(vr / v) - 1.0) <= r

    hi = np.ones(v1.shape)
    for _ in range(200):
        bad = ~ok(hi)
        if not bad.any():
            break
        hi = np.where(bad, hi * 2.0, hi)
    lo = np.zeros(v1.shape)
    lo = np.where(ok(lo), -1.0, lo)  # already within after step 1
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        good = ok(mid)
        hi = np.where(good & (lo >= 0), mid, hi)
        lo = np.where(~good & (lo >= 0), mid, lo)
    k = np.where(lo < 0, 0.0, np.ceil(hi)) + 1.0
    at0 = np.abs(np.sqrt(np.broadcast_to(vr0, k.shape) / np.broadcast_to(v0, k.shape)) - 1.0) <= r
    return _out(np.where(at0, 0.0, k))
