r"""Monte-Carlo chains of normalisation and activation layers: forward and exact backward.

A chain of depth N maps the input :math:`x^0` (``batch`` samples, width :math:`d_0`) through

.. math::

    h^n = \varphi(x^n)\ (\odot\ m^n),\qquad z^n = h^n W^n + b^n,\qquad
    x^{n+1} = \mathrm{Norm}(z^n)\quad(n = 0, \dots, N-1),

with weights :math:`W^n` (``weights="gaussian"``: i.i.d. :math:`N(\mu_w, \sigma_w^2)`,
:math:`\sigma_w = g/\sqrt{d_n}`, He: :math:`g^2 = 2`, LeCun: :math:`g^2 = 1`;
``weights="orthogonal"``: Haar-distributed orthonormal columns or rows, scaled to the same
entry variance), affine parameters γ = 1, β = ``shift`` (default 0), and ``Norm`` one of

* ``"batch"``: :math:`x_{bj} = (z_{bj} - \hat\mu_j)/\hat\sigma_j` with the batch mean and the
  biased batch standard deviation (``eps`` added to the variance, default 0);
* ``"batch-nocenter"``: BatchNorm without mean subtraction,
  :math:`x_{bj} = z_{bj}/\sqrt{\overline{z_j^2} + \epsilon}` (the BN of Daneshmand et al.);
* ``"layer"``: the same as ``"batch"`` over the feature axis of each sample;
* ``"group"``: per sample, over each group of ``group_size`` = G consecutive units,
  :math:`x_{bj} = (z_{bj} - \hat\mu_{bk})/\hat\sigma_{bk}` with the mean and biased variance
  (+ eps) of group k (G = width is ``"layer"``; Wu & He, GroupNorm, ECCV 2018);
* ``"rms"``: the same without centring, :math:`x_{bj} = z_{bj}/\sqrt{\overline{z^2}_{bk} + \epsilon}`
  (Zhang & Sennrich, RMSNorm, NeurIPS 2019);
* ``"none"``: :math:`x = z`.

A ``shift`` s is added to every normalised output before the activation, :math:`x = \hat x + s`
(the β of an affine normaliser; Paik & Choi's mean-shifted inputs of the next layer).

With ``residual=s`` every s-th layer output adds the block input:
:math:`x^{ks} = c\,(\mathrm{Norm}(z^{ks-1}) + x^{(k-1)s})` with ``residual_scale`` c
(default :math:`1/\sqrt2`, which keeps unit variance: the normalised sum that
Mehmeti-Göpel & Wand's eq. 9 assumes; c = 1 is the plain ResNet-v1 sum).

The backward pass is exact (tested against central finite differences and PyTorch).
``bn_backward="full"`` differentiates through the statistics,
:math:`\partial L/\partial z = \hat\sigma^{-1}(g - \overline{g} - \hat x\,\overline{g\hat x})`
(means over the batch, or over the sample's group; without centring the :math:`\overline g`
term is absent); ``"simplified"`` treats
:math:`\hat\mu, \hat\sigma` as constants, :math:`\partial L/\partial z = g/\hat\sigma`, as Paik
& Choi's proofs do (Appendix A.2, eq. 16).

Any depth: the backward vector is carried as :math:`2^{e}\tilde g` with a running integer
exponent and renormalised by powers of two when :math:`\|\tilde g\|^2` leaves
:math:`[2^{-100}, 2^{100}]` (:math:`2^{\pm 40}` in float32). Scaling by a power of two is exact,
so the statistics are those of the unscaled recursion wherever it stays in range, and
``ChainResult.log_grad_norms`` and the rates are finite at any depth.

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

Random numbers: every tensor of repetition r is a Philox4x64-10 stream keyed by that child
and named by (layer, tensor, batch) (``gradexp.mc._draws``, ``gradexp.mc._philox``),
drawn in compiled code: by the chain's own thread on the threaded engine, by all of numba's
threads (``prange`` over blocks of counters) when chains run one at a time.

Modules: ``gradexp.mc.spec`` (:class:`ChainSpec`, validation), ``gradexp.mc._layout``
(buffers, offsets, packing, the memory formula), ``gradexp.mc._draws`` (the Philox plan),
``gradexp.mc._chain_kernels`` (the compiled chain), ``gradexp.mc._chain_stats``
(statistics, :class:`ChainResult`), ``gradexp.mc.sampled`` (:func:`sample_chain`); this
module runs repetitions (:func:`simulate_chain`, :func:`single_layer_ratio`) and re-exports
the public names of the others.

References
----------
Paik & Choi [paik-choi-v1, paik-choi-v2], Thm 2.2, eq. 4, Figures 1, 3, 4; Mehmeti-Göpel & Wand [mehmeti-gopel-wand],
eqs. 1–2, 8–9. Daneshmand, Joudaki & Bach, "Batch normalization orthogonalizes
representations in deep random networks", NeurIPS 2021 (isometry gap, BN without centring).
Meterez et al., "Towards training without depth limits: batch normalization without gradient
explosion", ICLR 2024 (orthogonal weights).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .._random import as_seed_sequence, spawn_seeds
from .._threads import blas_threads
from .._validate import check_int
from . import _chain_kernels as K
from ._chain_stats import (
    N_GRAM,
    ChainResult,
    _activation_moments,
    _gram_stats,
    _population_stats,
    _result,
    _unscale,
    _weight_norms_sq,
)
from ._draws import _Drawer
from ._estimate import Estimate, estimate
from ._layout import _blas_limit, _Buffers, _Layout, _run, _what_args
from ._memory import check_memory
from .sampled import SampledChain, sample_chain
from .spec import (
    CHAIN_OPTIONS,
    STATS,
    ChainSpec,
    InfiniteGrowthWarning,
    _as_spec,
    _probe_spec,
    _spec_bytes,
)

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

#: with ``engine="auto"``, repetitions run on the threaded engine (one chain per thread, BLAS
#: single-threaded) unless the buffers of one chain per thread would exceed this many bytes
MAX_THREADED_BYTES = 1 << 30


def _n_threads() -> int:
    import numba

    return max(1, int(numba.get_num_threads()))


def _run_bytes(spec: ChainSpec, depth, width, reps, *, engine="auto", threads=None, batches=1):
    """(bytes, what, engine, threads) of ``_simulate`` for ``reps`` chains of ``spec`` at
    ``depth`` and ``width`` (those of the spec or of the call a probe spec stands for): one
    chain's buffers per thread, the per-repetition outputs and the :class:`ChainResult`.
    ``engine="auto"`` and ``threads=None`` are resolved here, as the run resolves them."""
    if engine not in ("auto", "wide", "compiled"):
        raise ValueError(f"engine must be 'auto', 'wide' or 'compiled', got {engine!r}")
    if threads is not None:
        threads = check_int(threads, "threads", 1)
    reps = check_int(reps, "reps", 1)
    per_chain = _spec_bytes(spec, width, depth=depth)
    if engine == "auto":
        engine = "compiled" if reps > 1 and per_chain * _n_threads() <= MAX_THREADED_BYTES else "wide"
    threads = 1 if engine == "wide" else (_n_threads() if threads is None else threads)
    threads = min(threads, reps)
    n = int(depth)
    outputs = 8 * reps * batches * ((K.N_FIELDS + N_GRAM) * (n + 1) + K.N_WFIELDS * n + 1) + 8 * reps * n
    result = 8 * reps * (20 * (n + 1))  # the (reps, N + 1) fields of ChainResult
    if "gram" in spec.stats:  # per thread: the stacked layers of a width and their Gram matrices
        dmax = int(width) if np.ndim(width) == 0 else max(width)
        B = spec.batch
        result += threads * 8 * (n + 1) * (2 * B * dmax + 4 * B * B)
    return (per_chain * threads + outputs + result, _what_args(depth, width, spec.batch, reps),
            engine, threads)


def _simulate_chain_bytes(depth, width=None, batch=None, *, reps=1, rng=None, engine="auto",
                          threads=None, **options):
    """(bytes, what) of ``simulate_chain(...)`` with these arguments (nothing allocated)."""
    spec = _probe_spec(depth, width, batch, options)
    if isinstance(depth, ChainSpec):
        depth, width = spec.depth, spec.width
    return _run_bytes(spec, depth, width, reps, engine=engine, threads=threads)[:2]


def _single_layer_ratio_bytes(width, batch, *, width_out=None, bn_stats="batch", reps=64, batches=1,
                              rng=None, engine="auto", **options):
    """(bytes, what) of ``single_layer_ratio(...)`` with these arguments."""
    fixed = sorted(set(options) & set(_RATIO_FIXED))
    if fixed:
        raise TypeError(f"single_layer_ratio fixes {fixed}; they cannot be passed")
    w = (width, width if width_out is None else width_out)
    spec = _probe_spec(1, w, batch, {**options, "weight_grads": False, "corr_features": 0})
    batches = check_int(batches, "batches", 1)
    return _run_bytes(spec, 1, spec.width, reps, engine=engine, batches=batches)[:2]


def _simulate(spec: ChainSpec, reps: int, rng, *, engine="auto", threads=None, population=False,
              batches=1, draw=None):
    """Run ``reps`` independent chains; returns (OUT, WOUT, WSQ, LOSS, GRAM, seed sequence).

    ``engine="wide"`` runs one chain at a time (BLAS uses its threads inside each matmul);
    ``"compiled"`` spreads the chains over ``threads`` threads (default: numba's thread
    count), each drawing its chain and running it in compiled code with the GIL released.
    Repetition r always uses the r-th child seed, so the numbers do not depend on either.
    With ``batches > 1`` each network is run on that many independent batches (same
    parameters, fresh data); OUT, WOUT, LOSS and GRAM then have a second axis of length
    ``batches``. The memory of the buffers and outputs is checked before allocating.
    """
    nbytes, what, engine, threads = _run_bytes(spec, spec.depth, spec.width, reps, engine=engine,
                                               threads=threads, batches=batches)
    check_memory(nbytes, what)
    ss = as_seed_sequence(rng)
    lay = _Layout(spec)
    gram = "gram" in spec.stats
    seqs = spawn_seeds(ss, reps)  # children of a copy: ss itself is not advanced
    OUT = np.empty((reps, batches, K.N_FIELDS, lay.N + 1))
    WOUT = np.empty((reps, batches, K.N_WFIELDS, lay.N))
    WSQ = np.empty((reps, lay.N))
    LOSS = np.empty((reps, batches))
    GRAM = np.full((reps, batches, N_GRAM, lay.N + 1), np.nan)
    local = threading.local()
    moments = _activation_moments(spec.act, spec.input_mean, spec.input_std) if population else None
    draw = _Drawer(spec, lay) if draw is None else draw

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
            _unscale(OUT[r, k], WOUT[r, k])
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
    if spec.norm == "none":
        _check_forward_range(spec, OUT[..., K.F_ACT_VAR, :])
    if batches == 1:
        OUT, WOUT, LOSS, GRAM = OUT[:, 0], WOUT[:, 0], LOSS[:, 0], GRAM[:, 0]
    return OUT, WOUT, WSQ, LOSS, GRAM, ss


#: activations whose variance leaves [FORWARD_RANGE**-1, FORWARD_RANGE] have left the range
#: where float64 keeps them (about 1e±308 for the values, squares included)
FORWARD_RANGE = 1e290


def _check_forward_range(spec: ChainSpec, act_var: np.ndarray) -> None:
    """Unnormalised chains (``norm="none"``) run in linear scale: their activations can
    vanish or explode geometrically with depth (He-initialised ReLU at small width drifts
    down) and then underflow to 0 or overflow, which would make the gradient 0 or NaN for
    reasons of floating point, not of the network. Raise a ValueError naming the layer.
    (A layer that is exactly 0 after a normal one, e.g. every ReLU dead at a tiny width, is a
    property of the network and is kept.)"""
    v = act_var.reshape(-1, act_var.shape[-1])
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(v) | (v > FORWARD_RANGE) | ((v > 0) & (v < 1 / FORWARD_RANGE))
    if bad.any():
        layer = int(np.flatnonzero(bad.any(axis=0))[0])
        value = float(v[:, layer][bad[:, layer]][0])
        raise ValueError(f"depth={spec.depth} with norm='none': the activations left the float64 "
                         f"range at layer {layer} (variance {value:.3g}); "
                         "an unnormalised chain is simulated in linear scale: reduce depth or "
                         "use a normaliser")




def simulate_chain(depth, width=None, batch=None, *, reps=1, rng=None, engine="auto",
                   threads=None, **options) -> ChainResult:
    r"""Sample ``reps`` independent networks and run a forward and an exact backward pass.

    Parameters
    ----------
    depth, width, batch : the chain's size (see :class:`ChainSpec`), or a :class:`ChainSpec`
        as the only positional argument (then no ``options``).
    **options : the chain options, documented once in :class:`ChainSpec` (activation,
        activation_params, norm, bn_backward, eps, input_mean, input_std, input_corr,
        residual, residual_scale, init, weights, weight_mean, bias_std, upstream, classes,
        weight_grads, corr_features, stats, dtype).
    reps : independent repetitions (fresh weights, inputs and upstream gradients each).
    rng : None, int, :class:`~numpy.random.SeedSequence` or :class:`~numpy.random.Generator`
        (SPEC 7, validated by :func:`gradexp._random.as_seed_sequence`). Repetition r draws
        from Philox streams keyed by the r-th child of the seed sequence
        (:func:`gradexp._random.spawn_seeds`, ``gradexp.mc._draws``; numba's threads fill
        the large tensors when chains run one at a time). The same int or SeedSequence gives
        the same numbers whatever the engine and thread count, and ``result.seed`` reproduces
        the run.
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
    check_memory(*_simulate_chain_bytes(depth, width, batch, reps=reps, engine=engine,
                                        threads=threads, **options))
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
                       rng=None, engine="auto", **options) -> LayerRatio:
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
    ``"batch"`` (default) or ``"batch-nocenter"``. ``rng`` as in
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
    if bn_stats not in ("batch", "population"):
        raise ValueError(f"bn_stats must be 'batch' or 'population', got {bn_stats!r}")
    check_memory(*_single_layer_ratio_bytes(width, batch, width_out=width_out, reps=reps,
                                            batches=batches, engine=engine, **options))
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

