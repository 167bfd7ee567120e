r"""Monte-Carlo chains of normalisation and activation layers: forward and exact backward.

A chain of depth N maps the input :math:`x^0` (``batch`` samples, width :math:`d_0`) through

.. math::

    h^n = \varphi(x^n)\ (\odot\ m^n),\qquad z^n = h^n W^n + b^n,\qquad
    x^{n+1} = \mathrm{Norm}(z^n)\quad(n = 0, \dots, N-1),

with weights :math:`W^n` (``weights="gaussian"``: i.i.d. :math:`N(\mu_w, \sigma_w^2)`,
:math:`\sigma_w = g/\sqrt{d_n}`, He: :math:`g^2 = 2`, LeCun: :math:`g^2 = 1`;
``weights="orthogonal"``: Haar-distributed orthonormal columns or rows, scaled to the same
entry variance), affine parameters γ = 1, β = 0, and ``Norm`` one of

* ``"batch"``: :math:`x_{bj} = (z_{bj} - \hat\mu_j)/\hat\sigma_j` with the batch mean and the
  biased batch standard deviation (``eps`` added to the variance, default 0);
* ``"batch-nocenter"``: BatchNorm without mean subtraction,
  :math:`x_{bj} = z_{bj}/\sqrt{\overline{z_j^2} + \epsilon}` (the BN of Daneshmand et al.);
* ``"layer"``: the same as ``"batch"`` over the feature axis of each sample;
* ``"none"``: :math:`x = z`.

With ``residual=s`` every s-th layer output adds the block input:
:math:`x^{ks} = c\,(\mathrm{Norm}(z^{ks-1}) + x^{(k-1)s})` with ``residual_scale`` c
(default :math:`1/\sqrt2`, which keeps unit variance: the normalised sum that
Mehmeti-Göpel & Wand's eq. 9 assumes; c = 1 is the plain ResNet-v1 sum).

The backward pass is exact (tested against central finite differences and PyTorch).
``bn_backward="full"`` differentiates through the batch statistics,
:math:`\partial L/\partial z = \hat\sigma^{-1}(g - \overline{g} - \hat x\,\overline{g\hat x})`
(without centring the :math:`\overline g` term is absent); ``"simplified"`` treats
:math:`\hat\mu, \hat\sigma` as constants, :math:`\partial L/\partial z = g/\hat\sigma`, as Paik
& Choi's proofs do (Appendix A.2, eq. 16).

The options of a chain are one validated, frozen :class:`ChainSpec`; every public function
builds it once (``simulate_chain(depth, width, batch, **options)``) or takes it
(``simulate_chain(spec)``), and the compiled kernel receives it packed into one integer and
one float parameter vector (``_pack``).

Engines: every chain runs whole in compiled code (``gradexp.mc._chain_kernels._chain_one``):
the matmuls go to BLAS (``np.dot(a, b, out)`` into preallocated buffers, no allocation in the
layer loop), numba fuses the elementwise work (normalisation, activation, masks, reductions).
``engine="wide"`` runs one chain at a time and lets BLAS use its threads; ``"compiled"``
spreads independent chains over threads (one chain per thread, GIL released, BLAS
single-threaded through :func:`gradexp._threads.blas_threads`). Repetition r always draws
from the r-th child of the ``rng`` seed sequence (:func:`gradexp._random.spawn_seeds`), so
engines and thread counts give identical numbers.

Random numbers (``rng_engine``): by default every tensor of repetition r is a Philox4x64-10
stream keyed by that child and named by (layer, tensor, batch) (``_PhiloxPlan``,
``gradexp.mc._philox``), drawn in compiled code: by the chain's own thread on the
threaded engine, by all of numba's threads (``prange`` over blocks of counters) when chains
run one at a time. ``rng_engine="numpy"`` draws the same tensors from an SFC64 generator per
repetition in numpy (the earlier path, kept for cross-checks).

References
----------
Paik & Choi (000, 001), Thm 2.2, eq. 4, Figures 1, 3, 4; Mehmeti-Göpel & Wand [mehmeti-gopel-wand],
eqs. 1–2, 8–9. Daneshmand, Joudaki & Bach, "Batch normalization orthogonalizes
representations in deep random networks", NeurIPS 2021 (isometry gap, BN without centring).
Meterez et al., "Towards training without depth limits: batch normalization without gradient
explosion", ICLR 2024 (orthogonal weights).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._random import as_seed_sequence, rng_argument, spawn_seeds
from .._threads import blas_threads
from .._validate import check_int, check_real
from ..activations import DROPOUT, IDENTITY, Activation, get_activation
from ..gaussian import gaussian_expectation
from . import _chain_kernels as K
from ._estimate import Estimate, estimate, estimate_over_reps
from ._memory import check_memory

__all__ = [
    "simulate_chain",
    "single_layer_ratio",
    "sample_chain",
    "ChainSpec",
    "ChainResult",
    "LayerRatio",
    "SampledChain",
    "InfiniteGrowthWarning",
    "CHAIN_OPTIONS",
    "STATS",
]

NORMS = ("batch", "batch-nocenter", "layer", "none")
_NORM_CODES = {"batch": K.NORM_BATCH, "batch-nocenter": K.NORM_BATCH, "layer": K.NORM_LAYER,
               "none": K.NORM_NONE}
_UPSTREAMS = {"gaussian": K.LOSS_GAUSSIAN, "mse": K.LOSS_MSE,
              "cross_entropy": K.LOSS_CROSS_ENTROPY, "logistic": K.LOSS_LOGISTIC}
_INITS = {"he": math.sqrt(2.0), "lecun": 1.0}
WEIGHTS = ("gaussian", "orthogonal")
#: names accepted by ``rng_engine=`` (the first is the default)
RNG_ENGINES = ("philox", "numpy")
#: names accepted by ``stats=``: ``"gram"`` adds the batch-Gram statistics of every layer
STATS = ("gram",)
#: old keyword names still accepted (quietly) -> the one name
_ALIASES = {"n_classes": "classes"}
#: with ``engine="auto"``, repetitions run on the threaded engine (one chain per thread, BLAS
#: single-threaded) unless the buffers of one chain per thread would exceed this many bytes
MAX_THREADED_BYTES = 1 << 30
#: below this many multiply-adds per matmul (batch·width²) one chain's BLAS calls run
#: single-threaded: OpenBLAS's threads only pay off for large products, and on a busy machine
#: their spin-waiting makes medium products (~128³) tens of times slower
BLAS_THREADS_MIN_WORK = 1 << 24


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
        ``"layer"`` or ``"none"``.
    bn_backward : ``"full"`` (exact) or ``"simplified"`` (statistics held constant).
    eps : ≥ 0, added to the normalisation variance (default 0).
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
    classes : number of classes of ``"cross_entropy"`` (≥ 2; old name ``n_classes``).
    weight_grads : compute :math:`\nabla W^n` (its norm and :math:`\langle\nabla W, W\rangle`).
    corr_features : number of features for the pairwise correlation statistic (0: off).
    stats : extra per-layer statistics, a name or a tuple of names of :data:`STATS`:
        ``"gram"`` fills :attr:`ChainResult.gram_cos`, ``stable_rank`` and ``isometry_gap``
        (costs one B×B Gram matrix and its eigenvalues per layer and chain).
    dtype : ``numpy.float64`` or ``numpy.float32`` (stored as a :class:`numpy.dtype`).
    rng_engine : how the random numbers are drawn: ``"philox"`` (default; counter-based
        Philox4x64-10 streams drawn in compiled code, by every core, ``gradexp.mc._philox``)
        or ``"numpy"`` (an SFC64 generator per repetition, drawn by numpy; kept for
        cross-checks). The two give different, equally distributed numbers; each gives the
        same numbers for the same seed whatever the engine and thread count.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019; Meterez et al., "Towards training without depth limits: batch
    normalization without gradient explosion", ICLR 2024 (orthogonal weights); Daneshmand et
    al., "Batch normalization provably avoids rank collapse for randomly initialised deep
    networks", NeurIPS 2020, and Daneshmand, Joudaki & Bach, "Batch normalization
    orthogonalizes representations in deep random networks", NeurIPS 2021 (BN without
    centring); Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3",
    SC 2011 (Philox4x64-10).
    """

    depth: int
    width: Any
    batch: int
    activation: str = "relu"
    activation_params: Any = None
    norm: str = "batch"
    bn_backward: str = "full"
    eps: float = 0.0
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
    rng_engine: str = "philox"
    # derived, set by __post_init__
    act: Activation = field(init=False, repr=False, compare=False)
    gains: tuple = field(init=False, repr=False, compare=False)
    skip_src: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        depth = check_int(self.depth, "depth", 1)
        put("depth", depth)
        if np.ndim(self.width) == 0:
            widths = (check_int(self.width, "width", 2),) * (depth + 1)
        else:
            widths = tuple(check_int(w, "width", 2) for w in self.width)
            if len(widths) != depth + 1:
                raise ValueError(f"width must be an int or a sequence of depth + 1 = {depth + 1} "
                                 f"widths, got {len(widths)}")
        put("width", widths)
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
        skip_src = [-1] * depth
        if self.residual is not None:
            s = check_int(self.residual, "residual", 1)
            if s > depth:
                raise ValueError(f"residual must be <= depth = {depth}, got {s}")
            put("residual", s)
            for k in range(1, depth // s + 1):
                end, src = k * s, (k - 1) * s
                if widths[end] != widths[src]:
                    raise ValueError(f"residual connection from layer {src} to {end} needs equal "
                                     f"widths, got {widths[src]} and {widths[end]}")
                skip_src[end - 1] = src
        put("skip_src", tuple(skip_src))
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
        put("gains", tuple(gain / math.sqrt(widths[n]) for n in range(depth)))
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
        if self.rng_engine not in RNG_ENGINES:
            raise ValueError(f"rng_engine must be one of {RNG_ENGINES}, got {self.rng_engine!r}")
        self._warn_degenerate()

    def _warn_degenerate(self):
        if self.norm == "batch" and self.batch <= 3 or self.norm == "batch-nocenter" and self.batch <= 2:
            warnings.warn(f"batch={self.batch} under norm={self.norm!r}: the expected gradient growth "
                          "is infinite (E[1/sigma_hat^2] diverges), means over repetitions do not "
                          "converge", InfiniteGrowthWarning, stacklevel=4)
        if self.norm == "layer" and min(self.width[1:]) <= 3:
            warnings.warn(f"width {min(self.width[1:])} under norm='layer': the expected gradient "
                          "growth is infinite (E[1/sigma_hat^2] diverges)", InfiniteGrowthWarning,
                          stacklevel=4)

    @classmethod
    def from_options(cls, depth, width, batch, **options) -> ChainSpec:
        """``ChainSpec(depth, width, batch, **options)`` accepting the old option names
        (``n_classes``); an unknown option is a TypeError naming it."""
        for old, new in _ALIASES.items():
            if old in options:
                if new in options:
                    raise TypeError(f"pass {new} or its old name {old}, not both")
                options[new] = options.pop(old)
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
        return self.norm != "batch-nocenter"

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


class _Layout:
    """Offsets of every layer's block in the flat per-chain buffers, packed for the kernel."""

    def __init__(self, spec: ChainSpec):
        d = np.asarray(spec.widths, dtype=np.int64)
        B = spec.batch
        N = spec.depth
        self.d = d
        self.B = B
        self.N = N
        self.x_off = np.concatenate([[0], np.cumsum(B * d)]).astype(np.int64)
        self.w_off = np.concatenate([[0], np.cumsum(d[:-1] * d[1:])]).astype(np.int64)
        self.b_off = np.concatenate([[0], np.cumsum(d[1:])]).astype(np.int64)
        ns = np.maximum(B, d[1:])
        self.s_off = np.concatenate([[0], np.cumsum(ns)]).astype(np.int64)
        self.skip_src = np.asarray(spec.skip_src, dtype=np.int64)
        self.has_add = np.zeros(N, dtype=np.int64)
        for src in spec.skip_src:
            if src >= 0:
                self.has_add[src] = 1
        self.table = np.zeros((K.N_LAY, N + 2), dtype=np.int64)
        for row, v in ((K.L_DIMS, d), (K.L_X_OFF, self.x_off), (K.L_W_OFF, self.w_off),
                       (K.L_B_OFF, self.b_off), (K.L_S_OFF, self.s_off), (K.L_SKIP, self.skip_src),
                       (K.L_HAS_ADD, self.has_add)):
            self.table[row, :v.size] = v
        self.dmax = int(d.max())
        self.vlen = max(B, self.dmax, spec.classes)
        self.n_x = int(self.x_off[-1])
        self.n_h = int(self.x_off[N])
        self.n_w = int(self.w_off[-1])
        self.n_b = int(self.b_off[-1]) if spec.has_bias else 1
        self.n_m = self.n_h if spec.has_mask else 1
        self.n_s = int(self.s_off[-1])
        self.up_shape = (B, int(d[N])) if spec.loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE) else (1, 1)
        if spec.loss == K.LOSS_CROSS_ENTROPY:
            self.ro_shape = (int(d[N]), spec.classes)
        elif spec.loss == K.LOSS_LOGISTIC:
            self.ro_shape = (int(d[N]), 1)
        else:
            self.ro_shape = (1, 1)
        self.lab_len = B if spec.loss in (K.LOSS_CROSS_ENTROPY, K.LOSS_LOGISTIC) else 1
        self.kcorr = min(spec.corr_features, self.dmax)

    def dw_len(self, spec: ChainSpec, keep_dw: bool) -> int:
        if keep_dw:
            return self.n_w
        return int(max(self.d[:-1] * self.d[1:])) if spec.weight_grads else 1

    def chain_bytes(self, spec: ChainSpec, keep_dw: bool = False) -> int:
        """Bytes of the buffers of one chain (:class:`_Buffers` with n = 1)."""
        it = spec.dtype.itemsize
        k = max(self.kcorr, 1)
        n_dt = (self.n_x + self.n_h + self.n_w + self.n_b + self.n_m + int(np.prod(self.up_shape))
                + int(np.prod(self.ro_shape)) + 4 * self.B * self.dmax + self.dw_len(spec, keep_dw))
        n_f64 = (2 * self.n_s + K.N_VEC * self.vlen + 2 * (self.N + 1) * self.dmax + k * k
                 + (K.N_FIELDS + K.N_WFIELDS) * (self.N + 1) + 1)
        return it * n_dt + 8 * n_f64 + 8 * self.lab_len


