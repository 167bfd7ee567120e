r"""Products of random Gaussian matrices: singular values that survive long products.

The product :math:`P = W_M\cdots W_1` of :math:`N\times N` matrices with independent
:math:`\mathcal N(0, \sigma_k^2/N)` entries (Bjorck, Gomes & Selman, Theorem 1) has a condition
number that grows like :math:`e^{M(\lambda_1-\lambda_N)}` (about :math:`10^{1.8M}` for
:math:`N = 1000`), so multiplying the matrices in double precision (``method="direct"``) loses
the small singular values once it passes :math:`\sim 10^{16}`.

The stable methods keep the product in factored form :math:`P = Q\,T` with :math:`Q`
orthogonal and :math:`T = R_M\cdots R_1` upper triangular (the QR or "Benettin" method of
Lyapunov-exponent computations): :math:`W_k Q_{k-1} = Q_k R_k`. The triangular product is kept
as :math:`T = \mathrm{diag}(e^{s})\,U` with unit rows :math:`U` and log-scales :math:`s`, so
nothing under- or overflows; each row of :math:`T` is then computed to a few ulp *relative to
its own norm*, and the singular values of the row-graded :math:`T` are obtained to high
relative accuracy by LAPACK's ``gesdd`` (rows sorted by scale), or, when the scales span more
than the double range, by a scaled one-sided Jacobi method (a numba kernel). Checked against
mpmath products at condition numbers up to :math:`10^{300}` in the tests.

``method="qr-dense"`` draws the Gaussian factors :math:`W_k` (the same draws as ``"direct"``
for the same seed) and factors :math:`W_k Q_{k-1}` by Householder QR. ``method="qr"``
(default) uses that :math:`W_k Q_{k-1}` is again a Gaussian matrix independent of the past
(rotation invariance), so its QR factor :math:`R_k` can be drawn directly from the Bartlett
decomposition: :math:`R_{ii} = \sigma_k\chi_{N-i+1}/\sqrt N`, :math:`R_{ij} \sim
\mathcal N(0,\sigma_k^2/N)` for :math:`i<j`, all independent. The singular values then have
exactly the law of those of :math:`P`, at about the cost of the direct product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.linalg import blas as _blas

from .._random import as_generator, spawn_generators
from .._threads import blas_threads
from .._validate import check_int, check_positive
from ._estimate import Estimate, estimate, estimate_over_reps
from ._jit import kernel
from ._memory import check_memory

__all__ = [
    "METHODS",
    "DepthScan",
    "bartlett_factor",
    "depth_scan",
    "product_singular_values",
    "singular_values_of_product",
]

#: accepted values of ``method``
METHODS = ("qr", "qr-dense", "direct")

_MAX_LOG_RANGE = 500.0  # beyond this spread of row scales (e^500 ~ 1e217) scale R entrywise
_UNSCALED_SPREAD = 1e120  # row-norm spread up to which the product is kept unscaled (the row
#                           norms, sums of squares, stay > 1e-150 with the largest in [1e-10, 1e10])
_LAPACK_SPREAD = 650.0  # row-norm spread (in log) up to which gesdd is used, centred: e^{+-325}
_EPS = np.finfo(float).eps


# --------------------------------------------------------------------------- validation
def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _factor_sigmas(sigma, M: int) -> np.ndarray:
    """Per-factor standard deviations (entries have variance sigma_k^2 / N)."""
    sg = np.atleast_1d(check_positive(sigma, "sigma")).astype(float)
    if sg.ndim != 1 or sg.size not in (1, M):
        raise ValueError(f"sigma must be a scalar or have length M = {M}, got shape {np.shape(sigma)}")
    return np.broadcast_to(sg, (M,)).copy()


# --------------------------------------------------------------------------- factors
def bartlett_factor(N: int, rng=None, sigma: float = 1.0) -> np.ndarray:
    r"""The R factor of the QR decomposition of an :math:`N\times N` matrix with
    i.i.d. :math:`\mathcal N(0, \sigma^2/N)` entries, drawn directly (Bartlett decomposition).

    Upper triangular, Fortran order: :math:`R_{ii} = \sigma\chi_{N-i+1}/\sqrt N` (positive),
    :math:`R_{ij}\sim\mathcal N(0, \sigma^2/N)` for :math:`i < j`, all independent.
    ``rng``: None, int, SeedSequence or Generator (SPEC 7); a Generator is
    used as the caller's stream, so successive calls give independent factors.

    References
    ----------
    Bartlett (1933); Edelman & Rao, "Random matrix theory", Acta Numerica 2005, Thm 3.4.
    """
    rng = as_generator(rng)
    N = check_int(N, "N", 1)
    r = np.tril(rng.standard_normal((N, N))).T  # upper triangular, Fortran order, no copy
    r[np.diag_indices(N)] = np.sqrt(rng.chisquare(np.arange(N, 0, -1, dtype=float)))
    r *= sigma / math.sqrt(N)
    return r


def _dense_factor(N: int, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return rng.standard_normal((N, N)) * (sigma / math.sqrt(N))


# --------------------------------------------------------------------------- the triangular product
def _rownorms(U: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", U, U))


def _push(U: np.ndarray, s: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`T \leftarrow R\,T` for :math:`T = \mathrm{diag}(e^s) U`.

    Unscaled mode (all ``s`` equal, the start): ``U`` holds T up to one global factor and is
    multiplied as it is (one triangular product and one pass for the row norms), until its
    row norms spread over more than 1e120; then the rows are normalised and the per-row
    scales ``s`` carried from there on (scaled mode: rows of ``U`` unit).
    """
    if s[0] == s[-1] and np.all(s == s[0]):
        U = _blas.dtrmm(1.0, R, U, side=0, lower=0, overwrite_b=1)
        n = _rownorms(U)
        nmax, nmin = n.max(), n.min()
        if nmin > 0 and nmax < _UNSCALED_SPREAD * nmin:
            if not 1e-10 < nmax < 1e10:  # keep the largest row O(1): the smallest stays > 1e-130
                U /= nmax
                s = s + math.log(nmax)
            return U, s
        U /= n[:, None]
        with np.errstate(divide="ignore"):
            return U, s + np.log(n)
    smax = s.max()
    if smax - s.min() < _MAX_LOG_RANGE:
        # diag(e^-s) R diag(e^s) U = diag(1/w) R diag(w) U with w = e^{s - smax} in (e^-500, 1]:
        # two diagonal scalings around one triangular product, rows of the result are O(1)
        w = np.exp(s - smax)
        U *= w[:, None]
        U = _blas.dtrmm(1.0, R, U, side=0, lower=0, overwrite_b=1)
        U *= (1.0 / w)[:, None]
    else:
        # S = diag(e^-s) R diag(e^s): entries R_ij e^{s_j - s_i}, clipped against overflow
        d = np.minimum(s[None, :] - s[:, None], 700.0)
        S = np.asfortranarray(np.triu(R * np.exp(d)))
        U = _blas.dtrmm(1.0, S, U, side=0, lower=0, overwrite_b=1)
    n = _rownorms(U)
    U /= n[:, None]
    with np.errstate(divide="ignore"):
        return U, s + np.log(n)


