r"""Monte-Carlo chains of normalisation and activation layers: forward and exact backward.

A chain of depth N maps the input :math:`x^0` (``batch`` samples, width :math:`d_0`) through

.. math::

    h^n = \varphi(x^n)\ (\odot\ m^n),\qquad z^n = h^n W^n + b^n,\qquad
    x^{n+1} = \mathrm{Norm}(z^n)\quad(n = 0, \dots, N-1),

with Gaussian weights :math:`W^n_{ij} \sim N(\mu_w, \sigma_w^2)`, :math:`\sigma_w = g/\sqrt{d_n}`
(He: :math:`g^2 = 2`, LeCun: :math:`g^2 = 1`), affine parameters γ = 1, β = 0, and
``Norm`` one of

* ``"batch"``: :math:`x_{bj} = (z_{bj} - \hat\mu_j)/\hat\sigma_j` with the batch mean and the
  biased batch standard deviation (``eps`` added to the variance, default 0);
* ``"layer"``: the same over the feature axis of each sample;
* ``"none"``: :math:`x = z`.

With ``residual=s`` every s-th layer output adds the block input:
:math:`x^{ks} = c\,(\mathrm{Norm}(z^{ks-1}) + x^{(k-1)s})` with ``residual_scale`` c
(default :math:`1/\sqrt2`, which keeps unit variance: the normalised sum that
Mehmeti-Göpel & Wand's eq. 9 assumes; c = 1 is the plain ResNet-v1 sum).

The backward pass is exact (tested against central finite differences and PyTorch).
``bn_backward="full"`` differentiates through the batch statistics,
:math:`\partial L/\partial z = \hat\sigma^{-1}(g - \overline{g} - \hat x\,\overline{g\hat x})`;
``"simplified"`` treats :math:`\hat\mu, \hat\sigma` as constants,
:math:`\partial L/\partial z = g/\hat\sigma`, as Paik & Choi's proofs do (Appendix A.2, eq. 16).

Engines: every chain runs whole in compiled code (:func:`gradexp.mc._chain_kernels._chain_one`):
the matmuls go to BLAS (``np.dot(a, b, out)`` into preallocated buffers, no allocation in the
layer loop), numba fuses the elementwise work (normalisation, activation, masks, reductions).
``engine="wide"`` runs one chain at a time and lets BLAS use its threads; ``"compiled"``
spreads independent chains over threads (one chain per thread, GIL released, BLAS
single-threaded). Repetition r always draws from the r-th child of the seed, so engines and
thread counts give identical numbers.

References: Paik & Choi (000, 001), Thm 2.2, eq. 4, Figures 1, 3, 4; Mehmeti-Göpel & Wand
(002), eqs. 1–2, 8–9.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import DROPOUT, IDENTITY, Activation, get_activation
from ..gaussian import gaussian_expectation
from . import _chain_kernels as K
from ._estimate import Estimate, estimate

__all__ = [
    "simulate_chain",
    "single_layer_ratio",
    "sample_chain",
    "ChainResult",
    "LayerRatio",
    "SampledChain",
    "resolve_seed",
]

_NORMS = {"batch": K.NORM_BATCH, "layer": K.NORM_LAYER, "none": K.NORM_NONE}
_UPSTREAMS = {"gaussian": K.LOSS_GAUSSIAN, "mse": K.LOSS_MSE,
              "cross_entropy": K.LOSS_CROSS_ENTROPY, "logistic": K.LOSS_LOGISTIC}
_INITS = {"he": math.sqrt(2.0), "lecun": 1.0}
#: with ``engine="auto"``, repetitions run on the threaded engine (one chain per thread, BLAS
#: single-threaded) unless the buffers of one chain per thread would exceed this many bytes
MAX_THREADED_BYTES = 1 << 30


# ============================================================================ seeds
def resolve_seed(seed) -> np.random.SeedSequence:
    """The :class:`numpy.random.SeedSequence` that a ``seed`` argument stands for.

    ``None`` draws fresh OS entropy, an int or a SeedSequence is used as is (a copy, so the
    caller's object is never advanced), a :class:`numpy.random.Generator` contributes one
    draw of 63 bits (so successive calls with the same Generator differ). The returned
    sequence reproduces the run when passed back as ``seed``.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key,
                                      pool_size=seed.pool_size)
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2 ** 63)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        return np.random.SeedSequence(int(seed))
    raise ValueError(f"seed must be None, an int, a SeedSequence or a Generator, got {seed!r}")


