r"""Products of random Gaussian matrices: the Fuss–Catalan law (Bjorck, Gomes & Selman).

Let :math:`X = X_M \cdots X_1` with independent :math:`N\times N` real Gaussian factors whose
entries have mean 0 and variance :math:`\sigma_i^2/N`. As :math:`N\to\infty` the empirical
distribution of the **squared** singular values of :math:`X` (the eigenvalues of
:math:`X^\top X`), divided by :math:`\prod_i \sigma_i^2`, converges to the Fuss–Catalan law
with parameter :math:`M`. In the parametrisation of Bjorck, Gomes & Selman (Theorem 1,
eq. 5 and Appendix D, eqs. 9–10; originally Liu, Wang & Zhang 2016 and Haagerup & Möller),

.. math::

    x(\varphi) = \frac{\sin^{M+1}((M+1)\varphi)}{\sin\varphi\,\sin^M(M\varphi)},\qquad
    \rho(x) = \frac{1}{\pi x}\,\frac{\sin((M+1)\varphi)\,\sin\varphi}{\sin(M\varphi)},
    \qquad 0 < \varphi < \frac{\pi}{M+1},

where :math:`x(\varphi)` decreases from the edge :math:`x_+ = (M+1)^{M+1}/M^M` at
:math:`\varphi = 0` to 0 at :math:`\varphi = \pi/(M+1)`. Its moments are the Fuss–Catalan
numbers :math:`\binom{(M+1)k}{k}/(Mk+1)`.

**x is a squared singular value.** For :math:`M = 1`, :math:`x = 4\cos^2\varphi` and
:math:`\rho = \tan\varphi/(2\pi) = \sqrt{(4-x)/x}/(2\pi)` is the Marchenko–Pastur law of
ratio 1 on :math:`(0, 4)`, the law of the eigenvalues of :math:`X^\top X`, not of the singular
values (those follow the quarter-circle law on :math:`(0, 2)`). The paper calls
:math:`\rho` the "singular density"; its edge in singular values is
:math:`\sqrt{x_+}\sim\sqrt{e(M+1)}`, which grows like the square root of the depth.

Numerics. The inverse :math:`\varphi(x)` is solved by safeguarded Newton iterations in two
regions that meet at :math:`\varphi_* = \pi/(2(M+1))`: near :math:`x = 0` in
:math:`\varepsilon = \pi/(M+1)-\varphi` (so that :math:`\sin((M+1)\varphi) = \sin((M+1)\varepsilon)`
keeps full relative accuracy down to the smallest doubles), and near the edge in
:math:`\varphi` against :math:`D(\varphi) = \log(x_+/x(\varphi))`, evaluated by a
positive-term series, with :math:`x_+ - x` computed in double-double arithmetic. The CDF has
the closed form (derived here; check: its derivative is :math:`\rho\,dx/d\varphi`)

.. math::

    F(x(\varphi)) = 1 - \frac{(M+1)\varphi}{\pi} + \frac{M}{\pi}\,
    \frac{\sin((M+1)\varphi)\sin\varphi}{\sin(M\varphi)},

evaluated as sums of positive terms on both sides of the seam. Relative accuracy is a few
ulp in the bulk and a few times :math:`10^{-15}` at both ends of the support.

Domain: :math:`1 \le M \le` :data:`M_MAX` (1000; the accuracy degrades beyond, measured
1.2e-13 at M = 1e5), every x ≥ 0 (0 or 1 outside the support) and every finite scale > 0.
The scale never enters as a quotient that could under- or overflow on its own: near 0 only
:math:`(x/s)^{1/(M+1)} = x^{1/(M+1)}/s^{1/(M+1)}` is used (below 1e-280 the leading terms,
exact to rounding), near the edge the residual of the rounded :math:`x/s` is kept.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import special

from .._validate import as_float_array, check_int, check_interval, check_positive
from ..gaussian import _out, exact_quotient

__all__ = [
    "fuss_catalan_cdf",
    "fuss_catalan_edge",
    "fuss_catalan_moment",
    "fuss_catalan_pdf",
    "fuss_catalan_phi",
    "fuss_catalan_ppf",
    "fuss_catalan_sf",
    "fuss_catalan_singular_pdf",
    "fuss_catalan_x",
    "ginibre_lyapunov_exponents",
]

_PI = math.pi
_N_D_TERMS = 32  # series of D(phi) on (M+1)phi <= pi/2: ratio <= 1/4 per term
_N_X_TERMS = 12  # series of u - sin u and 1 - y cot y (used for u, y < 1)


#: largest number of factors accepted (the accuracy is tested against mpmath up to here)
M_MAX = 1000


# --------------------------------------------------------------------------- validation
def _check_M(M) -> int:
    """Validate the number of factors: an integer in [1, M_MAX] (integral floats accepted)."""
    return check_int(M, "M", 1, M_MAX)


# --------------------------------------------------------------------------- constants per M
@lru_cache(maxsize=256)
def _edge_dd(M: int) -> tuple[float, float]:
    """x_+ = (M+1)^(M+1)/M^M as a double-double (hi + lo): from exact rationals for M <= 300,
    else from mpmath at 50 digits as (M+1) exp(M log1p(1/M))."""
    if M <= 300:
        fr = Fraction((M + 1) ** (M + 1), M**M)
        hi = float(fr)
        return hi, float(fr - Fraction(hi))
    import mpmath as mp

    with mp.workdps(50):
        e = (M + 1) * mp.exp(M * mp.log1p(mp.mpf(1) / M))
        hi = float(e)
        return hi, float(e - hi)


@lru_cache(maxsize=256)
def _d_series(M: int) -> np.ndarray:
    r"""Coefficients of :math:`D(\varphi) = \sum_{n\ge1} c_n z^n`, :math:`z = ((M+1)\varphi)^2`.

    From :math:`\log(\sin z/z) = \sum_n a_n z^{2n}`, :math:`a_n = (-1)^n 2^{2n-1} B_{2n}/(n (2n)!)`
    (all :math:`a_n < 0`) and :math:`D = -(M+1)\ell((M+1)\varphi) + M\ell(M\varphi) + \ell(\varphi)`:
    :math:`c_n = a_n (M^{2n+1} + 1 - (M+1)^{2n+1})/(M+1)^{2n} > 0`, exact rationals rounded once.
    """
    from sympy import bernoulli  # exact rationals; only on first use per M

    out = []
    for n in range(1, _N_D_TERMS + 1):
        bn = bernoulli(2 * n)
        b = Fraction(int(bn.p), int(bn.q))
        a = Fraction((-1) ** n * 2 ** (2 * n - 1)) * b / (n * math.factorial(2 * n))
        out.append(float(a * Fraction(M ** (2 * n + 1) + 1 - (M + 1) ** (2 * n + 1), (M + 1) ** (2 * n))))
    return np.array(out)


@lru_cache(maxsize=1)
def _x_sin_series() -> tuple[np.ndarray, np.ndarray]:
    """Series of u - sin u (odd powers from 3) and 1 - y cot y (even powers from 2)."""
    from sympy import bernoulli

    usin = [(-1) ** (k + 1) / math.factorial(2 * k + 1) for k in range(1, _N_X_TERMS + 1)]
    ycot = []
    for n in range(1, 2 * _N_X_TERMS + 1):
        b = Fraction(int(bernoulli(2 * n).p), int(bernoulli(2 * n).q))
        ycot.append(float(Fraction(2 ** (2 * n)) * abs(b) / math.factorial(2 * n)))
    return np.array(usin), np.array(ycot)


def _poly(coef: np.ndarray, z: np.ndarray) -> np.ndarray:
    """sum_k coef[k] z^k (Horner)."""
    acc = np.zeros_like(z)
    for c in coef[::-1]:
        acc = acc * z + c
    return acc


def _u_minus_sin(u: np.ndarray) -> np.ndarray:
    """u - sin(u) for 0 <= u <= pi, without cancellation for small u."""
    usin, _ = _x_sin_series()
    small = u < 1.0
    us = np.where(small, u, 0.0)
    ser = us**3 * _poly(usin, us * us)
    return np.where(small, ser, u - np.sin(u))


def _one_minus_ycoty(y: np.ndarray) -> np.ndarray:
    """1 - y cot(y) for 0 <= y < pi/2 + (slack), without cancellation for small y."""
    _, ycot = _x_sin_series()
    small = y < 1.0
    ys = np.where(small, y, 0.0)
    ser = ys * ys * _poly(ycot, ys * ys)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = 1.0 - y / np.tan(y)
    return np.where(small, ser, direct)


# --------------------------------------------------------------------------- the two regions
def _D(phi: np.ndarray, M: int) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`D(\varphi) = \log(x_+/x(\varphi))` and :math:`\varphi D'(\varphi)` for
    :math:`0 \le \varphi \le \pi/(2(M+1))` (positive-term series)."""
    c = _d_series(M)
    z = ((M + 1) * phi) ** 2
    d = z * _poly(c, z)
    dd = z * _poly(c * 2.0 * np.arange(1, c.size + 1), z)  # phi * D'(phi)
    return d, dd


