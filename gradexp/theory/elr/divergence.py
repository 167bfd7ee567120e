r"""Where the ELR model diverges, and the one warning that says so.

With coupled weight decay β the weight-decay part of an SGD step contracts the weights,
w ← (1 − λβ) w, and the gradient part (orthogonal to w, norm c/‖w‖) only adds to ‖w‖². The
model therefore has a fixed point (:func:`~gradexp.theory.elr.equilibrium_weight_sq`) only
while the contraction is stable. For heavy-ball momentum μ (PyTorch semantics, dampening τ)
the weight-decay part is gradient descent on the quadratic ½β‖w‖², whose iteration is
stable iff

.. math:: 0 \le \lambda\beta\,(1-\tau) < 2(1+\mu)
          \qquad\Bigl(\text{Nesterov: } \lambda\beta < \tfrac{2(1+\mu)}{1+2\mu}\Bigr),

i.e. λβ < 2 for plain SGD, where :math:`s_{k+1} = (1-\lambda\beta)^2 s_k + \lambda^2c^2/s_k`
has the factor (1 − λβ)² < 1. At and above the limit ‖W‖² has no fixed point; above it grows
geometrically and overflows float64 after a few hundred steps. A learning rate so large that
λ²c²/‖W‖² overflows (``lr=1e200``) ends the same way in one step.

:func:`~gradexp.theory.elr.simulate`, :func:`~gradexp.theory.elr.discrete_weight_sq` and
:func:`~gradexp.theory.elr.momentum_state` compute through such regimes without numpy
warnings and emit one :class:`ELRDivergenceWarning` per call that says, in words, which
regime was entered and from which step on the values are inf or NaN.

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 (with weight decay added as in
their Sec. 4 setups); Polyak (1964), heavy-ball stability on quadratics.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..._validate import check_interval

__all__ = ["ELRDivergenceWarning", "weight_decay_stability_limit"]


class ELRDivergenceWarning(RuntimeWarning):
    """The ELR model entered a divergent regime (λβ at or above its stability limit, or a
    learning rate whose step overflows float64); the message says which and from which step
    the trajectory is inf or NaN."""


def weight_decay_stability_limit(momentum=0.0, *, nesterov=False, dampening=0.0) -> float:
    r"""The largest λβ for which the weight-decay part of the step is stable (exclusive).

    .. math:: \frac{2(1+\mu)}{1-\tau} \quad\text{(heavy ball)}, \qquad
              \frac{2(1+\mu)}{(1+2\mu)(1-\tau)} \quad\text{(Nesterov)},

    2 for plain SGD; ``inf`` for τ = 1 (the buffer never sees the gradient).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 with weight decay; Polyak (1964).

    Examples
    --------
    >>> weight_decay_stability_limit(), weight_decay_stability_limit(0.9)
    (2.0, 3.8)
    """
    mu = float(check_interval(momentum, "momentum", 0.0, 1.0, closed=(True, False)))
    tau = float(check_interval(dampening, "dampening", 0.0, 1.0))
    if tau == 1.0:
        return float("inf")
    limit = 2.0 * (1.0 + mu) / (1.0 - tau)
    return limit / (1.0 + 2.0 * mu) if nesterov else limit


def report_divergence(func: str, weight_sq, *, lrs=None, weight_decay=0.0, limit=None,
                      step_axis=-2) -> None:
    """Emit at most one :class:`ELRDivergenceWarning` for a finished trajectory.

    ``weight_sq`` has the step on ``step_axis``; ``lrs`` (rates per step, step on the last
    axis) and ``limit`` (the stability limit of λβ, None when unknown for the optimizer)
    give the regime check.
    """
    parts = []
    if limit is not None and weight_decay > 0 and lrs is not None and np.size(lrs):
        x = np.asarray(lrs, float) * weight_decay
        bad = x >= limit
        if bad.any():
            first = int(np.argmax(bad.reshape(-1, bad.shape[-1]).any(axis=0)))
            parts.append(f"lr * weight_decay reaches {float(x.max()):.4g} (first at step {first}),"
                         f" at or above the stability limit {limit:.4g} of the weight-decay "
                         "contraction: the model has no fixed point there and ‖W‖² grows")
    s = np.moveaxis(np.asarray(weight_sq, float), step_axis, 0)
    finite = np.isfinite(s).reshape(s.shape[0], -1).all(axis=1)
    if not finite.all():
        k = int(np.argmin(finite))
        top = "" if lrs is None or not np.size(lrs) else f" (lr up to {float(np.max(lrs)):.4g})"
        parts.append(f"‖W‖² overflowed float64 at step {k}{top}: the values from step {k} on "
                     "are inf or NaN")
    if parts:
        warnings.warn(f"{func}: the ELR model diverged: " + "; ".join(parts) + ".",
                      ELRDivergenceWarning, stacklevel=3)
