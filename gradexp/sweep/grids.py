"""Named sweeps for ``gradexp sweep``: a cell function and its grid (full and fast)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..activations import ACTIVATION_NAMES

__all__ = ["SweepGrid", "GRIDS", "chain_rate_cell"]


@dataclasses.dataclass(frozen=True)
class SweepGrid:
    """A named sweep for ``gradexp sweep``: a cell function and its grid (full and fast)."""

    name: str
    description: str
    func: Callable
    grid: dict
    fast_grid: dict
    validate: Callable | None = None  # validate(params) raises ValueError/TypeError naming the parameter


def chain_rate_cell(*, seed, **params) -> dict:
    """Sweep cell: the per-layer gradient growth rate of a BN chain.

    Calls :func:`gradexp.mc.chain.simulate_chain` with the cell's parameters (through the
    result store, so a chain that a claim or a figure already computed is read back) and returns
    ``{"rate": ..., "rate_stderr": ...}``.
    """
    from ..mc.chain import simulate_chain
    from .cache import cached_call

    r = cached_call(simulate_chain, **params, rng=seed)  # shared with claims and figures
    return {"rate": float(r.rate), "rate_stderr": float(r.rate_stderr)}


def validate_chain_cell(params: dict) -> None:
    """Check one cell's parameters for :func:`chain_rate_cell` without simulating anything:
    names against the chain's size, ``reps`` and its options (:data:`gradexp.mc.chain.CHAIN_OPTIONS`),
    values with the chain's own validation (:class:`~gradexp.mc.chain.ChainSpec`; ValueError or
    TypeError naming the parameter), then the memory the cell needs against the memory available
    (:func:`gradexp.mc.check_fits`, the simulator's own estimate). Nothing is allocated or
    sampled."""
    from ..mc import chain, check_fits

    allowed = ("depth", "width", "batch", "reps", *chain.CHAIN_OPTIONS)
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}; the chain takes: {', '.join(allowed)}")
    for k in ("depth", "width", "batch"):
        if k not in params:
            raise ValueError(f"parameter {k!r} is required")
    # the simulator's own validation and memory estimate, before anything is allocated
    check_fits("simulate_chain", **params)


GRIDS: dict[str, SweepGrid] = {}


def _register(name, description, func, grid, fast_grid):
    GRIDS[name] = SweepGrid(name, description, func, grid, fast_grid, validate_chain_cell)


# Paik & Choi's setting: ReLU after BatchNorm, He init, i.i.d. Gaussian upstream gradient;
# ``rate`` is the geometric-mean growth of the gradient norm per layer (Yang's rate
# gradexp.YANG_RATE = sqrt(pi/(pi-1)) in the limit of wide layers and large batches).
_CHAIN = {"depth": 50, "width": 128, "batch": 64, "activation": "relu", "norm": "batch", "reps": 16}
_CHAIN_FAST = {"depth": 10, "width": 32, "batch": 16, "activation": "relu", "norm": "batch", "reps": 4}
# every registered activation that needs no parameters
_ACTS = [a for a in ACTIVATION_NAMES if a != "dropout"]
_register("rate-vs-width", "gradient growth rate per layer against width (BN + ReLU chain)", chain_rate_cell,
          {**_CHAIN, "width": [16, 32, 64, 128, 256]}, {**_CHAIN_FAST, "width": [8, 16, 32]})
_register("rate-vs-batch", "gradient growth rate per layer against batch size (BN + ReLU chain)", chain_rate_cell,
          {**_CHAIN, "batch": [4, 8, 16, 32, 64, 128, 256]}, {**_CHAIN_FAST, "batch": [4, 8, 16]})
_register("rate-vs-activation", "gradient growth rate per layer for each activation (BN chain)", chain_rate_cell,
          {**_CHAIN, "activation": _ACTS}, {**_CHAIN_FAST, "activation": ["relu", "tanh", "identity"]})
_register("rate-vs-width-batch", "gradient growth rate per layer on a width × batch grid (BN + ReLU chain)",
          chain_rate_cell, {**_CHAIN, "width": [16, 32, 64, 128, 256], "batch": [4, 8, 16, 32, 64, 128]},
          {**_CHAIN_FAST, "width": [8, 32], "batch": [4, 16]})

