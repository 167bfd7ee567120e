r"""Numerically robust Gaussian building blocks.

Everything in gradexp that touches a normal tail goes through this module: nothing else
writes ``1 - ndtr(x)``, ``exp(x**2) * erfc(x)`` or ``ndtr(b) - ndtr(a)`` inline.

The central objects are the *scaled upper partial moments* of a standard normal
:math:`Z`,

.. math::

    I_n(t) = \frac{\mathbb E[(Z - t)_+^n]}{\varphi(t)}
           = \int_0^\infty u^n e^{-tu - u^2/2}\,du ,\qquad n = 0, 1, 2,

so that :math:`I_0` is the Mills ratio :math:`Q(t)/\varphi(t)`. They satisfy
:math:`I_1 = 1 - t I_0` and :math:`I_2 = I_0 - t I_1`, which cancel catastrophically for
large positive :math:`t` (``1 - t*I0`` is :math:`\approx 1/t^2`). There we use the ratios
:math:`r_n = I_n / I_{n-1}`, which obey :math:`r_n = n / (t + r_{n+1})` (Laplace's
continued fraction), evaluated backwards: :math:`I_1 = r_1 I_0`, :math:`I_2 = r_2 r_1 I_0`,
products only, no cancellation. :math:`I_0` itself is ``sqrt(pi/2) * erfcx(t/sqrt(2))``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special

SQRT2 = math.sqrt(2.0)
SQRT2PI = math.sqrt(2.0 * math.pi)
SQRT_PI_OVER_2 = math.sqrt(math.pi / 2.0)

#: below this t the forward recursion for I_1, I_2 is exact to a few ulp; above it the
#: continued fraction is used (tests put reference points on both sides of the seam).
PARTIAL_MOMENT_SEAM = 1.0


# validators live in gradexp._validate; re-exported here for existing callers
from ._validate import as_float_array, check_interval, check_positive  # noqa: E402,F401


def exact_quotient(num, den):
    r"""``q, r`` with ``q = fl(num/den)`` and ``num/den = q + r`` to about 2 ulp of ``r``.

    The residual comes from an error-free product ``q*den = p + e`` (Dekker's splitting),
    ``r = ((num - p) - e)/den``. Used where the quotient feeds :math:`e^{-z^2/2}`, whose
    relative error is :math:`z^2` times that of z.

    References
    ----------
    Dekker, "A floating-point technique for extending the available precision", Numer. Math. 18 (1971), the exact product by splitting.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        q = num / den
        p, e = _two_product(q, den)
        r = ((num - p) - e) / den
    r = np.where(np.isfinite(r), r, 0.0)
    return _out(q), _out(r)


def _split(a):
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


def _two_product(a, b):
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _out(a: np.ndarray):
    """Return a Python float for 0-d results, the array otherwise."""
    return float(a) if np.ndim(a) == 0 else a


# --------------------------------------------------------------------------- Φ and tails
def norm_cdf(x):
    r""":math:`\Phi(x)`, accurate in the lower tail (``scipy.special.ndtr``).

    References
    ----------
    Abramowitz & Stegun, *Handbook of Mathematical Functions*, eq. 26.2.2; scipy.special.ndtr.

    Φ(0) = 1/2 and Φ(−x) + Φ(x) = 1:

    >>> bool(norm_cdf(0.0) == 0.5 and abs(norm_cdf(-1.3) + norm_cdf(1.3) - 1.0) < 1e-16)
    True
    """
    return _out(special.ndtr(as_float_array(x, "x")))


def norm_interval_prob(a, b):
    r""":math:`P(a < Z < b)` for a standard normal, accurate in both tails.

    Computed as :math:`\Phi(b)\,(1 - e^{\log\Phi(a) - \log\Phi(b)})` with ``-expm1`` when the
    interval lies in the lower half, mirrored when it lies in the upper half, and as
    ``1 - Q(b) - Φ(a)`` when it straddles 0. ``ndtr(11) - ndtr(10)`` returns 0.0; this
    returns 7.62e-24.

    References
    ----------
    STYLE.md §3 (scipy's ``_log_gauss_mass``); Abramowitz & Stegun, eq. 26.2.2.

    Examples
    --------
    The far tail against mpmath's Φ at 40 digits, and the mirror symmetry:

    >>> import mpmath as mp
    >>> with mp.workdps(40):
    ...     ref = mp.ncdf(11) - mp.ncdf(10)
    >>> bool(abs(norm_interval_prob(10.0, 11.0) / ref - 1) < 1e-13)
    True
    >>> norm_interval_prob(10.0, 11.0) == norm_interval_prob(-11.0, -10.0)
    True
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    if (b < a).any():
        raise ValueError("b must be >= a")
    a, b = np.broadcast_arrays(a, b)
    # mirror so that the interval's upper end is <= |lower end| side: use lower tail
    upper = a > 0  # both in the upper half: P(a<Z<b) = P(-b < Z < -a)
    lo = np.where(upper, -b, a)
    hi = np.where(upper, -a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lhi = special.log_ndtr(hi)
        llo = special.log_ndtr(lo)
        one_side = np.exp(lhi) * -np.expm1(llo - lhi)
        straddle = special.ndtr(b) - special.ndtr(a)  # both > tiny here, no cancellation issue
    # log Phi(hi) = -inf: both ends beyond -1.3e154, the probability is below any double
    one_side = np.where(np.isneginf(lhi), 0.0, one_side)
    res = np.where((hi <= 0) | upper, one_side, straddle)
    res = np.where(a == b, 0.0, res)
    return _out(res)


def exp_half_square(t, sign=-1.0, t_lo=0.0):
    r""":math:`\exp(\pm t^2/2)` with :math:`t^2/2` evaluated exactly.

    ``exp(-t*t/2)`` carries the rounding error of ``t*t`` (up to :math:`t^2\epsilon`
    relative, 1e-13 at t = 35); splitting :math:`t = t_h + t_l` with :math:`t_h` a float32
    makes :math:`t_h^2` exact. ``t_lo`` is a further low-order part of the argument (the
    residual of a quotient, see :func:`exact_quotient`). Infinite t gives 0 (sign −1).

    References
    ----------
    Dekker (1971), exact squares by splitting; STYLE.md §3 (no ``exp(-t*t/2)`` inline).
    """
    t = np.asarray(t, dtype=float)
    fin = np.isfinite(t)
    # beyond |t| = 1e5 the result is exactly 0 (sign -1) or inf (sign +1) in double precision;
    # clamping keeps the float32 split below float32's range
    tf = np.clip(np.where(fin, t, 0.0), -1e5, 1e5)
    th = tf.astype(np.float32).astype(float)
    tl = tf - th
    with np.errstate(over="ignore", invalid="ignore"):
        val = np.exp(sign * 0.5 * th * th) * np.exp(sign * (th * tl + 0.5 * tl * tl + tf * t_lo))
    return np.where(fin, val, 0.0 if sign < 0 else np.inf)


#: fdlibm's split of log 2: LN2_HI has 32 significant bits, so k * LN2_HI is exact for ``|k| < 2**21``
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
#: beyond ``|t|`` = PDF_FREXP_CUT, φ(t) < exp(-3200) underflows even after the largest rescaling
#: any gradexp closed form applies (σ², up to 2**2048 ≈ exp(1420)); φ is returned as exactly 0.
PDF_FREXP_CUT = 80.0


def pdf_frexp(t, t_lo=0.0):
    r""":math:`\varphi(t) = m\,2^{-j}` as a pair ``(m, j)``, so that a product
    :math:`\sigma^2\varphi(t)` can be formed without intermediate under- or overflow.

    With :math:`t = t_h + t_l` (:math:`t_h` a float32, :math:`t_h^2/2` exact),
    :math:`j = \mathrm{rint}(t_h^2/(2\ln 2))` and the reduction
    :math:`t_h^2/2 - j\ln 2` done with fdlibm's two-part :math:`\ln 2` (exact by Sterbenz's
    lemma), :math:`m = e^{-(t_h^2/2 - j\ln2) - t_h t_l - t_l^2/2 - t\,t_{lo}}/\sqrt{2\pi}`
    is accurate to about 2 ulp and lies in :math:`[0.28, 0.57]`. ``t_lo`` is a low-order part
    of the argument (the residual of :func:`exact_quotient`). For :math:`|t| >`
    :data:`PDF_FREXP_CUT` (and infinite t) ``(0.0, 0)``.

    References
    ----------
    Cody & Waite, *Software Manual for the Elementary Functions* (1980), argument reduction;
    Dekker (1971) for the exact split of :math:`t^2`.

    Examples
    --------
    >>> import math
    >>> m, j = pdf_frexp(30.0)
    >>> bool(abs(math.ldexp(m, -int(j)) / (math.exp(-450.0) / math.sqrt(2 * math.pi)) - 1) < 1e-15)
    True
    """
    t = np.asarray(t, dtype=float)
    t_lo = np.asarray(t_lo, dtype=float)
    keep = np.abs(t) <= PDF_FREXP_CUT
    tf = np.where(keep, t, 0.0)
    tlo = np.where(keep, t_lo, 0.0)
    th = tf.astype(np.float32).astype(float)
    tl = tf - th
    a = 0.5 * th * th
    j = np.rint(a / LN2_HI)
    c = a - j * LN2_HI  # exact: j * LN2_HI is exact and a/2 <= j*LN2_HI <= 2a (Sterbenz)
    m = np.exp(-(c - j * LN2_LO) - (th * tl + 0.5 * tl * tl + tf * tlo)) / SQRT2PI
    return np.where(keep, m, 0.0), np.where(keep, j, 0).astype(np.int64)


def ldexp(x, e):
    """``x * 2**e`` with overflow to ±inf and underflow to 0 without warnings.

    References
    ----------
    IEEE 754-2008, scaleB; numpy.ldexp.
    """
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(x, np.asarray(e, dtype=np.int64))


def _mills(t: np.ndarray) -> np.ndarray:
    """I_0(t) = Q(t)/phi(t); for t < 0 as sqrt(2 pi) e^{t^2/2} - I_0(-t) (no erfcx of a large
    negative argument, whose exp(x^2) loses t^2 ulp)."""
    with np.errstate(over="ignore", invalid="ignore"):
        pos = SQRT_PI_OVER_2 * special.erfcx(np.abs(t) / SQRT2)
        neg = SQRT2PI * exp_half_square(t, +1.0) - pos
    return np.where(t >= 0, pos, neg)


def mills_ratio(t):
    r"""Mills ratio :math:`Q(t)/\varphi(t) = \sqrt{\pi/2}\,\mathrm{erfcx}(t/\sqrt 2)`.

    Accurate for all real t (overflows to inf only where the true value exceeds the
    largest double, t < -37.5). Equals :math:`I_0(t)`.

    References
    ----------
    Abramowitz & Stegun, eqs. 7.1.2 and 26.2.2 (Q = erfc(t/√2)/2); W. J. Cody, ``erfcx`` (scipy.special).
    """
    t = as_float_array(t, "t")
    return _out(_mills(np.asarray(t)))


def _continued_fraction_ratios(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """r_1 = I_1/I_0 and r_2 = I_2/I_1 for t >= PARTIAL_MOMENT_SEAM (backward recursion)."""
    tmin = min(max(float(t.min()), PARTIAL_MOMENT_SEAM), 1e3) if t.size else 1.0
    n_terms = int(min(400, 40 + 400 / tmin**2))
    r = np.zeros_like(t)
    r2 = r
    for n in range(n_terms, 0, -1):
        r = n / (t + r)
        if n == 2:
            r2 = r
    return r, r2


def scaled_partial_moments(t):
    r"""Scaled upper partial moments :math:`(I_0, I_1, I_2)(t)` of a standard normal.

    .. math:: I_n(t) = \mathbb E[(Z-t)_+^n]/\varphi(t) = \int_0^\infty u^n e^{-tu-u^2/2}du.

    For t below :data:`PARTIAL_MOMENT_SEAM` the forward recursion
    :math:`I_1 = 1 - tI_0`, :math:`I_2 = I_0 - tI_1` (no cancellation there); above it the
    continued fraction of the module docstring. ``t = +inf`` gives zeros; ``t = -inf``
    gives inf. Relative error a few ulp on the whole line (tested against mpmath).

    >>> I0, I1, I2 = scaled_partial_moments(0.0)
    >>> bool(abs(I1 - 1.0) < 1e-15 and abs(I2 - I0) < 1e-15)
    True

    References
    ----------
    DLMF 12.5.1 (I_n(t) = n! e^{t²/4} U(n+1/2, t)); Laplace's continued fraction for the Mills ratio (Abramowitz & Stegun, eq. 26.2.14). Used for Paik & Choi [paik-choi-v2], Prop. 2.1, eqs. 1-2.
    """
    t = as_float_array(t, "t")
    tb = np.atleast_1d(t).astype(float)
    i0 = np.empty_like(tb)
    i1 = np.empty_like(tb)
    i2 = np.empty_like(tb)
    i0[:] = _mills(tb)
    low = tb < PARTIAL_MOMENT_SEAM
    fin_high = (~low) & np.isfinite(tb)
    with np.errstate(over="ignore", invalid="ignore"):
        i1[low] = 1.0 - tb[low] * i0[low]
        i2[low] = i0[low] - tb[low] * i1[low]
    i1[tb == -np.inf] = np.inf
    i2[tb == -np.inf] = np.inf
    if fin_high.any():
        r1, r2 = _continued_fraction_ratios(tb[fin_high])
        i1[fin_high] = r1 * i0[fin_high]
        i2[fin_high] = r2 * i1[fin_high]
    i0[tb == np.inf] = 0.0
    i1[tb == np.inf] = 0.0
    i2[tb == np.inf] = 0.0
    shape = np.shape(t)
    return tuple(_out(v.reshape(shape)) for v in (i0, i1, i2))


# --------------------------------------------------------------------------- kernels
def relu_kernel(rho):
    r"""Arc-cosine kernel of degree 1: :math:`\mathbb E[\mathrm{ReLU}(X)\mathrm{ReLU}(Y)]`
    for standard normals with correlation :math:`\rho`.

    .. math:: \kappa(\rho) = \frac{\sqrt{1-\rho^2} + (\pi - \arccos\rho)\,\rho}{2\pi}

    (Cho & Saul 2009). Written with ``arctan2`` and :math:`\sqrt{(1-\rho)(1+\rho)}` so that it
    stays accurate as :math:`\rho \to \pm 1`. :math:`\kappa(1) = 1/2`, :math:`\kappa(0) = 1/(2\pi)`,
    :math:`\kappa(-1) = 0`.

    >>> bool(abs(relu_kernel(1.0) - 0.5) < 1e-16 and abs(relu_kernel(-1.0)) < 1e-16)
    True

    References
    ----------
    Cho & Saul, "Kernel methods for deep learning", NeurIPS 2009, the arc-cosine kernel of degree 1.
    """
    rho = check_interval(rho, "rho", -1.0, 1.0)
    s = np.sqrt((1.0 - rho) * (1.0 + rho))
    angle = np.arctan2(s, rho)  # arccos(rho), without arccos's loss of accuracy near ±1
    return _out((s + (np.pi - angle) * rho) / (2.0 * np.pi))


def relu_covariance(rho):
    r""":math:`\mathrm{Cov}(\mathrm{ReLU}(X), \mathrm{ReLU}(Y)) = \kappa(\rho) - 1/(2\pi)` for
    standard normals with correlation :math:`\rho`; equals :math:`(\pi-1)/(2\pi)` at ρ = 1.

    References
    ----------
    Cho & Saul (2009), arc-cosine kernel of degree 1; used in Paik & Choi [paik-choi-v2], Thm 2.8's setting.
    """
    return _out(np.asarray(relu_kernel(rho)) - 1.0 / (2.0 * np.pi))


# --------------------------------------------------------------------------- expectations
def gaussian_expectation(f, mu=0.0, sigma=1.0, *, breakpoints=(), epsabs=1e-15, epsrel=1e-12):
    r""":math:`\mathbb E f(X)` for :math:`X \sim N(\mu, \sigma^2)` by adaptive quadrature.

    The integral :math:`\int f(\mu + \sigma z)\varphi(z)\,dz` is split at z = 0 (so that
    QUADPACK's transform of the infinite ends cannot miss the bulk when a breakpoint is far
    away) and at the points of ``breakpoints`` (kinks of f in x, e.g. 0 for ReLU-like
    functions) so that each piece is smooth; infinite ends use QUADPACK's QAGI transform.
    Broadcasts over mu and sigma. Raises ``ArithmeticError`` when QUADPACK's error estimate
    exceeds 1e-9 of the sum of the pieces' magnitudes (and 1e-13).

    References
    ----------
    Piessens et al., *QUADPACK* (1983), QAGS/QAGI (``scipy.integrate.quad``).

    Examples
    --------
    mpmath's identity ``quad(npdf, [-inf, inf]) == 1``, and E X² = μ² + σ²:

    >>> bool(abs(gaussian_expectation(lambda x: 1.0) - 1.0) < 1e-14)
    True
    >>> bool(abs(gaussian_expectation(lambda x: x * x, 0.5, 2.0) - 4.25) < 1e-12)
    True
    """
    from scipy.integrate import IntegrationWarning, quad  # scipy.integrate costs 0.3 s at import

    mu = as_float_array(mu, "mu", allow_inf=False)
    sigma = check_positive(sigma, "sigma")
    mu_b, sig_b = np.broadcast_arrays(mu, sigma)
    out = np.empty(mu_b.shape)
    for idx in np.ndindex(mu_b.shape):
        m, s = float(mu_b[idx]), float(sig_b[idx])
        zs = sorted({0.0, *((b - m) / s for b in breakpoints)})
        edges = [-np.inf, *zs, np.inf]
        total, err, size = 0.0, 0.0, 0.0
        for lo, hi in zip(edges[:-1], edges[1:]):
            if lo == hi:
                continue
            with warnings.catch_warnings():
                # QUADPACK warns when a negligible piece cannot reach the relative tolerance;
                # the absolute error estimate is checked below instead.
                warnings.simplefilter("ignore", IntegrationWarning)
                val, abserr = quad(lambda z: f(m + s * z) * math.exp(-0.5 * z * z) / SQRT2PI,
                                   lo, hi, epsabs=epsabs, epsrel=epsrel, limit=200)
            total += val
            err += abserr
            size += abs(val)
        if not err <= max(1e-9 * size, 1e-13):
            raise ArithmeticError(f"quadrature error {err:.2g} too large for E f(X) = {total:.6g}")
        out[idx] = total
    return _out(out)