def _spawn(ss: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    return resolve_seed(ss).spawn(n)


def _stream(ss: np.random.SeedSequence) -> np.random.Generator:
    """The generator of one repetition: SFC64 seeded by its child SeedSequence.

    SFC64 is one of numpy's recommended bit generators; it draws Gaussian variates ~25%
    faster than PCG64, and drawing the networks is a large share of small-chain runs.
    """
    return np.random.Generator(np.random.SFC64(ss))


# ============================================================================ specification
@dataclass(frozen=True)
class _Spec:
    widths: tuple[int, ...]
    batch: int
    act: Activation
    norm: int
    full: bool
    eps: float
    input_mean: float
    input_std: float
    input_corr: Any  # float in [0, 1] or "bt"
    skip_src: tuple[int, ...]
    residual_scale: float
    gains: tuple[float, ...]  # σ_w per layer
    weight_mean: float  # μ_w / σ_w
    bias_std: float
    loss: int
    n_classes: int
    dtype: Any
    weight_grads: bool
    corr_features: int

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def has_mask(self) -> bool:
        return self.act.code == DROPOUT

    @property
    def has_bias(self) -> bool:
        return self.bias_std > 0


def _as_int(x, name, lo):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    if x < lo:
        raise ValueError(f"{name} must be >= {lo}, got {x}")
    return int(x)


def _as_float(x, name, lo=-math.inf, hi=math.inf, *, lo_open=False):
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {x!r}") from None
    if math.isnan(v) or not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {x!r}")
    if v < lo or v > hi or (lo_open and v == lo):
        lb = "(" if lo_open else "["
        raise ValueError(f"{name} must lie in {lb}{lo}, {hi}], got {v}")
    return v


def _make_spec(depth, width, batch, *, activation, activation_params, norm, bn_backward, eps,
               input_mean, input_std, input_corr, residual, residual_scale, init, weight_mean,
               bias_std, upstream, n_classes, dtype, weight_grads, corr_features) -> _Spec:
    depth = _as_int(depth, "depth", 1)
    if np.ndim(width) == 0:
        widths = (_as_int(width, "width", 1),) * (depth + 1)
    else:
        widths = tuple(_as_int(w, "width", 1) for w in width)
        if len(widths) != depth + 1:
            raise ValueError(f"width must be an int or a sequence of depth + 1 = {depth + 1} "
                             f"widths, got {len(widths)}")
    batch = _as_int(batch, "batch", 1)
    act = get_activation(activation, **(activation_params or {}))
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {tuple(_NORMS)}, got {norm!r}")
    if norm == "batch" and batch < 2:
        raise ValueError(f"batch norm needs batch >= 2, got {batch}")
    if norm == "layer" and min(widths[1:]) < 2:
        raise ValueError("layer norm needs widths >= 2")
    if bn_backward not in ("full", "simplified"):
        raise ValueError(f"bn_backward must be 'full' or 'simplified', got {bn_backward!r}")
    eps = _as_float(eps, "eps", 0.0)
    input_mean = _as_float(input_mean, "input_mean")
    input_std = _as_float(input_std, "input_std", 0.0, lo_open=True)
    if isinstance(input_corr, str):
        if input_corr != "bt":
            raise ValueError(f"input_corr must be a number in [0, 1] or 'bt', got {input_corr!r}")
    else:
        input_corr = _as_float(input_corr, "input_corr", 0.0, 1.0)
    skip_src = [-1] * depth
    if residual is not None:
        s = _as_int(residual, "residual", 1)
        if s > depth:
            raise ValueError(f"residual must be <= depth = {depth}, got {s}")
        for k in range(1, depth // s + 1):
            end, src = k * s, (k - 1) * s
            if widths[end] != widths[src]:
                raise ValueError(f"residual connection from layer {src} to {end} needs equal "
                                 f"widths, got {widths[src]} and {widths[end]}")
            skip_src[end - 1] = src
    residual_scale = _as_float(residual_scale, "residual_scale", 0.0, lo_open=True)
    if isinstance(init, str):
        if init not in _INITS:
            raise ValueError(f"init must be 'he', 'lecun' or a positive gain, got {init!r}")
        gain = _INITS[init]
    else:
        gain = _as_float(init, "init", 0.0, lo_open=True)
    gains = tuple(gain / math.sqrt(widths[n]) for n in range(depth))
    weight_mean = _as_float(weight_mean, "weight_mean")
    bias_std = _as_float(bias_std, "bias_std", 0.0)
    if upstream not in _UPSTREAMS:
        raise ValueError(f"upstream must be one of {tuple(_UPSTREAMS)}, got {upstream!r}")
    n_classes = _as_int(n_classes, "n_classes", 2)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float64 or float32, got {dtype}")
    corr_features = _as_int(corr_features, "corr_features", 0)
    return _Spec(widths, batch, act, _NORMS[norm], bn_backward == "full", eps, input_mean,
                 input_std, input_corr, tuple(skip_src), residual_scale, gains, weight_mean,
                 bias_std, _UPSTREAMS[upstream], n_classes, dtype, bool(weight_grads),
                 corr_features)


class _Layout:
    """Offsets of every layer's block in the flat per-chain buffers."""

    def __init__(self, spec: _Spec):
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
        self.has_add = np.zeros(N, dtype=np.bool_)
        for src in spec.skip_src:
            if src >= 0:
                self.has_add[src] = True
        self.dmax = int(d.max())
        self.vlen = max(B, self.dmax, spec.n_classes)
        self.n_x = int(self.x_off[-1])
        self.n_h = int(self.x_off[N])
        self.n_w = int(self.w_off[-1])
        self.n_b = int(self.b_off[-1]) if spec.has_bias else 1
        self.n_m = self.n_h if spec.has_mask else 1
        self.n_s = int(self.s_off[-1])
        self.up_shape = (B, int(d[N])) if spec.loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE) else (1, 1)
        if spec.loss == K.LOSS_CROSS_ENTROPY:
            self.ro_shape = (int(d[N]), spec.n_classes)
        elif spec.loss == K.LOSS_LOGISTIC:
            self.ro_shape = (int(d[N]), 1)
        else:
            self.ro_shape = (1, 1)
        self.lab_len = B if spec.loss in (K.LOSS_CROSS_ENTROPY, K.LOSS_LOGISTIC) else 1
        self.kcorr = min(spec.corr_features, self.dmax)


class _Buffers:
    """All arrays of ``n`` chains (leading axis), allocated once."""

    def __init__(self, spec: _Spec, lay: _Layout, n: int, keep_dw: bool = False):
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
        wmax = lay.n_w if keep_dw else int(max(lay.d[:-1] * lay.d[1:]))
        self.DW = np.empty((n, wmax if (spec.weight_grads or keep_dw) else 1), dt)
        self.SACC = np.zeros((n, lay.B * lay.dmax), dt)
        self.VEC = np.zeros((n, K.N_VEC, lay.vlen))
        self.XMEAN = np.zeros((n, N + 1, lay.dmax))
        self.XM2 = np.zeros((n, N + 1, lay.dmax))
        self.CORR = np.zeros((n, max(lay.kcorr, 1), max(lay.kcorr, 1)))
        self.OUT = np.full((n, K.N_FIELDS, N + 1), np.nan)
        self.WOUT = np.full((n, K.N_WFIELDS, N), np.nan)
        self.LOSS = np.zeros(n)


# ============================================================================ drawing
def _draw(rng: np.random.Generator, spec: _Spec, lay: _Layout, buf: _Buffers, i: int, *,
          data_only: bool = False) -> None:
    """Draw chain ``i`` of ``buf`` from ``rng``: input, weights, biases, masks, upstream.

    The order of the draws is fixed (both engines call this), so a seed gives the same
    network on either engine. ``data_only`` redraws only what belongs to the batch (inputs,
    dropout masks, upstream gradient or labels) and keeps the network's parameters.
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
        k = spec.n_classes if spec.loss == K.LOSS_CROSS_ENTROPY else 2
        buf.LAB[i] = rng.integers(0, k, lay.lab_len)


def _population_stats(spec: _Spec, lay: _Layout, buf: _Buffers, i: int, moments) -> None:
    """Exact first-layer BatchNorm statistics for i.i.d. N(μ, σ²) inputs (depth-1 chains).

    μ_j = E[h] Σ_i W_ij + b_j and σ_j² = Var(h) Σ_i W_ij² + eps with h = φ(x)(·m): the
    statistics of an infinite batch ("ignoring the sampling error of batch normalization",
    Paik & Choi Thm 2.2).
    """
    eh, vh = moments
    d0, d1 = int(lay.d[0]), int(lay.d[1])
    w = buf.W[i, :d0 * d1].reshape(d0, d1).astype(np.float64)
    mu = eh * w.sum(axis=0)
    if spec.has_bias:
        mu = mu + buf.Bv[i, :d1]
    buf.MU[i, :d1] = mu
    buf.SIG[i, :d1] = np.sqrt(vh * (w * w).sum(axis=0) + spec.eps)


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


# ============================================================================ engines
def _views(flat, offsets, shapes):
    return [flat[offsets[n]:offsets[n] + r * c].reshape(r, c) for n, (r, c) in enumerate(shapes)]


#: below this many multiply-adds per matmul (batch·width²) one chain's BLAS calls run
#: single-threaded: OpenBLAS's threads only pay off for large products, and on a busy machine
#: their spin-waiting makes medium products (~128³) tens of times slower
BLAS_THREADS_MIN_WORK = 1 << 24


def _run(spec: _Spec, lay: _Layout, buf: _Buffers, n: int, *, frozen=False, start=0,
         backward=True, keep_dw=False) -> None:
    """Run the first ``n`` chains of ``buf`` in order (compiled)."""
    if lay.B * lay.dmax ** 2 < BLAS_THREADS_MIN_WORK:
        with _single_threaded_blas():
            _run_unchecked(spec, lay, buf, n, frozen=frozen, start=start, backward=backward,
                           keep_dw=keep_dw)
    else:
        _run_unchecked(spec, lay, buf, n, frozen=frozen, start=start, backward=backward,
                       keep_dw=keep_dw)


def _run_unchecked(spec, lay, buf, n, *, frozen, start, backward, keep_dw) -> None:
    K._run_chains(lay.d, lay.B, lay.x_off, lay.w_off, lay.b_off, lay.s_off, lay.skip_src,
                  lay.has_add, spec.norm, spec.full, bool(frozen), spec.eps, spec.residual_scale,
                  int(spec.act.code), float(spec.act.param), spec.has_bias, spec.has_mask,
                  spec.loss, spec.weight_grads or keep_dw, bool(keep_dw), int(lay.kcorr),
                  int(start), bool(backward), buf.X[:n], buf.H[:n], buf.W[:n], buf.Bv[:n],
                  buf.M[:n], buf.MU[:n], buf.SIG[:n], buf.UP[:n], buf.RO[:n], buf.LAB[:n],
                  buf.G1[:n], buf.G2[:n], buf.GZ[:n], buf.DW[:n], buf.SACC[:n], buf.VEC[:n],
                  buf.XMEAN[:n], buf.XM2[:n], buf.CORR[:n], buf.OUT[:n], buf.WOUT[:n],
                  buf.LOSS[:n])


def _weight_norms_sq(lay: _Layout, W: np.ndarray) -> np.ndarray:
    """||W^n||_F^2 of every layer of every chain (rows of ``W``), in float64, no temporaries."""
    out = np.empty((W.shape[0], lay.N))
    for c in range(W.shape[0]):
        for n in range(lay.N):
            seg = W[c, lay.w_off[n]:lay.w_off[n + 1]]
            out[c, n] = float(np.dot(seg, seg))
    return out


@functools.lru_cache(maxsize=1)
def _blas_thread_functions():
    """(get, set) of the thread count of the BLAS that numba's ``np.dot`` calls, or None.

    numba calls scipy's BLAS (``scipy.linalg.cython_blas``), an OpenBLAS in scipy's wheels;
    its ``*_set_num_threads`` is looked up by name (as threadpoolctl does). Any other BLAS:
    None, and the threaded engine simply runs with that BLAS's own threading.
    """
    try:
        from scipy.linalg import cython_blas

        lib = ctypes.CDLL(cython_blas.__file__)
    except (ImportError, OSError):  # pragma: no cover - scipy is a dependency
        return None
    for prefix, suffix in (("scipy_openblas", ""), ("openblas", ""), ("scipy_openblas", "64_")):
        try:
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
            set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}")
        except AttributeError:
            continue
        get.restype = ctypes.c_int
        set_.argtypes = [ctypes.c_int]
        return get, set_
    return None  # pragma: no cover


@contextlib.contextmanager
def _single_threaded_blas():
    """Run BLAS single-threaded inside (the threaded engine already uses every core)."""
    fns = _blas_thread_functions()
    if fns is None:  # pragma: no cover
        yield
        return
    get, set_ = fns
    old = get()
    set_(1)
    try:
        yield
    finally:
        set_(old)


def _n_threads() -> int:
    import numba

    return max(1, int(numba.get_num_threads()))


def _simulate(spec: _Spec, reps: int, seed, *, engine="auto", threads=None, population=False,
              batches=1):
    """Run ``reps`` independent chains; returns (OUT, WOUT, WSQ, LOSS, seed sequence).

    ``engine="wide"`` runs one chain at a time (BLAS uses its threads inside each matmul);
    ``"compiled"`` spreads the chains over ``threads`` threads (default: numba's thread
    count), each drawing its chain and running it in compiled code with the GIL released.
    Repetition r always uses the r-th child seed, so the numbers do not depend on either.
    With ``batches > 1`` each network is run on that many independent batches (same
    parameters, fresh data); OUT, WOUT and LOSS then have a second axis of length ``batches``.
    """
    lay = _Layout(spec)
    ss = resolve_seed(seed)
    seqs = _spawn(ss, reps)
    if engine == "auto":
        per_chain = spec.dtype.itemsize * (lay.n_x + lay.n_h + lay.n_w + lay.n_m
                                           + 5 * lay.B * lay.dmax)
        engine = "compiled" if reps > 1 and per_chain * _n_threads() <= MAX_THREADED_BYTES else "wide"
    if engine not in ("wide", "compiled"):
        raise ValueError(f"engine must be 'auto', 'wide' or 'compiled', got {engine!r}")
    if engine == "wide":
        threads = 1
    else:
        threads = _n_threads() if threads is None else _as_int(threads, "threads", 1)
    threads = min(threads, reps)
    OUT = np.empty((reps, batches, K.N_FIELDS, lay.N + 1))
    WOUT = np.empty((reps, batches, K.N_WFIELDS, lay.N))
    WSQ = np.empty((reps, lay.N))
    LOSS = np.empty((reps, batches))
    local = threading.local()
    moments = _activation_moments(spec.act, spec.input_mean, spec.input_std) if population else None

    def one(r):
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = _Buffers(spec, lay, 1)
        rng = _stream(seqs[r])
        for k in range(batches):
            _draw(rng, spec, lay, buf, 0, data_only=k > 0)
            if population and k == 0:
                _population_stats(spec, lay, buf, 0, moments)
            _run(spec, lay, buf, 1, frozen=population)
            OUT[r, k], WOUT[r, k], LOSS[r, k] = buf.OUT[0], buf.WOUT[0], buf.LOSS[0]
        WSQ[r] = _weight_norms_sq(lay, buf.W[:1])[0]

    if threads == 1:
        for r in range(reps):
            one(r)
    else:
        with _single_threaded_blas(), ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, range(reps)))
    if batches == 1:
        OUT, WOUT, LOSS = OUT[:, 0], WOUT[:, 0], LOSS[:, 0]
    return OUT, WOUT, WSQ, LOSS, ss


# ============================================================================ results
@dataclass(frozen=True, eq=False)
class ChainResult:
    r"""Per-layer statistics of ``reps`` independent chains (rows) at layers 0..N (columns).

    Index 0 is the network input :math:`x^0`, index N the output. Gradients are
    :math:`g^n = \partial L/\partial x^n` (pre-activations: the BatchNorm outputs).

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
    act_skew, act_kurtosis : (reps, N+1) feature averages of the batch skewness and excess
        kurtosis of :math:`x^n` (0 for Gaussian pre-activations).
    weight_grad_norms, weight_grad_dot, weight_norms : (reps, N) :math:`\|\nabla W^n\|_F`,
        :math:`\langle\nabla W^n, W^n\rangle` and :math:`\|W^n\|_F` (NaN without weight gradients).
    loss : (reps,) the loss of each chain.
    seed : the :class:`numpy.random.SeedSequence` that reproduces the run.
    params : the arguments of the run.
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
    weight_grad_norms: np.ndarray
    weight_grad_dot: np.ndarray
    weight_norms: np.ndarray
    loss: np.ndarray
    seed: np.random.SeedSequence
    params: dict = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return self.grad_norms.shape[1] - 1

    @property
    def reps(self) -> int:
        return self.grad_norms.shape[0]

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
        r"""Geometric-mean growth of :math:`\|g\|` per layer, output → input, over all layers."""
        return self.rate_between().mean

    @property
    def rate_stderr(self) -> float:
        return self.rate_between().stderr

    def layer_ratio(self, n: int) -> Estimate:
        r"""Paik & Choi's Thm 2.2 ratio at layer n,
        :math:`\sum_i \mathrm{Var}(x^n_i)\mathrm{Var}(g^n_i)/\sum_j \mathrm{Var}(x^{n+1}_j)
        \mathrm{Var}(g^{n+1}_j)`, averaged over repetitions."""
        if not 0 <= n < self.depth:
            raise ValueError(f"n must lie in [0, {self.depth - 1}], got {n}")
        r = self.var_product[:, n] / self.var_product[:, n + 1]
        return estimate(r) if r.size > 1 else Estimate(float(r[0]), math.nan, 1)


def _result(OUT, WOUT, WSQ, LOSS, ss, params) -> ChainResult:
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
        weight_grad_norms=np.sqrt(wg),
        weight_grad_dot=WOUT[:, K.W_GRAD_DOT].copy(),
        weight_norms=np.sqrt(WSQ),
        loss=LOSS.copy(),
        seed=ss,
        params=params,
    )


