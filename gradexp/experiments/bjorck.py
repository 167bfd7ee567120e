"""Experiments for Bjorck, Gomes & Selman (``bjorck-gomes-selman``): SGD noise, products of Gaussian
matrices, gradient descent on linear systems, channel variances of deep linear networks.

Plain functions taking ``rng`` (SPEC 7) and returning arrays or estimates with standard errors;
the sampled products run through the result store (``gradexp.experiments._memo.memo_call``).
The claims (:mod:`gradexp.claims.bjorck`) and the figures (:mod:`gradexp.plots.bjorck`) import them.

References
----------
Bjorck, Gomes & Selman, *Understanding Batch Normalization*: Sec. 2.1 eq. 2 (SGD noise), Thm 1 /
Appendix D eqs. 5, 9-10 (the Fuss-Catalan law), Sec. 4 and Appendices C, E (conditioning).
"""

from __future__ import annotations

import math

import numpy as np

from .._random import as_generator, spawn_seeds
from ..theory.rmt import fuss_catalan_cdf
from ._memo import memo_call

#: numbers of factors of the Theorem 1 studies
MS = (1, 2, 3, 4, 5, 6)


# --------------------------------------------------------------------------- the Fuss-Catalan law
def ks_distance(x, M, scale=1.0) -> float:
    """Kolmogorov-Smirnov distance between the empirical law of ``x`` and Fuss-Catalan(M) (the law of
    eq. 5, squared singular values, scaled by ``scale``)."""
    x = np.sort(np.asarray(x, dtype=float).ravel())
    n = x.size
    F = fuss_catalan_cdf(x, M, scale=scale)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def ladder(fast: bool) -> tuple[tuple[int, int], ...]:
    """(N, reps) rungs of the size ladder; fast: N <= 200, full: N up to 1000."""
    if fast:
        return ((50, 6), (100, 4), (200, 3))
    return ((125, 6), (250, 4), (500, 3), (1000, 2))


def fc_samples(fast: bool, rng=20190004) -> dict:
    """Squared singular values of products of M Gaussian N x N factors (entry variance 1/N, stable QR
    method), keyed by (M, N) -> array (reps, N), over :data:`MS` and :func:`ladder`."""
    from ..mc.matrices import product_singular_values

    rungs = ladder(fast)
    children = iter(spawn_seeds(rng, len(MS) * len(rungs)))
    out = {}
    for M in MS:
        for N, reps in rungs:
            out[(M, N)] = memo_call(product_singular_values, M, N, reps=reps, rng=next(children)) ** 2
    return out


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def sigma_max_scan(fast: bool, rng=20190012):
    """Largest singular value of products of 1, 2, 4, 8, 16 Gaussian factors (N = 200 fast, 1000 full):
    a :class:`gradexp.mc.matrices` depth scan."""
    from ..mc.matrices import depth_scan

    N = 200 if fast else 1000
    return memo_call(depth_scan, (1, 2, 4, 8, 16), N, reps=4 if fast else 3, rng=rng)


def orthogonal_sigma_max(depths, N, *, reps=2, rng=0) -> np.ndarray:
    """Largest singular value of products of Haar-orthogonal N x N factors, (reps, len(depths)): 1 up to
    rounding (the ensemble whose singular values do not spread, a competitor of Thm 1's)."""
    out = np.empty((reps, len(depths)))
    for r, g in enumerate(spawn_seeds(rng, reps)):
        gen = as_generator(g)
        P = np.eye(N)
        k = 0
        for j, M in enumerate(depths):
            while k < M:
                q, rr = np.linalg.qr(gen.standard_normal((N, N)))
                P = (q * np.sign(np.diag(rr))) @ P
                k += 1
            out[r, j] = np.linalg.svd(P, compute_uv=False)[0]
    return out


def channel_variances(depths, N, *, reps=8, rng=0) -> dict:
    r"""Channel variances of a deep linear network :math:`y = A_M \cdots A_1 x`, Gaussian factors of
    entry variance 1/N, input x ~ N(0, I): channel i has variance :math:`\|e_i^\top P\|^2` exactly.

    Returns, per depth (mean and standard error over ``reps`` networks): ``mean`` (the average channel
    variance, :math:`\|P\|_F^2/N`, whose expectation is 1 at every depth), ``spread`` (the standard
    deviation of the channel variances within a network) and ``max`` (the largest channel variance).
    """
    depths = [int(m) for m in depths]
    vals = np.empty((reps, len(depths), 3))
    for r, g in enumerate(spawn_seeds(rng, reps)):
        gen = as_generator(g)
        P = np.eye(N)
        k = 0
        for j, M in enumerate(depths):
            while k < M:
                P = (gen.standard_normal((N, N)) / math.sqrt(N)) @ P
                k += 1
            v = np.sum(P * P, axis=1)
            vals[r, j] = (v.mean(), v.std(), v.max())
    m, s = vals.mean(axis=0), vals.std(axis=0, ddof=1) / math.sqrt(reps)
    return {"depths": depths, "N": N, "reps": reps, "mean": m[:, 0], "mean_se": s[:, 0], "spread": m[:, 1],
            "spread_se": s[:, 1], "max": m[:, 2], "max_se": s[:, 2]}


