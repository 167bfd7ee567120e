r"""Learning-rate schedules and layer-wise update rules, written once on norms.

Everything here is pure numpy: a rule never modifies its inputs, it maps *norms* (of the
weights, of the gradient, of the update direction) to a per-layer step size, and the same
code drives the effective-learning-rate model (:mod:`gradexp.elr`, which only knows norms)
and the toy trainer (:mod:`gradexp.mc.training`, which has real arrays).

Schedules
---------
:class:`Constant`, :class:`WarmupCosine` (Goyal et al. linear warm-up then cosine; the form
printed as TVLARS eq. 4 is available as ``form="tvlars_printed"``), :class:`OneCycle`
(``torch.optim.lr_scheduler.OneCycleLR`` semantics), :class:`PolynomialDecay`,
:class:`StepDecay`, :class:`TVLARSSchedule` and the TVLARS factor :func:`tvlars_phi`
(Do et al., eq. 8) with its derivative (eq. 10) and bounds (eqs. 9, 12–14).

Layer-wise rules
----------------
Each rule is a pure function of norms (``lars_ratio``, ``lamb_trust_ratio``, ...) and a
small frozen dataclass (:class:`LARS`, :class:`LAMB`, ...) that an :class:`Optimizer` applies.
A rule's :meth:`LayerRule.step_size` returns the per-layer (or per-unit) step size
:math:`\eta_\ell` such that the update is :math:`\Delta W_\ell = -\eta_\ell\, d_\ell`, where
:math:`d_\ell` is the direction the rule acts on:

* ``apply_to="update"``: the output :math:`m_t` of the base optimizer (momentum buffer);
  this is how Table 1 of Paik & Choi writes every rule;
* ``apply_to="gradient"``: the (weight-decayed) gradient, *before* the momentum buffer
  (You et al. 2017 LARS, Brock et al. 2021 AGC, Mehmeti-Göpel & Wand eq. 14, TVLARS
  Algorithm 1). The rule's factor is then ``step_size(1.0, ...)`` and the learning rate is
  applied by the optimizer.

=========================  ==============================================================  =========
rule                        step size η_ℓ (defaults are the paper's choices)                 acts on
=========================  ==============================================================  =========
:class:`SGD`                γ_t                                                              update
:class:`LARS`               γ_t η‖w‖ / (‖g‖ + β‖w‖ + ε)   (You 2017; 000/001 Table 1)       gradient
:class:`LAMB`               γ_t φ(‖w‖) / (‖m‖ + ε)        (You 2019 trust ratio)             update
:class:`LAMBC`              γ_t min(φ(‖w‖)/(‖m‖ + ε), μ)  (Fong 2020, μ = 1)                 update
:class:`CLARS`              γ_t η‖w‖ / (mean_b ‖m_b‖ + ε) (Huo 2021; Table 1)                update
:class:`AGC`                γ_t min(η max(‖w_u‖, ε)/‖g_u‖, 1) per unit u (Brock 2021)         gradient
:class:`LALC`               min(γ_t, 1/(η‖m‖²/‖w‖² + ε))  (Paik & Choi, Algorithm 1)         update
:class:`ELRConstraint`      γ_t E_goal/(E + ε), E = ‖g‖/‖w‖ (Mehmeti-Göpel & Wand eq. 14)  gradient
:class:`TVLARS`             γ_t η φ(t) ‖w‖ / ‖g + βw‖    (Do et al., Algorithm 1 line 6)   gradient
=========================  ==============================================================  =========

Zero norms: every formula above is undefined or degenerate when ‖w‖ = 0 or the direction is
zero. By default (``zero_norm="fallback"``) a rule then returns the plain learning rate γ_t,
which is what the LALC listing (Paik & Choi, Appendix B) and the common LARS/LAMB
implementations do; ``zero_norm="formula"`` evaluates the printed formula literally (giving
0, ∞ or NaN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validate import as_float_array, check_interval, check_positive
from .gaussian import _out

__all__ = [
    # schedules
    "Schedule", "Constant", "ArraySchedule", "WarmupCosine", "OneCycle", "PolynomialDecay",
    "StepDecay", "TVLARSSchedule", "as_schedule", "schedule_values",
    "StateSchedule", "EqualizingWarmup", "LinearWarmup",
    "tvlars_phi", "tvlars_phi_derivative", "tvlars_phi_bounds",
    # pure rule functions on norms
    "lars_ratio", "lamb_trust_ratio", "lambc_trust_ratio", "clars_ratio", "agc_factor",
    "lalc_step_size", "elr_constraint_factor", "decayed_norm",
    # rules and optimizer
    "LayerRule", "SGD", "LARS", "LAMB", "LAMBC", "CLARS", "AGC", "LALC", "ELRConstraint",
    "TVLARS", "Optimizer", "OptimizerState", "RULES",
]


# =============================================================================== schedules
class Schedule:
    """A learning-rate schedule: ``schedule(k)`` is the rate of step ``k = 0, 1, ...``.

    Subclasses implement :meth:`__call__` vectorised over integer (or float) step arrays.
    ``values(n)`` returns the rates of steps ``0 .. n-1``.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 4 (a schedule of the base rate γ_t); Paik & Choi [paik-choi-v2],
    Appendix B.
    """

    def __call__(self, k):  # pragma: no cover - abstract
        raise NotImplementedError

    def values(self, n: int) -> np.ndarray:
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        return np.asarray(self(np.arange(int(n), dtype=float)), dtype=float) * np.ones(int(n))


def _steps(k) -> np.ndarray:
    k = as_float_array(k, "k")
    if (k < 0).any():
        raise ValueError("step k must be >= 0")
    return k


@dataclass(frozen=True)
class Constant(Schedule):
    """γ_k = lr for every step.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 2 with a constant base rate γ_t.
    """

    lr: float

    def __post_init__(self):
        as_float_array(self.lr, "lr", allow_inf=False)

    def __call__(self, k):
        k = _steps(k)
        return _out(np.full(k.shape, float(self.lr)))


@dataclass(frozen=True)
class ArraySchedule(Schedule):
    """γ_k = ``rates[k]``; steps beyond the array repeat its last value.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 2 with the base rate γ_t given per step.
    """

    rates: tuple

    def __call__(self, k):
        k = _steps(k)
        r = np.asarray(self.rates, dtype=float)
        idx = np.minimum(k.astype(int), r.size - 1)
        return _out(r[idx])


@dataclass(frozen=True)
class WarmupCosine(Schedule):
    r"""Linear warm-up to ``peak`` then cosine decay to ``final`` (Goyal et al. 2017;
    Loshchilov & Hutter 2016), the schedule of TVLARS eq. 4 and Paik & Choi's Appendix B.

    .. math::
        \gamma_k = \begin{cases}
            \gamma_0 + (\gamma_{\rm peak}-\gamma_0)\,k/d_{wa}, & k \le d_{wa}\\
            \gamma_{\rm final} + (\gamma_{\rm peak}-\gamma_{\rm final})\,
            \tfrac12\bigl[1+\cos\bigl(\pi\,\tfrac{k-d_{wa}}{T-d_{wa}}\bigr)\bigr],
            & d_{wa} < k \le T\\
            \gamma_{\rm final}, & k > T.
        \end{cases}

    ``warmup_steps=0`` is the plain cosine schedule (no warm-up).

    ``form="tvlars_printed"`` evaluates Do et al.'s eq. 4 *as printed*: the second branch is
    :math:`\tfrac12[1+\cos((k-d_{wa})/(T-d_{wa}))]` without π and without the factor
    :math:`\gamma_{\rm scale}` (so the rate jumps from γ_peak to 1 at d_wa and ends at
    ½(1 + cos 1) ≈ 0.770 instead of 0). The text of the same paper (Sec. VI) uses
    :math:`q = \tfrac12(1+\cos(\pi t/T))`, with π.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 4 (warm-up + cosine); Paik & Choi [paik-choi-v2], Appendix B; Goyal et
    al. (2017); Loshchilov & Hutter (2016).
    """

    peak: float
    total_steps: int
    warmup_steps: int = 0
    start: float = 0.0
    final: float = 0.0
    form: str = "goyal"

    def __post_init__(self):
        check_positive(self.total_steps, "total_steps")
        check_interval(self.warmup_steps, "warmup_steps", 0, self.total_steps)
        if self.form not in ("goyal", "tvlars_printed"):
            raise ValueError(f"form must be 'goyal' or 'tvlars_printed', got {self.form!r}")

    def __call__(self, k):
        k = _steps(k)
        T, w = float(self.total_steps), float(self.warmup_steps)
        with np.errstate(invalid="ignore", divide="ignore"):
            warm = self.start + (self.peak - self.start) * k / max(w, 1.0)
            frac = np.clip((k - w) / max(T - w, 1.0), 0.0, 1.0)
            if self.form == "goyal":
                decay = self.final + (self.peak - self.final) * 0.5 * (1.0 + np.cos(np.pi * frac))
            else:
                decay = 0.5 * (1.0 + np.cos(frac))
        out = np.where(k <= w, warm, decay) if w > 0 else decay
        return _out(np.asarray(out, dtype=float))


@dataclass(frozen=True)
class OneCycle(Schedule):
    r"""The one-cycle policy (Smith & Topin 2019) with ``torch.optim.lr_scheduler.OneCycleLR``
    semantics: from ``max_lr/div_factor`` up to ``max_lr`` over the first
    ``pct_start·total_steps − 1`` steps, then down to ``max_lr/(div_factor·final_div_factor)``
    at step ``total_steps − 1``; cosine (default) or linear annealing.

    Defaults are PyTorch's; Mehmeti-Göpel & Wand (Fig. 17) use ``pct_start=0.1``,
    ``div_factor=10``, ``final_div_factor=1000`` and cycle the momentum between 0.765 and 0.9
    (:meth:`momentum`).

    References
    ----------
    Smith & Topin (2019), one-cycle policy (PyTorch OneCycleLR semantics).
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal: str = "cos"
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def __post_init__(self):
        check_positive(self.total_steps, "total_steps")
        check_interval(self.pct_start, "pct_start", 0.0, 1.0, closed=(False, False))
        check_positive(self.div_factor, "div_factor")
        check_positive(self.final_div_factor, "final_div_factor")
        if self.anneal not in ("cos", "linear"):
            raise ValueError(f"anneal must be 'cos' or 'linear', got {self.anneal!r}")

    def _anneal(self, a, b, pct):
        if self.anneal == "cos":
            return b + (a - b) / 2.0 * (1.0 + np.cos(np.pi * pct))
        return (b - a) * pct + a

    def _phase(self, k, lo, hi, end):
        up_end = float(self.pct_start * self.total_steps) - 1.0
        down_end = float(self.total_steps) - 1.0
        pct_up = np.clip(k / max(up_end, 1e-300), 0.0, 1.0)
        pct_down = np.clip((k - up_end) / max(down_end - up_end, 1e-300), 0.0, 1.0)
        return np.where(k <= up_end, self._anneal(lo, hi, pct_up), self._anneal(hi, end, pct_down))

    def __call__(self, k):
        k = _steps(k)
        initial = self.max_lr / self.div_factor
        return _out(np.asarray(self._phase(k, initial, self.max_lr,
                                           initial / self.final_div_factor), dtype=float))

    def momentum(self) -> Schedule:
        """The momentum cycled inversely to the rate (max → base → max)."""
        parent = self

        class _M(Schedule):
            def __call__(self, k):
                k = _steps(k)
                return _out(np.asarray(parent._phase(k, parent.max_momentum, parent.base_momentum,
                                                     parent.max_momentum), dtype=float))

        return _M()


