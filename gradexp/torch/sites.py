r"""The normalization layers of a PyTorch model and what follows each of them.

:func:`find_norm_sites` runs one forward pass with a forward hook on every normalization
module (``BatchNorm1d/2d/3d``, ``SyncBatchNorm``, ``GroupNorm``, ``InstanceNorm1d/2d/3d``,
``LayerNorm``, ``RMSNorm``) and a ``torch.overrides.TorchFunctionMode`` that sees every
torch function applied to a normalization output, including functional ones
(``F.relu(x)``, ``x.relu_()``, ``x + shortcut``) that module hooks cannot see. From the
first operation that consumes the output it reads the activation φ of the theory's chain
norm → φ → linear → norm:

* an activation (``relu``, ``leaky_relu``, ``gelu``, ``silu``, ``tanh``, ``elu``,
  ``softplus``) gives φ by its name in :mod:`gradexp.activations`;
* a linear map (``linear``, ``conv*``, ``matmul``) gives φ = identity;
* views, reshapes and dropout are looked through (their output is followed instead);
* anything else (a residual addition, pooling, the loss) leaves φ unknown.

The mode follows the output further: the layer is a *link* of the theory's chain
(:attr:`NormSite.chain`) when φ's output goes into one linear map or convolution whose output
goes into the next normalization, and no tensor on the way is used anywhere else (a residual
branch, a shortcut, pooling or the loss break the link). Only links get a prediction.

The *normalisation set* of a layer is the set of numbers one mean and variance are taken
over: ``size`` counts them. BatchNorm on an input ``(N, C, *S)`` normalises each channel over
``N·prod(S)`` numbers (for convolutions B·H·W, which are spatially correlated: neighbouring
positions see overlapping patches, so the effective number of independent samples is
smaller); GroupNorm over ``(C/G)·prod(S)`` numbers of one sample, InstanceNorm over
``prod(S)``, LayerNorm and RMSNorm over ``prod(normalized_shape)``.

References
----------
Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (the chain and its
batch-size dependence); Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["NormSite", "find_norm_sites", "norm_kind", "NORM_KINDS"]

#: the kinds of normalization the theory distinguishes, by module class
NORM_KINDS = ("batch", "group", "layer", "rms")

_ACT_FUNCS = {
    "relu": "relu", "relu_": "relu", "leaky_relu": "leaky_relu", "leaky_relu_": "leaky_relu",
    "gelu": "gelu", "silu": "silu", "silu_": "silu", "tanh": "tanh", "tanh_": "tanh",
    "elu": "elu", "elu_": "elu", "softplus": "softplus",
}
_LINEAR_FUNCS = {"linear", "conv1d", "conv2d", "conv3d", "matmul", "mm", "bmm", "addmm",
                 "__matmul__", "einsum"}
_TRANSPARENT_FUNCS = {"view", "reshape", "flatten", "contiguous", "dropout", "dropout_",
                      "permute", "transpose", "unsqueeze", "squeeze", "dropout1d", "dropout2d",
                      "dropout3d", "alpha_dropout", "feature_alpha_dropout"}
_IGNORED_FUNCS = {"register_hook", "retain_grad", "dim", "size", "__get__", "requires_grad_",
                  "detach", "numel", "shape", "dtype", "device", "is_floating_point",
                  "__len__", "stride", "storage_offset", "data_ptr", "_version"}


def norm_kind(module) -> str | None:
    """The theory's kind of a normalization module (``"batch"``, ``"group"``, ``"layer"``,
    ``"rms"``), or None for any other module.

    InstanceNorm counts as ``"group"`` (GroupNorm with one channel per group).

    >>> norm_kind(torch.nn.BatchNorm2d(3)), norm_kind(torch.nn.Linear(2, 2))
    ('batch', None)
    """
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "batch"
    if isinstance(module, (nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)):
        return "group"
    if isinstance(module, nn.LayerNorm):
        return "layer"
    rms = getattr(nn, "RMSNorm", None)
    if rms is not None and isinstance(module, rms):
        return "rms"
    return None


@dataclass(frozen=True)
class NormSite:
    r"""One call of a normalization module in a forward pass.

    Attributes
    ----------
    name : the module's name in ``model.named_modules()`` (``"#k"`` appended for its k-th call
        when a module is called more than once).
    kind : ``"batch"``, ``"group"``, ``"layer"`` or ``"rms"`` (:func:`norm_kind`).
    module_type : the module's class name.
    size : numbers in one normalisation set (see the module docstring).
    batch : the leading (sample) dimension of the input.
    spatial : ``prod(S)`` of an input ``(N, C, *S)`` for BatchNorm, GroupNorm and InstanceNorm
        (1 for a 2-d input); 1 for LayerNorm and RMSNorm.
    width : the features one normalization output has per sample and position
        (channels, or ``prod(normalized_shape)``).
    activation : the gradexp name of the activation after the layer (``"identity"`` when a
        linear map follows directly), or None when the layer is not followed by φ → linear.
    activation_params : the activation's parameter (``{"slope": a}`` for leaky ReLU,
        ``{"alpha": a}`` for ELU), else empty.
    consumer : the name of the first torch function applied to the output (after views).
    eps : the module's ε.
    chain : True when the output is a link of the theory's chain: it goes through φ (or
        directly) into one linear map or convolution whose output goes into the next
        normalization layer, and is used nowhere else (no residual branch, no pooling).
    """

    name: str
    kind: str
    module_type: str
    size: int
    batch: int
    spatial: int
    width: int
    activation: str | None
    activation_params: dict = field(default_factory=dict)
    consumer: str = ""
    eps: float = 0.0
    chain: bool = False

    @property
    def correlated(self) -> bool:
        """True when the normalisation set spans spatial positions (conv BatchNorm, GroupNorm,
        InstanceNorm): its members are correlated and the theory's size is an upper bound on
        the effective one."""
        return self.spatial > 1


def _func_name(func) -> str:
    name = getattr(func, "__name__", None)
    if name is None:
        name = getattr(getattr(func, "__func__", None), "__name__", None) or str(func)
    return name


def _activation_of(name: str, args, kwargs) -> tuple[str, dict] | None:
    act = _ACT_FUNCS.get(name)
    if act is None:
        return None
    if act == "leaky_relu":
        slope = kwargs.get("negative_slope", args[1] if len(args) > 1 else 0.01)
        return act, {"slope": float(slope)}
    if act == "elu":
        alpha = kwargs.get("alpha", args[1] if len(args) > 1 else 1.0)
        return act, {"alpha": float(alpha)}
    if act == "softplus":
        beta = kwargs.get("beta", args[1] if len(args) > 1 else 1.0)
        if float(beta) != 1.0:
            return None  # softplus with β ≠ 1 is not in the registry
    if act == "gelu" and kwargs.get("approximate", "none") != "none":
        return act, {}  # the tanh approximation: within 1e-3 of GELU, treated as GELU
    return act, {}


_NORM_FUNCS = {"batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"}


class _Link:
    """Where one normalization output goes: stages ``norm`` → (``act``) → ``lin`` → ``done``."""

    def __init__(self, tensor):
        self.stage = "norm"
        self.current = [tensor]  # tensors of the current stage (views included)
        self.closed = []  # tensors of earlier stages: any further use breaks the chain
        self.first = None  # (name, args, kwargs) of the first consumer of the output
        self.chain = None  # True: φ → one linear map → the next normalization, nothing else

    def uses(self, objs) -> str | None:
        if any(o is t for o in objs for t in self.current):
            return "current"
        if any(o is t for o in objs for t in self.closed):
            return "closed"
        return None

    def advance(self, stage, out):
        self.closed += [t for t in self.current if not any(t is o for o in (out,))]
        self.current = [out] if isinstance(out, torch.Tensor) else []
        self.stage = stage


class _Tracker(TorchFunctionMode):
    """Follows each tracked normalization output through the torch functions applied to it:
    the first consumer (the activation of the chain) and whether the output is a chain link
    norm → φ → linear → norm with no other use."""

    def __init__(self):
        super().__init__()
        self.links: list[_Link] = []

    def track(self, tensor) -> None:
        self.links.append(_Link(tensor))

    @staticmethod
    def _flat(args, kwargs):
        flat = list(args) + list(kwargs.values())
        for a in list(flat):
            if isinstance(a, (list, tuple)):
                flat.extend(a)
        return [a for a in flat if isinstance(a, torch.Tensor)]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _func_name(func)
        hits = []
        if name not in _IGNORED_FUNCS:
            objs = self._flat(args, kwargs)
            hits = [(lk, lk.uses(objs)) for lk in self.links if lk.stage != "done"]
            hits = [(lk, u) for lk, u in hits if u is not None]
        out = func(*args, **kwargs)
        for lk, use in hits:
            self._step(lk, use, name, args, kwargs, out)
        return out

    @staticmethod
    def _step(lk, use, name, args, kwargs, out):
        if lk.first is None:
            lk.first = (name, args, kwargs)
        if use == "closed" or lk.stage == "linked":  # used again: a branch, not a chain
            lk.stage, lk.chain = "done", False
            return
        if name in _TRANSPARENT_FUNCS and isinstance(out, torch.Tensor):
            lk.current.append(out)
            return
        if lk.stage == "norm" and name in _ACT_FUNCS:
            lk.advance("act", out)
        elif lk.stage in ("norm", "act") and name in _LINEAR_FUNCS:
            lk.advance("lin", out)
        elif lk.stage == "lin" and name in _NORM_FUNCS:
            # a link so far; it stays one unless a tensor on the way is used again later
            lk.advance("linked", None)
            lk.chain = True
        else:
            lk.stage, lk.chain = "done", False


def _modules_of(model):
    return [(n, m, norm_kind(m)) for n, m in model.named_modules() if norm_kind(m) is not None]


def _site_shape(module, kind, x) -> tuple[int, int, int, int]:
    """(size, batch, spatial, width) of one call on input ``x``."""
    shape = tuple(x.shape)
    n = int(shape[0]) if len(shape) else 1
    if kind in ("layer", "rms"):
        norm_shape = module.normalized_shape
        size = math.prod(int(s) for s in norm_shape)
        return size, n, 1, size
    if x.dim() < 2:
        raise ValueError(f"input of {type(module).__name__} must have a channel axis, got shape {shape}")
    c = int(shape[1])
    spatial = math.prod(int(s) for s in shape[2:]) if x.dim() > 2 else 1
    if kind == "batch":
        return n * spatial, n, spatial, c
    groups = getattr(module, "num_groups", None) or c  # InstanceNorm: one channel per group
    return (c // groups) * spatial, n, spatial, c


def find_norm_sites(model, inputs) -> list[NormSite]:
    r"""The normalization layers of ``model`` in forward order, with their normalisation-set
    sizes and the activation that follows each (module docstring).

    Runs ``model(*inputs)`` once under ``torch.no_grad()`` in training mode (BatchNorm uses
    batch statistics, as at the first training step); the model's parameters, buffers
    (running statistics) and mode are left as they were.

    Parameters
    ----------
    model : torch.nn.Module
    inputs : tensor or tuple of tensors
        Passed as ``model(*inputs)``.

    Returns
    -------
    list of :class:`NormSite` (empty when the model has no normalization layer).

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
    ...                           torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> [(s.kind, s.size, s.activation) for s in find_norm_sites(net, torch.randn(16, 4))]
    [('batch', 16, 'relu')]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    inputs = as_inputs(inputs)
    mods = _modules_of(model)
    tracker = _Tracker()
    calls: list[tuple[str, nn.Module, str, tuple]] = []
    counts: dict[str, int] = {}

    def hook_for(name, kind):
        def hook(module, args, output):
            if not isinstance(output, torch.Tensor) or not args:
                return
            counts[name] = counts.get(name, 0) + 1
            calls.append((name, module, kind, _site_shape(module, kind, args[0])))
            tracker.track(output)
        return hook

    handles = [m.register_forward_hook(hook_for(n, k)) for n, m, k in mods]
    state = _snapshot_buffers(model)
    was_training = model.training
    try:
        model.train()
        with torch.no_grad(), tracker:
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        _restore_buffers(model, state)
    seen: dict[str, int] = {}
    sites = []
    for i, (name, module, kind, (size, n, spatial, width)) in enumerate(calls):
        seen[name] = seen.get(name, 0) + 1
        label = name if counts[name] == 1 else f"{name}#{seen[name]}"
        link = tracker.links[i]
        consumer, act, params = "", None, {}
        if link.first is not None:
            consumer = link.first[0]
            found = _activation_of(*link.first)
            if found is not None:
                act, params = found
            elif consumer in _LINEAR_FUNCS:
                act = "identity"
        sites.append(NormSite(name=label or type(module).__name__, kind=kind,
                              module_type=type(module).__name__, size=int(size), batch=int(n),
                              spatial=int(spatial), width=int(width), activation=act,
                              activation_params=params, consumer=consumer,
                              eps=float(getattr(module, "eps", 0.0) or 0.0),
                              chain=bool(link.chain) and act is not None))
    return sites


def as_inputs(inputs) -> tuple:
    """``inputs`` as a tuple of tensors (one tensor becomes a 1-tuple); TypeError otherwise."""
    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if isinstance(inputs, (tuple, list)) and inputs and all(isinstance(t, torch.Tensor) for t in inputs):
        return tuple(inputs)
    raise TypeError("inputs must be a tensor or a non-empty tuple of tensors, "
                    f"got {type(inputs).__name__}")


def _snapshot_buffers(model):
    return {k: v.detach().clone() for k, v in model.named_buffers()}


def _restore_buffers(model, state):
    with torch.no_grad():
        for k, v in model.named_buffers():
            if k in state:
                v.copy_(state[k])

