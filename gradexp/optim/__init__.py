r"""Learning-rate schedules and layer-wise update rules, written once on norms.

Everything here is pure numpy: a rule never modifies its inputs, it maps *norms* (of the
weights, of the gradient, of the update direction) to a per-layer step size, and the same
code drives the effective-learning-rate model (:mod:`gradexp.theory.elr`, which only knows
norms) and the toy trainer (:mod:`gradexp.mc.training`, which has real arrays).

One concept per module; every public name is re-exported here (``gradexp.optim.LARS``):

:mod:`gradexp.optim.schedules`
    γ_k per step: :class:`Constant`, :class:`WarmupCosine`, :class:`OneCycle`,
    :class:`PolynomialDecay`, :class:`StepDecay`, :class:`LinearWarmup`,
    :class:`TVLARSSchedule`, :func:`as_schedule`, :func:`schedule_values`; state schedules
    (:class:`EqualizingWarmup`) that read the current norms.
:mod:`gradexp.optim.tvlars_factor`
    The TVLARS factor φ(t) (Do et al., eq. 8), its derivative (eq. 10) and bounds (eqs. 9, 12–14).
:mod:`gradexp.optim.ratios`
    The layer-wise rules as pure functions of norms (:func:`lars_ratio`, :func:`lalc_step_size`, ...).
:mod:`gradexp.optim.rules`
    The rules as frozen dataclasses (:class:`LARS`, :class:`LAMB`, :class:`LALC`, ...) and
    :data:`RULES`, with the table of their step sizes.
:mod:`gradexp.optim.optimizer`
    :class:`Optimizer`: base SGD (heavy ball, Nesterov, the TVLARS forms) plus a rule.

Every public parameter is checked up front (when a schedule, rule or optimizer is built)
with a ValueError or TypeError that names it.

References
----------
Paik & Choi [paik-choi-v2], Sec. 3, Table 1 and Algorithm 1; Do et al., TVLARS [do-tvlars];
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 14.
"""

from __future__ import annotations

from .optimizer import Optimizer, OptimizerState
from .ratios import (
    agc_factor,
    clars_ratio,
    decayed_norm,
    elr_constraint_factor,
    lalc_step_size,
    lamb_trust_ratio,
    lambc_trust_ratio,
    lars_ratio,
)
from .rules import (
    AGC,
    CLARS,
    LALC,
    LAMB,
    LAMBC,
    LARS,
    RULES,
    SGD,
    TVLARS,
    ELRConstraint,
    LayerRule,
)
from .schedules import (
    ArraySchedule,
    Constant,
    EqualizingWarmup,
    LinearWarmup,
    OneCycle,
    PolynomialDecay,
    Schedule,
    StateSchedule,
    StepDecay,
    TVLARSSchedule,
    WarmupCosine,
    as_schedule,
    schedule_values,
)
from .tvlars_factor import tvlars_phi, tvlars_phi_bounds, tvlars_phi_derivative

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