@dataclass(frozen=True)
class PolynomialDecay(Schedule):
    r"""γ_k = (γ_0 − γ_end)(1 − k/T)^p + γ_end for k ≤ T, γ_end afterwards, optionally after a
    linear warm-up of ``warmup_steps`` (You et al. 2017 use p = 2).

    References
    ----------
    You et al. (2017), LARS, polynomial decay with p = 2.
    """

    lr0: float
    total_steps: int
    power: float = 2.0
    final: float = 0.0
    warmup_steps: int = 0

    def __post_init__(self):
        check_positive(self.total_steps, "total_steps")
        check_positive(self.power, "power")
        check_interval(self.warmup_steps, "warmup_steps", 0, self.total_steps)

    def __call__(self, k):
        k = _steps(k)
        frac = np.clip(k / float(self.total_steps), 0.0, 1.0)
        decay = (self.lr0 - self.final) * (1.0 - frac) ** self.power + self.final
        if self.warmup_steps > 0:
            decay = np.where(k < self.warmup_steps, decay * (k + 1) / self.warmup_steps, decay)
        return _out(np.asarray(decay, dtype=float))


@dataclass(frozen=True)
class StepDecay(Schedule):
    """Multi-step decay: γ_k = γ_0 · gamma^(number of milestones ≤ k).

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 2 with a step-decayed base rate γ_t (PyTorch
    MultiStepLR semantics).
    """

    lr0: float
    milestones: tuple = ()
    gamma: float = 0.1

    def __call__(self, k):
        k = _steps(k)
        n = np.zeros(k.shape)
        for m in self.milestones:
            n = n + (k >= m)
        return _out(self.lr0 * self.gamma ** n)


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
    psi = np.asarray(lam, float) * (t - np.asarray(d_e, float))
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.minimum(psi, 700.0))
        out = -np.asarray(lam, float) * e / (np.asarray(alpha, float) + e) ** 2
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
    check_positive(lam, "lam")
    check_positive(alpha, "alpha")
    d_e = as_float_array(d_e, "d_e", allow_inf=False)
    upper = 1.0 / (np.asarray(alpha, float) + np.exp(-np.asarray(lam, float) * d_e))
    if not as_printed:
        upper = upper + gamma_min
    return _out(np.asarray(gamma_min, dtype=float)), _out(np.asarray(upper, dtype=float))