def _logx_eps(eps: np.ndarray, M: int, y=None) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\log(x/y^{M+1})` and :math:`\varepsilon\,d\log x/d\varepsilon` at
    :math:`\varphi = \pi/(M+1) - \varepsilon`, :math:`0 < \varepsilon \le \pi/(2(M+1))`.

    With ``y = x_target^{1/(M+1)}`` the first output is the log of a ratio near 1 at the
    root, so it carries no absolute error of size ``eps * |log x|`` (x may be 1e-300).
    """
    a = _PI / (M + 1)
    s1 = np.sin((M + 1) * eps)
    s2 = np.sin(a - eps)
    s3 = np.sin(a + M * eps)
    lead = s1 if y is None else s1 / y
    lx = (M + 1) * np.log(lead) - np.log(s2) - M * np.log(s3)
    # d/d eps: (M+1)^2 cot((M+1)eps) + cot(a - eps) - M^2 cot(a + M eps)
    deriv = (M + 1) ** 2 * np.cos((M + 1) * eps) / s1 + np.cos(a - eps) / s2 - M**2 * np.cos(a + M * eps) / s3
    return lx, eps * deriv


def _root_scale(scale: float, M: int) -> tuple[float, float]:
    """(r, c) with r = scale^(1/(M+1)) and c = scale / r^(M+1) (1 to rounding), no overflow."""
    if scale == 1.0:
        return 1.0, 1.0
    r = np.float64(_root(np.array([scale]), M)[0])
    with np.errstate(over="ignore", under="ignore"):
        c = (np.float64(scale) / r**M) / r  # r**M = scale^(M/(M+1)) stays in range
    return float(r), float(c)


def _x_eps(eps: np.ndarray, M: int, scale: float = 1.0) -> np.ndarray:
    """scale * x at phi = pi/(M+1) - eps as (r s1/s3)^(M+1) (s3/s2) c, r = scale^(1/(M+1)),
    c = scale / r^(M+1) (= 1 to rounding): about 2(M+1) ulp (the map's own condition number is
    M+1), where exp(log x) would lose |log x| ulp for tiny x; the scale enters before the
    power, so the product under- or overflows only where it does; quietly."""
    a = _PI / (M + 1)
    s1, s2, s3 = np.sin((M + 1) * eps), np.sin(a - eps), np.sin(a + M * eps)
    r, c = _root_scale(scale, M)
    with np.errstate(under="ignore", over="ignore"):
        return np.power(r * s1 / s3, M + 1) * (s3 / s2) * c


def _root(x: np.ndarray, M: int) -> np.ndarray:
    """x^(1/(M+1)) to a few ulp for any positive double (subnormals included).

    ``x = m 2^e`` with ``e = q(M+1) + r``, so ``x^(1/(M+1)) = (m 2^r)^(1/(M+1)) 2^q`` and the
    power is taken of a number in [1/2, 2^(M+1)), where the rounding of 1/(M+1) is harmless.
    """
    m, e = np.frexp(x)
    if M + 1 > 1000:  # 2**r could overflow; e/(M+1) is then small, exp2 of it accurate to an ulp
        return np.exp2(e / (M + 1.0)) * np.power(m, 1.0 / (M + 1))
    q = np.floor_divide(e, M + 1)
    r = e - q * (M + 1)
    return np.ldexp(np.power(np.ldexp(m, r), 1.0 / (M + 1)), q)


def _newton_log(fun, args, lo, hi, guess, maxiter=200):
    """Solve fun(u, *args) = 0 for u in [lo, hi], fun increasing in log u.

    ``fun(u, *args)`` returns (value, d value / d log u), evaluated on the active subset
    (``args`` are arrays subset alongside ``u``). Newton steps are multiplicative
    (u <- u exp(-f/f')) so that u keeps full relative precision even when tiny; a step that
    leaves the current bracket is replaced by a geometric bisection.
    """
    u = np.clip(guess, lo, hi)
    a = np.full_like(u, lo)
    b = np.full_like(u, hi)
    active = np.ones(u.shape, dtype=bool)
    for _ in range(maxiter):
        if not active.any():
            break
        ua = u[active]
        f, fp = fun(ua, *[g[active] for g in args])
        aa, bb = a[active], b[active]
        aa = np.where(f < 0, ua, aa)
        bb = np.where(f > 0, ua, bb)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step = f / fp
            un = ua * np.exp(-step)
        bad = ~np.isfinite(un) | (un < aa) | (un > bb)
        un = np.where(bad, np.sqrt(aa * bb), un)
        un = np.where(f == 0, ua, un)
        conv = (~bad & (np.abs(step) <= 4e-16)) | (f == 0) | (bb <= aa * (1 + 4e-16))
        u[active] = un
        a[active], b[active] = aa, bb
        idx = np.flatnonzero(active)
        active[idx[conv]] = False
    return u


def _solve(x: np.ndarray, M: int, yroot=None, x_lo=None):
    """For 0 < x < x_+: (edge-region mask, phi, eps) with phi + eps = pi/(M+1).

    In the edge region (x >= x(phi_*)) phi is accurate and eps = pi/(M+1) - phi; in the
    small-x region eps is accurate and phi = pi/(M+1) - eps. ``yroot`` is
    x^(1/(M+1)) when given (x may then have underflowed to 0: only the root is used there);
    ``x_lo`` a low-order part of x (the residual of x/scale), used in the distance to the edge.
    """
    hi, lo = _edge_dd(M)
    a = _PI / (M + 1)
    star = a / 2
    x_star = hi * math.exp(-_D(np.array([star]), M)[0][0])
    edge = x >= x_star
    phi = np.empty_like(x)
    eps = np.empty_like(x)
    if edge.any():
        xe = x[edge]
        delta = (hi - xe) + lo  # hi - x is exact (Sterbenz) whenever x >= x_+/2, i.e. where it matters
        if x_lo is not None:
            delta = delta - x_lo[edge]
        target = -np.log1p(-delta / hi)
        guess = np.sqrt(2.0 * target / (M * (M + 1)))
        p = _newton_log(lambda u, t: _log_D_ratio(u, t, M), (target,), 1e-100, star, guess)
        phi[edge] = p
        eps[edge] = a - p
    if (~edge).any():
        y = _root(x[~edge], M) if yroot is None else yroot[~edge]
        guess = y * (math.sin(a) / (M + 1))
        e = _newton_log(lambda u, yy: _logx_eps(u, M, yy), (y,), 1e-300, star, guess)
        eps[~edge] = e
        phi[~edge] = a - e
    return edge, phi, eps


def _log_D_ratio(phi, target, M):
    d, dd = _D(phi, M)
    return np.log(d / target), dd / d


def _h_parts(edge, phi, eps, M):
    r""":math:`\pi h = \sin((M+1)\varphi)\sin\varphi/\sin(M\varphi)` evaluated accurately."""
    a = _PI / (M + 1)
    out = np.empty_like(phi)
    pe, ee = phi[edge], eps[~edge]
    out[edge] = np.sin((M + 1) * pe) * np.sin(pe) / np.sin(M * pe)
    out[~edge] = np.sin((M + 1) * ee) * np.sin(a - ee) / np.sin(a + M * ee)
    return out


def _F_small(eps: np.ndarray, M: int) -> np.ndarray:
    r"""CDF at :math:`\varphi = \pi/(M+1) - \varepsilon`:
    :math:`\pi F = (M+1)\varepsilon + M\sin((M+1)\varepsilon)\sin(a-\varepsilon)/\sin(a+M\varepsilon)`
    (positive terms)."""
    a = _PI / (M + 1)
    return ((M + 1) * eps + M * np.sin((M + 1) * eps) * np.sin(a - eps) / np.sin(a + M * eps)) / _PI


def _S_edge(phi: np.ndarray, M: int) -> np.ndarray:
    r"""Survival function at :math:`\varphi \le \pi/(2(M+1))`, as a sum of non-negative terms:
    :math:`\pi S = M(\varphi - \sin\varphi\cos\varphi) + (\varphi^2-\sin^2\varphi)/\varphi
    + (\sin^2\varphi/\varphi)(1 - M\varphi\cot M\varphi)`."""
    sp_ = np.sin(phi)
    t1 = M * 0.5 * _u_minus_sin(2.0 * phi)
    t2 = _u_minus_sin(phi) * (phi + sp_) / phi
    t3 = sp_ * sp_ / phi * _one_minus_ycoty(M * phi)
    return (t1 + t2 + t3) / _PI


def _support(x, M, scale):
    m = _check_M(M)
    x = as_float_array(x, "x")
    s = float(check_positive(scale, "scale"))
    return m, x, s


_TINY_ROOT = 1e-280  # below this x^(1/(M+1)) the leading terms at x -> 0 are exact to rounding


def _tiny_parts(yroot: np.ndarray, M: int):
    r"""For :math:`y^{1/(M+1)} <` _TINY_ROOT: :math:`\pi h = \sin((M+1)\varepsilon)\dots
    = y^{1/(M+1)}\sin a\,(1 + O(\varepsilon))` and :math:`F = (M+1)\,\pi h/\pi`, with
    :math:`\varepsilon < 10^{-280}`: no Newton solve on subnormal ε."""
    h = yroot * math.sin(_PI / (M + 1)) / _PI
    return h, (M + 1) * h


def _scaled(x: np.ndarray, M: int, s: float):
    """(y, yroot, inside, y_lo) for y + y_lo = x/s: y may under- or overflow, its root
    y^(1/(M+1)) = x^(1/(M+1)) / s^(1/(M+1)) does not; ``inside`` is 0 < y < x_+."""
    hi, lo = _edge_dd(M)
    if s != 1.0:
        y, y_lo = exact_quotient(x, s)  # x/s = y + y_lo: the edge distance keeps full accuracy
        y, y_lo = np.atleast_1d(y), np.atleast_1d(y_lo)
    else:
        y, y_lo = x.copy(), np.zeros_like(x)
    pos = (x > 0) & np.isfinite(x)
    xr = np.where(pos, x, 1.0)
    with np.errstate(over="ignore"):  # overflows only far outside the support (unused there)
        yroot = _root(xr, M) / (float(_root(np.array([s]), M)[0]) if s != 1.0 else 1.0)
    inside = pos & ((hi - y) + lo - y_lo > 0)
    return y, yroot, inside, y_lo


# --------------------------------------------------------------------------- public API
def fuss_catalan_edge(M, *, scale=1.0):
    r"""Right edge of the support, :math:`x_+ = s\,(M+1)^{M+1}/M^M`.

    For large :math:`M`, :math:`x_+ = e(M+1)(1 - 1/(2M) + O(M^{-2}))` (Bjorck et al.,
    Theorem 1 and the text after eq. 5). ``x`` is a *squared* singular value; the largest
    singular value tends to :math:`\sqrt{x_+}`.

    Parameters
    ----------
    M : int >= 1
        Number of factors.
    scale : float > 0
        :math:`s = \prod_i \sigma_i^2` (1 for entry variance :math:`1/N`).

    Examples
    --------
    >>> fuss_catalan_edge(1), fuss_catalan_edge(2)
    (4.0, 6.75)

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Theorem 1 and the text after eq. 5.
    """
    m = _check_M(M)
    s = float(check_positive(scale, "scale"))
    return _edge_dd(m)[0] * s


def fuss_catalan_x(phi, M):
    r"""The parametrisation :math:`x(\varphi)` of Bjorck et al., Appendix D, eq. 9.

    .. math::

        x(\varphi) = \frac{\sin^{M+1}((M+1)\varphi)}{\sin\varphi\,\sin^M(M\varphi)},
        \qquad 0 \le \varphi \le \frac{\pi}{M+1},

    strictly decreasing from :math:`x(0) = (M+1)^{M+1}/M^M` to :math:`x(\pi/(M+1)) = 0`.
    :math:`x` is a squared singular value (see the module docstring).

    Raises
    ------
    ValueError
        If ``phi`` is NaN or outside :math:`[0, \pi/(M+1)]`, or ``M`` is not an integer >= 1.

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Appendix D, eq. 9; Haagerup & Möller (2012).
    """
    m = _check_M(M)
    a = _PI / (m + 1)
    p = as_float_array(phi, "phi")
    bad = (p < 0) | (p > a)
    if bad.any():
        raise ValueError(f"phi must lie in [0, pi/(M+1)] = [0, {a!r}], got {p[bad].ravel()[0]!r}")
    p = np.atleast_1d(p)
    out = np.empty_like(p)
    hi = _edge_dd(m)[0]
    near_edge = p <= a / 2
    if near_edge.any():
        out[near_edge] = hi * np.exp(-_D(p[near_edge], m)[0])
    far = ~near_edge
    if far.any():
        e = a - p[far]
        pos = e > 0
        vals = np.zeros_like(e)
        if pos.any():
            vals[pos] = _x_eps(e[pos], m)
        out[far] = vals
    return _out(out.reshape(np.shape(phi)))


def fuss_catalan_phi(x, M):
    r"""Inverse of :func:`fuss_catalan_x`: the :math:`\varphi \in [0, \pi/(M+1)]` with
    :math:`x(\varphi) = x`, for :math:`0 \le x \le (M+1)^{M+1}/M^M` (Bjorck et al., eq. 9).

    Accurate to a few ulp relative to :math:`\varphi` near the edge (:math:`\varphi \to 0`);
    near :math:`x = 0` the distance :math:`\pi/(M+1) - \varphi \approx
    x^{1/(M+1)}\sin(\pi/(M+1))/(M+1)` is what carries the information and is used internally.

    Raises
    ------
    ValueError
        If ``x`` is NaN or outside the support :math:`[0, x_+]`.

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Appendix D, eq. 9.
    """
    m = _check_M(M)
    xa = as_float_array(x, "x")
    hi, lo = _edge_dd(m)
    bad = (xa < 0) | (xa > hi)
    if bad.any():
        raise ValueError(f"x must lie in [0, (M+1)^(M+1)/M^M] = [0, {hi!r}], got {xa[bad].ravel()[0]!r}")
    xa = np.atleast_1d(xa)
    out = np.empty_like(xa)
    inside = (xa > 0) & ((hi - xa) + lo > 0)
    out[xa == 0] = _PI / (m + 1)
    out[(xa > 0) & ~inside] = 0.0
    if inside.any():
        _, phi, _ = _solve(xa[inside], m)
        out[inside] = phi
    return _out(out.reshape(np.shape(x)))


def fuss_catalan_pdf(x, M, *, scale=1.0):
    r"""Density of the Fuss–Catalan law, Bjorck et al., Theorem 1 (eq. 5), Appendix D (eq. 10).

    .. math::

        \rho(x) = \frac{1}{\pi x}\,\frac{\sin((M+1)\varphi)\sin\varphi}{\sin(M\varphi)},
        \qquad x = x(\varphi)\ \text{(eq. 9)},\quad 0 < x < x_+ = \frac{(M+1)^{M+1}}{M^M}.

    The large-:math:`N` density of the **squared** singular values of
    :math:`X_M\cdots X_1` (entry variance :math:`\sigma_i^2/N`) divided by
    :math:`s = \prod\sigma_i^2`; pass ``scale=s`` for the density of the squared singular
    values themselves. Near 0, :math:`\rho(x) \sim \sin(\pi/(M+1))\,x^{-M/(M+1)}/\pi`; at the
    edge it vanishes like a square root. Returns 0 outside :math:`(0, x_+)` and ``inf`` at 0.

    Examples
    --------
    Marchenko–Pastur for M = 1:

    >>> import numpy as np
    >>> x = 1.3
    >>> bool(abs(fuss_catalan_pdf(x, 1) - np.sqrt((4 - x) / x) / (2 * np.pi)) < 1e-15)
    True

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Theorem 1 (eq. 5) and Appendix D (eqs. 9-10); Liu, Wang & Zhang (2016).
    """
    m, xa, s = _support(x, M, scale)
    shape = np.shape(xa)
    xa = np.atleast_1d(xa)
    y, yroot, inside, y_lo = _scaled(xa, m, s)
    out = np.zeros_like(xa)
    out[xa == 0] = np.inf
    tiny = inside & (yroot < _TINY_ROOT)
    inside &= ~tiny
    if inside.any():
        edge, phi, eps = _solve(y[inside], m, yroot[inside], y_lo[inside])
        h = _h_parts(edge, phi, eps, m) / _PI
        with np.errstate(over="ignore"):
            out[inside] = h / xa[inside]  # rho(x/s)/s = h/(x/s)/s = h/x
    if tiny.any():
        with np.errstate(over="ignore"):
            out[tiny] = _tiny_parts(yroot[tiny], m)[0] / xa[tiny]
    return _out(out.reshape(shape))


def _cdf_sf(x, M, scale):
    m, xa, s = _support(x, M, scale)
    shape = np.shape(xa)
    xa = np.atleast_1d(xa)
    y, yroot, inside, y_lo = _scaled(xa, m, s)
    cdf = np.where(xa <= 0, 0.0, 1.0)
    sf = 1.0 - cdf
    tiny = inside & (yroot < _TINY_ROOT)
    inside &= ~tiny
    if tiny.any():
        cdf[tiny] = _tiny_parts(yroot[tiny], m)[1]
        sf[tiny] = 1.0
    if inside.any():
        edge, phi, eps = _solve(y[inside], m, yroot[inside], y_lo[inside])
        c = np.empty_like(phi)
        q = np.empty_like(phi)
        c[~edge] = _F_small(eps[~edge], m)
        q[~edge] = 1.0 - c[~edge]
        q[edge] = _S_edge(phi[edge], m)
        c[edge] = 1.0 - q[edge]
        cdf[inside] = c
        sf[inside] = q
    return cdf.reshape(shape), sf.reshape(shape)


def fuss_catalan_cdf(x, M, *, scale=1.0):
    r"""Distribution function of the Fuss–Catalan law (closed form in :math:`\varphi`).

    .. math::

        F(x) = 1 - \frac{(M+1)\varphi}{\pi} + \frac{M}{\pi}
        \frac{\sin((M+1)\varphi)\sin\varphi}{\sin(M\varphi)}, \qquad x = x(\varphi),

    obtained by integrating Bjorck et al., eq. 10 along eq. 9 (its derivative in
    :math:`\varphi` is :math:`\rho\,dx/d\varphi`; checked with sympy in the tests). Near 0,
    :math:`F(x) \sim (M+1)\sin(\pi/(M+1))\,x^{1/(M+1)}/\pi`. ``x`` is a squared singular
    value divided by ``scale``; 0 below the support and 1 above it.

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Appendix D, eqs. 9-10 (integrated in gradexp).
    """
    return _out(_cdf_sf(x, M, scale)[0])


def fuss_catalan_sf(x, M, *, scale=1.0):
    r"""Survival function :math:`1 - F(x)`, accurate near the edge (no ``1 - cdf``).

    Near the edge :math:`1 - F \approx (M+1)^2\varphi^3/(3\pi)`; it is evaluated as
    :math:`\pi(1-F) = M(\varphi - \sin\varphi\cos\varphi) + (\varphi^2-\sin^2\varphi)/\varphi
    + (\sin^2\varphi/\varphi)(1 - M\varphi\cot M\varphi)`, a sum of non-negative terms.

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Appendix D, eqs. 9-10 (integrated in gradexp).
    """
    return _out(_cdf_sf(x, M, scale)[1])


_TINY_Q = 1e-290  # below this q the leading term of F near 0 is exact to rounding


def fuss_catalan_ppf(q, M, *, scale=1.0):
    r"""Quantile function: the :math:`x` with :math:`F(x) = q`, for :math:`0 \le q \le 1`.

    Solves the closed-form CDF (see :func:`fuss_catalan_cdf`) for :math:`\varphi` by
    safeguarded Newton steps, in :math:`\varepsilon = \pi/(M+1)-\varphi` for small ``q``
    (:math:`F \approx (M+1)^2\varepsilon/\pi`) and in :math:`\varphi` against the survival
    function for ``q`` near 1 (:math:`1-F \approx (M+1)^2\varphi^3/(3\pi)`), then maps to
    :math:`x(\varphi)` (Bjorck et al., eq. 9). ``fuss_catalan_ppf(U, M)`` with uniform ``U``
    samples the law exactly (squared singular values divided by ``scale``).

    Raises
    ------
    ValueError
        If ``q`` is NaN or outside [0, 1].

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Appendix D, eqs. 9-10.
    """
    m = _check_M(M)
    qa = check_interval(q, "q", 0.0, 1.0)
    sc = float(check_positive(scale, "scale"))
    shape = np.shape(qa)
    qa = np.atleast_1d(qa)
    hi = _edge_dd(m)[0]
    a = _PI / (m + 1)
    star = a / 2
    with np.errstate(over="ignore"):
        out = np.where(qa >= 1, hi * sc, 0.0)
    inner = (qa > 0) & (qa < 1)
    q_star = float(_F_small(np.array([star]), m)[0])
    tiny = inner & (qa < _TINY_Q)
    if tiny.any():
        # F = (M+1)^2 eps / pi (1 + O(eps)), x = (sin((M+1) eps)/sin a)^(M+1) (1 + O(eps)): exact
        # to rounding for eps < 1e-289; the scale enters through its root, before the power
        r, c = _root_scale(sc, m)
        base = (r * qa[tiny]) * (_PI / ((m + 1) * math.sin(a)))
        with np.errstate(under="ignore", over="ignore"):
            out[tiny] = np.power(base, m + 1) * c
    small = inner & (qa <= q_star) & ~tiny
    if small.any():
        qs = qa[small]
        guess = _PI * qs / (m + 1) ** 2

        def fun(e, t):
            F = _F_small(e, m)
            _, eps_dl = _logx_eps(e, m)
            h = np.sin((m + 1) * e) * np.sin(a - e) / np.sin(a + m * e) / _PI
            return np.log(F / t), h * eps_dl / F  # d F / d log eps = eps * g = h * eps dL/deps

        e = _newton_log(fun, (qs,), 1e-310, star, guess)
        out[small] = _x_eps(e, m, sc)
    big = inner & ~small & ~tiny
    if big.any():
        sv = 1.0 - qa[big]  # exact for q >= 1/2 (Sterbenz); q_star > 1/2 for every M
        guess = np.cbrt(3 * _PI * sv) / (m + 1) ** (2 / 3)

        def fun(p, t):
            S = _S_edge(p, m)
            _, dd = _D(p, m)
            h = np.sin((m + 1) * p) * np.sin(p) / np.sin(m * p) / _PI
            return np.log(S / t), h * dd / S  # d S / d log phi = phi * g = h * phi D'(phi)

        p = _newton_log(fun, (sv,), 1e-100, star, guess)
        with np.errstate(over="ignore"):
            out[big] = hi * np.exp(-_D(p, m)[0]) * sc
    return _out(out.reshape(shape))


def fuss_catalan_singular_pdf(s, M, *, scale=1.0):
    r"""Density of the singular values :math:`\sigma = \sqrt{x}`: :math:`2\sigma\rho(\sigma^2)`.

    Supported on :math:`(0, \sqrt{x_+})`; for :math:`M = 1` the quarter-circle law
    :math:`\sqrt{4-\sigma^2}/\pi`. ``scale`` is :math:`\prod\sigma_i^2` as in
    :func:`fuss_catalan_pdf` (the singular values are divided by :math:`\sqrt{s}`).

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Theorem 1 and Appendix D (eq. 10), change of variables x = σ².
    """
    m = _check_M(M)
    sa = as_float_array(s, "s")
    sc = float(check_positive(scale, "scale"))
    shape = np.shape(sa)
    sa = np.atleast_1d(sa)
    hi, lo = _edge_dd(m)
    out = np.zeros_like(sa)
    out[sa == 0] = 2.0 / (_PI * math.sqrt(sc)) if m == 1 else np.inf
    pos = (sa > 0) & np.isfinite(sa)
    with np.errstate(over="ignore", under="ignore"):
        y = (sa / math.sqrt(sc)) ** 2
    sr = _root(np.where(pos, sa, 1.0), m)
    with np.errstate(over="ignore"):  # (s^2/scale)^(1/(M+1)) without underflow; overflows only outside
        yroot = sr * sr / float(_root(np.array([sc]), m)[0])
    inside = pos & ((hi - y) + lo > 0)
    tiny = inside & (yroot < _TINY_ROOT)
    inside &= ~tiny
    if inside.any():
        edge, phi, eps = _solve(y[inside], m, yroot[inside])
        h = _h_parts(edge, phi, eps, m) / _PI
        with np.errstate(over="ignore"):
            out[inside] = 2.0 * h / sa[inside]  # 2 (s/sqrt(c)) rho(s^2/c) / sqrt(c) = 2 h / s
    if tiny.any():
        with np.errstate(over="ignore"):
            out[tiny] = 2.0 * _tiny_parts(yroot[tiny], m)[0] / sa[tiny]
    return _out(out.reshape(shape))


def fuss_catalan_moment(k, M, *, scale=1.0, exact=False):
    r"""Moments :math:`\int x^k\rho(x)\,dx`: the Fuss–Catalan numbers
    :math:`\frac{1}{Mk+1}\binom{(M+1)k}{k}` (times :math:`s^k` with ``scale=s``).

    For :math:`M = 1` the Catalan numbers 1, 1, 2, 5, 14, ... (moments of Marchenko–Pastur),
    for :math:`M = 2`: 1, 1, 3, 12, 55, ... They are the limits of
    :math:`N^{-1}\,\mathbb{E}\,\mathrm{tr}\,(X^\top X)^k` (Bjorck et al., Theorem 1).

    Parameters
    ----------
    k : int or array of ints >= 0
    M : int >= 1
    exact : bool
        Return a Python ``int`` (scalar ``k``, ``scale=1`` only).

    References
    ----------
    Bjorck, Gomes & Selman [bjorck-gomes-selman], Theorem 1; Mlotkowski (2010), Fuss-Catalan numbers.
    """
    m = _check_M(M)
    if k is None:
        raise TypeError("k must be a non-negative integer or an array of them, got None")
    ka = np.asarray(k)
    if ka.dtype == bool or not (np.issubdtype(ka.dtype, np.integer)
                                or (np.issubdtype(ka.dtype, np.floating)
                                    and np.all(np.isfinite(ka)) and np.all(ka == np.round(ka)))):
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    if (ka < 0).any():
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    s = float(check_positive(scale, "scale"))

    def fc(kk: int) -> int:
        return math.comb((m + 1) * kk, kk) // (m * kk + 1)

    if exact:
        if ka.ndim != 0 or s != 1.0:
            raise ValueError("exact=True needs a scalar k and scale=1")
        return fc(int(ka))
    vals = np.array([_moment_float(int(v), m, s, fc) for v in ka.ravel()]).reshape(ka.shape)
    return _out(vals)


_EXACT_K = 2000  # up to here the Fuss-Catalan number is an exact integer, beyond mpmath at 40 digits


def _moment_float(k: int, M: int, s: float, fc) -> float:
    """fc(k) s^k correctly rounded (0 or inf where it under- or overflows)."""
    import mpmath as mp

    with mp.workdps(40):
        if k <= _EXACT_K:
            v = mp.mpf(fc(k)) * mp.mpf(s) ** k  # exact integer, one rounding at 40 digits
        else:
            v = mp.binomial((M + 1) * k, k) / (M * k + 1) * mp.mpf(s) ** k
        return float(v) if v < mp.mpf(2) ** 1024 else math.inf


def ginibre_lyapunov_exponents(N, *, sigma=1.0):
    r"""Lyapunov exponents of products of real :math:`N\times N` Gaussian matrices.

    With entry variance :math:`\sigma^2/N`,

    .. math::

        \lambda_i = \log\sigma + \tfrac12\left(\psi\!\left(\tfrac{N-i+1}{2}\right)
        + \log\tfrac{2}{N}\right),\qquad i = 1,\dots,N

    (Newman 1986; Forrester 2013): :math:`\log\sigma_i(X_M\cdots X_1)/M \to \lambda_i`. They
    follow from the QR (Bartlett) representation: :math:`R_{ii}^2 \sim \sigma^2\chi^2_{N-i+1}/N`.
    The condition number of a product of :math:`M \gg 1` factors grows like
    :math:`e^{M(\lambda_1-\lambda_N)}` with
    :math:`\lambda_1-\lambda_N = \tfrac12(\psi(N/2)-\psi(1/2))`. Not in Bjorck et al.; used
    to quantify the depth dependence of their Appendix E.

    References
    ----------
    Newman, "The distribution of Lyapunov exponents", Commun. Math. Phys. 103 (1986); Forrester, J. Phys. A 46 (2013). Context: Bjorck, Gomes & Selman [bjorck-gomes-selman], Appendix E.
    """
    N = check_int(N, "N", 1)
    sg = float(check_positive(sigma, "sigma"))
    i = np.arange(1, N + 1)
    return math.log(sg) + 0.5 * (special.digamma((N - i + 1) / 2.0) + math.log(2.0 / N))