@kernel
def _row_jacobi(U, s, tol, max_sweeps):  # pragma: no cover - compiled; tested via .py_func
    """One-sided (Hestenes) Jacobi on the rows of diag(e^s) U, in scaled form.

    Overwrites ``U`` (rows stay unit) and ``s`` (log row norms); on return the rows are
    orthogonal to ``tol`` and ``s`` are the log singular values. A rotation of rows a, b
    with scales d_a >= d_b (t = d_b/d_a, cosine g) is
    u_a <- c (u_a + t^2 k u_b), u_b <- c (u_b - k u_a), k = 2g/((1-t^2) + sqrt((1-t^2)^2 + 4t^2g^2)),
    c = 1/sqrt(1 + t^2 k^2): exact for t -> 0 (it becomes a Gram-Schmidt step), so scales far
    outside the double range are handled. Returns the number of sweeps.
    """
    n, m = U.shape
    for sweep in range(max_sweeps):
        rotated = False
        for i in range(n - 1):
            for j in range(i + 1, n):
                if s[i] >= s[j]:
                    a = i
                    b = j
                else:
                    a = j
                    b = i
                g = 0.0
                for k in range(m):
                    g += U[a, k] * U[b, k]
                if abs(g) <= tol:
                    continue
                rotated = True
                t = math.exp(s[b] - s[a])
                omt2 = (1.0 - t) * (1.0 + t)
                kap = 2.0 * g / (omt2 + math.sqrt(omt2 * omt2 + 4.0 * t * t * g * g))
                t2k = t * t * kap
                c = 1.0 / math.sqrt(1.0 + t * t * kap * kap)
                na = 0.0
                nb = 0.0
                for k in range(m):
                    ua = U[a, k]
                    ub = U[b, k]
                    va = ua + t2k * ub
                    vb = ub - kap * ua
                    U[a, k] = va
                    U[b, k] = vb
                    na += va * va
                    nb += vb * vb
                na = math.sqrt(na)
                nb = math.sqrt(nb)
                for k in range(m):
                    U[a, k] /= na
                    U[b, k] /= nb
                s[a] += math.log(c * na)
                s[b] += math.log(c * nb)
        if not rotated:
            return sweep + 1
    return max_sweeps


