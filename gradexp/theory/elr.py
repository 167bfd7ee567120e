r"""The effective-learning-rate (ELR) model of Mehmeti-Göpel & Wand (``002_dd5754da8201044e.txt``).

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..gaussian import _out, as_float_array, check_interval, check_positive
from ..optim import SGD, LayerRule, Optimizer, schedule_values
from .explosion import YANG_RATE

__all__ = [
    "ELRTrajectory", "simulate", "discrete_weight_sq", "momentum_weight_sq",
    "continuous_weight_sq", "continuous_elr", "plain_profile", "residual_profile",
    "residual_rate", "base_gradient", "elr_ratio_sq", "gradient_ratio_sq",
    "gradient_ratio_sq_limit", "stability_bound", "stability_bound_at_init", "he_weight_sq",
    "spread", "YANG_RATE",
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
    multiplies the norm by α^{s−1} and then averages α·(α^{s−1} g) with g."""
    s = int(skip)
    if s != skip or s < 1:
        raise ValueError(f"skip must be a positive integer, got {skip!r}")
    return float(((1.0 + rate ** s) / 2.0) ** (1.0 / s))


def base_gradient(grad_norm, w0_sq=1.0):
    r"""The model's constant :math:`c = \|\nabla W(0)\|\,\|W(0)\|` (gradient norm c/‖W‖)."""
    g = as_float_array(grad_norm, "grad_norm", allow_inf=False)
    w = check_positive(w0_sq, "w0_sq")
    return _out(g * np.sqrt(w))


def he_weight_sq(n_in, n_out):
    r"""Expected squared Frobenius norm of an ``n_out × n_in`` He-initialised weight matrix,
    :math:`E\|W\|_F^2 = n_{out} n_{in} \cdot 2/n_{in} = 2 n_{out}`; one unit's (row's) squared
    norm has expectation 2. (Mehmeti-Göpel & Wand state 2 for the layer, hence k₀ = 4.)"""
    check_positive(n_in, "n_in")
    return _out(2.0 * check_positive(n_out, "n_out"))


# ========================================================================== closed forms
def continuous_weight_sq(c, lr, t, *, w0_sq=1.0):
    r"""The continuous model (eqs. 6–7): the positive solution of
    :math:`d\sigma^2/dt = \lambda c^2/\sigma^2` with :math:`\sigma^2(0) = \|W(0)\|^2`,

    .. math:: \sigma^2(t) = \sqrt{2\lambda c^2 t + k_0}, \qquad k_0 = \|W(0)\|^4,

    in the paper's time t = kλ. It is the *modified equation* of the discrete model at fixed
    λ: the exact gradient flow conserves ‖W‖ (eq. 2), and eq. 6 keeps the O(λ) term. The
    discrete model satisfies :math:`s_k^2 = k_0 + 2\lambda^2c^2k + \sum_{j<k}\lambda^4c^4/s_j^2`,
    so the two agree to relative order :math:`\lambda^2c^2/k_0^{1/2}`.

    Examples
    --------
    >>> continuous_weight_sq(1.0, 0.5, 0.0, w0_sq=2.0)
    2.0
    """
    c = as_float_array(c, "c", allow_inf=False)
    lr = check_positive(lr, "lr")
    t = as_float_array(t, "t", allow_inf=False)
    if (t < 0).any():
        raise ValueError("t must be >= 0")
    w0 = check_positive(w0_sq, "w0_sq")
    return _out(np.sqrt(2.0 * lr * c * c * t + w0 * w0))


def continuous_elr(c, lr, t, *, w0_sq=1.0):
    r"""E(t) = c/σ²(t) in the continuous model: increasing in c at every t (no flip)."""
    return _out(np.asarray(c, float) / np.asarray(continuous_weight_sq(c, lr, t, w0_sq=w0_sq)))


