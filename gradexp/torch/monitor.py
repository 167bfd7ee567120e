r"""Effective learning rates of a PyTorch model during training: :class:`ELRMonitor`.

Call the monitor after every ``optimizer.step()`` (before ``optimizer.zero_grad()`` and
before a learning-rate scheduler's ``step()``). For every monitored weight W_ℓ and step k it
records, with :math:`W_\ell(k)` the weights the gradient was evaluated at:

* :math:`\|W_\ell(k)\|^2` and :math:`\|\nabla W_\ell(k)\|^2` (the raw gradient in ``.grad``,
  before the optimizer's weight decay, momentum or preconditioning);
* the effective learning rate of Mehmeti-Göpel & Wand (Sec. 3.4),
  :math:`E_\ell = \|\nabla W_\ell\|/\|W_\ell\|`, and the other two notions of
  :func:`gradexp.elr.limit_ratio`: :math:`\gamma_k/\|W_\ell\|^2` (the step size a
  scale-invariant layer effectively sees, :math:`\gamma` the group's learning rate) and the
  relative update :math:`\|W_\ell(k+1) - W_\ell(k)\|/\|W_\ell(k)\|`;
* :math:`\cos(\nabla W_\ell, W_\ell)`, zero for a scale-invariant layer (eq. 2): a check that
  the ELR model applies to the layer;

and per step the spreads over layers (:func:`gradexp.elr.spread`, the paper's
:math:`\mathrm{Std}_\ell(E_\ell)`, and :func:`gradexp.elr.log_spread`).

:meth:`ELRMonitor.fit <gradexp.torch.monitor.ELRMonitor.fit>` runs the ELR model (:func:`gradexp.elr.simulate`) from the first
recorded step: base gradients :math:`c_\ell = \|\nabla W_\ell(0)\|\,\|W_\ell(0)\|`, the
recorded :math:`\|W_\ell(0)\|^2` and learning rates, and the optimizer translated to
:class:`gradexp.optim.Optimizer` (``torch.optim.SGD``: momentum, dampening, Nesterov and
coupled weight decay). Other optimizers (Adam, AdamW, ...) are recorded all the same, but the
ELR model of :mod:`gradexp.elr` describes SGD-type updates only, so ``fit()`` refuses them.

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 (the discrete model), Sec. 3.4
(the ELR and its spread), Sec. 4.3 and Appendix A.2 (momentum).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..optim import Optimizer
from ..theory import elr as _elr

__all__ = ["ELRMonitor", "QUANTITIES"]

#: per-layer quantities of :meth:`ELRMonitor.series <gradexp.torch.monitor.ELRMonitor.series>`
QUANTITIES = ("weight_sq", "grad_sq", "update_sq", "lr", "elr", "lr_over_weight_sq",
              "relative_update", "cos_gw")


class ELRMonitor:
    r"""Per-layer norms, effective learning rates and relative updates during training.

    Parameters
    ----------
    model : torch.nn.Module
    optimizer : torch.optim.Optimizer (any: SGD, momentum, Adam, AdamW, ...).
    params : sequence of parameter names, optional. Default: every parameter with at least two
        dimensions (weights of linear and convolutional layers) that the optimizer updates.

    Examples
    --------
    >>> torch.manual_seed(0) is not None
    True
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
    ...                           torch.nn.Linear(8, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
    ...                           torch.nn.Linear(8, 2))
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> mon = ELRMonitor(net, opt)
    >>> x = torch.randn(32, 4)
    >>> for _ in range(3):
    ...     opt.zero_grad(); net(x).square().mean().backward(); opt.step(); mon()
    >>> mon.elr.shape                     # (steps, layers)
    (3, 3)
    >>> bool(np.allclose(mon.relative_update, 0.1 * mon.elr, rtol=1e-4))   # SGD: λE
    True
    """

    def __init__(self, model, optimizer, *, params=None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        group_of = {}
        for gi, g in enumerate(optimizer.param_groups):
            for p in g["params"]:
                group_of[id(p)] = gi
        named = [(n, p) for n, p in model.named_parameters() if id(p) in group_of]
        if params is None:
            chosen = [(n, p) for n, p in named if p.ndim >= 2]
        else:
            if isinstance(params, str):
                raise TypeError("params must be a sequence of parameter names, not a string")
            lookup = dict(named)
            missing = [n for n in params if n not in lookup]
            if missing:
                raise ValueError(f"params names not updated by the optimizer (or not in the model): {missing}")
            chosen = [(n, lookup[n]) for n in params]
        if not chosen:
            raise ValueError("no parameter to monitor: the optimizer updates no weight with >= 2 dimensions")
        self.model = model
        self.optimizer = optimizer
        self.names = [n for n, _ in chosen]
        self._params = [p for _, p in chosen]
        self._groups = [group_of[id(p)] for p in self._params]
        self._prev = [p.detach().clone() for p in self._params]
        self._rows: dict[str, list] = {k: [] for k in ("weight_sq", "grad_sq", "update_sq", "lr", "dot")}
        self.loss: list[float] = []

    # ---------------------------------------------------------------- recording
    @torch.no_grad()
    def __call__(self, loss=None) -> None:
        """Record the step just taken (call after ``optimizer.step()``); ``loss`` optional."""
        w2, g2, u2, lr, dot = [], [], [], [], []
        for i, p in enumerate(self._params):
            if p.grad is None:
                raise RuntimeError(f"{self.names[i]} has no gradient: call the monitor after "
                                   "backward() and optimizer.step(), before zero_grad()")
            old = self._prev[i].double()
            g = p.grad.detach().double()
            new = p.detach().double()
            w2.append(float(old.square().sum()))
            g2.append(float(g.square().sum()))
            dot.append(float((g * old).sum()))
            u2.append(float((new - old).square().sum()))
            lr.append(float(self.optimizer.param_groups[self._groups[i]]["lr"]))
            self._prev[i] = p.detach().clone()
        for k, v in zip(("weight_sq", "grad_sq", "update_sq", "lr", "dot"), (w2, g2, u2, lr, dot)):
            self._rows[k].append(v)
        if loss is not None:
            self.loss.append(float(loss))

    def _arr(self, key) -> np.ndarray:
        return np.array(self._rows[key], dtype=float).reshape(-1, len(self._params))

    # ---------------------------------------------------------------- series (steps, layers)
    @property
    def steps(self) -> int:
        return len(self._rows["lr"])

    @property
    def weight_sq(self) -> np.ndarray:
        """‖W_ℓ(k)‖², shape (steps, layers): the weights each gradient was evaluated at."""
        return self._arr("weight_sq")

    @property
    def grad_sq(self) -> np.ndarray:
        """‖∇W_ℓ(k)‖² of the raw gradient."""
        return self._arr("grad_sq")

    @property
    def update_sq(self) -> np.ndarray:
        """‖W_ℓ(k+1) − W_ℓ(k)‖²."""
        return self._arr("update_sq")

    @property
    def lr(self) -> np.ndarray:
        """The learning rate γ_k of each layer's parameter group at step k."""
        return self._arr("lr")

    @property
    def elr(self) -> np.ndarray:
        """E_ℓ = ‖∇W_ℓ‖/‖W_ℓ‖ (Mehmeti-Göpel & Wand, Sec. 3.4)."""
        return np.sqrt(self.grad_sq / self.weight_sq)

    @property
    def lr_over_weight_sq(self) -> np.ndarray:
        """γ_k/‖W_ℓ(k)‖²: the effective step size of a scale-invariant layer."""
        return self.lr / self.weight_sq

    @property
    def relative_update(self) -> np.ndarray:
        """‖ΔW_ℓ(k)‖/‖W_ℓ(k)‖ (= γ_k E_ℓ for plain SGD without weight decay)."""
        return np.sqrt(self.update_sq / self.weight_sq)

    @property
    def cos_gw(self) -> np.ndarray:
        """cos(∇W_ℓ, W_ℓ): 0 for a scale-invariant layer (eq. 2)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._arr("dot") / np.sqrt(self.grad_sq * self.weight_sq)

    def series(self, quantity: str = "elr") -> np.ndarray:
        """One of :data:`QUANTITIES` as a (steps, layers) array."""
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}; got {quantity!r}")
        return getattr(self, quantity)

    def spread(self, quantity: str = "elr", *, layers=None, log: bool = False) -> np.ndarray:
        """Per-step spread over layers: ``Std_ℓ`` (:func:`gradexp.elr.spread`, ddof = 0) or,
        with ``log=True``, ``ln(max/min)`` (:func:`gradexp.elr.log_spread`)."""
        x = self.series(quantity)
        x = x if layers is None else x[:, layers]
        return (_elr.log_spread if log else _elr.spread)(x, axis=-1)

    def to_dict(self) -> dict:
        """Every recorded series as a dict of numpy arrays (plus ``names`` and ``loss``)."""
        out = {q: self.series(q) for q in QUANTITIES}
        out["elr_spread"] = self.spread("elr")
        out["names"] = np.array(self.names)
        out["loss"] = np.array(self.loss, dtype=float)
        return out

    def __repr__(self) -> str:
        return f"<ELRMonitor: {len(self.names)} layers, {self.steps} steps, {type(self.optimizer).__name__}>"

    # ---------------------------------------------------------------- the ELR model
    def model_optimizer(self) -> Optimizer:
        """The :class:`gradexp.optim.Optimizer` that performs this torch optimizer's update
        (``torch.optim.SGD`` only; one setting for all parameter groups)."""
        opt = self.optimizer
        if type(opt) is not torch.optim.SGD:
            raise ValueError(f"the ELR model (gradexp.elr) describes SGD-type updates; "
                             f"{type(opt).__name__} is recorded but has no model counterpart")
        keys = ("momentum", "dampening", "nesterov", "weight_decay")
        settings = {tuple(g.get(k, 0.0) for k in keys) for g in (opt.param_groups[i] for i in set(self._groups))}
        if len(settings) != 1:
            raise ValueError("the monitored parameter groups differ in momentum, dampening, nesterov "
                             "or weight_decay; fit them separately (params=)")
        mu, damp, nest, wd = settings.pop()
        if any(opt.param_groups[i].get("maximize", False) for i in set(self._groups)):
            raise ValueError("maximize=True is not modelled")
        return Optimizer(momentum=float(mu), dampening=float(damp), nesterov=bool(nest),
                         weight_decay=float(wd))

    def fit(self, steps: int | None = None, *, layers=None):
        r"""The ELR model from the first recorded step, for ``steps`` steps (default: all).

        Each layer is its own configuration of :func:`gradexp.elr.simulate` with
        :math:`c_\ell = \|\nabla W_\ell(0)\|\,\|W_\ell(0)\|`, :math:`w_0 = \|W_\ell(0)\|^2`,
        its recorded learning rates and :meth:`model_optimizer`. Returns an
        :class:`gradexp.elr.ELRTrajectory` whose arrays have shape ``(layers, time, 1)``;
        :meth:`predicted` reshapes them to (time, layers).

        References
        ----------
        Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix A.2, eqs. 27–32.
        """
        if self.steps < 1:
            raise ValueError("nothing recorded yet: call the monitor after optimizer.step()")
        steps = self.steps if steps is None else int(steps)
        if not 1 <= steps <= self.steps:
            raise ValueError(f"steps must lie in [1, {self.steps}], got {steps}")
        sel = slice(None) if layers is None else layers
        w0 = self.weight_sq[0, sel]
        c = np.sqrt(self.grad_sq[0, sel] * w0)
        lrs = self.lr[:steps, sel].T  # one schedule per layer
        return _elr.simulate(c[:, None], lrs, steps, w0_sq=w0[:, None],
                             optimizer=self.model_optimizer())

    def predicted(self, quantity: str = "elr", steps: int | None = None, *, layers=None) -> np.ndarray:
        """The model's ``quantity`` (``elr``, ``weight_sq``, ``grad_sq``, ``relative_update``,
        ``lr_over_weight_sq``) as a (steps, layers) array aligned with the measured series."""
        tr = self.fit(steps, layers=layers)
        n = tr.update_sq.shape[-2]
        if quantity == "relative_update":
            return tr.relative_update[..., 0].T
        if quantity == "lr_over_weight_sq":
            return (tr.lr / tr.weight_sq[..., :n, 0]).T
        if quantity in ("elr", "weight_sq", "grad_sq"):
            return getattr(tr, quantity)[..., :n, 0].T
        raise ValueError(f"quantity must be elr, weight_sq, grad_sq, relative_update or "
                         f"lr_over_weight_sq; got {quantity!r}")

    def plot(self, quantity: str = "elr", *, model_steps: int | None = None, layers=None, axes=None):
        """Two panels: ``quantity`` per layer against the step (thin lines; the model's
        prediction dashed where available) and its spread over layers, measured and modelled.
        Returns the matplotlib Figure (matplotlib imported here)."""
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
        else:
            fig = axes[0].figure
        x = self.series(quantity)
        x = x if layers is None else x[:, layers]
        k = np.arange(x.shape[0])
        cmap = plt.get_cmap("viridis")
        L = x.shape[1]
        for i in range(L):
            axes[0].plot(k, x[:, i], color=cmap(i / max(L - 1, 1)), lw=0.8)
        pred = None
        try:
            pred = self.predicted(quantity, model_steps, layers=layers)
        except ValueError:
            pass
        if pred is not None:
            for i in range(L):
                axes[0].plot(np.arange(pred.shape[0]), pred[:, i], color=cmap(i / max(L - 1, 1)),
                             lw=0.8, ls="--")
        axes[0].set_yscale("log")
        axes[0].set_xlabel("step")
        axes[0].set_ylabel(quantity + (" (dashed: ELR model)" if pred is not None else ""))
        axes[1].plot(k, _elr.spread(x, axis=-1), label="measured")
        if pred is not None:
            axes[1].plot(np.arange(pred.shape[0]), _elr.spread(pred, axis=-1), ls="--", label="ELR model")
        axes[1].set_xlabel("step")
        axes[1].set_ylabel(f"Std over layers of {quantity}")
        axes[1].legend(frameon=False, fontsize=8)
        return fig