def _pack(spec: ChainSpec, lay: _Layout, *, frozen=False, start=0, backward=True, keep_dw=False):
    """The kernel's parameter vectors (IP int64, FP float64; indices ``K.I_*``, ``K.P_*``)."""
    IP = np.zeros(K.N_IP, dtype=np.int64)
    IP[K.I_DEPTH] = lay.N
    IP[K.I_BATCH] = lay.B
    IP[K.I_NORM] = spec.norm_code
    IP[K.I_CENTER] = spec.center
    IP[K.I_FULL] = spec.full
    IP[K.I_FROZEN] = bool(frozen)
    IP[K.I_ACT] = int(spec.act.code)
    IP[K.I_HAS_BIAS] = spec.has_bias
    IP[K.I_HAS_MASK] = spec.has_mask
    IP[K.I_LOSS] = spec.loss
    IP[K.I_WEIGHT_GRADS] = spec.weight_grads or keep_dw
    IP[K.I_KEEP_DW] = bool(keep_dw)
    IP[K.I_KCORR] = lay.kcorr
    IP[K.I_START] = int(start)
    IP[K.I_BACKWARD] = bool(backward)
    FP = np.zeros(K.N_FP)
    FP[K.P_EPS] = spec.eps
    FP[K.P_SCALE] = spec.residual_scale
    FP[K.P_ACT_PARAM] = float(spec.act.param)
    return IP, FP