def _log_singular_values(U: np.ndarray, s: np.ndarray, *, force_jacobi: bool = False) -> np.ndarray:
    """Log singular values (descending) of diag(e^s) U.

    LAPACK's ``gesdd`` on the rows sorted by norm and scaled about the middle of their range
    (so that no square under- or overflows and no arithmetic goes subnormal, which would make
    it ~20x slower), when the row norms span less than e^650; else the scaled Jacobi kernel.
    """
    n = _rownorms(U)
    with np.errstate(divide="ignore"):
        ln = s + np.log(n)
    order = np.argsort(-ln, kind="stable")
    hi, lo = ln[order[0]], ln[order[-1]]
    if not force_jacobi and np.isfinite(lo) and hi - lo < _LAPACK_SPREAD:
        c = 0.5 * (hi + lo)
        T = U[order] * np.exp(s[order] - c)[:, None]
        sv = sla.svdvals(T, check_finite=False)
        if sv[-1] > 1e-290:
            return np.log(sv) + c
    Uw = np.ascontiguousarray(U[order] / n[order][:, None])
    sw = ln[order].copy()
    _row_jacobi(Uw, sw, math.sqrt(U.shape[1]) * _EPS, 100)
    return np.sort(sw)[::-1]


# --------------------------------------------------------------------------- chains
def _chain(N: int, depths: np.ndarray, sig: np.ndarray, rng, method: str, factors=None):
    """Log singular values (descending) of the product after each depth in ``depths`` (sorted)."""
    out = np.empty((depths.size, N))
    Mmax = int(depths[-1])
    want = {int(d) for d in depths}
    k_out = 0
    if method == "direct":
        P = None
        for k in range(1, Mmax + 1):
            W = factors[k - 1] if factors is not None else _dense_factor(N, rng, sig[k - 1])
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                P = np.array(W, dtype=float) if P is None else W @ P
            if k in want:
                with np.errstate(divide="ignore"):
                    out[k_out] = np.log(sla.svdvals(P))
                k_out += 1
        return out
    U = np.asfortranarray(np.eye(N))
    s = np.zeros(N)
    Q = None
    for k in range(1, Mmax + 1):
        if method == "qr":
            R = bartlett_factor(N, rng, sig[k - 1])
        else:
            W = factors[k - 1] if factors is not None else _dense_factor(N, rng, sig[k - 1])
            Y = np.array(W, dtype=float) if Q is None else W @ Q
            Q, R = np.linalg.qr(Y)
            R = np.asfortranarray(R)
        U, s = _push(U, s, R)
        if k in want:
            out[k_out] = _log_singular_values(U, s)
            k_out += 1
    return out


#: below this size the BLAS runs single-threaded: threads gain nothing on small matrices and,
#: on a loaded machine, OpenBLAS's spinning threads make a 100 x 100 SVD ~50x slower
SMALL_N = 256


def _blas_for(N: int):
    """Single-threaded BLAS (numpy's and scipy's) inside when N < SMALL_N; untouched otherwise
    (:func:`gradexp._threads.blas_threads`)."""
    return blas_threads(1 if N < SMALL_N else None)