@dataclass(frozen=True)
class TVLARSSchedule(Schedule):
    """γ_k = ``target_lr`` · φ(k) (Do et al., eq. 8 applied to the target learning rate).

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 8; Algorithm 1.
    """

    target_lr: float
    lam: float
    d_e: float
    alpha: float = 1.0
    gamma_min: float = 0.0

    def __call__(self, k):
        return _out(self.target_lr * np.asarray(
            tvlars_phi(_steps(k), lam=self.lam, d_e=self.d_e, alpha=self.alpha,
                       gamma_min=self.gamma_min)))


class _CallableSchedule(Schedule):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, k):
        k = _steps(k)
        return _out(np.asarray(np.vectorize(lambda x: float(self.fn(x)))(k), dtype=float)
                    if k.ndim else float(self.fn(float(k))))


@dataclass(frozen=True)
class LinearWarmup(Schedule):
    r"""Linear warm-up to ``target`` over ``warmup_steps`` steps, then constant:
    :math:`\gamma_k = \gamma\,\min(1, (k+1)/d_{wa})` (Goyal et al. 2017, without the decay).

    References
    ----------
    Goyal et al. (2017), gradual warm-up; Do et al., TVLARS [do-tvlars], eq. 4 (its warm-up branch).
    """

    target: float
    warmup_steps: int

    def __post_init__(self):
        check_positive(self.target, "target")
        check_positive(self.warmup_steps, "warmup_steps")

    def __call__(self, k):
        k = _steps(k)
        return _out(float(self.target) * np.minimum(1.0, (k + 1.0) / float(self.warmup_steps)))