class _Buffers:
    """All arrays of ``n`` chains (leading axis), allocated once."""

    def __init__(self, spec: ChainSpec, lay: _Layout, n: int, keep_dw: bool = False):
        dt = spec.dtype
        N = lay.N
        self.X = np.empty((n, lay.n_x), dt)
        self.H = np.empty((n, lay.n_h), dt)
        self.W = np.empty((n, lay.n_w), dt)
        self.Bv = np.zeros((n, lay.n_b), dt)
        self.M = np.ones((n, lay.n_m), dt)
        self.MU = np.zeros((n, lay.n_s))
        self.SIG = np.ones((n, lay.n_s))
        self.UP = np.zeros((n, *lay.up_shape), dt)
        self.RO = np.zeros((n, *lay.ro_shape), dt)
        self.LAB = np.zeros((n, lay.lab_len), np.int64)
        self.G1 = np.empty((n, lay.B * lay.dmax), dt)
        self.G2 = np.empty((n, lay.B * lay.dmax), dt)
        self.GZ = np.empty((n, lay.B * lay.dmax), dt)
        self.DW = np.empty((n, lay.dw_len(spec, keep_dw)), dt)
        self.SACC = np.zeros((n, lay.B * lay.dmax), dt)
        self.VEC = np.zeros((n, K.N_VEC, lay.vlen))
        self.XMEAN = np.zeros((n, N + 1, lay.dmax))
        self.XM2 = np.zeros((n, N + 1, lay.dmax))
        self.CORR = np.zeros((n, max(lay.kcorr, 1), max(lay.kcorr, 1)))
        self.OUT = np.full((n, K.N_FIELDS, N + 1), np.nan)
        self.WOUT = np.full((n, K.N_WFIELDS, N), np.nan)
        self.LOSS = np.zeros(n)

    def arrays(self, n: int) -> tuple:
        """The buffers of the first ``n`` chains in the kernel's argument order."""
        return (self.X[:n], self.H[:n], self.W[:n], self.Bv[:n], self.M[:n], self.MU[:n],
                self.SIG[:n], self.UP[:n], self.RO[:n], self.LAB[:n], self.G1[:n], self.G2[:n],
                self.GZ[:n], self.DW[:n], self.SACC[:n], self.VEC[:n], self.XMEAN[:n],
                self.XM2[:n], self.CORR[:n], self.OUT[:n], self.WOUT[:n], self.LOSS[:n])


# ============================================================================ drawing
def _stream(ss: np.random.SeedSequence) -> np.random.Generator:
    """The generator of one repetition: SFC64 seeded by its child SeedSequence.

    SFC64 is one of numpy's recommended bit generators; it draws Gaussian variates ~25%
    faster than PCG64, and drawing the networks is a large share of small-chain runs.
    """
    return np.random.Generator(np.random.SFC64(ss))


def _haar_columns(a: np.ndarray) -> np.ndarray:
    """Q of the QR decomposition of a tall Gaussian matrix ``a`` with the signs of diag(R)
    moved into Q: Haar-distributed orthonormal columns (Mezzadri 2007, eq. 5.1)."""
    q, r = np.linalg.qr(a)
    sgn = np.sign(np.diagonal(r))
    sgn[sgn == 0] = 1.0
    return q * sgn


def _orthogonalize(w: np.ndarray, d_in: int, d_out: int) -> None:
    """Replace the Gaussian block ``w`` (flat, d_in × d_out) by √max(d_in, d_out) × a Haar
    matrix with orthonormal columns (d_in ≥ d_out) or rows, in place."""
    a = w.reshape(d_in, d_out).astype(np.float64)
    q = _haar_columns(a) if d_in >= d_out else _haar_columns(a.T).T
    w[:] = (q * math.sqrt(max(d_in, d_out))).ravel()


def _draw(rng: np.random.Generator, spec: ChainSpec, lay: _Layout, buf: _Buffers, i: int, *,
          data_only: bool = False) -> None:
    """Draw chain ``i`` of ``buf`` from ``rng``: input, weights, biases, masks, upstream.

    The order of the draws is fixed (both engines call this), so a seed gives the same
    network on either engine. ``data_only`` redraws only what belongs to the batch (inputs,
    dropout masks, upstream gradient or labels) and keeps the network's parameters.
    Orthogonal weights are computed from the same Gaussian draws.
    """
    dt = spec.dtype
    B, d0 = lay.B, int(lay.d[0])
    x0 = buf.X[i, :B * d0].reshape(B, d0)
    if spec.input_corr == "bt":  # Paik & Choi Thm 2.8: x = b t, b ~ N(0,1) per sample, t fixed
        if data_only:
            raise ValueError("fresh batches for the same network are not available with "
                             "input_corr='bt' (t belongs to the network)")
        b = rng.standard_normal(B, dtype=dt)
        t = rng.standard_normal(d0, dtype=dt)
        np.multiply(b[:, None], t[None, :], out=x0)
    else:
        rng.standard_normal(out=x0, dtype=dt)
        rho = spec.input_corr
        if rho > 0:  # equicorrelated: x = sqrt(rho) c_b + sqrt(1 - rho) e_bi
            c = rng.standard_normal(B, dtype=dt)
            x0 *= dt.type(math.sqrt(1.0 - rho))
            x0 += dt.type(math.sqrt(rho)) * c[:, None]
    x0 *= dt.type(spec.input_std)
    x0 += dt.type(spec.input_mean)
    if not data_only:
        w = buf.W[i]
        rng.standard_normal(out=w, dtype=dt)
        if spec.weights == "orthogonal":
            for n in range(lay.N):
                _orthogonalize(w[lay.w_off[n]:lay.w_off[n + 1]], int(lay.d[n]), int(lay.d[n + 1]))
        if spec.weight_mean != 0.0:
            w += dt.type(spec.weight_mean)
        if len(set(spec.gains)) == 1:  # equal widths: one pass
            w *= dt.type(spec.gains[0])
        else:
            for n in range(lay.N):
                w[lay.w_off[n]:lay.w_off[n + 1]] *= dt.type(spec.gains[n])
        if spec.has_bias:
            rng.standard_normal(out=buf.Bv[i], dtype=dt)
            buf.Bv[i] *= dt.type(spec.bias_std)
    if spec.has_mask:
        buf.M[i] = rng.random(lay.n_m, dtype=dt) < spec.act.param
    if spec.loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE):
        rng.standard_normal(out=buf.UP[i], dtype=dt)
    else:
        if not data_only:
            rng.standard_normal(out=buf.RO[i], dtype=dt)
            buf.RO[i] *= dt.type(1.0 / math.sqrt(lay.d[-1]))
        k = spec.classes if spec.loss == K.LOSS_CROSS_ENTROPY else 2
        buf.LAB[i] = rng.integers(0, k, lay.lab_len)


class _PhiloxPlan:
    r"""The Philox streams of a chain (``gradexp.mc._philox``), prepared once per run.

    Repetition r has the key of its child seed sequence (``gradexp.mc._philox.key_from_seed``);
    within it, tensor T of layer n for batch k is stream ``stream_id(T, n, k)``: the input
    :math:`e` (``INPUT``), its common factor c (``INPUT_COMMON``, ρ > 0) or the b and t of
    ``input_corr="bt"`` (``INPUT_SCALE``, ``INPUT_COMMON``), the weights (``WEIGHT``, layer n:
    :math:`W^n = \sigma_w(\mu_w/\sigma_w + z)`), biases (``BIAS``, layer n), dropout masks
    (``MASK``), the upstream gradient or targets (``UPSTREAM``), the read-out (``READOUT``)
    and labels (``LABEL``). The network's tensors use batch 0; batch k > 0 of
    ``single_layer_ratio(batches=...)`` redraws only the data streams.
    """

    def __init__(self, spec: ChainSpec, lay: _Layout):
        from . import _philox as P

        self.P = P
        N = lay.N
        u64 = np.uint64
        self.w_streams = np.array([P.stream_id(P.WEIGHT, n) for n in range(N)], u64)
        gains = np.asarray(spec.gains, dtype=np.float64)
        if spec.weights == "orthogonal":  # Gaussian draws first, scaled after the QR step
            self.w_scales, self.w_shifts = np.ones(N), np.zeros(N)
        else:
            self.w_scales, self.w_shifts = gains, gains * spec.weight_mean
        self.b_streams = np.array([P.stream_id(P.BIAS, n) for n in range(N)], u64)
        self.b_scales, self.zeros = np.full(N, spec.bias_std), np.zeros(N)

    def fill(self, key, out, stream, scale=1.0, shift=0.0, parallel=False):
        """One stream into the flat array ``out`` (a view), ``shift + scale·z``."""
        self.P._fill_prepared(key[0], key[1], out, np.array([0, out.size], np.int64),
                              np.array([stream], np.uint64), np.array([float(scale)]),
                              np.array([float(shift)]), parallel)


