r"""The ELR model for any depth, profile, schedule and layer-wise optimizer: :func:`simulate`.

Under the model's orthogonality assumption (every new gradient orthogonal to the initial
weights and to all earlier gradients, Appendix A.2) the optimizer's vectors live in a space
where only their Gram matrix matters; the simulation runs the *same*
:class:`gradexp.optim.Optimizer` on 3-d coordinate vectors and rotates them back after every
step, which is exact and costs O(1) per step.

Before allocating, :func:`simulate` estimates its memory from steps × layers ×
configurations and refuses (one ValueError naming the arguments and the estimate) what
does not fit; divergent regimes end in one :class:`~gradexp.theory.elr.ELRDivergenceWarning`.

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Sec. 3.4; Appendix A.2, eqs. 27–32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..._memory import check_trajectory_memory
from ..._validate import check_choice, check_int, check_nonnegative, check_positive, check_real
from ...optim import SGD, LayerRule, Optimizer, StateSchedule, schedule_values
from .divergence import report_divergence, weight_decay_stability_limit

__all__ = ["ELRTrajectory", "simulate"]

# float64 arrays of size (steps + 1) × layers × configurations that simulate keeps (the
# trajectory and temporaries; the "full" engine's coordinate vectors have steps + 1 entries)
_ARRAYS = {"sgd": 7.0, "rotating": 7.0, "full": 16.0}


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
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN after a divergence
            return np.sqrt(self.grad_sq / self.weight_sq)

    @property
    def mean(self) -> np.ndarray:
        """Mean_ℓ(E_ℓ) per step, shape ``batch + (steps+1,)``."""
        with np.errstate(invalid="ignore"):
            return self.elr.mean(axis=-1)

    @property
    def spread(self) -> np.ndarray:
        """Std_ℓ(E_ℓ) per step (ddof = 0), the paper's ELR spread."""
        with np.errstate(invalid="ignore"):
            return self.elr.std(axis=-1)

    @property
    def relative_update(self) -> np.ndarray:
        """‖ΔW_k‖/‖W_k‖, the step actually taken relative to the weights (= λ_k E_k for plain
        SGD), k = 0..steps−1."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(self.update_sq / self.weight_sq[..., :-1, :])

    @property
    def direction_elr(self) -> np.ndarray:
        """‖m_k‖/‖W_k‖: the ELR with the momentum buffer in place of the gradient."""
        with np.errstate(invalid="ignore", divide="ignore"):
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

    Raises
    ------
    ValueError
        For a bad argument (named), or when the trajectory's arrays, about
        ``8 × 7 × (steps + 1) × L × configurations`` bytes (16 arrays for
        ``engine="full"``), exceed the available memory (``MemAvailable``): checked before
        anything is allocated.

    Warns
    -----
    ELRDivergenceWarning
        Once per call, in words, when the run enters a divergent regime: λ_k β at or above
        :func:`~gradexp.theory.elr.weight_decay_stability_limit` (plain SGD or heavy ball:
        2(1 + μ)), where the model has no fixed point and ‖W‖² grows, or a step that
        overflows float64 (e.g. ``lr=1e200``); from that step on the values are inf or NaN.
        No numpy RuntimeWarning escapes.

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
    steps = check_int(steps, "steps", lo=0)
    w0 = np.broadcast_to(check_positive(w0_sq, "w0_sq"), c.shape).astype(float)
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a gradexp.optim.Optimizer, got {optimizer!r}")
    if optimizer is None:
        optimizer = Optimizer(rule=SGD() if rule is None else rule, momentum=momentum,
                              weight_decay=beta)
    elif (rule is not None or beta != 0.0
          or (not callable(momentum) and float(momentum) != 0.0)):
        raise ValueError("pass either optimizer or rule/momentum/weight_decay, not both")
    check_choice(engine, "engine", ("auto", "rotating", "full"))
    batch = c.shape[:-1]
    L = c.shape[-1]
    plain = (type(optimizer.rule) is SGD and not optimizer.has_memory
             and not optimizer.rescale_max_norm and optimizer.form == "heavy_ball"
             and not optimizer.lr_in_momentum)
    if engine == "auto":
        engine = "sgd" if plain else "rotating"
    check_trajectory_memory(
        f"simulate(steps={steps}, c of shape {c.shape}, engine={engine!r})", steps=steps,
        layers=L, configs=math.prod(batch), arrays=_ARRAYS[engine])
    adaptive = isinstance(lr, StateSchedule)
    if adaptive:
        lrs = np.empty(batch + (steps,))
    else:
        lrs = check_nonnegative(np.array(schedule_values(lr, steps, batch), dtype=float), "lr")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if engine == "sgd":
            tr = _simulate_sgd(c, lr if adaptive else lrs, steps, w0, float(optimizer.weight_decay))
        else:
            tr = _simulate_optimizer(c, lr, lrs, steps, w0, optimizer, engine)
    report_divergence("simulate", tr.weight_sq, lrs=tr.lr, weight_decay=float(optimizer.weight_decay),
                      limit=_stability_limit(optimizer))
    return tr


def _stability_limit(opt: Optimizer):
    """The λβ limit of :func:`weight_decay_stability_limit` for plain SGD and heavy ball with
    a constant momentum; None for the layer-wise rules and other forms (no closed form)."""
    if (type(opt.rule) is not SGD or opt.form != "heavy_ball" or opt.rescale_max_norm
            or opt.lr_in_momentum or callable(opt.momentum)):
        return None
    return weight_decay_stability_limit(float(opt.momentum), nesterov=opt.nesterov,
                                        dampening=opt.dampening)


def _state_rate(lr, k, s, c2):
    """The rate a StateSchedule sets at step k (checked while the state is finite)."""
    r = np.asarray(lr.rate(k, s, c2 / s), float)
    return check_nonnegative(r, "lr (the rate of the StateSchedule)") if np.isfinite(s).all() else r


def _simulate_optimizer(c, lr, lrs, steps, w0, optimizer, engine) -> ELRTrajectory:
    """Any optimizer on coordinate vectors: 3 per layer (``"rotating"``) or one per gradient
    (``"full"``)."""
    batch, L = c.shape[:-1], c.shape[-1]
    adaptive = isinstance(lr, StateSchedule)
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
            lrs[..., k] = _state_rate(lr, k, s, c * c)
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
            lrs[..., k] = _state_rate(lr, k, sk, c2)
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