class StateSchedule:
    """A learning rate that reads the current state: ``rate(k, weight_sq, grad_sq)``.

    ``weight_sq`` and ``grad_sq`` are the per-layer ‖W_ℓ‖² and ‖∇W_ℓ‖² at step k, shape
    ``batch + (L,)``; the result has shape ``batch`` (one rate for all layers). Used by
    :func:`gradexp.elr.simulate` and :func:`gradexp.mc.training.train_toynet`, which call it
    every step; it has no :meth:`Schedule.values` (the rates depend on the trajectory).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.4 and Appendix A.1 ('Warm-up').
    """

    def rate(self, k, weight_sq, grad_sq):  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class EqualizingWarmup(StateSchedule):
    r"""A warm-up without hyperparameters: :math:`\gamma_k = \min(\gamma,\ 1/\sqrt{E_{\max}(k)E_{\min}(k)})`.

    E_ℓ = ‖∇W_ℓ‖/‖W_ℓ‖ are the current ELRs and γ the target rate of the training. The cap
    is :func:`gradexp.elr.equalizing_lr`: in the ELR model (eq. 4) one step at that rate
    maps the extreme layers to the same ELR and the log spread S to ln cosh(S/2) ≤ S/2, so
    the spread falls like S → S²/8 (10 → 0.01 in four steps for a depth-56 profile). Once
    equal, λ = 1/E halves E each step (E ↦ E/(1+λ²E²) = E/2), i.e. the rate doubles per
    step until it reaches γ: the warm-up ends by itself after ~log₂(γE₀) more steps. Nothing
    to tune: no length, no start value. In the model no rate widens the spread in one step
    (:func:`gradexp.elr.critical_lr` is infinite without momentum), so the cap is chosen for
    speed, not stability.

    ``layers``: which layers' ELRs enter (a slice or index array on the last axis; default
    all). The paper's ToyNet plots exclude the first layer (unnormalised input).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.4 and Appendix A.1 ('Warm-up'); derivation in
    :func:`gradexp.elr.equalizing_lr`.
    """

    target: float
    layers: Any = None

    def __post_init__(self):
        check_positive(self.target, "target")

    def rate(self, k, weight_sq, grad_sq):
        w = np.asarray(weight_sq, float)
        g = np.asarray(grad_sq, float)
        if self.layers is not None:
            w, g = w[..., self.layers], g[..., self.layers]
        e = np.sqrt(g / w)
        with np.errstate(divide="ignore"):
            cap = 1.0 / np.sqrt(e.max(axis=-1) * e.min(axis=-1))
        return np.minimum(float(self.target), cap)