def _draw_philox(key, plan: _PhiloxPlan, spec: ChainSpec, lay: _Layout, buf: _Buffers, i: int, *,
                 batch: int = 0, data_only: bool = False, parallel: bool = False) -> None:
    """:func:`_draw` on the Philox streams of ``_PhiloxPlan`` (``key``: the repetition's
    two uint64 key words). ``parallel`` fills the large tensors with numba's threads."""
    P = plan.P
    dt = spec.dtype
    B, d0 = lay.B, int(lay.d[0])
    x0 = buf.X[i, :B * d0]
    mu, sd = spec.input_mean, spec.input_std
    if spec.input_corr == "bt":  # Paik & Choi Thm 2.8: x = mu + sd b t
        if data_only:
            raise ValueError("fresh batches for the same network are not available with "
                             "input_corr='bt' (t belongs to the network)")
        b = np.empty(B, dt)
        t = np.empty(d0, dt)
        plan.fill(key, b, P.stream_id(P.INPUT_SCALE), sd)
        plan.fill(key, t, P.stream_id(P.INPUT_COMMON))
        np.multiply(b[:, None], t[None, :], out=x0.reshape(B, d0))
        x0 += dt.type(mu)
    else:
        rho = spec.input_corr
        plan.fill(key, x0, P.stream_id(P.INPUT, 0, batch), sd * math.sqrt(1.0 - rho), mu,
                  parallel)
        if rho > 0:  # equicorrelated: x = mu + sd (sqrt(rho) c_b + sqrt(1 - rho) e_bi)
            c = np.empty(B, dt)
            plan.fill(key, c, P.stream_id(P.INPUT_COMMON, 0, batch), sd * math.sqrt(rho))
            x0.reshape(B, d0)[:] += c[:, None]
    if not data_only:
        w = buf.W[i]
        P._fill_prepared(key[0], key[1], w, lay.w_off, plan.w_streams, plan.w_scales,
                         plan.w_shifts, parallel)
        if spec.weights == "orthogonal":
            for n in range(lay.N):
                seg = w[lay.w_off[n]:lay.w_off[n + 1]]
                _orthogonalize(seg, int(lay.d[n]), int(lay.d[n + 1]))
                seg *= dt.type(spec.gains[n])
        if spec.has_bias:
            P._fill_prepared(key[0], key[1], buf.Bv[i], lay.b_off, plan.b_streams,
                             plan.b_scales, plan.zeros, False)
    if spec.has_mask:
        P._fill_bernoulli(key[0], key[1], np.uint64(P.stream_id(P.MASK, 0, batch)),
                          float(spec.act.param), buf.M[i])
    if spec.loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE):
        plan.fill(key, buf.UP[i].reshape(-1), P.stream_id(P.UPSTREAM, 0, batch), 1.0, 0.0,
                  parallel)
    else:
        if not data_only:
            plan.fill(key, buf.RO[i].reshape(-1), P.stream_id(P.READOUT),
                      1.0 / math.sqrt(lay.d[-1]))
        k = spec.classes if spec.loss == K.LOSS_CROSS_ENTROPY else 2
        P._fill_integers(key[0], key[1], np.uint64(P.stream_id(P.LABEL, 0, batch)), k,
                         buf.LAB[i])


def _philox_key(ss: np.random.SeedSequence):
    """The repetition's Philox key as two uint64 words."""
    k = ss.generate_state(2, np.uint64)
    return np.uint64(k[0]), np.uint64(k[1])


class _Drawer:
    """Draws chain i of a buffer set for repetition seed ``ss`` with the spec's rng engine."""

    def __init__(self, spec: ChainSpec, lay: _Layout):
        self.spec, self.lay = spec, lay
        self.plan = _PhiloxPlan(spec, lay) if spec.rng_engine == "philox" else None

    def start(self, ss: np.random.SeedSequence):
        """The per-repetition state: a Philox key or a numpy Generator."""
        return _philox_key(ss) if self.plan is not None else _stream(ss)

    def __call__(self, state, buf: _Buffers, i: int, *, batch: int = 0, parallel: bool = False):
        if self.plan is not None:
            _draw_philox(state, self.plan, self.spec, self.lay, buf, i, batch=batch,
                         data_only=batch > 0, parallel=parallel)
        else:
            _draw(state, self.spec, self.lay, buf, i, data_only=batch > 0)


def _population_stats(spec: ChainSpec, lay: _Layout, buf: _Buffers, i: int, moments) -> None:
    """Exact first-layer BatchNorm statistics for i.i.d. N(μ, σ²) inputs (depth-1 chains).

    μ_j = E[h] Σ_i W_ij + b_j and σ_j² = Var(h) Σ_i W_ij² + eps with h = φ(x)(·m): the
    statistics of an infinite batch ("ignoring the sampling error of batch normalization",
    Paik & Choi Thm 2.2). Without centring, μ_j = 0 and σ_j² = E[z_j²] + eps.
    """
    eh, vh = moments
    d0, d1 = int(lay.d[0]), int(lay.d[1])
    w = buf.W[i, :d0 * d1].reshape(d0, d1).astype(np.float64)
    mu = eh * w.sum(axis=0)
    if spec.has_bias:
        mu = mu + buf.Bv[i, :d1]
    var = vh * (w * w).sum(axis=0)
    if spec.center:
        buf.MU[i, :d1] = mu
    else:
        buf.MU[i, :d1] = 0.0
        var = var + mu * mu
    buf.SIG[i, :d1] = np.sqrt(var + spec.eps)


def _activation_moments(act: Activation, mu: float, sigma: float) -> tuple[float, float]:
    """(E h, Var h) for h = φ(x)·m, x ~ N(mu, sigma²) (m ~ Bernoulli(p) for dropout)."""
    if act.code == DROPOUT:
        p = act.param
        return p * mu, p * (mu * mu + sigma * sigma) - (p * mu) ** 2
    if act.code == IDENTITY:
        return mu, sigma * sigma
    m1 = gaussian_expectation(lambda x: act.value(x), mu, sigma, breakpoints=act.kinks)
    m2 = gaussian_expectation(lambda x: act.value(x) ** 2, mu, sigma, breakpoints=act.kinks)
    return float(m1), float(m2 - m1 * m1)


# ============================================================================ representation statistics
G_COS, G_STABLE_RANK, G_ISOMETRY_GAP = range(3)
N_GRAM = 3


def _gram_stats(spec: ChainSpec, lay: _Layout, x_flat: np.ndarray) -> np.ndarray:
    r"""(3, N+1) statistics of the batch Gram matrix :math:`G = X X^\top` (B × B) of every
    layer's :math:`X = x^n` (batch × width): mean :math:`|\cos|` over pairs of samples, the
    stable rank :math:`\mathrm{tr}\,G/\lambda_{max}` and the isometry gap
    :math:`\log(\mathrm{tr}\,G/B) - \tfrac1B\sum_i\log\lambda_i` (+inf when G is singular to
    working precision: λ_min ≤ 10·B·eps(dtype)·λ_max). Layers of one width are done in one
    batched matmul and one batched ``eigvalsh``."""
    B = lay.B
    out = np.full((N_GRAM, lay.N + 1), np.nan)
    iu = np.triu_indices(B, 1)
    tol = 10.0 * B * float(np.finfo(spec.dtype).eps)
    for d in np.unique(lay.d):
        layers = np.flatnonzero(lay.d == d)
        x = np.stack([x_flat[lay.x_off[n]:lay.x_off[n + 1]] for n in layers]).reshape(-1, B, int(d))
        x = x.astype(np.float64, copy=False)
        G = np.matmul(x, x.transpose(0, 2, 1))
        diag = np.diagonal(G, axis1=1, axis2=2)
        ok = np.all(diag > 0, axis=1) & np.isfinite(G).all(axis=(1, 2))
        if not ok.any():
            continue
        G, diag, layers = G[ok], diag[ok], layers[ok]
        s = np.sqrt(diag)
        out[G_COS, layers] = np.abs(G[:, iu[0], iu[1]] / (s[:, iu[0]] * s[:, iu[1]])).mean(axis=1)
        lam = np.linalg.eigvalsh(G)
        lmax = lam[:, -1]
        tr = diag.sum(axis=1)
        out[G_STABLE_RANK, layers] = tr / lmax
        singular = lam[:, 0] <= tol * lmax
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.log(tr / B) - np.log(lam).mean(axis=1)
        out[G_ISOMETRY_GAP, layers] = np.where(singular, np.inf, gap)
    return out