def elr_ratio_sq(c_l, c_k, lr, t, *, k0=1.0):
    r"""Eq. 10: :math:`E_\ell^2/E_k^2 = \frac{c_\ell^2(2\lambda c_k^2 t + k_0)}{c_k^2(2\lambda c_\ell^2 t + k_0)} \to 1`."""
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
    :func:`gradient_ratio_sq_limit` = c_ℓ/c_k."""
    c_l = as_float_array(c_l, "c_l", allow_inf=False)
    c_k = as_float_array(c_k, "c_k", allow_inf=False)
    lr = check_positive(lr, "lr")
    t = as_float_array(t, "t", allow_inf=False)
    k0 = check_positive(k0, "k0")
    return _out(c_l ** 2 * np.sqrt(2 * lr * c_k ** 2 * t + k0)
                / (c_k ** 2 * np.sqrt(2 * lr * c_l ** 2 * t + k0)))


def gradient_ratio_sq_limit(c_l, c_k):
    r"""t → ∞ limit of eq. 33: :math:`c_\ell/c_k` (the square root of the initial ratio
    c_ℓ²/c_k²). The paper prints :math:`\sqrt{c_\ell/c_k}`."""
    return _out(as_float_array(c_l, "c_l") / as_float_array(c_k, "c_k"))


def stability_bound(c, w_sq):
    r"""Largest stable step of the explicit Euler (= gradient descent) step for eq. 6
    (Appendix A.1, eqs. 22–25): :math:`|1 - \lambda^2 c^2/\sigma^4| \le 1 \iff
    \lambda \le \sqrt2\,\sigma^2/c`."""
    return _out(math.sqrt(2.0) * check_positive(w_sq, "w_sq") / check_positive(c, "c"))


def stability_bound_at_init(depth, *, rate=YANG_RATE, w0_sq=2.0):
    r"""Eq. 26: :math:`\lambda \ll 2\sqrt2\,\alpha^{-L}` for σ²(0) = 2 and c = α^L.

    >>> round(stability_bound_at_init(50) / 1e-4, 3)   # the paper quotes 3e-5
    1.955
    """
    L = as_float_array(depth, "depth", allow_inf=False)
    if (L < 1).any():
        raise ValueError("depth must be >= 1")
    check_positive(rate, "rate")
    return _out(math.sqrt(2.0) * check_positive(w0_sq, "w0_sq") * np.exp(-L * np.log(rate)))


def spread(elr, axis=-1):
    """Std over layers (population, ddof = 0): the paper's ELR spread Std_ℓ(E_ℓ)."""
    return _out(np.std(np.asarray(elr, float), axis=axis))


# ======================================================================= direct routes
def discrete_weight_sq(c, lr, steps, *, w0_sq=1.0):
    r"""Eq. 4 iterated: :math:`s_{k+1} = s_k + \lambda_k^2 c^2/s_k`; returns s of shape
    ``(steps + 1,) + c.shape``. ``lr`` is a float or a sequence of ``steps`` rates."""
    c = as_float_array(c, "c", allow_inf=False)
    steps = _check_steps(steps)
    lrs = np.broadcast_to(as_float_array(lr, "lr", allow_inf=False), (steps,))
    s = np.empty((steps + 1,) + c.shape)
    s[0] = check_positive(w0_sq, "w0_sq")
    for k in range(steps):
        s[k + 1] = s[k] + lrs[k] ** 2 * c * c / s[k]
    return s


def momentum_weight_sq(c, lr, steps, momentum, *, w0_sq=1.0):
    r"""The momentum model as the loop of Appendix A.2 (constant λ, heavy ball, buf₀ = ĝ₀).

    1. :math:`\|\hat g_k\|^2 = c^2/\|w_k\|^2` (eq. 27);
    2. :math:`\|g_k\|^2 = \sum_{i=0}^k \mu^{2(k-i)}\|\hat g_i\|^2` (eq. 29);
    3. :math:`\|w_{k+1}\|^2 = \|w_0\|^2 + \lambda^2\sum_{j=0}^k
       \bigl(\tfrac{1-\mu^{k+1-j}}{1-\mu}\bigr)^2 \|\hat g_j\|^2` (eq. 32),

    with the history of :math:`\|\hat g_j\|^2` stored in a table, as the paper describes.
    Returns ``(weight_sq, grad_sq, buffer_sq)`` of shapes ``(steps+1,) + c.shape`` (the last
    two: gradient and buffer at each step; buffer_sq[steps] is the buffer that step would use).
    """
    c = as_float_array(c, "c", allow_inf=False)
    steps = _check_steps(steps)
    lr = float(check_positive(lr, "lr"))
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    w = np.empty((steps + 1,) + c.shape)
    gh = np.empty_like(w)
    buf = np.empty_like(w)
    w[0] = check_positive(w0_sq, "w0_sq")
    j = np.arange(steps + 1)
    for k in range(steps + 1):
        gh[k] = c * c / w[k]
        buf[k] = np.tensordot(mu ** (2.0 * (k - j[:k + 1])), gh[:k + 1], axes=(0, 0))
        if k < steps:
            coef = ((1.0 - mu ** (k + 1 - j[:k + 1])) / (1.0 - mu)) ** 2
            w[k + 1] = w[0] + lr * lr * np.tensordot(coef, gh[:k + 1], axes=(0, 0))
    return w, gh, buf


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


