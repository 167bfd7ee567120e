"""gradexp: the theory of gradient explosion in deep networks with batch normalization.

Closed forms (re-exported here), deterministic models (``gradexp.elr``, ``gradexp.optim``),
Monte-Carlo simulators (``gradexp.mc``, numba, imported on first use), the claims ledger
(``gradexp.claims``) and figures (``gradexp.plots``).
"""

from __future__ import annotations

import importlib
import sys

from . import optim  # noqa: F401
from .activations import ACTIVATION_NAMES, Activation, get_activation
from .theory import elr  # noqa: F401
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
from .theory.finite_size import finite_batch_expansion, finite_batch_factor, finite_batch_rate
from .theory.finite_width import finite_width_coefficient, finite_width_factor
from .theory.normalizers import depth_to_growth, design_map, normalizer_expansion, normalizer_factor
from .theory.relu import relu_moments
from .theory.rmt import *  # noqa: F401,F403  (its __all__)

# ``import gradexp.elr`` (and ``gradexp.elr.model`` etc.) work like ``gradexp.elr``: the same
# module objects as gradexp.theory.elr, never second copies
for _name in [m for m in sys.modules if m == elr.__name__ or m.startswith(elr.__name__ + ".")]:
    sys.modules.setdefault(f"{__name__}.elr{_name[len(elr.__name__):]}", sys.modules[_name])
del _name

from .theory import rmt as _rmt  # noqa: E402  (after the elr submodule aliases above)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATION_NAMES", "Activation", "get_activation", "YANG_RATE", "activation_factor",
    "correlated_explosion_factor", "explosion_factor", "explosion_factor_asymptotic",
    "jensen_corrected_perfectly_correlated_bound", "perfectly_correlated_bound",
    "perfectly_correlated_bound_earlier", "theorem_2_4_probability", "theorem_2_4_upper_factor",
    "relu_moments", "finite_batch_factor", "finite_batch_expansion",
    "finite_batch_rate", "normalizer_factor", "normalizer_expansion", "depth_to_growth",
    "design_map", "finite_width_factor", "finite_width_coefficient", "elr", "optim", *_rmt.__all__,
]

_LAZY = {"mc", "claims", "plots", "sweep"}


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'gradexp' has no attribute {name!r}")