# ============================================================================ engines
def _views(flat, offsets, shapes):
    return [flat[offsets[n]:offsets[n] + r * c].reshape(r, c) for n, (r, c) in enumerate(shapes)]


def _blas_limit(lay: _Layout):
    """``blas_threads(1)`` for chains too small for threaded BLAS, a no-op otherwise."""
    return blas_threads(1 if lay.B * lay.dmax ** 2 < BLAS_THREADS_MIN_WORK else None)


def _run(spec: ChainSpec, lay: _Layout, buf: _Buffers, n: int, *, frozen=False, start=0,
         backward=True, keep_dw=False) -> None:
    """Run the first ``n`` chains of ``buf`` in order (compiled; BLAS threads as set by the
    caller)."""
    IP, FP = _pack(spec, lay, frozen=frozen, start=start, backward=backward, keep_dw=keep_dw)
    K._run_chains(IP, FP, lay.table, *buf.arrays(n))


def _weight_norms_sq(lay: _Layout, W: np.ndarray) -> np.ndarray:
    """||W^n||_F^2 of every layer of every chain (rows of ``W``), in float64, no temporaries."""
    out = np.empty((W.shape[0], lay.N))
    for c in range(W.shape[0]):
        for n in range(lay.N):
            seg = W[c, lay.w_off[n]:lay.w_off[n + 1]]
            out[c, n] = float(np.dot(seg, seg))
    return out


def _n_threads() -> int:
    import numba

    return max(1, int(numba.get_num_threads()))


def _what(spec: ChainSpec, reps: int) -> str:
    w = spec.width[0] if len(set(spec.width)) == 1 else list(spec.width)
    return f"depth={spec.depth}, width={w}, batch={spec.batch}, reps={reps}"


def _simulate(spec: ChainSpec, reps: int, rng, *, engine="auto", threads=None, population=False,
              batches=1):
    """Run ``reps`` independent chains; returns (OUT, WOUT, WSQ, LOSS, GRAM, seed sequence).

    ``engine="wide"`` runs one chain at a time (BLAS uses its threads inside each matmul);
    ``"compiled"`` spreads the chains over ``threads`` threads (default: numba's thread
    count), each drawing its chain and running it in compiled code with the GIL released.
    Repetition r always uses the r-th child seed, so the numbers do not depend on either.
    With ``batches > 1`` each network is run on that many independent batches (same
    parameters, fresh data); OUT, WOUT, LOSS and GRAM then have a second axis of length
    ``batches``. The memory of the buffers and outputs is checked before allocating.
    """
    lay = _Layout(spec)
    if engine not in ("auto", "wide", "compiled"):
        raise ValueError(f"engine must be 'auto', 'wide' or 'compiled', got {engine!r}")
    if threads is not None:
        threads = check_int(threads, "threads", 1)
    ss = as_seed_sequence(rng)
    per_chain = lay.chain_bytes(spec)
    if engine == "auto":
        engine = "compiled" if reps > 1 and per_chain * _n_threads() <= MAX_THREADED_BYTES else "wide"
    threads = 1 if engine == "wide" else (_n_threads() if threads is None else threads)
    threads = min(threads, reps)
    gram = "gram" in spec.stats
    out_bytes = 8 * reps * batches * ((K.N_FIELDS + N_GRAM * gram) * (lay.N + 1) + K.N_WFIELDS * lay.N
                                      + 1) + 8 * reps * lay.N
    check_memory(per_chain * threads + out_bytes, _what(spec, reps))
    seqs = spawn_seeds(ss, reps)  # children of a copy: ss itself is not advanced
    OUT = np.empty((reps, batches, K.N_FIELDS, lay.N + 1))
    WOUT = np.empty((reps, batches, K.N_WFIELDS, lay.N))
    WSQ = np.empty((reps, lay.N))
    LOSS = np.empty((reps, batches))
    GRAM = np.full((reps, batches, N_GRAM, lay.N + 1), np.nan)
    local = threading.local()
    moments = _activation_moments(spec.act, spec.input_mean, spec.input_std) if population else None
    draw = _Drawer(spec, lay)

    def one(r):
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = _Buffers(spec, lay, 1)
        state = draw.start(seqs[r])
        for k in range(batches):
            # one chain at a time: numba's threads fill the large tensors (same numbers)
            draw(state, buf, 0, batch=k, parallel=threads == 1)
            if population and k == 0:
                _population_stats(spec, lay, buf, 0, moments)
            _run(spec, lay, buf, 1, frozen=population)
            OUT[r, k], WOUT[r, k], LOSS[r, k] = buf.OUT[0], buf.WOUT[0], buf.LOSS[0]
            if gram:
                GRAM[r, k] = _gram_stats(spec, lay, buf.X[0])
        WSQ[r] = _weight_norms_sq(lay, buf.W[:1])[0]

    if threads == 1:
        with _blas_limit(lay):
            for r in range(reps):
                one(r)
    else:
        with blas_threads(1), ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, range(reps)))
    if batches == 1:
        OUT, WOUT, LOSS, GRAM = OUT[:, 0], WOUT[:, 0], LOSS[:, 0], GRAM[:, 0]
    return OUT, WOUT, WSQ, LOSS, GRAM, ss


# ============================================================================ results
def _kurtosis_unbiased(g2: np.ndarray, n: int) -> np.ndarray:
    r"""The sample excess kurtosis :math:`G_2 = \frac{n-1}{(n-2)(n-3)}((n+1)g_2 + 6)` from the
    biased :math:`g_2 = m_4/m_2^2 - 3` of n samples: :math:`E[G_2] = 0` exactly for Gaussian
    samples (:math:`E[g_2] = -6/(n+1)`); linear in :math:`g_2`, so feature averages commute."""
    if n < 4:
        return np.full_like(g2, np.nan)
    return (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0)