def _streams(rng, reps: int):
    """One PCG64 generator per repetition: the children of ``rng``'s seed sequence
    (:func:`gradexp._random.spawn_generators`; for an int or a fresh SeedSequence the same
    streams as ``numpy.random.default_rng(rng).spawn(reps)``)."""
    return spawn_generators(rng, reps)


def _bytes(M: int, N: int, reps: int, n_depths: int) -> int:
    """Peak bytes of a product run: ~6 N×N float64 work arrays (factor, Q, R, U, SVD
    workspace), the per-factor standard deviations (M), the per-repetition results
    (reps × depths × N) and their stacked copy."""
    return 8 * (6 * N * N + M + 2 * reps * n_depths * N)


def _product_singular_values_bytes(M, N, *, rng=None, method="qr", sigma=1.0, reps=None, log=False):
    """(bytes, what) of ``product_singular_values(...)`` (arguments validated, nothing drawn)."""
    M = check_int(M, "M", 1)
    N = check_int(N, "N", 1)
    n = 1 if reps is None else check_int(reps, "reps", 1)
    return _bytes(M, N, n, 1), f"product_singular_values(M={M}, N={N}, reps={reps})"


def _depth_scan_bytes(depths, N, *, reps=5, rng=None, method="qr", sigma=1.0):
    """(bytes, what) of ``depth_scan(...)``."""
    N = check_int(N, "N", 1)
    reps = check_int(reps, "reps", 1)
    d = _check_depths(depths)
    return _bytes(int(d[-1]), N, reps, d.size), f"depth_scan(N={N}, reps={reps}, {d.size} depths up to {d[-1]})"


def _check_depths(depths) -> np.ndarray:
    d = np.asarray(depths)
    if d.ndim != 1 or d.size == 0 or not np.issubdtype(d.dtype, np.integer) or (d < 1).any():
        raise ValueError(f"depths must be a non-empty 1-d sequence of integers >= 1, got {depths!r}")
    return np.unique(d)


# --------------------------------------------------------------------------- public API
def product_singular_values(M, N, *, rng=None, method="qr", sigma=1.0, reps=None, log=False):
    r"""Singular values of :math:`W_M\cdots W_1`, entries :math:`\mathcal N(0, \sigma_k^2/N)`.

    Parameters
    ----------
    M, N : int >= 1
        Number of factors and their size.
    rng : None, int, SeedSequence or Generator
        SPEC 7: repetition r draws from a PCG64 generator seeded by the
        r-th child of its seed sequence; the same int or SeedSequence gives the same numbers.
    method : {"qr", "qr-dense", "direct"}
        ``"qr"``: Bartlett-sampled QR factors, stable (default); ``"qr-dense"``: Householder
        QR of the explicit factors, stable, same draws as ``"direct"``; ``"direct"``:
        multiply in double precision (loses the small singular values once the condition
        number passes ~1e16).
    sigma : float or sequence of M floats
        Per-factor standard deviation times :math:`\sqrt N`.
    reps : None or int
        ``None``: one product, shape ``(N,)``; an int: shape ``(reps, N)``.
    log : bool
        Return natural logs of the singular values (use beyond the double range).

    Returns
    -------
    ndarray
        Singular values in decreasing order. Their squares, divided by
        :math:`\prod\sigma_k^2`, follow the Fuss–Catalan law
        (:func:`gradexp.fuss_catalan_pdf`) as :math:`N\to\infty`.

    References
    ----------
    Bjorck, Gomes & Selman (2019), Theorem 1; Benettin et al. (1980) for the QR method.
    """
    check_memory(*_product_singular_values_bytes(M, N, reps=reps))  # before any allocation
    M = check_int(M, "M", 1)
    N = check_int(N, "N", 1)
    method = _check_method(method)
    sig = _factor_sigmas(sigma, M)
    n = 1 if reps is None else check_int(reps, "reps", 1)
    depths = np.array([M])
    streams = _streams(rng, n)
    with _blas_for(N):
        res = np.stack([_chain(N, depths, sig, g, method)[0] for g in streams])
    if not log:
        with np.errstate(under="ignore"):
            res = np.exp(res)
    return res[0] if reps is None else res


