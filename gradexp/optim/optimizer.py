r"""The layer-wise optimizer: base SGD (heavy ball, Nesterov or the TVLARS forms) plus a rule.

:class:`Optimizer` works on arrays of any batch shape, one layer per index of the axis before
the parameter axes; it never modifies its inputs (:class:`OptimizerState` is immutable). The
same object drives the toy trainer (:mod:`gradexp.mc.training`, real arrays) and the ELR model
(:func:`gradexp.theory.elr.simulate`, 3-d coordinate vectors).

References
----------
Paik & Choi [paik-choi-v2], Sec. 3, Table 1 and Algorithm 1; Do et al., TVLARS [do-tvlars],
eq. 2 and Algorithm 1; Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 14 and Appendix A.2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import (
    check_bool,
    check_choice,
    check_int,
    check_interval,
    check_nonnegative,
)
from .rules import SGD, LayerRule

__all__ = ["Optimizer", "OptimizerState"]

FIRST_STEPS = ("copy", "zero", "listing_000")
FORMS = ("heavy_ball", "tvlars_printed", "tvlars_nesterov")


@dataclass(frozen=True)
class OptimizerState:
    """Optimizer state (immutable: every step returns a new instance).

    References
    ----------
    Paik & Choi [paik-choi-v2], Algorithm 1 (momentum buffer of the base optimizer f); Mehmeti-Göpel &
    Wand [mehmeti-gopel-wand], Appendix A.2.
    """

    step: int = 0
    buffer: Any = None  # momentum buffer (heavy ball)
    lookahead: Any = None  # m_t of TVLARS Algorithm 1 (nesterov form)


@dataclass(frozen=True)
class Optimizer:
    r"""A layer-wise optimizer: base SGD (momentum) plus a :class:`LayerRule`.

    Works on arrays of shape ``batch + (L,) + param_shape`` where ``param_ndim =
    len(param_shape)`` trailing axes form one layer (one config × layer per leading index);
    for unit-wise rules the norms run over the last axis only (rows = units).

    Heavy-ball step (``form="heavy_ball"``, ``torch.optim.SGD`` semantics by default)::

        d   = g + β w                                    (coupled weight decay)
        d   = rule(1, ...) · d        if rule.apply_to == "gradient"
        d   = γ_t d                   if lr_in_momentum (You et al. 2017 LARS)
        buf = d  (first step)  |  μ buf + (1 − dampening) d
        m   = d + μ buf if nesterov else buf
        ΔW  = rule(γ_t, ‖w‖, ‖m‖) m   if rule.apply_to == "update"
            = γ_t m                   otherwise (= m if lr_in_momentum)

    ``first_step``: ``"copy"`` (buf₀ = d₀, PyTorch and the LALC listing of ``paik-choi-v1``),
    ``"zero"`` (buf₀ = (1 − dampening) d₀), ``"listing_000"`` (buf₀ = (1 + μ − dampening) d₀:
    the momentum update applied to the copied buffer, as printed in the listing of
    ``paik-choi-v2``).

    Every field is checked when the optimizer is built: ``rule`` a :class:`LayerRule`,
    ``momentum`` in [0, 1) or a callable ``k -> μ_k``, ``dampening`` in [0, 1],
    ``weight_decay`` finite and >= 0, the flags booleans, ``first_step`` and ``form`` among
    their choices; :meth:`step` checks ``lr`` (finite, >= 0), ``param_ndim`` and the shapes.

    ``form="tvlars_printed"``: TVLARS Algorithm 1 lines 7–8 as printed,
    m_{t+1} = w_t − γ g, w_{t+1} = m_{t+1} + μ(m_{t+1} − w_t) = w_t − (1 + μ)γ g (no memory).
    ``form="tvlars_nesterov"``: the same with m_t in place of w_t in line 8 (Sutskever's
    Nesterov form), which does carry momentum.

    ``rescale_max_norm``: Mehmeti-Göpel & Wand's companion of eq. 14, dividing every layer's
    weights by max_ℓ ‖W_ℓ‖ before each step (:meth:`prepare`). Scale invariance makes this
    leave the network function unchanged.

    Which parameters a rule adapts (implementations commonly exclude biases and normalization
    parameters from LARS/LAMB) is decided by what the caller passes in: the optimizer acts on
    the arrays it is given, e.g. the ToyNet applies it to the scale-invariant hidden layers and
    trains its read-out with plain SGD.

    References
    ----------
    Paik & Choi [paik-choi-v2], Sec. 3, Table 1 and Algorithm 1; Do et al., TVLARS [do-tvlars], eq. 2 and
    Algorithm 1; Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 14.
    """

    rule: LayerRule = field(default_factory=SGD)
    momentum: Any = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    first_step: str = "copy"
    lr_in_momentum: bool = False
    rescale_max_norm: bool = False
    form: str = "heavy_ball"

    def __post_init__(self):
        if not isinstance(self.rule, LayerRule):
            raise TypeError(f"rule must be a LayerRule, got {self.rule!r}")
        check_choice(self.first_step, "first_step", FIRST_STEPS)
        check_choice(self.form, "form", FORMS)
        for flag in ("nesterov", "lr_in_momentum", "rescale_max_norm"):
            check_bool(getattr(self, flag), flag)
        if self.form != "heavy_ball" and self.rule.apply_to != "gradient":
            raise ValueError(f"form={self.form!r} (a TVLARS form) needs a rule acting on the "
                             "gradient (rule.apply_to='gradient')")
        if (self.lr_in_momentum and self.rule.apply_to == "update"
                and not isinstance(self.rule, SGD)):
            raise ValueError("lr_in_momentum needs a rule acting on the gradient (or SGD)")
        if not callable(self.momentum):
            check_interval(self.momentum, "momentum", 0.0, 1.0, closed=(True, False))
        check_interval(self.dampening, "dampening", 0.0, 1.0)
        check_nonnegative(self.weight_decay, "weight_decay")

    # ------------------------------------------------------------------ helpers
    @property
    def has_memory(self) -> bool:
        """True when the update depends on earlier gradients (momentum or nesterov form)."""
        if self.form == "tvlars_nesterov":
            return True
        if self.form == "tvlars_printed":
            return False
        return callable(self.momentum) or float(self.momentum) != 0.0

    def momentum_at(self, k) -> float:
        """μ at step ``k`` (a callable momentum is checked to return a value in [0, 1))."""
        if not callable(self.momentum):
            return float(self.momentum)
        return float(check_interval(self.momentum(k), "momentum (its value at step k)", 0.0, 1.0,
                                    closed=(True, False)))

    def init_state(self, w=None) -> OptimizerState:
        return OptimizerState(step=0, buffer=None,
                              lookahead=None if w is None else np.array(w, dtype=float))

    def prepare(self, w, *, param_ndim: int = 1):
        """Weights to evaluate the gradient at: ``w / max_ℓ ‖w_ℓ‖`` when ``rescale_max_norm``
        (a new array; the input is not modified), else ``w`` itself."""
        if not self.rescale_max_norm:
            return w
        w = np.asarray(w, float)
        norms = _norms(w, param_ndim)
        m = norms.max(axis=-1, keepdims=True)
        return w / _expand(np.where(m > 0, m, 1.0), param_ndim)

    # ------------------------------------------------------------------ the step
    def step(self, w, g, state: OptimizerState, *, lr, param_ndim: int = 1,
             per_sample_norm=None, gw_dot=None):
        """One update. Returns ``(w_new, state_new, info)``; inputs are not modified.

        Parameters
        ----------
        w, g : arrays of shape ``batch + (L,) + param_shape``.
        state : from :meth:`init_state` or the previous step.
        lr : γ_t, a float or an array broadcasting to ``batch + (L,)``.
        per_sample_norm : mean per-sample gradient norm (CLARS), shape ``batch + (L,)``.
        gw_dot : ⟨g, w⟩ per layer; computed from the arrays when None.

        ``info`` holds ``step_size`` (the per-layer η, shape ``batch + (L,)`` or per unit),
        ``direction_norm`` (‖m‖) and ``update_norm`` (‖ΔW‖).
        """
        param_ndim = check_int(param_ndim, "param_ndim", lo=1)
        w = np.asarray(w, float)
        g = np.asarray(g, float)
        if w.shape != g.shape or w.ndim < param_ndim + 1:
            raise ValueError(f"w and g must have the same shape batch + (L,) + param_shape with "
                             f"{param_ndim} parameter axes; got {w.shape} and {g.shape}")
        lr = check_nonnegative(lr, "lr")
        ctx = _StepContext.make(self, w, g, state, lr, param_ndim, per_sample_norm, gw_dot)
        return _UPDATE_FORMS[self.form](self, ctx, state)


@dataclass(frozen=True)
class _StepContext:
    """What every update form needs: arrays, per-layer norms and the rule's keyword args."""

    w: Any
    g: Any
    d: Any  # the (weight-decayed) gradient g + β w
    lr: Any  # γ_t broadcast against w
    mu: float
    param_ndim: int
    unit: bool
    w_norm: Any
    kw: dict

    @staticmethod
    def make(opt, w, g, state, lr, param_ndim, per_sample_norm, gw_dot):
        unit = opt.rule.unitwise and param_ndim > 1
        beta = float(opt.weight_decay)
        if gw_dot is None:
            dot = _inner(g, w, param_ndim, unit)
        else:
            dot = _expand(np.asarray(gw_dot, float), param_ndim)
        psn = None if per_sample_norm is None else _expand(np.asarray(per_sample_norm, float),
                                                           param_ndim)
        kw = dict(g_norm=np.sqrt(_inner(g, g, param_ndim, unit)), t=state.step,
                  weight_decay=beta, gw_dot=dot, per_sample_norm=psn)
        return _StepContext(w=w, g=g, d=g + beta * w if beta else g,
                            lr=_expand(np.asarray(lr, float), param_ndim),
                            mu=opt.momentum_at(state.step), param_ndim=param_ndim, unit=unit,
                            w_norm=np.sqrt(_inner(w, w, param_ndim, unit)), kw=kw)

    def norms(self, x):
        """Norms of ``x`` per layer (per unit for unit-wise rules), broadcasting against w."""
        return np.sqrt(_inner(x, x, self.param_ndim, self.unit))

    def info(self, eta, direction_norm, delta):
        return dict(step_size=_squeeze(eta, self.param_ndim, self.unit),
                    direction_norm=_squeeze(direction_norm, self.param_ndim, self.unit),
                    update_norm=_norms(delta, self.param_ndim))


