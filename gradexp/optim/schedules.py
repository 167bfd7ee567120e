r"""Learning-rate schedules: γ_k as a function of the step k (or of the current norms).

:class:`Constant`, :class:`ArraySchedule`, :class:`WarmupCosine` (Goyal et al. linear
warm-up then cosine; the form printed as TVLARS eq. 4 is available as
``form="tvlars_printed"``), :class:`OneCycle` (``torch.optim.lr_scheduler.OneCycleLR``
semantics), :class:`PolynomialDecay`, :class:`StepDecay`, :class:`LinearWarmup`,
:class:`TVLARSSchedule` (the TVLARS factor :func:`~gradexp.optim.tvlars_phi` applied to a
target rate), :func:`as_schedule` and :func:`schedule_values`; and the *state* schedules
(:class:`StateSchedule`, :class:`EqualizingWarmup`), whose rate reads the current norms.

Every parameter is checked when the schedule is built: rates are finite and ``>= 0``,
step counts are integers, names are among the documented choices.

References
----------
Do et al., TVLARS [do-tvlars], eqs. 2, 4 and 8; Paik & Choi [paik-choi-v2], Appendix B;
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.4 and Appendix A.1.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .._memory import check_trajectory_memory
from .._validate import (
    as_float_array,
    check_choice,
    check_int,
    check_interval,
    check_nonnegative,
    check_positive,
    check_scalar,
)
from ..gaussian import _out
from .tvlars_factor import _check_phi_params, tvlars_phi

__all__ = [
    "Schedule", "Constant", "ArraySchedule", "WarmupCosine", "OneCycle", "PolynomialDecay",
    "StepDecay", "TVLARSSchedule", "LinearWarmup", "as_schedule", "schedule_values",
    "StateSchedule", "EqualizingWarmup",
]


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
        n = check_int(n, "n", lo=0)
        check_trajectory_memory(f"{type(self).__name__}.values(n={n})", steps=n, layers=1,
                                arrays=4.0)
        return np.asarray(self(np.arange(n, dtype=float)), dtype=float) * np.ones(n)


def _steps(k) -> np.ndarray:
    k = as_float_array(k, "k")
    if (k < 0).any():
        raise ValueError(f"k (the step) must be >= 0, got {k[k < 0].ravel()[0]!r}")
    return k


def _check_scalars(obj) -> None:
    """Every field of a schedule annotated ``float`` is one real number (a TypeError naming it)."""
    for f in fields(obj):
        if f.type in ("float", float):
            check_scalar(getattr(obj, f.name), f.name)


@dataclass(frozen=True)
class Constant(Schedule):
    """γ_k = lr for every step.

    References
    ----------
    Do et al., TVLARS [do-tvlars], eq. 2 with a constant base rate γ_t.
    """

    lr: float

    def __post_init__(self):
        _check_scalars(self)
        check_nonnegative(check_scalar(self.lr, "lr"), "lr")

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

    def __post_init__(self):
        r = check_nonnegative(self.rates, "rates")
        if r.ndim != 1 or r.size == 0:
            raise ValueError(f"rates must be a non-empty 1-d sequence, got shape {r.shape}")

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
        _check_scalars(self)
        for name in ("peak", "start", "final"):
            check_nonnegative(getattr(self, name), name)
        total = check_int(self.total_steps, "total_steps", lo=1)
        check_int(self.warmup_steps, "warmup_steps", lo=0, hi=total)
        check_choice(self.form, "form", ("goyal", "tvlars_printed"))

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
        _check_scalars(self)
        check_positive(self.max_lr, "max_lr")
        check_int(self.total_steps, "total_steps", lo=1)
        check_interval(self.pct_start, "pct_start", 0.0, 1.0, closed=(False, False))
        check_positive(self.div_factor, "div_factor")
        check_positive(self.final_div_factor, "final_div_factor")
        check_choice(self.anneal, "anneal", ("cos", "linear"))
        check_interval(self.base_momentum, "base_momentum", 0.0, 1.0, closed=(True, False))
        check_interval(self.max_momentum, "max_momentum", 0.0, 1.0, closed=(True, False))

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
        _check_scalars(self)
        check_nonnegative(self.lr0, "lr0")
        check_nonnegative(self.final, "final")
        total = check_int(self.total_steps, "total_steps", lo=1)
        check_positive(self.power, "power")
        check_int(self.warmup_steps, "warmup_steps", lo=0, hi=total)

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

    def __post_init__(self):
        _check_scalars(self)
        check_nonnegative(check_scalar(self.lr0, "lr0"), "lr0")
        check_positive(check_scalar(self.gamma, "gamma"), "gamma")
        if (isinstance(self.milestones, (str, bytes, np.ndarray)) and np.ndim(self.milestones) == 0
                or not hasattr(self.milestones, "__iter__")):
            raise TypeError(f"milestones must be a sequence of steps, got {self.milestones!r}")
        for m in self.milestones:
            check_int(m, "milestones", lo=0)

    def __call__(self, k):
        k = _steps(k)
        n = np.zeros(k.shape)
        for m in self.milestones:
            n = n + (k >= m)
        return _out(self.lr0 * self.gamma ** n)




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

    def __post_init__(self):
        _check_scalars(self)
        for name in ("target_lr", "lam", "d_e", "alpha", "gamma_min"):
            check_scalar(getattr(self, name), name)
        check_nonnegative(self.target_lr, "target_lr")
        _check_phi_params(self.lam, self.d_e, self.alpha, self.gamma_min)

    def __call__(self, k):
        return _out(self.target_lr * np.asarray(
            tvlars_phi(_steps(k), lam=self.lam, d_e=self.d_e, alpha=self.alpha,
                       gamma_min=self.gamma_min)))


class _CallableSchedule(Schedule):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, k):
        k = _steps(k)
        out = (np.asarray(np.vectorize(lambda x: float(self.fn(x)))(k), dtype=float)
               if k.ndim else float(self.fn(float(k))))
        check_nonnegative(out, "lr (the values of the callable schedule)")
        return _out(out)


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
        _check_scalars(self)
        check_positive(check_scalar(self.target, "target"), "target")
        check_int(self.warmup_steps, "warmup_steps", lo=1)

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
        _check_scalars(self)
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
    a = check_nonnegative(lr, "lr")
    if a.ndim == 0:
        return Constant(float(a))
    if a.ndim == 1:
        return ArraySchedule(tuple(a.tolist()))
    raise ValueError(f"lr must be a float, a callable or a 1-d sequence, got a {a.ndim}-d array")


def schedule_values(lr, steps: int, batch_shape=()) -> np.ndarray:
    """Per-step values of ``lr`` as an array of shape ``batch_shape + (steps,)``.

    ``lr`` may be a float, a :class:`Schedule` or callable (the same for every batch entry),
    a 1-d sequence of per-step rates, or an array of shape ``(..., steps)`` whose leading axes
    broadcast to ``batch_shape`` (one schedule per configuration).

    References
    ----------
    Do et al., TVLARS [do-tvlars], eqs. 2 and 4 (the base rate γ_t of the layer-wise rules).
    """
    steps = check_int(steps, "steps", lo=0)
    if isinstance(lr, StateSchedule):
        raise TypeError("a StateSchedule has no fixed values: it needs the current norms "
                        "(pass it to elr.simulate or train_toynet)")
    if isinstance(lr, np.ndarray) and lr.ndim >= 2:
        if lr.shape[-1] != steps:
            raise ValueError(f"a {lr.ndim}-d lr array must have last axis of length {steps}")
        a = check_nonnegative(lr, "lr")
        return np.broadcast_to(a, tuple(batch_shape) + (steps,))
    vals = as_schedule(lr).values(steps)
    return np.broadcast_to(vals, tuple(batch_shape) + (steps,))