# ============================================================================ public API
def simulate_chain(depth, width, batch, *, activation="relu", activation_params=None,
                   norm="batch", bn_backward="full", eps=0.0, input_mean=0.0, input_std=1.0,
                   input_corr=0.0, residual=None, residual_scale=1 / math.sqrt(2), init="he",
                   weight_mean=0.0, bias_std=0.0, upstream="gaussian", n_classes=10,
                   weight_grads=True, corr_features=32, dtype=np.float64, reps=1, seed=None,
                   engine="auto", threads=None) -> ChainResult:
    r"""Sample ``reps`` independent networks and run a forward and an exact backward pass.

    Parameters
    ----------
    depth : number of layers N ≥ 1.
    width : int, or a sequence of N + 1 widths :math:`d_0, \dots, d_N` (Paik & Choi's
        theorems sum over width, so a width change shows as a step in the gradient norm).
    batch : batch size B (≥ 2 for ``norm="batch"``).
    activation, activation_params : a name of :mod:`gradexp.activations` (``"relu"``,
        ``"leaky_relu"``, ``"elu"``, ``"gelu"``, ``"silu"``, ``"tanh"``, ``"softplus"``,
        ``"identity"``, ``"dropout"``) and its parameter, e.g. ``{"keep_prob": 0.5}``.
    norm : ``"batch"``, ``"layer"`` or ``"none"``.
    bn_backward : ``"full"`` (exact) or ``"simplified"`` (batch statistics held constant).
    eps : added to the normalisation variance (default 0).
    input_mean, input_std : inputs :math:`x^0_{bi} \sim N(\mu, \sigma^2)`; the first layer then
        has Paik & Choi's :math:`R = \mu/(\sqrt2\sigma)`.
    input_corr : common correlation ρ ∈ [0, 1] between input features,
        :math:`x_{bi} = \mu + \sigma(\sqrt\rho\,c_b + \sqrt{1-\rho}\,e_{bi})`, or ``"bt"`` for the
        perfectly correlated inputs of Thm 2.8, :math:`x_{bi} = \mu + \sigma\,b_b t_i` with
        :math:`b_b, t_i \sim N(0, 1)` (t drawn once per network).
    residual, residual_scale : skip connection every ``residual`` layers (see module docstring).
    init : ``"he"`` (:math:`\sigma_w^2 = 2/d_{in}`), ``"lecun"`` (1/d_in) or a gain g
        (:math:`g^2/d_{in}`). Irrelevant for normalised layers (scale invariance).
    weight_mean : :math:`\mu_w/\sigma_w` (Thm 2.4's non-centred weights).
    bias_std : standard deviation of the biases (0: no bias; a bias cancels in BatchNorm).
    upstream : the gradient at the output: ``"gaussian"`` (i.i.d. N(0, 1), independent of the
        input, as the theorems assume: :math:`L = \sum G \odot x^N`), ``"mse"`` (random
        Gaussian targets), ``"cross_entropy"`` (a Gaussian linear read-out to ``n_classes``
        logits, random labels) or ``"logistic"`` (one output per sample, random ±1 labels).
    weight_grads : compute :math:`\nabla W^n` (its norm and :math:`\langle\nabla W, W\rangle`).
    corr_features : number of features for the pairwise correlation statistic (0: off).
    dtype : ``numpy.float64`` or ``numpy.float32``.
    reps : independent repetitions (fresh weights, inputs and upstream gradients each).
    seed : None, int, :class:`~numpy.random.SeedSequence` or :class:`~numpy.random.Generator`.
        Repetition r draws from an SFC64 generator seeded by the r-th child of the seed's
        sequence (:func:`resolve_seed`); same seed, same numbers.
    engine : ``"wide"`` (one chain at a time, BLAS threads inside each matmul),
        ``"compiled"`` (chains spread over threads, one chain per thread, BLAS single-threaded)
        or ``"auto"`` (compiled when ``reps > 1`` and one chain per thread fits in
        :data:`MAX_THREADED_BYTES`). Both run the same compiled chain code.
    threads : threads of the compiled engine (default ``numba.get_num_threads()``); the
        numbers do not depend on it.

    Returns
    -------
    ChainResult

    Examples
    --------
    >>> res = simulate_chain(20, 64, 64, reps=4, seed=1)
    >>> bool(1.1 < res.rate < 1.3)   # Yang's rate sqrt(pi/(pi-1)) = 1.21 at large width/batch
    True
    """
    spec = _make_spec(depth, width, batch, activation=activation,
                      activation_params=activation_params, norm=norm, bn_backward=bn_backward,
                      eps=eps, input_mean=input_mean, input_std=input_std, input_corr=input_corr,
                      residual=residual, residual_scale=residual_scale, init=init,
                      weight_mean=weight_mean, bias_std=bias_std, upstream=upstream,
                      n_classes=n_classes, dtype=dtype, weight_grads=weight_grads,
                      corr_features=corr_features)
    reps = _as_int(reps, "reps", 1)
    OUT, WOUT, WSQ, LOSS, ss = _simulate(spec, reps, seed, engine=engine, threads=threads)
    params = dict(depth=spec.depth, widths=spec.widths, batch=batch, activation=spec.act.name,
                  activation_param=spec.act.param, norm=norm, bn_backward=bn_backward, eps=eps,
                  input_mean=input_mean, input_std=input_std, input_corr=input_corr,
                  residual=residual, residual_scale=residual_scale, init=init,
                  weight_mean=weight_mean, bias_std=bias_std, upstream=upstream,
                  n_classes=n_classes, dtype=spec.dtype.name, reps=reps)
    return _result(OUT, WOUT, WSQ, LOSS, ss, params)


