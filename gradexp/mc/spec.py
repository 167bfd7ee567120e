"""The specification of a chain: :class:`ChainSpec`, its option names and their validation.

Every public chain function (:func:`gradexp.mc.chain.simulate_chain`,
:func:`~gradexp.mc.chain.sample_chain`, :func:`~gradexp.mc.chain.single_layer_ratio`) builds one
frozen, validated :class:`ChainSpec` (or takes one) and passes it down; nothing below re-checks
an option.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import check_int, check_real
from ..activations import DROPOUT, Activation, get_activation
from . import _chain_kernels as K
from ._layout import _what_args, chain_bytes
from ._memory import check_memory

__all__ = ["ChainSpec", "CHAIN_OPTIONS", "STATS", "NORMS", "WEIGHTS", "InfiniteGrowthWarning"]

NORMS = ("batch", "batch-nocenter", "layer", "group", "rms", "none")
_NORM_CODES = {"batch": K.NORM_BATCH, "batch-nocenter": K.NORM_BATCH, "layer": K.NORM_GROUP,
               "group": K.NORM_GROUP, "rms": K.NORM_GROUP, "none": K.NORM_NONE}
_UPSTREAMS = {"gaussian": K.LOSS_GAUSSIAN, "mse": K.LOSS_MSE,
              "cross_entropy": K.LOSS_CROSS_ENTROPY, "logistic": K.LOSS_LOGISTIC}
_INITS = {"he": math.sqrt(2.0), "lecun": 1.0}
WEIGHTS = ("gaussian", "orthogonal")
#: names accepted by ``stats=``: ``"gram"`` adds the batch-Gram statistics of every layer
STATS = ("gram",)


class InfiniteGrowthWarning(RuntimeWarning):
    r"""The expected squared gradient of this chain grows without bound: the result is a legal
    sample but its mean over repetitions does not converge.

    The gradient through a normalisation is divided by :math:`\hat\sigma`, and
    :math:`\hat\sigma^2` of a Gaussian vector is a :math:`\chi^2_k/k'` variable with
    :math:`k = B - 1` degrees of freedom under centred BatchNorm (``batch``), :math:`k = B`
    without centring, :math:`k = d - 1` under LayerNorm (width d). :math:`E[1/\chi^2_k]` is
    infinite for :math:`k \le 2`, so the expected squared gradient norm is infinite for
    batch ≤ 3 (BatchNorm), batch ≤ 2 (``batch-nocenter``) and width ≤ 3 (LayerNorm).

    References
    ----------
    Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (batch-size dependence
    of the gradient rate); the divergence at batch ≤ 3 is derived in gradexp.
    """


# ============================================================================ specification
@dataclass(frozen=True)
class ChainSpec:
    r"""The validated, immutable options of a chain (checked once, in ``__post_init__``).

    Every public function of this module builds one (``ChainSpec(depth, width, batch,
    **options)``) or accepts one; the kernel gets it packed. Fields after ``batch`` are the
    chain *options* (:data:`CHAIN_OPTIONS`), each documented here once.

    Parameters
    ----------
    depth : number of layers N ≥ 1.
    width : int ≥ 2, or a sequence of N + 1 widths :math:`d_0, \dots, d_N` (stored as a tuple).
        Paik & Choi's theorems sum over width, so a width change shows as a step in the
        gradient norm.
    batch : batch size B ≥ 2. Under BatchNorm B ≤ 3 warns (:class:`InfiniteGrowthWarning`).
    activation, activation_params : a name of :mod:`gradexp.activations` (``"relu"``,
        ``"leaky_relu"``, ``"elu"``, ``"gelu"``, ``"silu"``, ``"tanh"``, ``"softplus"``,
        ``"identity"``, ``"dropout"``) and its parameters, e.g. ``{"keep_prob": 0.5}``
        (stored as a sorted tuple of items).
    norm : ``"batch"``, ``"batch-nocenter"`` (BatchNorm without mean subtraction),
        ``"layer"``, ``"group"``, ``"rms"`` or ``"none"`` (formulas in :mod:`gradexp.mc.chain`).
        ``"group"`` normalises each sample over groups of ``group_size`` consecutive units
        (mean and variance of the group), ``"rms"`` the same without centring (RMSNorm);
        ``"layer"`` is ``"group"`` with one group of the whole width.
    group_size : units per group of ``"group"`` and ``"rms"`` (default None: the whole width,
        so ``norm="group"`` is LayerNorm); must divide the width of every normalised layer.
        Groups of ≤ 3 units (≤ 2 for ``"rms"``) warn at eps = 0 (:class:`InfiniteGrowthWarning`).
    bn_backward : ``"full"`` (exact, through the statistics) or ``"simplified"`` (statistics
        held constant: the frozen-statistics backward), for every norm.
    eps : ≥ 0, added to the variance (mean square for the uncentred norms) in every norm
        (default 0).
    shift : a finite constant added to the normalised output before the activation (the β of
        an affine norm; every norm, not ``"none"``; default 0).
    input_mean, input_std : inputs :math:`x^0_{bi} \sim N(\mu, \sigma^2)`; the first layer then
        has Paik & Choi's :math:`R = \mu/(\sqrt2\sigma)`.
    input_corr : common correlation ρ ∈ [0, 1] between input features,
        :math:`x_{bi} = \mu + \sigma(\sqrt\rho\,c_b + \sqrt{1-\rho}\,e_{bi})`, or ``"bt"`` for the
        perfectly correlated inputs of Thm 2.8, :math:`x_{bi} = \mu + \sigma\,b_b t_i` with
        :math:`b_b, t_i \sim N(0, 1)` (t drawn once per network).
    residual, residual_scale : skip connection every ``residual`` layers (module docstring).
    init : ``"he"`` (:math:`\sigma_w^2 = 2/d_{in}`), ``"lecun"`` (1/d_in) or a gain g > 0
        (:math:`g^2/d_{in}`). Irrelevant for normalised layers (scale invariance).
    weights : ``"gaussian"`` (i.i.d. entries) or ``"orthogonal"``: the QR factor of a Gaussian
        :math:`\max(d_{in}, d_{out})\times\min(d_{in}, d_{out})` matrix with the signs of
        diag(R) moved into Q (Haar on the Stiefel manifold; Mezzadri 2007), so
        :math:`W^\top W = c^2 I` when :math:`d_{in} \ge d_{out}` and :math:`W W^\top = c^2 I`
        otherwise, with :math:`c^2 = g^2\max(d_{in}, d_{out})/d_{in}` (entry variance
        :math:`g^2/d_{in}` as for Gaussian weights). Meterez et al. (ICLR 2024) use them.
    weight_mean : :math:`\mu_w/\sigma_w` (Thm 2.4's non-centred weights; Gaussian only).
    bias_std : standard deviation of the biases (0: no bias; a bias cancels in BatchNorm).
    upstream : the gradient at the output: ``"gaussian"`` (i.i.d. N(0, 1), independent of the
        input, as the theorems assume: :math:`L = \sum G \odot x^N`), ``"mse"`` (random
        Gaussian targets), ``"cross_entropy"`` (a Gaussian linear read-out to ``classes``
        logits, random labels) or ``"logistic"`` (one output per sample, random ±1 labels).
    classes : number of classes of ``"cross_entropy"`` (≥ 2).
    weight_grads : compute :math:`\nabla W^n` (its norm and :math:`\langle\nabla W, W\rangle`).
    corr_features : number of features for the pairwise correlation statistic (0: off).
    stats : extra per-layer statistics, a name or a tuple of names of :data:`STATS`:
        ``"gram"`` fills ``ChainResult.gram_cos``, ``stable_rank`` and ``isometry_gap``
        (costs one B×B Gram matrix and its eigenvalues per layer and chain).
    dtype : ``numpy.float64`` or ``numpy.float32`` (stored as a :class:`numpy.dtype`).

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019; Meterez et al., "Towards training without depth limits: batch
    normalization without gradient explosion", ICLR 2024 (orthogonal weights); Daneshmand et
    al., "Batch normalization provably avoids rank collapse for randomly initialised deep
    networks", NeurIPS 2020, and Daneshmand, Joudaki & Bach, "Batch normalization
    orthogonalizes representations in deep random networks", NeurIPS 2021 (BN without
    centring).
    """

    depth: int
    width: Any
    batch: int
    activation: str = "relu"
    activation_params: Any = None
    norm: str = "batch"
    bn_backward: str = "full"
    eps: float = 0.0
    group_size: int | None = None
    shift: float = 0.0
    input_mean: float = 0.0
    input_std: float = 1.0
    input_corr: Any = 0.0
    residual: int | None = None
    residual_scale: float = 1 / math.sqrt(2)
    init: Any = "he"
    weights: str = "gaussian"
    weight_mean: float = 0.0
    bias_std: float = 0.0
    upstream: str = "gaussian"
    classes: int = 10
    weight_grads: bool = True
    corr_features: int = 32
    stats: Any = ()
    dtype: Any = np.float64
    # derived, set by __post_init__
    act: Activation = field(init=False, repr=False, compare=False)
    gains: tuple = field(init=False, repr=False, compare=False)
    skip_src: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        # scalars first; the per-layer tuples are built last, after the memory check
        depth = check_int(self.depth, "depth", 1)
        put("depth", depth)
        if np.ndim(self.width) == 0:
            width = check_int(self.width, "width", 2)
        else:
            width = tuple(check_int(w, "width", 2) for w in self.width)
            if len(width) != depth + 1:
                raise ValueError(f"width must be an int or a sequence of depth + 1 = {depth + 1} "
                                 f"widths, got {len(width)}")
        batch = check_int(self.batch, "batch", 2)
        put("batch", batch)
        params = dict(self.activation_params or ())
        put("activation_params", tuple(sorted(params.items())))
        act = get_activation(self.activation, **params)
        put("act", act)
        put("activation", act.name)
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.bn_backward not in ("full", "simplified"):
            raise ValueError(f"bn_backward must be 'full' or 'simplified', got {self.bn_backward!r}")
        put("eps", check_real(self.eps, "eps", lo=0.0))
        put("shift", check_real(self.shift, "shift"))
        if self.shift != 0 and self.norm == "none":
            raise ValueError("shift is added to a normalised output: it needs a norm, not 'none'")
        if self.group_size is not None:
            if self.norm not in ("group", "rms"):
                raise ValueError(f"group_size applies to norm='group' or 'rms', not {self.norm!r}")
            g = check_int(self.group_size, "group_size", 1)
            bad = [d for d in ((width,) if isinstance(width, int) else width[1:]) if d % g]
            if bad:
                raise ValueError(f"group_size must divide the width of every normalised layer, "
                                 f"got group_size={g} and width {bad[0]}")
            put("group_size", g)
        put("input_mean", check_real(self.input_mean, "input_mean"))
        std = check_real(self.input_std, "input_std", lo=0.0)
        if std == 0:
            raise ValueError("input_std must be > 0, got 0.0")
        put("input_std", std)
        if isinstance(self.input_corr, str):
            if self.input_corr != "bt":
                raise ValueError(f"input_corr must be a number in [0, 1] or 'bt', got {self.input_corr!r}")
        else:
            put("input_corr", check_real(self.input_corr, "input_corr", lo=0.0, hi=1.0))
        if self.residual is not None:
            s = check_int(self.residual, "residual", 1)
            if s > depth:
                raise ValueError(f"residual must be <= depth = {depth}, got {s}")
            put("residual", s)
        scale = check_real(self.residual_scale, "residual_scale", lo=0.0)
        if scale == 0:
            raise ValueError("residual_scale must be > 0, got 0.0")
        put("residual_scale", scale)
        if isinstance(self.init, str):
            if self.init not in _INITS:
                raise ValueError(f"init must be 'he', 'lecun' or a positive gain, got {self.init!r}")
            gain = _INITS[self.init]
        else:
            gain = check_real(self.init, "init", lo=0.0)
            if gain == 0:
                raise ValueError("init must be 'he', 'lecun' or a positive gain, got 0.0")
            put("init", gain)
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {self.weights!r}")
        put("weight_mean", check_real(self.weight_mean, "weight_mean"))
        if self.weights == "orthogonal" and self.weight_mean != 0:
            raise ValueError("weight_mean must be 0 with weights='orthogonal'")
        put("bias_std", check_real(self.bias_std, "bias_std", lo=0.0))
        if self.upstream not in _UPSTREAMS:
            raise ValueError(f"upstream must be one of {tuple(_UPSTREAMS)}, got {self.upstream!r}")
        put("classes", check_int(self.classes, "classes", 2))
        if not isinstance(self.weight_grads, (bool, np.bool_)):
            raise TypeError(f"weight_grads must be a bool, got {self.weight_grads!r}")
        put("weight_grads", bool(self.weight_grads))
        put("corr_features", check_int(self.corr_features, "corr_features", 0))
        stats = (self.stats,) if isinstance(self.stats, str) else tuple(self.stats or ())
        for name in stats:
            if name not in STATS:
                raise ValueError(f"stats must name entries of {STATS}, got {name!r}")
        put("stats", tuple(sorted(set(stats))))
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            raise TypeError(f"dtype must be float64 or float32, got {self.dtype!r}") from None
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {dtype}")
        put("dtype", dtype)
        # one chain of this specification must fit before anything per layer is built
        if _CHECK_MEMORY.get():
            check_memory(_spec_bytes(self, width), _what_args(depth, width, batch, 1))
        widths = (width,) * (depth + 1) if isinstance(width, int) else width
        put("width", widths)
        skip_src = [-1] * depth
        if self.residual is not None:
            s = self.residual
            for k in range(1, depth // s + 1):
                end, src = k * s, (k - 1) * s
                if widths[end] != widths[src]:
                    raise ValueError(f"residual connection from layer {src} to {end} needs equal "
                                     f"widths, got {widths[src]} and {widths[end]}")
                skip_src[end - 1] = src
        put("skip_src", tuple(skip_src))
        put("gains", tuple(gain / math.sqrt(widths[n]) for n in range(depth)))
        if _CHECK_MEMORY.get():  # not for the probes of the memory estimates
            self._warn_degenerate()

    def _warn_degenerate(self):
        if self.eps > 0:  # sigma_hat^2 >= eps: every moment of 1/sigma_hat is finite
            return
        # centred over two values, the normalised pair is exactly (±1, ∓1) whatever the input, so the
        # full backward passes no gradient at all (factor exactly 0, finite_batch_factor(2) == 0)
        zero = self.bn_backward == "full" and self.batch == 2
        if self.norm == "batch" and self.batch <= 3 and not zero or self.norm == "batch-nocenter" and self.batch <= 2:
            warnings.warn(f"batch={self.batch} under norm={self.norm!r}: the expected gradient growth "
                          "is infinite (E[1/sigma_hat^2] diverges), means over repetitions do not "
                          "converge", InfiniteGrowthWarning, stacklevel=4)
        if self.norm in ("layer", "group", "rms"):
            size = self.group_size or min(self.width[1:])
            zero = self.norm != "rms" and self.bn_backward == "full" and size == 2
            if size <= (2 if self.norm == "rms" else 3) and not zero:
                warnings.warn(f"{'width' if self.norm == 'layer' else 'group size'} {size} under "
                              f"norm={self.norm!r}: the expected gradient growth is infinite "
                              "(E[1/sigma_hat^2] diverges)", InfiniteGrowthWarning, stacklevel=4)

    @classmethod
    def from_options(cls, depth, width, batch, **options) -> ChainSpec:
        """``ChainSpec(depth, width, batch, **options)``; an unknown option is a TypeError
        naming it."""
        bad = sorted(set(options) - set(CHAIN_OPTIONS))
        if bad:
            raise TypeError(f"unknown chain options {bad}; the options are {CHAIN_OPTIONS}")
        return cls(depth, width, batch, **options)

    def replace(self, **changes) -> ChainSpec:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The user-facing fields (depth, width, batch and the options) as plain values."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        out["dtype"] = self.dtype.name
        out["activation_params"] = dict(self.activation_params)
        return out

    # ------------------------------------------------------------------ derived
    @property
    def widths(self) -> tuple[int, ...]:
        return self.width

    @property
    def center(self) -> bool:
        return self.norm not in ("batch-nocenter", "rms")

    def group_size_at(self, n: int) -> int:
        """Units per normalisation group of layer n's output x^{n+1} (layer, group and rms
        norms; the whole width for ``"layer"`` and for ``group_size=None``)."""
        return self.group_size or self.width[n + 1]

    @property
    def norm_code(self) -> int:
        return _NORM_CODES[self.norm]

    @property
    def full(self) -> bool:
        return self.bn_backward == "full"

    @property
    def loss(self) -> int:
        return _UPSTREAMS[self.upstream]

    @property
    def has_mask(self) -> bool:
        return self.act.code == DROPOUT

    @property
    def has_bias(self) -> bool:
        return self.bias_std > 0


#: the option names of a chain (fields of :class:`ChainSpec` after depth, width, batch)
CHAIN_OPTIONS = tuple(f.name for f in dataclasses.fields(ChainSpec) if f.init)[3:]


def _spec_bytes(spec: ChainSpec, width, *, depth=None, keep_dw: bool = False) -> int:
    """Bytes of one chain of a (validated, possibly half-built) spec: ``chain_bytes`` of
    its fields, with ``width`` an int or the tuple of widths (and ``depth`` if not the spec's)."""
    return chain_bytes(spec.depth if depth is None else depth, width, spec.batch, itemsize=spec.dtype.itemsize, norm=spec.norm,
                       group_size=spec.group_size, has_bias=spec.bias_std > 0,
                       has_mask=spec.act.code == DROPOUT, loss=_UPSTREAMS[spec.upstream],
                       classes=spec.classes, corr_features=spec.corr_features,
                       weight_grads=spec.weight_grads, keep_dw=keep_dw)


#: False inside ``_probe_spec`` (options validated at a small depth, no memory check)
_CHECK_MEMORY = contextvars.ContextVar("gradexp_mc_chain_check_memory", default=True)


def _probe_spec(depth, width, batch, options: dict, caller: str = "simulate_chain") -> ChainSpec:
    """A :class:`ChainSpec` with every option of ``depth, width, batch, **options`` validated,
    built without allocating per-layer tuples of a large scalar-width chain (it has depth
    ``residual`` or 1; ``depth`` itself is validated) and without the memory check: the input
    of the memory estimates, which then use the real ``depth``."""
    token = _CHECK_MEMORY.set(False)
    try:
        if isinstance(depth, ChainSpec) or width is None or batch is None:
            return _as_spec(caller, depth, width, batch, options)  # a spec, or the TypeError
        if np.ndim(width) != 0:
            return ChainSpec.from_options(depth, width, batch, **options)
        n = check_int(depth, "depth", 1)
        small = options.get("residual") or 1
        spec = ChainSpec.from_options(small if isinstance(small, (int, np.integer)) else 1, width,
                                      batch, **options)
        if spec.residual is not None and spec.residual > n:
            raise ValueError(f"residual must be <= depth = {n}, got {spec.residual}")
        return spec
    finally:
        _CHECK_MEMORY.reset(token)


def _as_spec(caller: str, depth, width, batch, options: dict) -> ChainSpec:
    """The :class:`ChainSpec` of a call given either a spec or ``depth, width, batch, **options``."""
    if isinstance(depth, ChainSpec):
        if width is not None or batch is not None or options:
            raise TypeError("pass either a ChainSpec or depth, width, batch and options")
        return depth
    if width is None or batch is None:
        raise TypeError(f"{caller} needs depth, width and batch (or a ChainSpec)")
    return ChainSpec.from_options(depth, width, batch, **options)