def as_schedule(lr) -> Schedule:
    """A :class:`Schedule` from a float (constant), a ``Schedule``, a callable ``k -> lr``, or
    a 1-d sequence of per-step rates.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eqs. 2 and 4 (the base rate γ_t of the layer-wise rules).
    """
    if isinstance(lr, Schedule):
        return lr
    if callable(lr):
        return _CallableSchedule(lr)
    a = np.asarray(lr, dtype=float)
    if a.ndim == 0:
        return Constant(float(a))
    if a.ndim == 1:
        as_float_array(a, "lr")
        return ArraySchedule(tuple(a.tolist()))
    raise ValueError("lr must be a float, a callable or a 1-d sequence")


def schedule_values(lr, steps: int, batch_shape=()) -> np.ndarray:
    """Per-step values of ``lr`` as an array of shape ``batch_shape + (steps,)``.

    ``lr`` may be a float, a :class:`Schedule` or callable (the same for every batch entry),
    a 1-d sequence of per-step rates, or an array of shape ``(..., steps)`` whose leading axes
    broadcast to ``batch_shape`` (one schedule per configuration).

    References
    ----------
    Do et al., TVLARS [do-tvlars], eqs. 2 and 4 (the base rate γ_t of the layer-wise rules).
    """
    steps = int(steps)
    if isinstance(lr, StateSchedule):
        raise TypeError("a StateSchedule has no fixed values: it needs the current norms "
                        "(pass it to elr.simulate or train_toynet)")
    if isinstance(lr, np.ndarray) and lr.ndim >= 2:
        if lr.shape[-1] != steps:
            raise ValueError(f"a {lr.ndim}-d lr array must have last axis of length {steps}")
        a = as_float_array(lr, "lr", allow_inf=False)
        return np.broadcast_to(a, tuple(batch_shape) + (steps,))
    vals = as_schedule(lr).values(steps)
    return np.broadcast_to(vals, tuple(batch_shape) + (steps,))


