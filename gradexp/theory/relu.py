r"""Moments of a rectified Gaussian (Paik & Choi, Proposition 2.1, eqs. 1–2).

For :math:`Y \sim N(\mu, \sigma^2)`, :math:`X = \max(Y, 0)` and :math:`z = \mu/\sigma`,

.. math::

    \mathbb E X = \mu\,\Phi(z) + \sigma\varphi(z), \qquad
    \mathrm{Var}\,X = (\sigma^2 + \mu^2)\Phi(z) + \mu\sigma\varphi(z) - (\mathbb E X)^2 .

Written this way both lines cancel catastrophically: for :math:`z \to -\infty` the mean is
:math:`\approx \sigma\varphi(z)/z^2` while each term is :math:`\approx \sigma\varphi(z)`, and the
naive variance returns NaN by :math:`z \approx -40`; for :math:`z \to +\infty` the variance
is a difference of terms of size :math:`z^2` that equals 1. gradexp evaluates instead, with
the scaled partial moments :math:`I_n` of :mod:`gradexp.gaussian` and :math:`t = -z`,

.. math::

    z \le 0:&\quad \mathbb E X = \sigma\varphi(t) I_1(t),\quad
        \mathrm{Var}\,X = \sigma^2\varphi(t)\,[I_2(t) - \varphi(t) I_1(t)^2] \\
    z > 0:&\quad \mathbb E X = \mu + \sigma\varphi(z) I_1(z),\quad
        \mathrm{Var}\,X = \sigma^2\,[\mathrm{erf}(z/\sqrt2) + \varphi(z)(I_2(z) - \varphi(z) I_1(z)^2)]

The second line uses :math:`\mathrm{ReLU}(y) = y + \mathrm{ReLU}(-y)` and Stein's lemma
:math:`\mathrm{Cov}(Y, \mathrm{ReLU}(-Y)) = -\sigma^2 Q(z)`; every sum is of non-negative terms.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._validate import as_float_array, check_positive
from ..gaussian import SQRT2, _out, exact_quotient, exp_half_square, ldexp, pdf_frexp, scaled_partial_moments


def _pdf_accurate(t: np.ndarray, t_lo=0.0) -> np.ndarray:
    r""":math:`\varphi(t)` with :math:`t^2/2` exact (:func:`gradexp.gaussian.exp_half_square`)."""
    return exp_half_square(t, -1.0, t_lo) / np.sqrt(2 * np.pi)


def _relu_tails_frexp(s: np.ndarray, s_lo=0.0):
    r"""For :math:`s \ge 0`: ``(a, b, j)`` with :math:`\mathbb E\,\mathrm{ReLU}(Z - s) = a\,2^{-j}`
    and :math:`\mathrm{Var}\,\mathrm{ReLU}(Z - s) = b\,2^{-j}`, i.e.
    :math:`\varphi(s) = m 2^{-j}`, :math:`a = m I_1(s)`, :math:`b = m[I_2(s) - \varphi(s) I_1(s)^2]`.
    The mantissas never under- or overflow; ``s = inf`` (and s > 80) gives a = b = 0."""
    s = np.asarray(s, dtype=float)
    _, i1, i2 = scaled_partial_moments(s)
    i1, i2 = np.atleast_1d(i1), np.atleast_1d(i2)
    m, j = pdf_frexp(s, s_lo)
    m, j = np.atleast_1d(m), np.atleast_1d(j)
    phi = ldexp(m, -j)
    a = m * i1
    b = m * (i2 - phi * i1 * i1)
    zero = m == 0
    return np.where(zero, 0.0, a), np.where(zero, 0.0, b), j


def _relu_tails(s: np.ndarray, s_lo=0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""For :math:`s \ge 0`: :math:`\mathbb E\,\mathrm{ReLU}(Z - s)` and
    :math:`\mathrm{Var}\,\mathrm{ReLU}(Z - s)` (underflow to 0 quietly; zero at s = inf)."""
    a, b, j = _relu_tails_frexp(s, s_lo)
    return ldexp(a, -j), ldexp(b, -j)