def _heavy_ball_buffer(opt, d, state, mu):
    """The momentum buffer after this step (None without momentum), ``first_step`` semantics."""
    if mu == 0.0 and not callable(opt.momentum):
        return None
    if state.buffer is None:
        if opt.first_step == "copy":
            return d
        if opt.first_step == "zero":
            return (1.0 - opt.dampening) * d
        return (1.0 + mu - opt.dampening) * d
    return mu * state.buffer + (1.0 - opt.dampening) * d


def _step_heavy_ball(opt, ctx, state):
    """Heavy ball / Nesterov (torch.optim.SGD semantics) with the rule on the gradient
    (before the buffer) or on the update (after it); see :class:`Optimizer`."""
    rule = opt.rule
    d = ctx.d
    factor = 1.0
    if rule.apply_to == "gradient" and not isinstance(rule, SGD):
        factor = rule.step_size(1.0, ctx.w_norm, ctx.norms(d), **ctx.kw)
        d = factor * d
    if opt.lr_in_momentum:
        d = ctx.lr * d
    buf = _heavy_ball_buffer(opt, d, state, ctx.mu)
    if buf is None:
        m = d
    else:
        m = d + ctx.mu * buf if opt.nesterov else buf
    m_n = ctx.norms(m)
    if rule.apply_to == "update" and not isinstance(rule, SGD):
        eta = rule.step_size(ctx.lr, ctx.w_norm, m_n, **ctx.kw)
        delta = eta * m
    else:
        delta = m if opt.lr_in_momentum else ctx.lr * m
        eta = ctx.lr * np.asarray(factor) * np.ones_like(ctx.w_norm)
    return ctx.w - delta, OptimizerState(step=state.step + 1, buffer=buf), ctx.info(eta, m_n, delta)


