"""Monte-Carlo simulators (numba kernels, compiled lazily with cache=True).

The public names are re-exported lazily: ``gradexp.mc.simulate_chain`` imports
:mod:`gradexp.mc.chain` on first use, so importing this package costs nothing and the
submodules (``chain``, ``matrices``, ``training``) never import one another eagerly.
"""

from __future__ import annotations

import importlib

#: public name -> submodule that defines it
_EXPORTS = {
    "simulate_chain": "chain",
    "single_layer_ratio": "chain",
    "sample_chain": "chain",
    "ChainResult": "chain",
    "LayerRatio": "chain",
    "SampledChain": "chain",
    "ChainSpec": "spec",
    "InfiniteGrowthWarning": "spec",
    "estimate_bytes": "_memory",
    "check_fits": "_memory",
    "available_memory": "_memory",
    "CHAIN_OPTIONS": "chain",
    "Estimate": "_estimate",
    "estimate": "_estimate",
    "estimate_over_reps": "_estimate",
    "product_singular_values": "matrices",
    "singular_values_of_product": "matrices",
    "depth_scan": "matrices",
    "DepthScan": "matrices",
    "bartlett_factor": "matrices",
}
_SUBMODULES = ("chain", "spec", "sampled", "matrices", "training")


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    # training functions (and any later public name) are looked up in the submodules that exist
    for sub in ("training",):
        try:
            mod = importlib.import_module(f"{__name__}.{sub}")
        except ModuleNotFoundError as exc:  # only a missing submodule, not a missing dependency
            if exc.name != f"{__name__}.{sub}":
                raise
            continue
        if name in getattr(mod, "__all__", ()):
            return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))
