r"""Direct simulations that test the effective-learning-rate model (:mod:`gradexp.elr`).

Two levels of realism:

:func:`simulate_vectors`
    High-dimensional weight vectors whose gradients are random directions orthogonal to the
    current weights with norm c/‖W‖ (the model's assumptions, but with real vectors: earlier
    gradients are only *approximately* orthogonal, to O(1/√dim)). Driven by the same
    :class:`gradexp.optim.Optimizer` as the model.
:func:`train_toynet`
    A deep BatchNorm + ReLU MLP (Mehmeti-Göpel & Wand's ToyNet idea: constant width, He
    initialization, BN without learnable parameters) trained on synthetic data with exact
    forward and backward passes in numpy (BLAS matmuls), recording per-layer ‖W‖, ‖∇W‖ and
    E = ‖∇W‖/‖W‖; :func:`fit_discrete_model` fits eq. 4 to the step-0 norms and
    :func:`compare_with_model` scores its predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..gaussian import as_float_array, check_positive
from ..optim import SGD, Optimizer, schedule_values
from ._estimate import Estimate, estimate

__all__ = [
    "simulate_vectors", "VectorRun", "ToyNet", "ToyNetRun", "init_toynet", "toynet_loss_and_grads",
    "make_synthetic_data", "train_toynet", "fit_discrete_model", "compare_with_model",
    "gradient_growth_rate",
]


# ===================================================================== vector simulation
@dataclass(frozen=True)
class VectorRun:
    """Trajectories of :func:`simulate_vectors`: arrays ``(n_rep, steps + 1, L)``."""

    weight_sq: np.ndarray
    grad_sq: np.ndarray

    @property
    def elr(self) -> np.ndarray:
        return np.sqrt(self.grad_sq / self.weight_sq)


def simulate_vectors(c, lr, steps, *, dim, w0_sq=1.0, momentum=0.0, rule=None, optimizer=None,
                     n_rep=16, seed=None) -> VectorRun:
    r"""The ELR model's assumptions realised with vectors in :math:`\mathbb R^{\rm dim}`.

    Each of ``n_rep`` replicas and L layers starts from a uniformly random direction with
    ‖W(0)‖² = ``w0_sq``. At step k the gradient is a standard Gaussian vector projected
    orthogonally to W(k) (eq. 2) and rescaled to norm :math:`c_\ell/\|W(k)\|` (eq. 27); the
    optimizer (same object as for :func:`gradexp.elr.simulate`) then updates W. For plain SGD
    this reproduces eq. 4 exactly (Pythagoras); with momentum the model additionally
    assumes the gradients mutually orthogonal, which random directions satisfy up to
    O(1/√dim).
    """
    c = check_positive(c, "c")
    c = np.atleast_1d(c)
    if c.ndim != 1:
        raise ValueError("c must be one profile (1-d)")
    dim = int(dim)
    if dim < 2:
        raise ValueError(f"dim must be >= 2, got {dim}")
    n_rep = int(n_rep)
    if n_rep < 1:
        raise ValueError("n_rep must be >= 1")
    steps = int(steps)
    if optimizer is None:
        optimizer = Optimizer(rule=SGD() if rule is None else rule, momentum=momentum)
    rng = np.random.default_rng(seed)
    L = c.size
    lrs = np.asarray(schedule_values(lr, steps), float)
    w = rng.standard_normal((n_rep, L, dim))
    w *= np.sqrt(check_positive(w0_sq, "w0_sq")) / np.linalg.norm(w, axis=-1, keepdims=True)
    state = optimizer.init_state(w)
    ws = np.empty((n_rep, steps + 1, L))
    for k in range(steps + 1):
        w = optimizer.prepare(w)
        s = np.sum(w * w, axis=-1)
        ws[:, k] = s
        if k == steps:
            break
        g = rng.standard_normal((n_rep, L, dim))
        g -= (np.sum(g * w, axis=-1) / s)[..., None] * w
        g *= (c / np.sqrt(s))[..., None] / np.linalg.norm(g, axis=-1, keepdims=True)
        w, state, _ = optimizer.step(w, g, state, lr=lrs[k])
    return VectorRun(weight_sq=ws, grad_sq=c[None, None, :] ** 2 / ws)