# --------------------------------------------------------------------------- eq. 2: SGD noise
def least_squares_gradients(rng, n=256, d=20) -> np.ndarray:
    """Per-example gradients (n x d) of f_i(w) = (a_i.w - b_i)^2/2 at a random w (Gaussian data)."""
    gen = as_generator(rng)
    A = gen.standard_normal((n, d))
    b = A @ gen.standard_normal(d) + gen.standard_normal(n)
    w = gen.standard_normal(d)
    return (A @ w - b)[:, None] * A


def sgd_noise_scan(seed: int, batches, n_batches: int):
    """The per-example gradients of :func:`least_squares_gradients` and, for each batch size in
    ``batches`` in turn, :func:`sgd_noise` with replacement from the same stream
    ``numpy.random.default_rng(seed)``: ``(G, [(mean, stderr), ...])``. Module level with plain
    arguments, so the claims keep it in the result store."""
    rng = np.random.default_rng(seed)
    G = least_squares_gradients(rng)
    out = []
    for B in batches:
        e = sgd_noise(G, B, n_batches, rng, replace=True)
        out.append((e.mean, e.stderr))
    return G, out


def sgd_noise(G, batch, n_batches, rng, replace: bool):
    """Monte-Carlo E||mean_B g - mean g||^2 for batches of size ``batch`` (rows of G), drawn with or
    without replacement; an :class:`gradexp.mc._estimate.Estimate` (mean, stderr, n)."""
    from ..mc._estimate import estimate

    gen = as_generator(rng)
    n = G.shape[0]
    gbar = G.mean(axis=0)
    vals = []
    chunk = max(1, 2_000_000 // n)
    done = 0
    while done < n_batches:
        t = min(chunk, n_batches - done)
        if replace:
            counts = gen.multinomial(batch, np.full(n, 1.0 / n), size=t).astype(float)
        else:
            keys = gen.random((t, n))
            thr = np.partition(keys, batch - 1, axis=1)[:, batch - 1:batch]
            counts = (keys <= thr).astype(float)  # a uniformly random subset of size batch
        mean_b = counts @ G / batch
        vals.append(np.sum((mean_b - gbar) ** 2, axis=1))
        done += t
    return estimate(np.concatenate(vals))


# --------------------------------------------------------------------------- Appendix C
def gd_errors(H_apply, e0, alpha, steps) -> np.ndarray:
    """Norms of the GD error e_{k+1} = e_k - alpha H e_k, k = 1..steps (H applied by a callable)."""
    e = e0.copy()
    out = np.empty(steps)
    for k in range(steps):
        e = e - alpha * H_apply(e)
        out[k] = np.linalg.norm(e)
    return out


def spectral_errors(lam, coef, alpha, steps) -> np.ndarray:
    """Exact GD error norms from the Hessian spectrum: ||e_k||^2 = sum_i (1 - alpha lam_i)^{2k} c_i^2."""
    k = np.arange(1, steps + 1)[:, None]
    return np.sqrt(np.sum((1 - alpha * lam[None, :]) ** (2 * k) * coef[None, :] ** 2, axis=1))


def linear_net_setup(rng, n=6, m=15, depth=3, x_kappa=10.0, abar_kappa=None):
    """(Abar, x, y): Abar = A_t...A_2 (a Gaussian product, or with prescribed condition number), data
    x (n features x m samples, condition number ``x_kappa``), targets y."""
    gen = as_generator(rng)
    if abar_kappa is None:
        Abar = np.eye(n)
        for _ in range(depth - 1):
            Abar = (gen.standard_normal((n, n)) / math.sqrt(n)) @ Abar
    else:
        Ua, _ = np.linalg.qr(gen.standard_normal((n, n)))
        Va, _ = np.linalg.qr(gen.standard_normal((n, n)))
        Abar = (Ua * np.geomspace(1.0, 1.0 / abar_kappa, n)) @ Va.T
    Ux, _ = np.linalg.qr(gen.standard_normal((n, n)))
    Vx, _ = np.linalg.qr(gen.standard_normal((m, m)))
    sx = np.geomspace(1.0, 1.0 / x_kappa, n)
    x = (Ux * sx) @ Vx[:, :n].T
    y = gen.standard_normal((n, m))
    return Abar, x, y