@dataclass(frozen=True, eq=False)
class LayerRatio:
    """Single-layer estimate of Paik & Choi's Thm 2.2 ratio.

    ``ratio`` is the mean over networks with its standard error, ``samples`` the per-network
    ratios (for heavy-tailed cases such as x = b·t use ``median``), ``seed`` reproduces it.
    With several batches per network, ``network_means``/``network_stderrs`` are the per-network
    mean ratio over its batches and its standard error (``samples`` holds the means).
    """

    ratio: Estimate
    samples: np.ndarray
    seed: np.random.SeedSequence
    params: dict = field(default_factory=dict)
    network_means: np.ndarray | None = None
    network_stderrs: np.ndarray | None = None

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    def log_mean(self) -> Estimate:
        """Mean of log(ratio) with its standard error (robust for heavy tails)."""
        return estimate(np.log(self.samples))


def single_layer_ratio(width, batch, *, width_out=None, activation="relu",
                       activation_params=None, input_mean=0.0, input_std=1.0, input_corr=0.0,
                       weight_mean=0.0, bn_backward="full", bn_stats="batch", eps=0.0, reps=64,
                       batches=1, dtype=np.float64, seed=None, engine="auto") -> LayerRatio:
    r"""Estimate Paik & Choi's Theorem 2.2 ratio for one BatchNorm layer.

    .. math::

        \rho = \frac{\sum_i \mathrm{Var}_x(x^n_i)\,\mathrm{Var}_g(g^n_i)}
                    {\sum_j \mathrm{Var}_x(x^{n+1}_j)\,\mathrm{Var}_g(g^{n+1}_j)},\qquad
        x^{n+1} = \mathrm{BN}(W\varphi(x^n)),

    with :math:`x^n` as in :func:`simulate_chain` (``input_mean``, ``input_std``,
    ``input_corr``), Gaussian weights and an i.i.d. N(0, 1) upstream gradient
    :math:`g^{n+1}` independent of the input (the theorem's assumptions). Each network (fresh
    W, batch and g) gives one ratio of batch variances; ``ratio`` is their mean with its
    standard error (Paik & Choi Thm 2.2, eq. 3; the expectation over W).

    ``bn_stats="batch"`` normalises with the batch statistics (finite-batch effects of order
    1/batch remain: extrapolate in 1/batch); ``"population"`` uses the exact statistics of
    an infinite batch of i.i.d. inputs, :math:`\hat\mu_j = E[h]\sum_i W_{ij}`,
    :math:`\hat\sigma_j^2 = \mathrm{Var}(h)\sum_i W_{ij}^2` (the theorem's "ignoring the sampling
    error of batch normalization"; needs ``bn_backward="simplified"`` and i.i.d. inputs).
    For ReLU and i.i.d. inputs the population ratio equals
    :math:`C(R)`, :math:`R = \mu/(\sqrt2\sigma)`, for every W.

    With ``batches > 1`` every one of the ``reps`` networks is evaluated on ``batches``
    independent batches: ``network_means`` and ``network_stderrs`` then estimate
    :math:`\mathbb E_{x,g}[\rho \mid W]` network by network (Theorem 2.4 is a statement about
    that conditional expectation); ``ratio`` and ``samples`` pool all networks.
    """
    if bn_stats not in ("batch", "population"):
        raise ValueError(f"bn_stats must be 'batch' or 'population', got {bn_stats!r}")
    if bn_stats == "population":
        if bn_backward != "simplified":
            raise ValueError("bn_stats='population' holds the statistics constant: "
                             "use bn_backward='simplified'")
        if input_corr != 0.0:
            raise ValueError("bn_stats='population' needs i.i.d. inputs (input_corr=0)")
    width_out = width if width_out is None else width_out
    spec = _make_spec(1, (width, width_out), batch, activation=activation,
                      activation_params=activation_params, norm="batch", bn_backward=bn_backward,
                      eps=eps, input_mean=input_mean, input_std=input_std, input_corr=input_corr,
                      residual=None, residual_scale=1.0, init="he", weight_mean=weight_mean,
                      bias_std=0.0, upstream="gaussian", n_classes=10, dtype=dtype,
                      weight_grads=False, corr_features=0)
    reps = _as_int(reps, "reps", 2)
    batches = _as_int(batches, "batches", 1)
    OUT, _, _, _, ss = _simulate(spec, reps, seed, engine=engine,
                                 population=bn_stats == "population", batches=batches)
    r = OUT[..., K.F_VAR_PRODUCT, 0] / OUT[..., K.F_VAR_PRODUCT, 1]
    if batches > 1:
        means = r.mean(axis=1)
        ses = r.std(axis=1, ddof=1) / math.sqrt(batches)
        r = means
    else:
        means = ses = None
    params = dict(width=width, width_out=width_out, batch=batch, activation=spec.act.name,
                  input_mean=input_mean, input_std=input_std, input_corr=input_corr,
                  weight_mean=weight_mean, bn_backward=bn_backward, bn_stats=bn_stats,
                  eps=eps, reps=reps, batches=batches, dtype=spec.dtype.name)
    return LayerRatio(estimate(r), r, ss, params, means, ses)