@dataclass(frozen=True, eq=False)
class ChainResult:
    r"""Per-layer statistics of ``reps`` independent chains (rows) at layers 0..N (columns).

    Index 0 is the network input :math:`x^0`, index N the output. Gradients are
    :math:`g^n = \partial L/\partial x^n` (pre-activations: the normalisation outputs).
    :meth:`estimate` turns any (reps, ·) field into an :class:`~gradexp.mc.Estimate` per layer
    (mean and standard error over repetitions).

    Attributes
    ----------
    grad_norms : (reps, N+1) Frobenius norms :math:`\|g^n\|` over batch and width.
    grad_var, act_var : (reps, N+1) feature averages of the batch variances of g and x.
    var_product : (reps, N+1) :math:`\sum_i \mathrm{Var}_b(x^n_i)\mathrm{Var}_b(g^n_i)`, the
        numerator of Paik & Choi's Thm 2.2 ratio (biased batch variances).
    act_corr : (reps, N+1) mean :math:`|\mathrm{corr}(x_i, x_j)|` over pairs of the first
        ``corr_features`` features (Paik & Choi Figure 3; NaN when disabled).
    act_grad_corr : (reps, N+1) mean :math:`|\mathrm{corr}(x_i, g_i)|` (Figure 3).
    mean_std_ratio : (reps, N+1) mean :math:`|\bar x_i|/\mathrm{std}(x_i)` (Figure 3).
    act_skew, act_kurtosis : (reps, N+1) feature averages of the batch skewness and the biased
        excess kurtosis :math:`g_2 = m_4/m_2^2 - 3` of :math:`x^n` (:math:`E g_2 = -6/(B+1)`
        for Gaussian pre-activations).
    kurtosis : (reps, N+1) the feature average of the bias-corrected excess kurtosis
        :math:`G_2 = \frac{B-1}{(B-2)(B-3)}((B+1)g_2 + 6)` of each pre-activation
        :math:`x^n_{\cdot i}` over the batch: exactly 0 in expectation for i.i.d. Gaussian
        values (NaN for B < 4). The forward statistic of the depth-drift study.
    gram_cos : (reps, N+1) with ``stats="gram"`` (else NaN): mean over pairs b < c of
        :math:`|\cos(x^n_b, x^n_c)| = |G_{bc}|/\sqrt{G_{bb}G_{cc}}`, :math:`G = x^n (x^n)^\top`
        the B × B Gram matrix of the samples (0: orthogonal representations, 1: collapsed).
    stable_rank : (reps, N+1) with ``stats="gram"``:
        :math:`\mathrm{tr}\,G/\lambda_{max}(G) = \|x^n\|_F^2/\|x^n\|_2^2 \in [1, \min(B, d_n)]`.
    isometry_gap : (reps, N+1) with ``stats="gram"``:
        :math:`-\log I(G) = \log(\mathrm{tr}\,G/B) - \frac1B\log\det G \ge 0`, zero iff G ∝ I (Daneshmand et al. 2021, the isometry
        :math:`I(G) = \det(G)^{1/B}/(\mathrm{tr}\,G/B)`); +inf when G is singular, e.g. when
        B > d_n, or under centred BatchNorm, whose outputs sum to zero over the batch (rank
        ≤ B − 1): use ``norm="batch-nocenter"`` as Daneshmand et al. do.
    weight_grad_norms, weight_grad_dot, weight_norms : (reps, N) :math:`\|\nabla W^n\|_F`,
        :math:`\langle\nabla W^n, W^n\rangle` and :math:`\|W^n\|_F` (NaN without weight gradients).
    loss : (reps,) the loss of each chain.
    seed : the :class:`numpy.random.SeedSequence` that reproduces the run (pass it as ``rng``).
    params : the arguments of the run (:meth:`ChainSpec.to_dict` and ``reps``).
    spec : the :class:`ChainSpec` of the run (None for hand-edited sampled chains).

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019 (the gradient rate); Daneshmand et al., NeurIPS 2020 and 2021
    (stable rank, isometry gap).
    """

    grad_norms: np.ndarray
    grad_var: np.ndarray
    act_var: np.ndarray
    var_product: np.ndarray
    act_corr: np.ndarray
    act_grad_corr: np.ndarray
    mean_std_ratio: np.ndarray
    act_skew: np.ndarray
    act_kurtosis: np.ndarray
    kurtosis: np.ndarray
    gram_cos: np.ndarray
    stable_rank: np.ndarray
    isometry_gap: np.ndarray
    weight_grad_norms: np.ndarray
    weight_grad_dot: np.ndarray
    weight_norms: np.ndarray
    loss: np.ndarray
    seed: np.random.SeedSequence
    params: dict = field(default_factory=dict)
    spec: ChainSpec | None = None

    @property
    def depth(self) -> int:
        return self.grad_norms.shape[1] - 1

    @property
    def reps(self) -> int:
        return self.grad_norms.shape[0]

    def estimate(self, name: str) -> Estimate:
        """Mean and standard error over repetitions of the per-layer field ``name``
        (e.g. ``"kurtosis"``, ``"gram_cos"``, ``"isometry_gap"``): an :class:`Estimate`
        whose ``mean`` and ``stderr`` are arrays over layers, ``n`` = reps."""
        value = getattr(self, name, None)
        if not isinstance(value, np.ndarray) or value.ndim != 2 or name == "seed":
            raise ValueError(f"name must be a per-layer field of ChainResult, got {name!r}")
        with np.errstate(invalid="ignore"):  # inf - inf in the variance of an infinite gap
            return estimate_over_reps(value)

    def log_rates(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        r"""Per-repetition mean log growth per layer from layer ``stop`` down to ``start``:
        :math:`(\log\|g^{start}\| - \log\|g^{stop}\|)/(stop - start)`."""
        stop = self.depth if stop is None else stop
        if not 0 <= start < stop <= self.depth:
            raise ValueError(f"need 0 <= start < stop <= depth = {self.depth}, got {start}, {stop}")
        g = self.grad_norms
        return (np.log(g[:, start]) - np.log(g[:, stop])) / (stop - start)

    def rate_between(self, start: int = 0, stop: int | None = None) -> Estimate:
        """Geometric-mean growth per layer over repetitions, with its (delta-method) error."""
        lr = self.log_rates(start, stop)
        m = float(np.exp(lr.mean()))
        se = float(m * lr.std(ddof=1) / math.sqrt(lr.size)) if lr.size > 1 else math.nan
        return Estimate(m, se, int(lr.size))

    @property
    def rate(self) -> float:
        r"""Geometric-mean growth of :math:`\|g\|` per layer, output → input, over all layers
        (``rate_between().mean``)."""
        return self.rate_between().mean

    @property
    def rate_stderr(self) -> float:
        """``rate_between().stderr``."""
        return self.rate_between().stderr

    def layer_ratio(self, n: int) -> Estimate:
        r"""Paik & Choi's Thm 2.2 ratio at layer n,
        :math:`\sum_i \mathrm{Var}(x^n_i)\mathrm{Var}(g^n_i)/\sum_j \mathrm{Var}(x^{n+1}_j)
        \mathrm{Var}(g^{n+1}_j)`, averaged over repetitions."""
        if not 0 <= n < self.depth:
            raise ValueError(f"n must lie in [0, {self.depth - 1}], got {n}")
        r = self.var_product[:, n] / self.var_product[:, n + 1]
        return estimate(r) if r.size > 1 else Estimate(float(r[0]), math.nan, 1)


def _result(OUT, WOUT, WSQ, LOSS, GRAM, ss, params, spec, batch) -> ChainResult:
    wg = WOUT[:, K.W_GRAD_SQ]
    return ChainResult(
        grad_norms=np.sqrt(OUT[:, K.F_GRAD_SQ]),
        grad_var=OUT[:, K.F_GRAD_VAR].copy(),
        act_var=OUT[:, K.F_ACT_VAR].copy(),
        var_product=OUT[:, K.F_VAR_PRODUCT].copy(),
        act_corr=OUT[:, K.F_ACT_CORR].copy(),
        act_grad_corr=OUT[:, K.F_ACT_GRAD_CORR].copy(),
        mean_std_ratio=OUT[:, K.F_MEAN_STD].copy(),
        act_skew=OUT[:, K.F_ACT_SKEW].copy(),
        act_kurtosis=OUT[:, K.F_ACT_KURT].copy(),
        kurtosis=_kurtosis_unbiased(OUT[:, K.F_ACT_KURT], batch),
        gram_cos=GRAM[:, G_COS].copy(),
        stable_rank=GRAM[:, G_STABLE_RANK].copy(),
        isometry_gap=GRAM[:, G_ISOMETRY_GAP].copy(),
        weight_grad_norms=np.sqrt(wg),
        weight_grad_dot=WOUT[:, K.W_GRAD_DOT].copy(),
        weight_norms=np.sqrt(WSQ),
        loss=LOSS.copy(),
        seed=ss,
        params=params,
        spec=spec,
    )


# ============================================================================ public API
def _as_spec(caller: str, depth, width, batch, options: dict) -> ChainSpec:
    """The :class:`ChainSpec` of a call given either a spec or ``depth, width, batch, **options``."""
    if isinstance(depth, ChainSpec):
        if width is not None or batch is not None or options:
            raise TypeError("pass either a ChainSpec or depth, width, batch and options")
        return depth
    if width is None or batch is None:
        raise TypeError(f"{caller} needs depth, width and batch (or a ChainSpec)")
    return ChainSpec.from_options(depth, width, batch, **options)


def simulate_chain(depth, width=None, batch=None, *, reps=1, rng=None, engine="auto",
                   threads=None, seed=None, **options) -> ChainResult:
    r"""Sample ``reps`` independent networks and run a forward and an exact backward pass.

    Parameters
    ----------
    depth, width, batch : the chain's size (see :class:`ChainSpec`), or a :class:`ChainSpec`
        as the only positional argument (then no ``options``).
    **options : the chain options, documented once in :class:`ChainSpec` (activation,
        activation_params, norm, bn_backward, eps, input_mean, input_std, input_corr,
        residual, residual_scale, init, weights, weight_mean, bias_std, upstream, classes,
        weight_grads, corr_features, stats, dtype, rng_engine). ``n_classes`` is an old name
        of ``classes``.
    reps : independent repetitions (fresh weights, inputs and upstream gradients each).
    rng : None, int, :class:`~numpy.random.SeedSequence` or :class:`~numpy.random.Generator`
        (SPEC 7; ``seed`` is an alias). Repetition r draws from the r-th child of the seed
        sequence (:func:`gradexp._random.spawn_seeds`): with ``rng_engine="philox"`` (default)
        from Philox streams keyed by it (``_PhiloxPlan``; numba's threads fill the large
        tensors when chains run one at a time), with ``"numpy"`` from an SFC64 generator seeded
        by it. The same int or SeedSequence gives the same numbers whatever the engine and
        thread count, and ``result.seed`` reproduces the run.
    engine : ``"wide"`` (one chain at a time, BLAS threads inside each matmul),
        ``"compiled"`` (chains spread over threads, one chain per thread, BLAS single-threaded)
        or ``"auto"`` (compiled when ``reps > 1`` and one chain per thread fits in
        :data:`MAX_THREADED_BYTES`). Both run the same compiled chain code.
    threads : threads of the compiled engine (default ``numba.get_num_threads()``); the
        numbers do not depend on it.

    Returns
    -------
    ChainResult

    Raises
    ------
    ValueError, TypeError
        A bad option (the message names it); sizes whose buffers exceed the available memory
        (the message names depth, width, batch, reps and the bytes).

    Warns
    -----
    InfiniteGrowthWarning
        batch ≤ 3 under BatchNorm (≤ 2 without centring), width ≤ 3 under LayerNorm: the
        expected squared gradient is infinite there.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4 (the per-layer ratio); Yang et al. (ICLR 2019), the rate
    :math:`\sqrt{\pi/(\pi-1)}` of BN + ReLU at large width and batch.

    Examples
    --------
    >>> res = simulate_chain(20, 64, 64, reps=4, rng=1)
    >>> bool(1.1 < res.rate < 1.3)   # Yang's rate sqrt(pi/(pi-1)) = 1.21 at large width/batch
    True
    >>> spec = ChainSpec(20, 64, 64)
    >>> bool(simulate_chain(spec, reps=4, rng=1).rate == res.rate)
    True
    """
    rng = rng_argument(rng, seed)
    spec = _as_spec("simulate_chain", depth, width, batch, options)
    reps = check_int(reps, "reps", 1)
    OUT, WOUT, WSQ, LOSS, GRAM, ss = _simulate(spec, reps, rng, engine=engine, threads=threads)
    params = {**spec.to_dict(), "reps": reps}
    return _result(OUT, WOUT, WSQ, LOSS, GRAM, ss, params, spec, spec.batch)


@dataclass(frozen=True, eq=False)
class LayerRatio:
    """Single-layer estimate of Paik & Choi's Thm 2.2 ratio.

    ``ratio`` is the mean over networks with its standard error, ``samples`` the per-network
    ratios (for heavy-tailed cases such as x = b·t use ``median``), ``seed`` reproduces it.
    With several batches per network, :attr:`networks` is the per-network mean ratio over its
    batches with its standard error (an array :class:`Estimate`; ``network_means`` and
    ``network_stderrs`` are its fields under their old names), and ``samples`` holds the means.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eqs. 3–4; Thm 2.4.
    """

    ratio: Estimate
    samples: np.ndarray
    seed: np.random.SeedSequence
    params: dict = field(default_factory=dict)
    network_means: np.ndarray | None = None
    network_stderrs: np.ndarray | None = None

    @property
    def networks(self) -> Estimate | None:
        """Per-network :math:`E_{x,g}[\\rho\\mid W]` ± standard error over its ``batches``."""
        if self.network_means is None:
            return None
        return Estimate(self.network_means, self.network_stderrs, int(self.params.get("batches", 0)))

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    def log_mean(self) -> Estimate:
        """Mean of log(ratio) with its standard error (robust for heavy tails)."""
        return estimate(np.log(self.samples))


#: options of :func:`single_layer_ratio` fixed by its definition (one BN layer, Gaussian
#: upstream gradient, no weight gradients or extra statistics)
_RATIO_FIXED = ("residual", "residual_scale", "upstream", "classes", "weight_grads",
                "corr_features", "stats", "init")


def single_layer_ratio(width, batch, *, width_out=None, bn_stats="batch", reps=64, batches=1,
                       rng=None, engine="auto", seed=None, **options) -> LayerRatio:
    r"""Estimate Paik & Choi's Theorem 2.2 ratio for one BatchNorm layer.

    .. math::

        \rho = \frac{\sum_i \mathrm{Var}_x(x^n_i)\,\mathrm{Var}_g(g^n_i)}
                    {\sum_j \mathrm{Var}_x(x^{n+1}_j)\,\mathrm{Var}_g(g^{n+1}_j)},\qquad
        x^{n+1} = \mathrm{BN}(W\varphi(x^n)),

    with :math:`x^n` as in :func:`simulate_chain` (``input_mean``, ``input_std``,
    ``input_corr``), weights as ``weights`` says (Gaussian by default) and an i.i.d. N(0, 1)
    upstream gradient :math:`g^{n+1}` independent of the input (the theorem's assumptions).
    Each network (fresh W, batch and g) gives one ratio of batch variances; ``ratio`` is their
    mean with its standard error (Paik & Choi Thm 2.2, eq. 3; the expectation over W).

    ``options`` are the :class:`ChainSpec` options except the fixed ones (residual,
    upstream, classes, weight_grads, corr_features, stats, init); ``norm`` may be
    ``"batch"`` (default) or ``"batch-nocenter"``. ``rng`` (alias ``seed``) as in
    :func:`simulate_chain`.

    ``bn_stats="batch"`` normalises with the batch statistics (finite-batch effects of order
    1/batch remain: extrapolate in 1/batch); ``"population"`` uses the exact statistics of
    an infinite batch of i.i.d. inputs, :math:`\hat\mu_j = E[h]\sum_i W_{ij}`,
    :math:`\hat\sigma_j^2 = \mathrm{Var}(h)\sum_i W_{ij}^2` (the theorem's "ignoring the sampling
    error of batch normalization"; needs ``bn_backward="simplified"`` and i.i.d. inputs).
    For ReLU and i.i.d. inputs the population ratio equals
    :math:`C(R)`, :math:`R = \mu/(\sqrt2\sigma)`, for every W.

    With ``batches > 1`` every one of the ``reps`` networks is evaluated on ``batches``
    independent batches: :attr:`LayerRatio.networks` then estimates
    :math:`\mathbb E_{x,g}[\rho \mid W]` network by network (Theorem 2.4 is a statement about
    that conditional expectation); ``ratio`` and ``samples`` pool all networks.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 3–4; Thm 2.4.
    """
    rng = rng_argument(rng, seed)
    if bn_stats not in ("batch", "population"):
        raise ValueError(f"bn_stats must be 'batch' or 'population', got {bn_stats!r}")
    fixed = sorted(set(options) & set(_RATIO_FIXED))
    if fixed:
        raise TypeError(f"single_layer_ratio fixes {fixed}; they cannot be passed")
    norm = options.setdefault("norm", "batch")
    if norm not in ("batch", "batch-nocenter"):
        raise ValueError(f"norm must be 'batch' or 'batch-nocenter' for single_layer_ratio, got {norm!r}")
    width_out = width if width_out is None else width_out
    spec = ChainSpec.from_options(1, (width, width_out), batch, upstream="gaussian",
                                  weight_grads=False, corr_features=0, **options)
    if bn_stats == "population":
        if spec.bn_backward != "simplified":
            raise ValueError("bn_stats='population' holds the statistics constant: "
                             "use bn_backward='simplified'")
        if spec.input_corr != 0.0:
            raise ValueError("bn_stats='population' needs i.i.d. inputs (input_corr=0)")
    reps = check_int(reps, "reps", 2)
    batches = check_int(batches, "batches", 1)
    OUT, _, _, _, _, ss = _simulate(spec, reps, rng, engine=engine,
                                    population=bn_stats == "population", batches=batches)
    r = OUT[..., K.F_VAR_PRODUCT, 0] / OUT[..., K.F_VAR_PRODUCT, 1]
    if batches > 1:
        means = r.mean(axis=1)
        ses = r.std(axis=1, ddof=1) / math.sqrt(batches)
        r = means
    else:
        means = ses = None
    params = dict(width=width, width_out=width_out, batch=spec.batch, activation=spec.act.name,
                  input_mean=spec.input_mean, input_std=spec.input_std,
                  input_corr=spec.input_corr, weight_mean=spec.weight_mean,
                  bn_backward=spec.bn_backward, bn_stats=bn_stats, norm=spec.norm,
                  weights=spec.weights, eps=spec.eps, reps=reps, batches=batches,
                  dtype=spec.dtype.name)
    return LayerRatio(estimate(r), r, ss, params, means, ses)


class SampledChain:
    """One sampled network with its buffers, for derivative checks and custom experiments.

    Created by :func:`sample_chain`. ``inputs``, ``weights[n]``, ``biases[n]`` and
    ``activations(n)`` are views into the buffers: edit them and call :meth:`run` again.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2 and Cor. 2.5 of the earlier version [paik-choi-v1] (second derivatives);
    Salmon et al., SC 2011 (Philox).
    """

    def __init__(self, spec: ChainSpec, seed):
        self._spec = spec
        self._lay = _Layout(spec)
        self.seed = as_seed_sequence(seed)
        check_memory(self._lay.chain_bytes(spec, keep_dw=True), _what(spec, 1))
        self._buf = _Buffers(spec, self._lay, 1, keep_dw=True)
        draw = _Drawer(spec, self._lay)
        draw(draw.start(self.seed), self._buf, 0, parallel=True)
        lay = self._lay
        self.weights = _views(self._buf.W[0], lay.w_off,
                              [(int(lay.d[n]), int(lay.d[n + 1])) for n in range(lay.N)])
        self.biases = ([self._buf.Bv[0, lay.b_off[n]:lay.b_off[n + 1]] for n in range(lay.N)]
                       if spec.has_bias else None)
        self.grad = None
        self.weight_grads = None

    @property
    def spec(self) -> ChainSpec:
        return self._spec

    @property
    def depth(self) -> int:
        return self._lay.N

    @property
    def inputs(self) -> np.ndarray:
        return self.activations(0)

    def activations(self, n: int) -> np.ndarray:
        """View of :math:`x^n` (batch × d_n), valid after :meth:`run` for n ≥ 1."""
        lay = self._lay
        return self._buf.X[0, lay.x_off[n]:lay.x_off[n + 1]].reshape(lay.B, int(lay.d[n]))

    @property
    def masks(self) -> list[np.ndarray] | None:
        """Dropout masks m^n (batch × d_n, 0/1) of layers 0..N-1, or None."""
        if not self._spec.has_mask:
            return None
        lay = self._lay
        return _views(self._buf.M[0], lay.x_off, [(lay.B, int(lay.d[n])) for n in range(lay.N)])

    @property
    def upstream(self) -> np.ndarray:
        """The Gaussian upstream gradient G (``"gaussian"``) or the targets Y (``"mse"``)."""
        return self._buf.UP[0]

    @property
    def output_weights(self) -> np.ndarray:
        """The read-out of the ``cross_entropy``/``logistic`` losses (d_N × k)."""
        return self._buf.RO[0]

    @property
    def labels(self) -> np.ndarray:
        return self._buf.LAB[0]

    @property
    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """(μ̂, σ̂) of each normalisation layer (lists; per feature for BN, per sample for LN)."""
        lay = self._lay
        out = []
        for arr in (self._buf.MU[0], self._buf.SIG[0]):
            n_s = [int(max(lay.B, lay.d[n + 1])) for n in range(lay.N)]
            size = [int(lay.d[n + 1]) if self._spec.norm != "layer" else lay.B
                    for n in range(lay.N)]
            out.append([arr[lay.s_off[n]:lay.s_off[n] + n_s[n]][:size[n]] for n in range(lay.N)])
        return out[0], out[1]

    def run(self, *, freeze: bool = False, start: int = 0, backward: bool = True,
            keep_weight_grads: bool = True) -> float:
        """Forward from :math:`x^{start}` and (optionally) backward down to it; returns L.

        ``freeze=True`` reuses the normalisation statistics of the previous run (the forward
        pass whose derivative the simplified backward is). After a backward pass,
        ``grad`` is :math:`\\partial L/\\partial x^{start}` and ``weight_grads[n]`` is
        :math:`\\partial L/\\partial W^n` for n ≥ start (``keep_weight_grads=False`` skips
        storing and copying them; their norms are still in :meth:`result`).
        """
        lay = self._lay
        if not 0 <= start < lay.N:
            raise ValueError(f"start must lie in [0, {lay.N - 1}], got {start}")
        keep = backward and keep_weight_grads
        with _blas_limit(lay):
            _run(self._spec, lay, self._buf, 1, frozen=freeze, start=start, backward=backward,
                 keep_dw=keep)
        if backward:
            ds = int(lay.d[start])
            self.grad = self._buf.G1[0, :lay.B * ds].reshape(lay.B, ds).copy()
        if keep:
            dws = _views(self._buf.DW[0], lay.w_off,
                         [(int(lay.d[n]), int(lay.d[n + 1])) for n in range(lay.N)])
            self.weight_grads = {n: dws[n].copy() for n in range(start, lay.N)}
        return float(self._buf.LOSS[0])

    def logistic_terms(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Per-sample :math:`l'(s_b)`, :math:`l''(s_b)` of the logistic loss at the single
        read-out :math:`s_b = x^N_b \cdot r` (``upstream="logistic"``), after :meth:`run`."""
        s = self.activations(self.depth) @ self.output_weights[:, 0]
        t = 2.0 * self.labels - 1.0
        sig = 1.0 / (1.0 + np.exp(t * s))  # σ(−t s)
        return -t * sig, sig * (1.0 - sig)

    def diagonal_second_derivatives(self, layers, per_layer, rng, *, freeze, h=1e-5):
        r"""Central differences of the exact gradient: :math:`\partial^2 L/\partial (x^n_{bi})^2`
        at ``per_layer`` random coordinates (b, i) of each layer n (Paik & Choi Lemma 2.9, Fig. 4).

        ``rng`` is a :class:`numpy.random.Generator` (used as the caller's stream; an int or
        SeedSequence seeds a fresh one). Returns rows ``(n, b, i, g, h_bi)`` with the gradient
        g at that coordinate. The network is left as it was (a final run from each layer
        restores the buffers).
        """
        from .._random import as_generator

        rng = as_generator(rng)
        rows = []
        for n in layers:
            self.run(start=n, freeze=freeze)
            x = self.activations(n)
            for _ in range(per_layer):
                b, i = int(rng.integers(x.shape[0])), int(rng.integers(x.shape[1]))
                g0 = float(self.grad[b, i])
                old = x[b, i]
                x[b, i] = old + h
                self.run(start=n, freeze=freeze)
                gp = float(self.grad[b, i])
                x[b, i] = old - h
                self.run(start=n, freeze=freeze)
                gm = float(self.grad[b, i])
                x[b, i] = old
                rows.append((n, b, i, g0, (gp - gm) / (2 * h)))
            self.run(start=n, freeze=freeze)
        return rows

    def gram_statistics(self) -> np.ndarray:
        """(3, N+1) mean ``|cos|``, stable rank and isometry gap of the batch Gram matrix of every
        layer of the last run (definitions in :class:`ChainResult`)."""
        return _gram_stats(self._spec, self._lay, self._buf.X[0])

    def result(self) -> ChainResult:
        """The statistics of the last run as a one-repetition :class:`ChainResult`."""
        b = self._buf
        gram = self.gram_statistics()[None] if "gram" in self._spec.stats else \
            np.full((1, N_GRAM, self._lay.N + 1), np.nan)
        return _result(b.OUT[:1], b.WOUT[:1], _weight_norms_sq(self._lay, b.W[:1]), b.LOSS[:1],
                       gram, self.seed, {}, self._spec, self._lay.B)


def sample_chain(depth, width=None, batch=None, *, rng=None, seed=None, **options) -> SampledChain:
    """Draw one network of :func:`simulate_chain` (same options, same seeds:
    ``sample_chain(..., rng=s)`` is repetition 0 of ``simulate_chain(..., rng=s)``).

    ``depth`` may be a :class:`ChainSpec` (then no width, batch or options); ``seed`` is an
    alias of ``rng``.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019; Salmon et al., SC 2011 (Philox).
    """
    rng = rng_argument(rng, seed)
    spec = _as_spec("sample_chain", depth, width, batch, options)
    return SampledChain(spec, spawn_seeds(rng, 1)[0])
