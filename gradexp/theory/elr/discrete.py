r"""Direct transcriptions of the discrete ELR model: eq. 4 iterated (with coupled weight
decay), the momentum loop of Appendix A.2 (eqs. 27, 29, 32) and the heavy-ball Gram
recursion. These are the independent routes the tests compare :func:`~gradexp.theory.elr.simulate` with.

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix A.2, eqs. 27–32.
"""

from __future__ import annotations

import numpy as np

from ..._memory import check_trajectory_memory
from ..._validate import (
    as_float_array,
    check_int,
    check_interval,
    check_nonnegative,
    check_positive,
    check_real,
)
from .divergence import report_divergence, weight_decay_stability_limit

__all__ = ["discrete_weight_sq", "momentum_weight_sq", "momentum_state"]


def discrete_weight_sq(c, lr, steps, *, w0_sq=1.0, weight_decay=0.0):
    r"""Eq. 4 iterated, with coupled weight decay β (W ← W − λ(g + βW), g ⊥ W):

    .. math:: s_{k+1} = (1 - \lambda_k\beta)^2 s_k + \frac{\lambda_k^2 c^2}{s_k}

    (β = 0 is eq. 4). Returns s of shape ``(steps + 1,) + c.shape``. ``lr`` is a float or a
    sequence of ``steps`` rates. Memory is checked before allocating, and a divergent regime
    (λβ >= 2, or an overflowing step) gives one
    :class:`~gradexp.theory.elr.ELRDivergenceWarning`, as in :func:`~gradexp.theory.elr.simulate`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4.
    """
    c = as_float_array(c, "c", allow_inf=False)
    steps = check_int(steps, "steps", lo=0)
    lr = check_nonnegative(lr, "lr")
    if lr.ndim > 1 or (lr.ndim == 1 and lr.size != steps):
        raise ValueError(f"lr must be a float or a sequence of steps = {steps} rates, "
                         f"got shape {lr.shape}")
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    w0 = check_positive(w0_sq, "w0_sq")
    check_trajectory_memory(f"discrete_weight_sq(steps={steps}, c of shape {c.shape})",
                            steps=steps, layers=max(c.size, 1), arrays=2.0)
    lrs = np.broadcast_to(lr, (steps,))
    s = np.empty((steps + 1,) + c.shape)
    s[0] = w0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for k in range(steps):
            s[k + 1] = (1.0 - lrs[k] * beta) ** 2 * s[k] + lrs[k] ** 2 * c * c / s[k]
    report_divergence("discrete_weight_sq", s, lrs=lrs, weight_decay=beta,
                      limit=weight_decay_stability_limit(), step_axis=0)
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
    steps = check_int(steps, "steps", lo=0)
    lr = float(check_positive(lr, "lr"))
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    check_trajectory_memory(f"momentum_weight_sq(steps={steps}, c of shape {c.shape})",
                            steps=steps, layers=max(c.size, 1), arrays=8.0)
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
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for k in range(steps + 1):
            gh[k] = c * c / w[k]
            buf[k] = np.tensordot(mu ** (2.0 * (k - j[:k + 1])), gh[:k + 1], axes=(0, 0))
            if k < steps:
                coef = ((1.0 - mu ** (k + 1 - j[:k + 1])) / (1.0 - mu)) ** 2
                w[k + 1] = w[0] + lr * lr * np.tensordot(coef, gh[:k + 1], axes=(0, 0))
    report_divergence("momentum_weight_sq", w, lrs=np.full(min(steps, 1), lr), step_axis=0)
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
    (C and B of the buffer *before* step k: the state :func:`critical_lr` takes). Memory is
    checked before allocating; λβ >= 2(1 + μ) or an overflowing step gives one
    :class:`~gradexp.theory.elr.ELRDivergenceWarning`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix A.2, eqs. 27–32 (β = 0).
    """
    c = as_float_array(c, "c", allow_inf=False)
    steps = check_int(steps, "steps", lo=0)
    lam = float(check_positive(lr, "lr"))
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    w0 = check_positive(w0_sq, "w0_sq")
    check_trajectory_memory(f"momentum_state(steps={steps}, c of shape {c.shape})",
                            steps=steps, layers=max(c.size, 1), arrays=5.0)
    A = np.empty((steps + 1,) + c.shape)
    Bs = np.zeros_like(A)
    Cs = np.zeros_like(A)
    A[0] = w0
    B = np.zeros(c.shape)
    C = np.zeros(c.shape)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for k in range(steps):
            Ak = A[k]
            C = mu * mu * C + 2 * mu * beta * B + beta * beta * Ak + c * c / Ak
            Bw = mu * B + beta * Ak
            A[k + 1] = Ak - 2 * lam * Bw + lam * lam * C
            B = Bw - lam * C
            Bs[k + 1], Cs[k + 1] = B, C
        grad_sq = c * c / A
    report_divergence("momentum_state", A, lrs=np.full(min(steps, 1), lam), weight_decay=beta,
                      limit=weight_decay_stability_limit(mu), step_axis=0)
    return {"weight_sq": A, "grad_sq": grad_sq, "buffer_sq": Cs, "weight_buffer_dot": Bs}