class SampledChain:
    """One sampled network with its buffers, for derivative checks and custom experiments.

    Created by :func:`sample_chain`. ``inputs``, ``weights[n]``, ``biases[n]`` and
    ``activations(n)`` are views into the buffers: edit them and call :meth:`run` again.
    """

    def __init__(self, spec: _Spec, seed):
        self._spec = spec
        self._lay = _Layout(spec)
        self.seed = resolve_seed(seed)
        self._buf = _Buffers(spec, self._lay, 1, keep_dw=True)
        _draw(_stream(self.seed), spec, self._lay, self._buf, 0)
        lay = self._lay
        self.weights = _views(self._buf.W[0], lay.w_off,
                              [(int(lay.d[n]), int(lay.d[n + 1])) for n in range(lay.N)])
        self.biases = ([self._buf.Bv[0, lay.b_off[n]:lay.b_off[n + 1]] for n in range(lay.N)]
                       if spec.has_bias else None)
        self.grad = None
        self.weight_grads = None

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
            size = [int(lay.d[n + 1]) if self._spec.norm != K.NORM_LAYER else lay.B
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

        Returns rows ``(n, b, i, g, h_bi)`` with the gradient g at that coordinate. The network is
        left as it was (a final run from each layer restores the buffers).
        """
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

    def result(self) -> ChainResult:
        """The statistics of the last run as a one-repetition :class:`ChainResult`."""
        b = self._buf
        return _result(b.OUT[:1], b.WOUT[:1], _weight_norms_sq(self._lay, b.W[:1]), b.LOSS[:1],
                       self.seed, {})


def sample_chain(depth, width, batch, *, seed=None, **kwargs) -> SampledChain:
    """Draw one network of :func:`simulate_chain` (same keyword arguments, same seeds:
    ``sample_chain(..., seed=s)`` is repetition 0 of ``simulate_chain(..., seed=s)``)."""
    allowed = {"activation", "activation_params", "norm", "bn_backward", "eps", "input_mean",
               "input_std", "input_corr", "residual", "residual_scale", "init", "weight_mean",
               "bias_std", "upstream", "n_classes", "dtype", "weight_grads", "corr_features"}
    bad = set(kwargs) - allowed
    if bad:
        raise ValueError(f"unknown arguments {sorted(bad)}")
    defaults = dict(activation="relu", activation_params=None, norm="batch", bn_backward="full",
                    eps=0.0, input_mean=0.0, input_std=1.0, input_corr=0.0, residual=None,
                    residual_scale=1 / math.sqrt(2), init="he", weight_mean=0.0, bias_std=0.0,
                    upstream="gaussian", n_classes=10, dtype=np.float64, weight_grads=True,
                    corr_features=32)
    defaults.update(kwargs)
    spec = _make_spec(depth, width, batch, **defaults)
    return SampledChain(spec, _spawn(resolve_seed(seed), 1)[0])
