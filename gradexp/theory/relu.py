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

from ..gaussian import (
    SQRT2,
    _out,
    as_float_array,
    check_positive,
    exact_quotient,
    exp_half_square,
    scaled_partial_moments,
)


def _pdf_accurate(t: np.ndarray, t_lo=0.0) -> np.ndarray:
    r""":math:`\varphi(t)` with :math:`t^2/2` exact (:func:`gradexp.gaussian.exp_half_square`)."""
    return exp_half_square(t, -1.0, t_lo) / np.sqrt(2 * np.pi)


def _relu_tails(s: np.ndarray, s_lo=0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""For :math:`s \ge 0`: :math:`\mathbb E\,\mathrm{ReLU}(Z - s)` and
    :math:`\mathrm{Var}\,\mathrm{ReLU}(Z - s)`, i.e. :math:`\varphi(s) I_1(s)` and
    :math:`\varphi(s)[I_2(s) - \varphi(s) I_1(s)^2]` (zero at s = inf)."""
    _, i1, i2 = scaled_partial_moments(s)
    i1, i2 = np.atleast_1d(i1), np.atleast_1d(i2)
    phi = _pdf_accurate(s, s_lo)
    with np.errstate(invalid="ignore"):
        tail_mean = phi * i1
        tail_var = phi * (i2 - phi * i1 * i1)
    inf = np.isinf(s)
    return np.where(inf, 0.0, tail_mean), np.where(inf, 0.0, tail_var)


def standardized_relu_moments(z):
    r"""Mean and variance of :math:`\mathrm{ReLU}(z + Z)` for a standard normal Z.

    Returns ``(m, v)`` with :math:`m = \mathbb E X/\sigma` and :math:`v = \mathrm{Var}X/\sigma^2`
    for :math:`X = \mathrm{ReLU}(Y)`, :math:`Y \sim N(\sigma z, \sigma^2)`. See the module
    docstring for the branches; both are accurate to a few ulp wherever the result is a
    normal double.
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
    Evaluated without cancellation (module docstring); relative error below 1e-13 against
    mpmath at 50 digits for :math:`\mu/\sigma \in [-35, 35]`, and correct limits
    (0 for :math:`\mu \to -\infty`, :math:`(\mu, \sigma^2)` for :math:`\mu \to +\infty`).

    Parameters
    ----------
    mu : array_like, real (±inf allowed), not NaN.
    sigma : array_like, finite and > 0.

    Returns
    -------
    (mean, var) : floats or arrays (broadcast of mu and sigma).

    >>> m, v = relu_moments(0.0, 1.0)
    >>> bool(abs(m - 1/np.sqrt(2*np.pi)) < 1e-16 and abs(v - (0.5 - 1/(2*np.pi))) < 1e-16)
    True
    """
    mu = as_float_array(mu, "mu")
    sigma = check_positive(sigma, "sigma")
    mu_b, sig_b = np.broadcast_arrays(mu, sigma)
    z, z_lo = exact_quotient(mu_b, sig_b)
    z, z_lo = np.atleast_1d(z), np.atleast_1d(z_lo)
    tail_mean, tail_var = _relu_tails(np.abs(z), np.where(z < 0, -z_lo, z_lo))
    pos = z > 0
    mu1 = np.atleast_1d(mu_b)
    sig1 = np.atleast_1d(sig_b)
    # right branch: mean = mu + sigma*phi(z)*I1(z), with mu itself (not sigma*z)
    with np.errstate(invalid="ignore"):
        mean = np.where(pos, mu1 + sig1 * tail_mean, sig1 * tail_mean)
    var = sig1 * sig1 * np.where(pos, special.erf(z / SQRT2) + tail_var, tail_var)
    mean = np.where(np.isposinf(mu1), np.inf, mean)
    shape = np.shape(mu_b)
    return _out(mean.reshape(shape)), _out(var.reshape(shape))