def standardized_relu_moments(z):
    r"""Mean and variance of :math:`\mathrm{ReLU}(z + Z)` for a standard normal Z.

    Returns ``(m, v)`` with :math:`m = \mathbb E X/\sigma` and :math:`v = \mathrm{Var}X/\sigma^2`
    for :math:`X = \mathrm{ReLU}(Y)`, :math:`Y \sim N(\sigma z, \sigma^2)`. See the module
    docstring for the branches; both are accurate to a few ulp wherever the result is a
    normal double, and underflow to 0 (z very negative) or tend to (z, 1) quietly.

    References
    ----------
    Paik & Choi [paik-choi-v2], Proposition 2.1, eqs. 1-2 (with σ = 1).

    Examples
    --------
    ReLU(z + Z) = (z + Z) + ReLU(−z − Z) gives m(z) − m(−z) = z; at z = 0 the variance is
    1/2 − 1/(2π):

    >>> m1, _ = standardized_relu_moments(1.5)
    >>> m2, _ = standardized_relu_moments(-1.5)
    >>> bool(abs(m1 - m2 - 1.5) < 1e-15)
    True
    >>> bool(abs(standardized_relu_moments(0.0)[1] - (0.5 - 0.5 / np.pi)) < 1e-16)
    True
    """
    z = as_float_array(z, "z")
    zb = np.atleast_1d(z).astype(float)
    tail_mean, tail_var = _relu_tails(np.abs(zb))
    neg = zb <= 0
    mean = np.where(neg, tail_mean, zb + tail_mean)
    var = np.where(neg, tail_var, special.erf(zb / SQRT2) + tail_var)
    shape = np.shape(z)
    return _out(mean.reshape(shape)), _out(var.reshape(shape))


def relu_moments(mu, sigma=1.0):
    r"""Mean and variance of :math:`X = \max(Y, 0)`, :math:`Y \sim N(\mu, \sigma^2)`.

    Paik & Choi, Proposition 2.1 (eqs. 1–2):

    .. math::

        \mathbb E X = \mu\,\Phi(\mu/\sigma) + \sigma\varphi(\mu/\sigma), \quad
        \mathrm{Var}\,X = (\sigma^2+\mu^2)\Phi(\mu/\sigma) + \mu\sigma\varphi(\mu/\sigma) - (\mathbb E X)^2.

    (The paper writes :math:`1 - \phi(-\mu/\sigma)`, which is :math:`\Phi(\mu/\sigma)`.)
    Evaluated without cancellation (module docstring) and without intermediate under- or
    overflow: :math:`\sigma = s\,2^{e}` and :math:`\varphi(z) = m\,2^{-j}`
    (:func:`gradexp.gaussian.pdf_frexp`) are multiplied as mantissas and exponents, so that
    e.g. :math:`\sigma^2\varphi(z)` is right when :math:`\varphi(z)` alone underflows.

    Domain: every real μ (±inf allowed) and every finite σ > 0. The results are the
    correctly rounded values to a few ulp, 0 where they underflow and inf where they overflow
    (e.g. the variance for σ > 1.3e154); measured against mpmath in ``docs/accuracy.md``.
    Limits: (0, 0) for :math:`\mu/\sigma \to -\infty`, :math:`(\mu, \sigma^2)` for
    :math:`\mu/\sigma \to +\infty`.

    Parameters
    ----------
    mu : array_like, real (±inf allowed), not NaN.
    sigma : array_like, finite and > 0.

    Returns
    -------
    (mean, var) : floats or arrays (broadcast of mu and sigma).

    References
    ----------
    Paik & Choi [paik-choi-v2], Proposition 2.1, eqs. 1-2.

    Examples
    --------
    Against a quadrature of the definition:

    >>> from gradexp.gaussian import gaussian_expectation
    >>> m, v = relu_moments(-0.7, 1.3)
    >>> e1 = gaussian_expectation(lambda x: max(x, 0.0), -0.7, 1.3, breakpoints=(0.0,))
    >>> e2 = gaussian_expectation(lambda x: max(x, 0.0) ** 2, -0.7, 1.3, breakpoints=(0.0,))
    >>> bool(abs(m / e1 - 1) < 1e-12 and abs(v / (e2 - e1 * e1) - 1) < 1e-11)
    True
    """
    mu = as_float_array(mu, "mu")
    sigma = check_positive(sigma, "sigma")
    mu_b, sig_b = np.broadcast_arrays(mu, sigma)
    z, z_lo = exact_quotient(mu_b, sig_b)
    z, z_lo = np.atleast_1d(z), np.atleast_1d(z_lo)
    a, b, j = _relu_tails_frexp(np.abs(z), np.where(z < 0, -z_lo, z_lo))
    pos = z > 0
    mu1 = np.atleast_1d(mu_b).astype(float)
    sm, se = np.frexp(np.atleast_1d(sig_b).astype(float))  # sigma = sm * 2**se, sm in [0.5, 1)
    se = se.astype(np.int64)
    tail_mean = ldexp(sm * a, se - j)  # sigma * E ReLU(Z - |z|)
    with np.errstate(over="ignore"):
        mean = np.where(pos, mu1 + tail_mean, tail_mean)  # right branch: mu itself, not sigma*z
    with np.errstate(under="ignore"):
        var_right = ldexp(sm * sm * (special.erf(z / SQRT2) + ldexp(b, -j)), 2 * se)
    var_left = ldexp(sm * sm * b, 2 * se - j)
    var = np.where(pos, var_right, var_left)
    mean = np.where(np.isposinf(mu1), np.inf, mean)
    shape = np.shape(mu_b)
    return _out(mean.reshape(shape)), _out(var.reshape(shape))
