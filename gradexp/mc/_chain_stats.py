"""Statistics of chain runs: exact population statistics, batch-Gram statistics, weight norms,
and the :class:`ChainResult` that carries the per-layer statistics of a run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..activations import DROPOUT, IDENTITY, Activation
from ..gaussian import gaussian_expectation
from . import _chain_kernels as K
from ._estimate import Estimate, estimate, estimate_over_reps
from ._layout import _Buffers, _Layout
from .spec import ChainSpec

__all__ = ["ChainResult"]


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



def _weight_norms_sq(lay: _Layout, W: np.ndarray) -> np.ndarray:
    """||W^n||_F^2 of every layer of every chain (rows of ``W``), in float64, no temporaries."""
    out = np.empty((W.shape[0], lay.N))
    for c in range(W.shape[0]):
        for n in range(lay.N):
            seg = W[c, lay.w_off[n]:lay.w_off[n + 1]]
            out[c, n] = float(np.dot(seg, seg))
    return out



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
    grad_norms : (reps, N+1) Frobenius norms :math:`\|g^n\|` over batch and width (+inf past
        the float64 range, about :math:`10^{308}`, which deep exploding chains reach).
    log_grad_norms : (reps, N+1) :math:`\log\|g^n\|`, finite at any depth: the backward pass
        carries the gradient as :math:`2^{e}\tilde g` and renormalises :math:`\tilde g` by
        powers of two (exact), so rates and log norms never overflow. ``grad_var``,
        ``var_product`` and the weight-gradient fields are exact where they fit in float64 and
        +inf beyond.
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
    params : the arguments of the run (:meth:`~gradexp.mc.chain.ChainSpec.to_dict` and ``reps``).
    spec : the :class:`~gradexp.mc.chain.ChainSpec` of the run (None for hand-edited sampled chains).

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019 (the gradient rate); Daneshmand et al., NeurIPS 2020 and 2021
    (stable rank, isometry gap).
    """

    grad_norms: np.ndarray
    log_grad_norms: np.ndarray
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
        g = self.log_grad_norms
        return (g[:, start] - g[:, stop]) / (stop - start)

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
        \mathrm{Var}(g^{n+1}_j)`, averaged over repetitions (NaN where both variances are
        past the float64 range, i.e. gradient norms above ~1e154)."""
        if not 0 <= n < self.depth:
            raise ValueError(f"n must lie in [0, {self.depth - 1}], got {n}")
        with np.errstate(invalid="ignore"):
            r = self.var_product[:, n] / self.var_product[:, n + 1]
        return estimate(r) if r.size > 1 else Estimate(float(r[0]), math.nan, 1)


def _exponents(e: np.ndarray) -> np.ndarray:
    """The kernel's power-of-two exponents as ints (0 where a layer was not computed)."""
    return np.where(np.isfinite(e), e, 0.0).astype(np.int64)


def _unscale(OUT: np.ndarray, WOUT: np.ndarray) -> None:
    r"""Turn the kernel's renormalised gradient statistics into true ones, in place.

    The kernel stores the gradient fields of layer n for :math:`2^{-e_n} g^n`
    (``K.F_LOG2_SCALE``, ``K.W_LOG2_SCALE``). This fills ``K.F_GRAD_NORM``,
    ``K.W_GRAD_NORM`` (the norms, +inf past float64) and ``K.F_LOG_GRAD_NORM`` with
    :math:`\log\|g^n\| = \log\|2^{-e_n}g^n\| + e_n\log 2` (finite at any depth) and
    multiplies the squared fields by :math:`4^{e_n}` and the linear ones by :math:`2^{e_n}`
    (``numpy.ldexp``: exact; +inf past the float64 range, never NaN). Leading axes are
    arbitrary (chains, batches).
    """
    e = _exponents(OUT[..., K.F_LOG2_SCALE, :])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        norm = np.sqrt(OUT[..., K.F_GRAD_SQ, :])
        OUT[..., K.F_LOG_GRAD_NORM, :] = np.log(norm) + e * math.log(2.0)
        OUT[..., K.F_GRAD_NORM, :] = np.ldexp(norm, e)
        for f in (K.F_GRAD_SQ, K.F_GRAD_VAR, K.F_VAR_PRODUCT):
            OUT[..., f, :] = np.ldexp(OUT[..., f, :], 2 * e)
        ew = _exponents(WOUT[..., K.W_LOG2_SCALE, :])
        WOUT[..., K.W_GRAD_NORM, :] = np.ldexp(np.sqrt(WOUT[..., K.W_GRAD_SQ, :]), ew)
        WOUT[..., K.W_GRAD_SQ, :] = np.ldexp(WOUT[..., K.W_GRAD_SQ, :], 2 * ew)
        WOUT[..., K.W_GRAD_DOT, :] = np.ldexp(WOUT[..., K.W_GRAD_DOT, :], ew)


def _result(OUT, WOUT, WSQ, LOSS, GRAM, ss, params, spec, batch) -> ChainResult:
    """A :class:`ChainResult` from the outputs of ``_unscale``-d runs."""
    return ChainResult(
        grad_norms=OUT[:, K.F_GRAD_NORM].copy(),
        log_grad_norms=OUT[:, K.F_LOG_GRAD_NORM].copy(),
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
        weight_grad_norms=WOUT[:, K.W_GRAD_NORM].copy(),
        weight_grad_dot=WOUT[:, K.W_GRAD_DOT].copy(),
        weight_norms=np.sqrt(WSQ),
        loss=LOSS.copy(),
        seed=ss,
        params=params,
        spec=spec,
    )

