"""gradexp: the theory of gradient explosion in deep networks with batch normalization.

Closed forms (re-exported here), deterministic models (``gradexp.elr``, ``gradexp.optim``),
Monte-Carlo simulators (``gradexp.mc``, numba, imported on first use), the claims ledger
(``gradexp.claims``) and figures (``gradexp.plots``).
"""

from __future__ import annotations

import importlib
import sys

from .activations import ACTIVATION_NAMES, Activation, get_activation
from .theory.explosion import (
    YANG_RATE,
    activation_factor,
    correlated_explosion_factor,
    explosion_factor,
    explosion_factor_asymptotic,
    jensen_corrected_perfectly_correlated_bound,
    perfectly_correlated_bound,
    perfectly_correlated_bound_earlier,
    theorem_2_4_probability,
    theorem_2_4_upper_factor,
)
from .theory.relu import relu_moments
from .theory.finite_size import finite_batch_expansion, finite_batch_factor, finite_batch_rate
from .theory.finite_width import finite_width_coefficient, finite_width_factor
from .theory.rmt import *  # noqa: F401,F403  (its __all__)
from .theory import elr  # noqa: F401
from . import optim  # noqa: F401

# ``import gradexp.elr`` works like ``gradexp.elr`` (the module lives in gradexp.theory)
sys.modules.setdefault(f"{__name__}.elr", elr)

from .theory import rmt as _rmt

__version__ = "0.1.0"

__all__ = [
    "ACTIVATION_NAMES", "Activation", "get_activation", "YANG_RATE", "activation_factor",
    "correlated_explosion_factor", "explosion_factor", "explosion_factor_asymptotic",
    "jensen_corrected_perfectly_correlated_bound", "perfectly_correlated_bound",
    "perfectly_correlated_bound_earlier", "theorem_2_4_probability", "theorem_2_4_upper_factor",
    "relu_moments", "finite_batch_factor", "finite_batch_expansion",
    "finite_batch_rate", "finite_width_factor", "finite_width_coefficient", "elr", "optim", *_rmt.__all__,
]

_LAZY = {"mc", "claims", "plots", "sweep"}


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'gradexp' has no attribute {name!r}")