def singular_values_of_product(factors, *, method="qr", log=False):
    r"""Singular values of :math:`W_M\cdots W_1` for given square factors ``[W_1, ..., W_M]``.

    ``method="qr"`` (stable QR accumulation; ``"qr-dense"`` is accepted as a synonym) or
    ``"direct"``. Returns the (log) singular values in decreasing order.

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Theorem 1 and Appendix D; Benettin et al. (1980) for the QR
    method.
    """
    method = _check_method(method)
    fs = [np.asarray(W, dtype=float) for W in factors]
    if not fs:
        raise ValueError("factors must contain at least one matrix")
    N = fs[0].shape[0]
    for i, W in enumerate(fs):
        if W.shape != (N, N):
            raise ValueError(f"factors must be square N x N matrices of one size, factor {i} has shape {W.shape}")
        if not np.isfinite(W).all():
            raise ValueError(f"factors must be finite, factor {i} is not")
    m = "direct" if method == "direct" else "qr-dense"
    with _blas_for(N):
        out = _chain(N, np.array([len(fs)]), np.ones(len(fs)), None, m, factors=fs)[0]
    if not log:
        with np.errstate(under="ignore"):
            out = np.exp(out)
    return out


@dataclass(frozen=True)
class DepthScan:
    """Singular values of products against the number of factors (Bjorck et al., Figs 11-12).

    ``log_sv[r, d, :]`` are the log singular values (descending) of repetition ``r`` after
    ``depths[d]`` factors; depths along one repetition share their first factors.

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Theorem 1; Figures 11–12.
    """

    N: int
    method: str
    depths: np.ndarray
    log_sv: np.ndarray

    @property
    def log10_condition(self) -> np.ndarray:
        """log10 of the condition number sigma_max / sigma_min, shape (reps, depths)."""
        return (self.log_sv[..., 0] - self.log_sv[..., -1]) / math.log(10.0)

    @property
    def sigma_max(self) -> np.ndarray:
        """Largest singular value, shape (reps, depths)."""
        return np.exp(self.log_sv[..., 0])

    def _quantity(self, quantity: str) -> np.ndarray:
        if quantity not in ("log10_condition", "sigma_max"):
            raise ValueError(f"quantity must be 'log10_condition' or 'sigma_max', got {quantity!r}")
        return getattr(self, quantity)

    def estimate(self, quantity: str) -> Estimate:
        """Mean and standard error over repetitions per depth: an :class:`Estimate` whose
        ``mean`` and ``stderr`` are arrays over ``depths`` (NaN stderr with one repetition)."""
        return estimate_over_reps(self._quantity(quantity))

    def estimates(self, quantity: str) -> list[Estimate]:
        """One scalar :class:`Estimate` per depth (needs at least 2 repetitions)."""
        q = self._quantity(quantity)
        return [estimate(q[:, d]) for d in range(q.shape[1])]


def depth_scan(depths, N, *, reps=5, rng=None, method="qr", sigma=1.0) -> DepthScan:
    """Singular values after each of ``depths`` factors, ``reps`` independent chains.

    Each repetition multiplies one chain of factors up to ``max(depths)`` and records the
    singular values at every requested depth (so depths within a repetition are correlated,
    repetitions independent). ``method`` as in :func:`product_singular_values`; with the same
    seed, ``"direct"`` and ``"qr-dense"`` see the same matrices. ``rng`` as in
    :func:`product_singular_values`.

    References
    ----------
    Bjorck, Gomes & Selman (2019), Figures 11–12.
    """
    check_memory(*_depth_scan_bytes(depths, N, reps=reps))  # before any allocation
    N = check_int(N, "N", 1)
    reps = check_int(reps, "reps", 1)
    method = _check_method(method)
    d = _check_depths(depths)
    sig = _factor_sigmas(sigma, int(d[-1]))
    streams = _streams(rng, reps)
    with _blas_for(N):
        log_sv = np.stack([_chain(N, d, sig, g, method) for g in streams])
    return DepthScan(N=N, method=method, depths=d, log_sv=log_sv)
