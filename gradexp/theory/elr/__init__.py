r"""The effective-learning-rate (ELR) model of Mehmeti-Göpel & Wand (``mehmeti-gopel-wand``).

For a scale-invariant layer (a linear map followed by a normalization layer) the gradient is
orthogonal to the weights (eq. 2) and scales as 1/‖W‖ (eq. 1). With the *base gradient*
:math:`c_\ell = \|\nabla W_\ell(0)\|\,\|W_\ell(0)\|` held constant over the first steps, the
gradient norm is :math:`c_\ell/\|W_\ell\|` and plain SGD gives the **discrete model** (eq. 4)

.. math:: s_{k+1} = s_k + \frac{\lambda_k^2 c^2}{s_k}, \qquad s_k = \|W(k)\|_F^2,

whose effective learning rate is :math:`E_k = \|\nabla W\|/\|W\| = c/s_k`.

One concept per module; every public name is re-exported here (``gradexp.theory.elr.simulate``,
also reachable as ``gradexp.elr.simulate``):

:mod:`gradexp.theory.elr.model`
    :func:`simulate`, the model for any depth, base-gradient profile, learning-rate schedule
    and layer-wise optimizer of :mod:`gradexp.optim` (momentum, LARS, LAMB, LAMBC, CLARS, AGC,
    LALC, the ELR constraint of eq. 14, TVLARS), exact under the orthogonality assumption of
    Appendix A.2 and O(1) per step; its result :class:`ELRTrajectory`.
:mod:`gradexp.theory.elr.discrete`
    :func:`discrete_weight_sq`, :func:`momentum_weight_sq`, :func:`momentum_state`: direct
    transcriptions of eq. 4 and of the loop of Appendix A.2 (eqs. 27, 29, 32), the
    independent routes the tests compare :func:`simulate` with.
:mod:`gradexp.theory.elr.continuous`
    :func:`continuous_weight_sq`, :func:`continuous_elr` (eqs. 6–7); :func:`elr_ratio_sq`,
    :func:`gradient_ratio_sq`, :func:`gradient_ratio_sq_limit` (eq. 10, eqs. 33–34 with the
    corrected limit).
:mod:`gradexp.theory.elr.profiles`
    :func:`plain_profile`, :func:`residual_profile`, :func:`residual_rate` (eqs. 8–9),
    :func:`base_gradient`, :func:`he_weight_sq`.
:mod:`gradexp.theory.elr.stability`
    :func:`spread`, :func:`log_spread`, :func:`stability_bound`, :func:`stability_bound_at_init`
    (Appendix A.1, eqs. 25–26), :func:`one_step_factor`, :func:`critical_lr` (the rate above
    which one step widens the spread: none without momentum), :func:`equalizing_lr` (the rate
    that closes it fastest: the hyperparameter-free warm-up :class:`gradexp.optim.EqualizingWarmup`).
:mod:`gradexp.theory.elr.equilibrium`
    Coupled weight decay beyond the early phase (derived in gradexp, checked by the
    ``gx-elr-*`` ledger claims): :func:`equilibrium_weight_sq`, :func:`equilibrium_elr`,
    :func:`equilibrium_relative_update`, :func:`contraction_factor`, :func:`equilibrium_steps`,
    and :func:`limit_ratio` (the long-time limits of the ELR notions).
:mod:`gradexp.theory.elr.recovery`
    :func:`saturation_orbit`, :func:`recovery_steps`, :func:`recovery_steps_exact`: recovery
    of saturated layers.
:mod:`gradexp.theory.elr.divergence`
    :func:`weight_decay_stability_limit` (λβ < 2(1 + μ)) and :class:`ELRDivergenceWarning`,
    the one warning a divergent run emits.

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3 and Appendices A.1–A.3.
"""

from __future__ import annotations

from ..explosion import YANG_RATE
from .continuous import (
    continuous_elr,
    continuous_weight_sq,
    elr_ratio_sq,
    gradient_ratio_sq,
    gradient_ratio_sq_limit,
)
from .discrete import discrete_weight_sq, momentum_state, momentum_weight_sq
from .divergence import ELRDivergenceWarning, weight_decay_stability_limit
from .equilibrium import (
    contraction_factor,
    equilibrium_elr,
    equilibrium_relative_update,
    equilibrium_steps,
    equilibrium_weight_sq,
    limit_ratio,
)
from .model import ELRTrajectory, simulate
from .profiles import (
    base_gradient,
    he_weight_sq,
    plain_profile,
    residual_profile,
    residual_rate,
)
from .recovery import recovery_steps, recovery_steps_exact, saturation_orbit
from .stability import (
    critical_lr,
    equalizing_lr,
    log_spread,
    one_step_factor,
    spread,
    stability_bound,
    stability_bound_at_init,
)

__all__ = [
    "ELRTrajectory", "simulate", "discrete_weight_sq", "momentum_weight_sq", "momentum_state",
    "continuous_weight_sq", "continuous_elr", "plain_profile", "residual_profile",
    "residual_rate", "base_gradient", "elr_ratio_sq", "gradient_ratio_sq",
    "gradient_ratio_sq_limit", "stability_bound", "stability_bound_at_init", "he_weight_sq",
    "spread", "log_spread", "YANG_RATE",
    "equilibrium_weight_sq", "equilibrium_elr", "equilibrium_relative_update",
    "contraction_factor", "equilibrium_steps", "limit_ratio", "one_step_factor",
    "critical_lr", "equalizing_lr", "recovery_steps", "recovery_steps_exact", "saturation_orbit",
    "ELRDivergenceWarning", "weight_decay_stability_limit",
]
