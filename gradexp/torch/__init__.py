"""Measure a PyTorch model against the theory (the optional ``torch`` extra).

``pip install "gradexp[torch]"``. Importing this package does not import torch; the names
below import it on first use (a clear ImportError when it is missing), and ``import gradexp``
never imports this package.

:func:`gradient_profile`
    Per-layer gradient norms of a model at initialisation, over ``reps`` re-initialisations,
    beside the normalizer theory's per-layer factor (:class:`GradientProfile`).
:class:`ELRMonitor`
    Per-layer weight and gradient norms, effective learning rates and relative updates
    during training, with the ELR model of :mod:`gradexp.elr` fitted to the first steps.
:func:`find_norm_sites`
    The normalization layers of a model, their normalisation-set sizes and the activation
    that follows each (:class:`NormSite`).
:mod:`gradexp.torch.models`
    Small hand-written test networks: BN-MLP, ResNet-like, VGG-like with BN, a small ViT.

References
----------
Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019; Paik & Choi
[paik-choi-v2], Thm 2.2, eq. 4; Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3-4.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "gradient_profile": "profile",
    "GradientProfile": "profile",
    "predicted_factor": "profile",
    "ELRMonitor": "monitor",
    "find_norm_sites": "sites",
    "NormSite": "sites",
}
_SUBMODULES = ("profile", "monitor", "sites", "models", "cli", "report")

__all__ = ["ELRMonitor", "GradientProfile", "NormSite", "find_norm_sites", "gradient_profile",
           "predicted_factor"]


def _require_torch():
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError as exc:  # pragma: no cover - exercised without torch only
        raise ImportError('gradexp.torch needs PyTorch: pip install "gradexp[torch]"') from exc


def __getattr__(name):
    if name in _EXPORTS:
        _require_torch()
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in _SUBMODULES:
        if name != "cli":
            _require_torch()
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))
