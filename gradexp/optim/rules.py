r"""Layer-wise rules: small frozen dataclasses that an :class:`~gradexp.optim.Optimizer` applies.

A rule's :meth:`LayerRule.step_size` returns the per-layer (or per-unit) step size
:math:`\eta_\ell` such that the update is :math:`\Delta W_\ell = -\eta_\ell\, d_\ell`, where
:math:`d_\ell` is the direction the rule acts on:

* ``apply_to="update"``: the output :math:`m_t` of the base optimizer (momentum buffer);
  this is how Table 1 of Paik & Choi writes every rule;
* ``apply_to="gradient"``: the (weight-decayed) gradient, *before* the momentum buffer
  (You et al. 2017 LARS, Brock et al. 2021 AGC, Mehmeti-Göpel & Wand eq. 14, TVLARS
  Algorithm 1). The rule's factor is then ``step_size(1.0, ...)`` and the learning rate is
  applied by the optimizer.

=========================  ================================================================  =========
rule                        step size η_ℓ (defaults are the paper's choices)                   acts on
=========================  ================================================================  =========
:class:`SGD`                γ_t                                                                update
:class:`LARS`               γ_t η‖w‖ / (‖g‖ + β‖w‖ + ε)   (You 2017; Paik & Choi Table 1)      gradient
:class:`LAMB`               γ_t φ(‖w‖) / (‖m‖ + ε)        (You 2019 trust ratio)               update
:class:`LAMBC`              γ_t min(φ(‖w‖)/(‖m‖ + ε), μ)  (Fong 2020, μ = 1)                   update
:class:`CLARS`              γ_t η‖w‖ / (mean_b ‖m_b‖ + ε) (Huo 2021; Table 1)                  update
:class:`AGC`                γ_t min(η max(‖w_u‖, ε)/‖g_u‖, 1) per unit u (Brock 2021)           gradient
:class:`LALC`               min(γ_t, 1/(η‖m‖²/‖w‖² + ε))  (Paik & Choi, Algorithm 1)           update
:class:`ELRConstraint`      γ_t E_goal/(E + ε), E = ‖g‖/‖w‖ (Mehmeti-Göpel & Wand eq. 14)    gradient
:class:`TVLARS`             γ_t η φ(t) ‖w‖ / ‖g + βw‖    (Do et al., Algorithm 1 line 6)     gradient
=========================  ================================================================  =========

The formulas are the pure functions of :mod:`gradexp.optim.ratios`; every field of a rule is
checked when the rule is built (``LARS(eta=nan)``, ``LALC(eta=-1)``, ``TVLARS(lam=-1)``,
``LARS(clip="x")`` raise a ValueError/TypeError naming the field).

References
----------
Paik & Choi [paik-choi-v2], Sec. 3, Table 1 and Algorithm 1; Do et al., TVLARS [do-tvlars],
eq. 2 and Algorithm 1; Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 14.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import (
    check_choice,
    check_clamp,
    check_nonnegative,
    check_optional_positive,
    check_positive,
    check_scalar,
)
from .ratios import (
    _check_zero_norm,
    agc_factor,
    clars_ratio,
    elr_constraint_factor,
    lalc_step_size,
    lamb_trust_ratio,
    lambc_trust_ratio,
    lars_ratio,
)
from .tvlars_factor import _check_phi_params, tvlars_phi

__all__ = ["LayerRule", "SGD", "LARS", "LAMB", "LAMBC", "CLARS", "AGC", "LALC", "ELRConstraint",
           "TVLARS", "RULES"]


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

    #: fields that are one real number (checked as such before :meth:`_check_fields`)
    _scalars = ()

    def __post_init__(self):
        check_choice(self.apply_to, "apply_to", ("update", "gradient"))
        for name in self._scalars:
            value = getattr(self, name)
            if value is not None:
                check_scalar(value, name)
        self._check_fields()

    def _check_fields(self):
        """Validate the rule's own fields (a ValueError/TypeError naming the field)."""

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

    _scalars = ('eta', 'eps', 'clip')

    def _check_fields(self):
        check_positive(self.eta, "eta")
        check_nonnegative(self.eps, "eps")
        check_choice(self.decay_form, "decay_form", ("sum", "joint"))
        check_choice(self.ratio_on, "ratio_on", ("gradient", "update"))
        _check_zero_norm(self.zero_norm)
        check_optional_positive(self.clip, "clip")

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

    _scalars = ('eps',)

    def _check_fields(self):
        check_nonnegative(self.eps, "eps")
        check_clamp(self.w_clamp, "w_clamp")
        _check_zero_norm(self.zero_norm)

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

    _scalars = ('clip', 'eps')

    def _check_fields(self):
        check_positive(self.clip, "clip")
        check_nonnegative(self.eps, "eps")
        check_clamp(self.w_clamp, "w_clamp")
        _check_zero_norm(self.zero_norm)

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

    _scalars = ('eta', 'eps')

    def _check_fields(self):
        check_positive(self.eta, "eta")
        check_nonnegative(self.eps, "eps")
        _check_zero_norm(self.zero_norm)

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

    _scalars = ('clipping', 'eps')

    def _check_fields(self):
        check_positive(self.clipping, "clipping")
        check_nonnegative(self.eps, "eps")
        check_choice(self.eps_mode, "eps_mode", ("weight_floor", "table1"))

    def step_size(self, lr, w_norm, m_norm, **_):
        return np.asarray(lr, float) * np.asarray(agc_factor(
            w_norm, m_norm, clipping=self.clipping, eps=self.eps, eps_mode=self.eps_mode), float)


@dataclass(frozen=True)
class LALC(LayerRule):
    """LALC (Paik & Choi, Algorithm 1): η = min(γ_t, 1/(η_L ‖m‖²/‖w‖² + ε)) on the update m.

    The base optimizer f of Algorithm 1 is the :class:`~gradexp.optim.Optimizer`'s momentum
    SGD with coupled weight decay (as in the Appendix B listings). The two listings differ in
    the first momentum step: the earlier version's (``paik-choi-v1``, Figure 7) copies the
    gradient into the buffer (PyTorch, ``first_step="copy"``), the later version's
    (``paik-choi-v2``, Figure 8) as printed also applies the momentum update to the copy
    (``first_step="listing_000"``: buf₀ = (1 + μ − dampening) g₀). See
    :func:`lalc_step_size` for norms vs mean squares, ε and zero-norm tensors.

    References
    ----------
    Paik & Choi [paik-choi-v2], Sec. 4, Algorithm 1; Appendix B listing (and [paik-choi-v1], Figure 7).
    """

    eta: float = 1e3
    eps: float = 1.0
    zero_norm: str = "fallback"

    _scalars = ('eta', 'eps')

    def _check_fields(self):
        if self.apply_to != "update":
            raise ValueError("apply_to must be 'update' for LALC: it clips the step "
                             "min(γ_t, ·), which only acts on the update")
        check_positive(self.eta, "eta")
        check_nonnegative(self.eps, "eps")
        _check_zero_norm(self.zero_norm)

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

    _scalars = ('e_goal', 'eps')

    def _check_fields(self):
        check_positive(self.e_goal, "e_goal")
        check_positive(self.eps, "eps")

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

    _scalars = ('eta', 'lam', 'd_e', 'alpha', 'gamma_min')

    def _check_fields(self):
        check_positive(self.eta, "eta")
        _check_phi_params(self.lam, self.d_e, self.alpha, self.gamma_min)
        check_choice(self.decay_form, "decay_form", ("sum", "joint"))
        _check_zero_norm(self.zero_norm)

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