def simulate(c, lr, steps, *, w0_sq=1.0, momentum=0.0, rule: LayerRule | None = None,
             optimizer: Optimizer | None = None, engine: str = "auto") -> ELRTrajectory:
    r"""Run the ELR model (Mehmeti-Göpel & Wand eq. 4; momentum: Appendix A.2) for any
    profile, schedule and layer-wise optimizer.

    Each layer ℓ has weights W_ℓ with ‖W_ℓ(0)‖² = ``w0_sq``; at step k its raw gradient has
    norm :math:`c_\ell/\|W_\ell(k)\|` (eq. 27) and is orthogonal to W_ℓ(0) and to all earlier
    gradients (the assumption of Appendix A.2; for plain SGD only eq. 2 is needed). The
    optimizer then moves the weights exactly as :class:`gradexp.optim.Optimizer` moves real
    arrays. For plain SGD this is eq. 4, :math:`s_{k+1} = s_k + \lambda_k^2 c^2/s_k`; with
    momentum it is eqs. 29 and 32.

    Parameters
    ----------
    c : array_like, shape ``batch + (L,)``
        Base gradients :math:`c_\ell = \|\nabla W_\ell(0)\|\,\|W_\ell(0)\|` (> 0), e.g.
        :func:`plain_profile` (with ``w0_sq = 1``). Leading axes are independent configurations.
    lr : float, Schedule, callable or array
        γ_k: constant, a :class:`gradexp.optim.Schedule` or callable ``k -> γ_k``, a sequence
        of ``steps`` rates, or an array ``(..., steps)`` with one schedule per configuration.
    steps : int
        Number of updates.
    w0_sq : float or array broadcasting to c
        Initial ‖W‖² (1 in the paper's Figure 1; see :func:`he_weight_sq`).
    momentum : float
        Heavy-ball momentum μ (shortcut for ``Optimizer(momentum=μ)``).
    rule : LayerRule, optional
        Layer-wise rule (shortcut for ``Optimizer(rule=rule, momentum=momentum)``).
    optimizer : Optimizer, optional
        Full specification; excludes ``rule`` and ``momentum``.
    engine : ``"auto"`` (default): eq. 4 directly for plain SGD (no momentum, weight decay or
        rescaling), else ``"rotating"`` (O(1) per step); ``"full"`` keeps one coordinate per
        gradient (O(steps) per step; the tests' independent route).

    Returns
    -------
    ELRTrajectory

    Examples
    --------
    >>> tr = simulate([1.0, 100.0], 0.1, 1)
    >>> [round(float(x), 6) for x in tr.weight_sq[1]]   # 1 + λ²c²
    [1.01, 101.0]
    >>> [round(float(x), 6) for x in tr.elr[1]]   # E = c/s: the layers flip
    [0.990099, 0.990099]
    """
    c = check_positive(c, "c")
    if c.ndim == 0:
        c = c[None]
    steps = _check_steps(steps)
    w0 = np.broadcast_to(check_positive(w0_sq, "w0_sq"), c.shape).astype(float)
    if optimizer is None:
        optimizer = Optimizer(rule=SGD() if rule is None else rule, momentum=momentum)
    elif rule is not None or (not callable(momentum) and float(momentum) != 0.0):
        raise ValueError("pass either optimizer or rule/momentum, not both")
    if engine not in ("auto", "rotating", "full"):
        raise ValueError(f"engine must be 'auto', 'rotating' or 'full', got {engine!r}")
    batch = c.shape[:-1]
    L = c.shape[-1]
    lrs = np.array(schedule_values(lr, steps, batch), dtype=float)
    if engine == "auto":
        plain = (type(optimizer.rule) is SGD and not optimizer.has_memory
                 and float(optimizer.weight_decay) == 0.0 and not optimizer.rescale_max_norm
                 and optimizer.form == "heavy_ball")
        if plain:
            return _simulate_eq4(c, lrs, steps, w0)
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


def _simulate_eq4(c, lrs, steps, w0) -> ELRTrajectory:
    """Plain SGD: eq. 4 itself, vectorised over configurations and layers."""
    batch, L = c.shape[:-1], c.shape[-1]
    s = np.empty(batch + (steps + 1, L))
    s[..., 0, :] = w0
    c2 = c * c
    for k in range(steps):
        s[..., k + 1, :] = s[..., k, :] + lrs[..., k, None] ** 2 * c2 / s[..., k, :]
    grad_sq = c2[..., None, :] / s
    lr_b = np.broadcast_to(lrs[..., :, None], batch + (steps, L))
    return ELRTrajectory(weight_sq=s, grad_sq=grad_sq, direction_sq=grad_sq[..., :-1, :].copy(),
                         update_sq=lr_b ** 2 * grad_sq[..., :-1, :], step_size=lr_b.copy(), lr=lrs)


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
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    return int(steps)
