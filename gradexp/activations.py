r"""One registry of activations, with value and derivative.

Each :class:`Activation` carries vectorised numpy ``value``/``deriv`` and an integer
``code`` plus one float parameter, so that numba kernels can evaluate the same function
through :func:`scalar_value` / :func:`scalar_deriv` (plain ``math`` code that numba compiles
when a kernel first uses it; nothing is compiled at import).

=============  ==========================================  ==========================
name           value φ(x)                                   parameter
=============  ==========================================  ==========================
relu           max(x, 0)                                    —
leaky_relu     max(x, a x)                                  slope a (default 0.01)
elu            x if x > 0 else α(eˣ − 1)                    α (default 1)
gelu           x Φ(x)                                       —
silu           x / (1 + e⁻ˣ)                                —
tanh           tanh x                                       —
softplus       log(1 + eˣ)                                  —
identity       x                                            —
dropout        m x, m ~ Bernoulli(p) (no rescaling)         keep probability p
=============  ==========================================  ==========================

Dropout-as-activation is Paik & Choi's foil (Figure 1 right, Figure 2b): a ReLU that blocks
at random instead of by sign. Its ``value`` takes the mask explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ._validate import check_real

RELU, LEAKY_RELU, ELU, GELU, SILU, TANH, SOFTPLUS, IDENTITY, DROPOUT = range(9)

_NAMES = {
    "relu": RELU, "leaky_relu": LEAKY_RELU, "elu": ELU, "gelu": GELU, "silu": SILU,
    "tanh": TANH, "softplus": SOFTPLUS, "identity": IDENTITY, "dropout": DROPOUT,
}
_DEFAULT_PARAM = {LEAKY_RELU: 0.01, ELU: 1.0, DROPOUT: 0.5}
_PARAM_NAME = {LEAKY_RELU: "slope", ELU: "alpha", DROPOUT: "keep_prob"}

#: The one definition of each activation parameter's domain, used by the theory and the
#: Monte-Carlo simulators alike (through :func:`get_activation` and :func:`check_activation_param`):
#: ``code: (low, high, low_closed, high_closed)``.
#:
#: * leaky ReLU slope a ∈ [−1, 1]: φ = max(x, a x) and the closed form of
#:   :func:`gradexp.theory.explosion.activation_factor` hold there; a slope a > 1 is the same
#:   network as slope 1/a up to a sign flip of x and a scale, so nothing is lost;
#: * ELU α ∈ [0, ∞) (finite);
#: * dropout keep probability p ∈ (0, 1].
PARAM_DOMAINS = {LEAKY_RELU: (-1.0, 1.0, True, True), ELU: (0.0, math.inf, True, False),
                 DROPOUT: (0.0, 1.0, False, True)}


def check_activation_param(activation, value) -> float:
    """The parameter ``value`` of ``activation`` (a name or a code) as a float, checked against
    :data:`PARAM_DOMAINS`: TypeError for a non-number, ValueError naming the parameter
    (``slope``, ``alpha``, ``keep_prob``) and its domain otherwise.

    References
    ----------
    Paik & Choi [paik-choi-v2], Figure 1 (right) and Figure 2b (the activations and dropout as
    activation); the slope domain is the one of the leaky-ReLU closed form of
    :func:`gradexp.theory.explosion.activation_factor` (derived in gradexp).

    Examples
    --------
    >>> check_activation_param("leaky_relu", 0.2)
    0.2
    >>> check_activation_param("leaky_relu", 5)
    Traceback (most recent call last):
    ...
    ValueError: slope of leaky_relu must lie in [-1.0, 1.0], got 5.0
    """
    code = _NAMES.get(activation, activation) if isinstance(activation, str) else activation
    if code not in _PARAM_NAME:
        raise ValueError(f"activation {activation!r} takes no parameter")
    pname = _PARAM_NAME[code]
    a = check_real(value, pname)
    lo, hi, lo_closed, hi_closed = PARAM_DOMAINS[code]
    if (a < lo or (a == lo and not lo_closed)) or (a > hi or (a == hi and not hi_closed)):
        name = next(n for n, c in _NAMES.items() if c == code)
        raise ValueError(f"{pname} of {name} must lie in {'[' if lo_closed else '('}{lo}, "
                         f"{hi}{']' if hi_closed else ')'}, got {a}")
    return a


def scalar_value(code: int, a: float, x: float) -> float:
    """φ(x) for one float; numba-compilable (dropout returns x: the mask is applied outside).

    References
    ----------
    Paik & Choi [paik-choi-v2], Figure 1 (right): the activations compared; Hendrycks & Gimpel (2016) for GELU, Elfwing et al. (2018) for SiLU, Clevert et al. (2016) for ELU.
    """
    if code == RELU:
        return x if x > 0.0 else 0.0
    if code == LEAKY_RELU:
        return x if x > 0.0 else a * x
    if code == ELU:
        return x if x > 0.0 else a * math.expm1(x)
    if code == GELU:
        return 0.5 * x * math.erfc(-x / math.sqrt(2.0))
    if code == SILU:
        return x / (1.0 + math.exp(-x)) if x >= 0.0 else x * math.exp(x) / (1.0 + math.exp(x))
    if code == TANH:
        return math.tanh(x)
    if code == SOFTPLUS:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    return x  # IDENTITY, DROPOUT


def scalar_deriv(code: int, a: float, x: float) -> float:
    """φ'(x) for one float; numba-compilable (at a kink the right derivative).

    References
    ----------
    As :func:`scalar_value`.
    """
    if code == RELU:
        return 1.0 if x > 0.0 else 0.0
    if code == LEAKY_RELU:
        return 1.0 if x > 0.0 else a
    if code == ELU:
        return 1.0 if x > 0.0 else a * math.exp(x)
    if code == GELU:
        return 0.5 * math.erfc(-x / math.sqrt(2.0)) + x * math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    if code == SILU:
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0.0 else math.exp(x) / (1.0 + math.exp(x))
        return s * (1.0 + x * (1.0 - s))
    if code == TANH:
        t = math.tanh(x)
        return 1.0 - t * t
    if code == SOFTPLUS:
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0.0 else math.exp(x) / (1.0 + math.exp(x))
    return 1.0  # IDENTITY, DROPOUT


@dataclass(frozen=True)
class Activation:
    """An activation function with its derivative.

    ``param`` is the slope (leaky ReLU), α (ELU) or keep probability (dropout); 0 otherwise.
    ``kinks`` are the points where φ' jumps (used to split quadratures).
    """

    name: str
    code: int
    param: float = 0.0

    def __post_init__(self):
        if _NAMES.get(self.name) != self.code:
            raise ValueError(f"Activation: name {self.name!r} and code {self.code!r} do not match "
                             f"(use get_activation)")
        if self.code in _PARAM_NAME:
            object.__setattr__(self, "param", check_activation_param(self.code, self.param))
        elif self.param != 0.0:
            raise ValueError(f"activation {self.name!r} takes no parameter, got param={self.param!r}")

    @property
    def kinks(self) -> tuple[float, ...]:
        return (0.0,) if self.code in (RELU, LEAKY_RELU, ELU) else ()

    @property
    def stochastic(self) -> bool:
        return self.code == DROPOUT

    def value(self, x, mask=None):
        """φ(x), vectorised. For dropout pass the 0/1 ``mask`` (same shape as x)."""
        x = np.asarray(x, dtype=float)
        c, a = self.code, self.param
        with np.errstate(over="ignore"):
            if c == RELU:
                return np.maximum(x, 0.0)
            if c == LEAKY_RELU:
                return np.where(x > 0, x, a * x)
            if c == ELU:
                return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))
            if c == GELU:
                return x * special.ndtr(x)
            if c == SILU:
                return x * special.expit(x)
            if c == TANH:
                return np.tanh(x)
            if c == SOFTPLUS:
                return np.logaddexp(0.0, x)
            if c == DROPOUT:
                if mask is None:
                    raise ValueError("dropout needs its mask: value(x, mask)")
                return x * mask
        return x.copy()

    def deriv(self, x, mask=None):
        """φ'(x), vectorised (right derivative at a kink)."""
        x = np.asarray(x, dtype=float)
        c, a = self.code, self.param
        if c == RELU:
            return (x > 0).astype(float)
        if c == LEAKY_RELU:
            return np.where(x > 0, 1.0, a)
        if c == ELU:
            return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0.0)))
        if c == GELU:
            return special.ndtr(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        if c == SILU:
            s = special.expit(x)
            return s * (1.0 + x * (1.0 - s))
        if c == TANH:
            return 1.0 - np.tanh(x) ** 2
        if c == SOFTPLUS:
            return special.expit(x)
        if c == DROPOUT:
            if mask is None:
                raise ValueError("dropout needs its mask: deriv(x, mask)")
            return np.broadcast_to(np.asarray(mask, dtype=float), x.shape).copy()
        return np.ones_like(x)


ACTIVATION_NAMES = tuple(_NAMES)


def get_activation(activation="relu", **params) -> Activation:
    """Look up an activation by name (or pass an :class:`Activation` through).

    ``get_activation("leaky_relu", slope=0.2)``, ``get_activation("elu", alpha=1.0)``,
    ``get_activation("dropout", keep_prob=0.5)``.

    References
    ----------
    Paik & Choi [paik-choi-v2], Figure 1 (right) and Figure 2b (dropout as activation).
    """
    if isinstance(activation, Activation):
        if params:
            raise ValueError("parameters given together with an Activation instance")
        return activation
    if not isinstance(activation, str) or activation not in _NAMES:
        raise ValueError(f"activation must be one of {ACTIVATION_NAMES}, got {activation!r}")
    code = _NAMES[activation]
    pname = _PARAM_NAME.get(code)
    if pname is None:
        if params:
            raise ValueError(f"activation {activation!r} takes no parameters, got {sorted(params)}")
        return Activation(activation, code, 0.0)
    extra = set(params) - {pname}
    if extra:
        raise ValueError(f"activation {activation!r} takes only {pname!r}, got {sorted(extra)}")
    return Activation(activation, code, check_activation_param(code, params.get(pname, _DEFAULT_PARAM[code])))