# ======================================================================= rules on norms
def _fallback(value, bad, fallback, zero_norm):
    if zero_norm == "formula":
        return value
    if zero_norm != "fallback":
        raise ValueError(f"zero_norm must be 'fallback' or 'formula', got {zero_norm!r}")
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
    g = np.asarray(g_norm, float)
    w = np.asarray(w_norm, float)
    if form == "sum":
        return g + weight_decay * w
    if form == "joint":
        return np.sqrt(np.maximum(g * g + 2.0 * weight_decay * np.asarray(gw_dot, float)
                                  + weight_decay ** 2 * w * w, 0.0))
    raise ValueError(f"form must be 'sum' or 'joint', got {form!r}")


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
    w = np.asarray(w_norm, float)
    g = np.asarray(g_norm, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if eps_mode == "weight_floor":
            r = clipping * np.maximum(w, eps) / g
        elif eps_mode == "table1":
            r = clipping * w / (g + eps)
        else:
            raise ValueError(f"eps_mode must be 'weight_floor' or 'table1', got {eps_mode!r}")
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
    Paik & Choi (000, later version), Sec. 4, Algorithm 1; Table 1; Table 2; Appendix B listing.
    """
    w = np.asarray(w_norm, float)
    m = np.asarray(m_norm, float)
    lr = np.asarray(lr, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        local = 1.0 / (eta * (m * m) / (w * w) + eps)
        step = np.minimum(lr, local)
    step = np.where(np.isnan(local), np.nan, step)
    return _out(_fallback(step, (w * m) == 0, lr, zero_norm))


def elr_constraint_factor(w_norm, g_norm, *, e_goal=0.01, eps=1e-5):
    r"""Mehmeti-Göpel & Wand's ELR constraint (eq. 14): the gradient is multiplied by
    :math:`E_{\rm goal}/(E + \epsilon)` with :math:`E = \|\nabla W\|/\|W\|` and ε = 10⁻⁵, so
    that the update's relative size is ≈ λ·E_goal in every layer.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.5, eq. 14.
    """
    w = np.asarray(w_norm, float)
    g = np.asarray(g_norm, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = g / w
    e = np.where(w == 0, 0.0, e)
    return _out(e_goal / (e + eps))


# ============================================================================ rule classes
@dataclass(frozen=True)
class LayerRule:
    """Base class of the layer-wise rules: a pure map from norms to a step size.

    ``step_size(lr, w_norm, m_norm, *, g_norm, t, weight_decay, gw_dot, per_sample_norm)``
    returns η such that ΔW = −η d, where ``d`` is the direction the rule acts on (norm
    ``m_norm``: the momentum buffer for ``apply_to="update"``, the weight-decayed gradient for
    ``apply_to="gradient"``). ``g_norm`` is the norm of the raw minibatch gradient.

    References
    ----------
    Paik & Choi [paik-choi-v2], Sec. 3, Table 1 (layer-wise rules as step sizes).
    """

    apply_to: str = "update"

    #: rules whose norms are taken per output unit (rows of a weight matrix)
    unitwise = False

    def __post_init__(self):
        if self.apply_to not in ("update", "gradient"):
            raise ValueError(f"apply_to must be 'update' or 'gradient', got {self.apply_to!r}")

    @property
    def name(self) -> str:
        return type(self).__name__

    def step_size(self, lr, w_norm, m_norm, *, g_norm=None, t=0, weight_decay=0.0, gw_dot=0.0,
                  per_sample_norm=None):  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class SGD(LayerRule):
    """Plain (momentum) SGD: η = γ_t for every layer.

    References
    ----------
    Paik & Choi [paik-choi-v2], Sec. 2.1 (vanilla gradient descent); Table 1.
    """

    def step_size(self, lr, w_norm, m_norm, **_):
        return np.asarray(lr, float) * np.ones(np.broadcast(np.asarray(w_norm),
                                                            np.asarray(m_norm)).shape)


@dataclass(frozen=True)
class LARS(LayerRule):
    r"""LARS (You et al. 2017): η = γ_t · η_LARS ‖w‖/(‖g‖ + β‖w‖ + ε), applied to the
    weight-decayed gradient before the momentum buffer (``apply_to="gradient"``, You et al.'s
    Algorithm 1). ``ratio_on="update"`` computes the ratio from the direction instead of the raw
    gradient; β is the optimizer's weight decay; ``clip`` caps the ratio (timm's ``trust_clip``
    uses 1; You et al. do not clip).

    References
    ----------
    You et al. (2017) as cited by Do et al., TVLARS [do-tvlars], eq. 2; Paik & Choi [paik-choi-v2], Sec. 3,
    Table 1.
    """

    apply_to: str = "gradient"
    eta: float = 1e-3
    eps: float = 0.0
    decay_form: str = "sum"
    ratio_on: str = "gradient"
    zero_norm: str = "fallback"
    clip: Any = None

    def step_size(self, lr, w_norm, m_norm, *, g_norm=None, weight_decay=0.0, gw_dot=0.0, **_):
        g = m_norm if (self.ratio_on == "update" or g_norm is None) else g_norm
        r = np.asarray(lars_ratio(
            w_norm, g, eta=self.eta, weight_decay=weight_decay, eps=self.eps,
            decay_form=self.decay_form, gw_dot=gw_dot, zero_norm=self.zero_norm), float)
        if self.clip is not None:
            r = np.minimum(r, self.clip)
        return np.asarray(lr, float) * r


@dataclass(frozen=True)
class LAMB(LayerRule):
    """LAMB's trust ratio (You et al. 2019) on the update direction: η = γ_t φ(‖w‖)/(‖m‖ + ε).

    References
    ----------
    You et al. (2019), LAMB; Paik & Choi [paik-choi-v2], Sec. 3, Table 1.
    """

    eps: float = 0.0
    w_clamp: Any = None
    zero_norm: str = "fallback"

    def step_size(self, lr, w_norm, m_norm, **_):
        return np.asarray(lr, float) * np.asarray(lamb_trust_ratio(
            w_norm, m_norm, eps=self.eps, w_clamp=self.w_clamp, zero_norm=self.zero_norm), float)


@dataclass(frozen=True)
class LAMBC(LayerRule):
    """LAMBC (Fong et al. 2020): η = γ_t min(φ(‖w‖)/(‖m‖ + ε), μ), μ = ``clip`` = 1.

    References
    ----------
    Fong et al. (2020), LAMBC; Paik & Choi [paik-choi-v2], Sec. 3, Table 1.
    """

    clip: float = 1.0
    eps: float = 0.0
    w_clamp: Any = None
    zero_norm: str = "fallback"

    def step_size(self, lr, w_norm, m_norm, **_):
        return np.asarray(lr, float) * np.asarray(lambc_trust_ratio(
            w_norm, m_norm, clip=self.clip, eps=self.eps, w_clamp=self.w_clamp,
            zero_norm=self.zero_norm), float)


@dataclass(frozen=True)
class CLARS(LayerRule):
    """CLARS (Huo et al. 2021; Paik & Choi Table 1): η = γ_t η_C ‖w‖/(mean_b ‖m_b‖ + ε).

    The average per-sample norm comes from ``per_sample_norm``; when it is not available
    (the norm model) the direction norm is used, i.e. CLARS reduces to LARS on the update.

    References
    ----------
    Huo et al. (2021), CLARS; Paik & Choi [paik-choi-v2], Sec. 3, Table 1.
    """

    eta: float = 1e-3
    eps: float = 0.0
    zero_norm: str = "fallback"

    def step_size(self, lr, w_norm, m_norm, *, per_sample_norm=None, **_):
        den = m_norm if per_sample_norm is None else per_sample_norm
        return np.asarray(lr, float) * np.asarray(clars_ratio(
            w_norm, den, eta=self.eta, eps=self.eps, zero_norm=self.zero_norm), float)


@dataclass(frozen=True)
class AGC(LayerRule):
    """Unit-wise adaptive gradient clipping (Brock et al. 2021): η = γ_t min(λ max(‖w_u‖, ε)/‖g_u‖, 1)
    per output unit u, applied to the gradient before the optimizer. In the norm model (no units)
    the layer norms are used: units of a layer are statistically identical there.

    References
    ----------
    Brock et al. (2021), adaptive gradient clipping; Paik & Choi [paik-choi-v2], Sec. 3, Table 1 and
    Table 2.
    """

    apply_to: str = "gradient"
    clipping: float = 0.01
    eps: float = 1e-3
    eps_mode: str = "weight_floor"
    unitwise = True

    def step_size(self, lr, w_norm, m_norm, **_):
        return np.asarray(lr, float) * np.asarray(agc_factor(
            w_norm, m_norm, clipping=self.clipping, eps=self.eps, eps_mode=self.eps_mode), float)


@dataclass(frozen=True)
class LALC(LayerRule):
    """LALC (Paik & Choi, Algorithm 1): η = min(γ_t, 1/(η_L ‖m‖²/‖w‖² + ε)) on the update m.

    The base optimizer f of Algorithm 1 is the :class:`Optimizer`'s momentum SGD with coupled
    weight decay (as in the Appendix B listings). The two listings differ in the first momentum
    step: the earlier one (001, Figure 7) copies the gradient into the buffer (PyTorch,
    ``first_step="copy"``), the later one (000, Figure 8) as printed also applies the momentum
    update to the copy (``first_step="listing_000"``: buf₀ = (1 + μ − dampening) g₀). See
    :func:`lalc_step_size` for norms vs mean squares, ε and zero-norm tensors.

    References
    ----------
    Paik & Choi (000, later version), Sec. 4, Algorithm 1; Appendix B listing.
    """

    eta: float = 1e3
    eps: float = 1.0
    zero_norm: str = "fallback"

    def __post_init__(self):
        super().__post_init__()
        if self.apply_to != "update":
            raise ValueError("LALC clips the step min(γ_t, ·): it only acts on the update")

    def step_size(self, lr, w_norm, m_norm, **_):
        return np.asarray(lalc_step_size(lr, w_norm, m_norm, eta=self.eta, eps=self.eps,
                                         zero_norm=self.zero_norm), float)


@dataclass(frozen=True)
class ELRConstraint(LayerRule):
    r"""Mehmeti-Göpel & Wand eq. 14: ∇W ← ∇W · E_goal/(E + ε), E = ‖∇W‖/‖W‖, ε = 10⁻⁵,
    on the gradient; pair it with ``Optimizer(rescale_max_norm=True)`` for their division of
    all weights by max_ℓ ‖W_ℓ‖ before every step. The relative update is γ_t E_goal E/(E+ε).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.5, eq. 14.
    """

    apply_to: str = "gradient"
    e_goal: float = 0.01
    eps: float = 1e-5

    def step_size(self, lr, w_norm, m_norm, **_):
        return np.asarray(lr, float) * np.asarray(elr_constraint_factor(
            w_norm, m_norm, e_goal=self.e_goal, eps=self.eps), float)


@dataclass(frozen=True)
class TVLARS(LayerRule):
    r"""TVLARS (Do et al., Algorithm 1 line 6): η = γ_t η_L φ(t) ‖w‖/‖g + βw‖ with φ of eq. 8.

    Algorithm 1 omits the base (target) learning rate that the experiments sweep (Table I);
    it enters here as γ_t (use a constant schedule, or γ_t = 1 for line 6 literally).
    Pair with ``Optimizer(form="tvlars_printed")`` for lines 7–8 as printed.

    References
    ----------
    Do et al., TVLARS [do-tvlars], Algorithm 1; eqs. 2 and 8.
    """

    apply_to: str = "gradient"
    eta: float = 1e-3
    lam: float = 1e-4
    d_e: float = 10.0
    alpha: float = 1.0
    gamma_min: float = 0.0
    decay_form: str = "joint"
    zero_norm: str = "fallback"

    def step_size(self, lr, w_norm, m_norm, *, g_norm=None, t=0, weight_decay=0.0, gw_dot=0.0,
                  **_):
        phi = tvlars_phi(t, lam=self.lam, d_e=self.d_e, alpha=self.alpha,
                         gamma_min=self.gamma_min)
        g = m_norm if g_norm is None else g_norm
        return np.asarray(lr, float) * np.asarray(phi, float) * np.asarray(lars_ratio(
            w_norm, g, eta=self.eta, weight_decay=weight_decay, decay_form=self.decay_form,
            gw_dot=gw_dot, zero_norm=self.zero_norm), float)


#: the rules by name, with their default (paper) settings
RULES = {
    "sgd": SGD, "lars": LARS, "lamb": LAMB, "lambc": LAMBC, "clars": CLARS, "agc": AGC,
    "lalc": LALC, "elr": ELRConstraint, "tvlars": TVLARS,
}


# ================================================================================ optimizer
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

    ``first_step``: ``"copy"`` (buf₀ = d₀, PyTorch and the 001 LALC listing), ``"zero"``
    (buf₀ = (1 − dampening) d₀), ``"listing_000"`` (buf₀ = (1 + μ − dampening) d₀: the momentum
    update applied to the copied buffer, as printed in the 000 listing).

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
        if self.first_step not in ("copy", "zero", "listing_000"):
            raise ValueError(f"first_step must be 'copy', 'zero' or 'listing_000', "
                             f"got {self.first_step!r}")
        if self.form not in ("heavy_ball", "tvlars_printed", "tvlars_nesterov"):
            raise ValueError(f"unknown form {self.form!r}")
        if self.form != "heavy_ball" and self.rule.apply_to != "gradient":
            raise ValueError("the TVLARS forms need a rule acting on the gradient")
        if (self.lr_in_momentum and self.rule.apply_to == "update"
                and not isinstance(self.rule, SGD)):
            raise ValueError("lr_in_momentum needs a rule acting on the gradient (or SGD)")
        if not callable(self.momentum):
            check_interval(self.momentum, "momentum", 0.0, 1.0, closed=(True, False))
        check_interval(self.dampening, "dampening", 0.0, 1.0)
        wd = as_float_array(self.weight_decay, "weight_decay", allow_inf=False)
        if (wd < 0).any():
            raise ValueError(f"weight_decay must be >= 0, got {wd[wd < 0].ravel()[0]!r}")

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
        return float(self.momentum(k)) if callable(self.momentum) else float(self.momentum)

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
        w = np.asarray(w, float)
        g = np.asarray(g, float)
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

        def norms(x):
            return (np.sqrt(np.sum(x * x, axis=-1, keepdims=True)) if unit
                    else _expand(_norms(x, param_ndim), param_ndim))

        if gw_dot is None:
            dot = (np.sum(g * w, axis=-1, keepdims=True) if unit
                   else _expand(np.sum((g * w).reshape(g.shape[:g.ndim - param_ndim] + (-1,)),
                                       axis=-1), param_ndim))
        else:
            dot = _expand(np.asarray(gw_dot, float), param_ndim)
        psn = None if per_sample_norm is None else _expand(np.asarray(per_sample_norm, float),
                                                           param_ndim)
        kw = dict(g_norm=norms(g), t=state.step, weight_decay=beta, gw_dot=dot,
                  per_sample_norm=psn)
        return _StepContext(w=w, g=g, d=g + beta * w if beta else g,
                            lr=_expand(np.asarray(lr, float), param_ndim),
                            mu=opt.momentum_at(state.step), param_ndim=param_ndim, unit=unit,
                            w_norm=norms(w), kw=kw)

    def norms(self, x):
        if self.unit:
            return np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
        return _expand(_norms(x, self.param_ndim), self.param_ndim)

    def info(self, eta, direction_norm, delta):
        return dict(step_size=_squeeze(eta, self.param_ndim, self.unit),
                    direction_norm=_squeeze(direction_norm, self.param_ndim, self.unit),
                    update_norm=_layer_norm(delta, self.param_ndim))


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


def _layer_norm(x, param_ndim):
    return _norms(np.asarray(x, float), param_ndim)


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
