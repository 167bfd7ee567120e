"""Refuse impossible sizes before allocating: estimate the bytes from the arguments, compare
with the memory available, raise one ValueError that names the arguments and the estimate.

Every simulator of :mod:`gradexp.mc` checks its own arguments this way before it allocates
anything; ``estimate_bytes`` and ``check_fits`` give the same estimate and the same
error to a caller that wants to validate a call without running it (a sweep validating every
cell before the first one runs).
"""

from __future__ import annotations

import importlib

from .._memory import available_memory, check_memory

__all__ = ["available_memory", "check_memory", "estimate_bytes", "check_fits", "MEMORY_ESTIMATORS"]

#: public simulator -> "module:estimator" (the estimator takes the simulator's own arguments)
MEMORY_ESTIMATORS = {
    "simulate_chain": "chain:_simulate_chain_bytes",
    "single_layer_ratio": "chain:_single_layer_ratio_bytes",
    "sample_chain": "sampled:_sample_chain_bytes",
    "product_singular_values": "matrices:_product_singular_values_bytes",
    "depth_scan": "matrices:_depth_scan_bytes",
    "simulate_vectors": "training:_simulate_vectors_bytes",
    "init_toynet": "training:_init_toynet_bytes",
    "make_synthetic_data": "training:_make_synthetic_data_bytes",
    "train_toynet": "training:_train_toynet_bytes",
    "train_toynet_arms": "training:_train_toynet_arms_bytes",
    "gradient_growth_rate": "training:_gradient_growth_rate_bytes",
    "minibatch_noise_floor": "training:_minibatch_noise_floor_bytes",
}


def _estimator(func):
    name = func if isinstance(func, str) else getattr(func, "__name__", None)
    if name not in MEMORY_ESTIMATORS:
        raise ValueError(f"func must be one of {sorted(MEMORY_ESTIMATORS)} (or its name), got {func!r}")
    mod, attr = MEMORY_ESTIMATORS[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{mod}"), attr)


def estimate_bytes(func, /, *args, **kwargs) -> int:
    """Bytes that ``func(*args, **kwargs)`` allocates at its peak (estimated from every
    argument, nothing allocated or sampled), for a simulator of :mod:`gradexp.mc`.

    ``func`` is the simulator or its name (keys of ``gradexp.mc._memory.MEMORY_ESTIMATORS``: ``simulate_chain``,
    ``sample_chain``, ``single_layer_ratio``, ``product_singular_values``, ``depth_scan`` and
    the training functions). Arguments are validated as the simulator validates them
    (ValueError/TypeError naming the argument). The estimate counts the buffers, the outputs
    and the per-layer bookkeeping, to within a few percent of the large arrays.

    >>> estimate_bytes("simulate_chain", depth=10**9, width=16, batch=64) > 10**12
    True
    """
    return int(_estimator(func)(*args, **kwargs)[0])


def check_fits(func, /, *args, **kwargs) -> int:
    """``estimate_bytes``, then the simulator's own ValueError if the estimate exceeds the
    available memory (the message names the arguments and the estimate); returns the bytes.

    >>> check_fits("simulate_chain", depth=10**9, width=16, batch=64)
    Traceback (most recent call last):
    ...
    ValueError: depth=1000000000, width=16, batch=64, reps=1 need ~... available: reduce them
    """
    nbytes, what = _estimator(func)(*args, **kwargs)
    check_memory(nbytes, what)
    return int(nbytes)