def _step_tvlars_printed(opt, ctx, state):
    """TVLARS Algorithm 1 lines 7–8 as printed: w' = w − (1 + μ) η d (no memory)."""
    d_n = ctx.norms(ctx.d)
    eta = opt.rule.step_size(ctx.lr, ctx.w_norm, d_n, **ctx.kw)
    delta = (1.0 + ctx.mu) * eta * ctx.d
    return ctx.w - delta, OptimizerState(step=state.step + 1), ctx.info(eta, d_n, delta)


def _step_tvlars_nesterov(opt, ctx, state):
    """Lines 7–8 with the look-ahead m_t in line 8 (Sutskever's Nesterov form)."""
    d_n = ctx.norms(ctx.d)
    eta = opt.rule.step_size(ctx.lr, ctx.w_norm, d_n, **ctx.kw)
    prev = ctx.w if state.lookahead is None else state.lookahead
    m_new = ctx.w - eta * ctx.d
    w_new = m_new + ctx.mu * (m_new - prev)
    return (w_new, OptimizerState(step=state.step + 1, lookahead=m_new),
            ctx.info(eta, d_n, ctx.w - w_new))


#: the update forms of :class:`Optimizer`, one function each
_UPDATE_FORMS = {"heavy_ball": _step_heavy_ball, "tvlars_printed": _step_tvlars_printed,
                 "tvlars_nesterov": _step_tvlars_nesterov}


def _norms(x, param_ndim):
    """Per-layer Frobenius norms: over the last ``param_ndim`` axes."""
    axes = tuple(range(x.ndim - param_ndim, x.ndim))
    return np.sqrt(np.sum(x * x, axis=axes))


def _inner(x, y, param_ndim, unit):
    """⟨x, y⟩ per unit (last axis, kept) or per layer (last ``param_ndim`` axes, as singletons)."""
    if unit:
        return np.sum(x * y, axis=-1, keepdims=True)
    axes = tuple(range(x.ndim - param_ndim, x.ndim))
    return np.sum(x * y, axis=axes, keepdims=True)


def _expand(a, param_ndim):
    """Append ``param_ndim`` singleton axes so a per-layer array broadcasts against w."""
    a = np.asarray(a, float)
    return a.reshape(a.shape + (1,) * param_ndim) if a.ndim else a


def _squeeze(a, param_ndim, unit):
    a = np.asarray(a, float)
    if a.ndim == 0:
        return a
    if unit:
        return a[..., 0]
    return a.reshape(a.shape[:a.ndim - param_ndim]) if a.ndim >= param_ndim else a
