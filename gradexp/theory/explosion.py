r"""The per-layer gradient explosion factor of BatchNorm + activation layers.

Paik & Choi (``000_b4a1e580b0f034bd.txt``, Theorem 2.2, eq. 4) consider the layer
:math:`x^{n+1} = \mathrm{BN}(W^n \mathrm{ReLU}(x^n) + b^n)` with i.i.d. inputs
:math:`x_i^n \sim N(\mu, \sigma^2)` and an upstream gradient independent of the input,
and bound the ratio

.. math:: \rho_n = \frac{\sum_i \mathrm{Var}(x_i^n)\mathrm{Var}(g_i^n)}
                      {\sum_j \mathrm{Var}(x_j^{n+1})\mathrm{Var}(g_j^{n+1})} \ge C(R),
          \qquad R = \frac{\mu}{\sqrt2\,\sigma}

(the text's ":math:`\sqrt{2\sigma}`" is a typo: eq. 20 of its appendix has
:math:`\mu/\sigma = \sqrt2 R`). With the paper's simplified backward pass (batch
statistics treated as constants) and an infinite batch,
:math:`\hat\sigma_j^2 = \mathrm{Var}(\mathrm{ReLU}(x))\sum_i W_{ij}^2`, so the weights cancel
and the bound is an *equality for every weight matrix*:

.. math:: \rho_n = \frac{\sigma^2\,P(x > 0)}{\mathrm{Var}\,\mathrm{ReLU}(x)} = C(R).

For a general activation φ the same computation gives
:math:`\mathrm{Var}(x)\,\mathbb E[\varphi'(x)^2]/\mathrm{Var}(\varphi(x))`
(:func:`activation_factor`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..activations import DROPOUT, IDENTITY, LEAKY_RELU, RELU, get_activation
from ..gaussian import (
    SQRT2,
    _out,
    as_float_array,
    check_interval,
    check_positive,
    gaussian_expectation,
    scaled_partial_moments,
)
from .relu import _pdf_accurate, standardized_relu_moments

#: Yang et al. (2019)'s per-layer growth of the gradient *norm* at R = 0: √(π/(π−1)).
YANG_RATE = math.sqrt(math.pi / (math.pi - 1.0))

#: below this R, C(R) = R² + 5/2 − 3/R² to double precision (next term O(R⁻⁴))
_ASYMPTOTIC_R = -1e6


def yang_rate() -> float:
    r"""Yang et al.'s per-layer gradient-norm growth :math:`\sqrt{\pi/(\pi-1)} = \sqrt{C(0)}`.

    C(R) is a ratio of *variances* (squared norms); the norm grows by its square root
    (Paik & Choi, Remark 2.5).
    """
    return YANG_RATE


def explosion_factor_asymptotic(R):
    r"""Asymptotic expansion of C(R) for :math:`R \to -\infty`:
    :math:`C(R) = R^2 + \tfrac52 - 3R^{-2} + O(R^{-4})`.

    Derived from :math:`C = I_0(t)/(I_2(t) - \varphi(t) I_1(t)^2)` with :math:`t = -\sqrt2 R`
    and the asymptotic series :math:`I_0 \sim t^{-1} - t^{-3} + 3t^{-5}`,
    :math:`I_2 \sim 2t^{-3} - 12t^{-5} + 90t^{-7}` (the :math:`\varphi` term is exponentially
    small); checked with sympy in the tests. So C grows like :math:`R^2`, not exponentially.
    """
    R = as_float_array(R, "R")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _out(R * R + 2.5 - 3.0 / (R * R))


def explosion_factor(R):
    r"""Per-layer explosion factor C(R) of Paik & Choi, Theorem 2.2, eq. 4.

    .. math::

        C(R) = \frac{\mathrm{erfc}(-R)}{(1+2R^2)\,\mathrm{erfc}(-R) + 2R\,e^{-R^2}/\sqrt\pi
               - \left(R\,\mathrm{erfc}(-R) + e^{-R^2}/\sqrt\pi\right)^2},
        \qquad R = \frac{\mu}{\sqrt2\,\sigma},

    which is :math:`\Phi(z)/v(z)` with :math:`z = \sqrt2 R` and :math:`v` the variance of
    :math:`\mathrm{ReLU}(z + Z)`. Evaluated without cancellation: for :math:`z \le 0`,
    :math:`C = I_0(t)/(I_2(t) - \varphi(t) I_1(t)^2)` with :math:`t = -z` (no underflow even
    at R = −1e4 where eq. 4's numerator and denominator are 0 in double precision); for
    :math:`z > 0`, :math:`C = \Phi(z)/(\mathrm{erf}(R) + \varphi(z)[I_2 - \varphi I_1^2](z))`;
    below R = −1e6 the expansion of :func:`explosion_factor_asymptotic`.

    Limits (Corollary 2.3): C(−inf) = inf, C(0) = π/(π−1), C(inf) = 1; strictly
    decreasing. Relative error below 1e-13 against mpmath at 50 digits on [−1e4, 1e4].

    Parameters
    ----------
    R : array_like, real or ±inf; NaN raises ValueError.

    >>> bool(abs(explosion_factor(0.0) - np.pi / (np.pi - 1)) < 1e-15)
    True
    """
    R = as_float_array(R, "R")
    Rb = np.atleast_1d(R).astype(float)
    out = np.empty_like(Rb)
    z = SQRT2 * Rb
    left = (z <= 0) & (Rb >= _ASYMPTOTIC_R)
    right = z > 0
    far = Rb < _ASYMPTOTIC_R
    if left.any():
        t = -z[left]
        i0, i1, i2 = (np.atleast_1d(v) for v in scaled_partial_moments(t))
        phi = _pdf_accurate(t)
        out[left] = i0 / (i2 - phi * i1 * i1)
    if right.any():
        _, v = standardized_relu_moments(z[right])
        out[right] = 0.5 * special.erfc(-Rb[right]) / np.atleast_1d(v)
    if far.any():
        out[far] = np.atleast_1d(explosion_factor_asymptotic(Rb[far]))
    out[Rb == -np.inf] = np.inf
    return _out(out.reshape(np.shape(R)))


# --------------------------------------------------------------------------- activations
def _leaky_factor(a: float, z: np.ndarray) -> np.ndarray:
    r"""Closed form for leaky ReLU :math:`\varphi(x) = \max(x, a x)`, standardized z = μ/σ:

    .. math:: \frac{\Phi(z) + a^2 Q(z)}{a^2 + (1-a)^2 v(z) + 2a(1-a)\Phi(z)},

    using :math:`\varphi(Y) = aY + (1-a)\mathrm{ReLU}(Y)` and Stein's lemma
    :math:`\mathrm{Cov}(Y, \mathrm{ReLU}(Y)) = \sigma^2\Phi(z)`.
    """
    _, v = standardized_relu_moments(z)
    cdf = special.ndtr(z)
    sf = special.ndtr(-z)
    return (cdf + a * a * sf) / (a * a + (1 - a) ** 2 * np.asarray(v) + 2 * a * (1 - a) * cdf)


def activation_factor(activation="relu", mu=0.0, sigma=1.0, **params):
    r"""Per-layer gradient explosion factor of BN + activation φ (Paik & Choi, Fig. 1 right).

    .. math:: F_\varphi(\mu, \sigma) = \frac{\mathrm{Var}(x)\,\mathbb E[\varphi'(x)^2]}
                                        {\mathrm{Var}(\varphi(x))},\qquad x \sim N(\mu, \sigma^2),

    the generalisation of Theorem 2.2's ratio (same derivation, with the ReLU mask replaced
    by :math:`\varphi'`). Closed forms: ReLU gives :math:`C(\mu/(\sqrt2\sigma))`; leaky ReLU
    with slope a gives :func:`_leaky_factor` (a = 0 is ReLU, a = 1 the identity); identity
    gives 1; dropout with keep probability p (:math:`\varphi(x) = m x`) gives
    :math:`\sigma^2/(\sigma^2 + (1-p)\mu^2)`, which is 1 at μ = 0. ELU, GELU, SiLU, tanh and
    softplus use adaptive quadrature split at the kinks (relative accuracy ~1e-12), with
    :math:`\mathrm{Var}\,\varphi` computed around :math:`\varphi(\mu)` to limit cancellation.

    Parameters
    ----------
    activation : name in :data:`gradexp.ACTIVATION_NAMES` or an Activation.
    mu, sigma : mean and standard deviation of the pre-activation (sigma > 0).
    **params : activation parameter (``slope``, ``alpha``, ``keep_prob``).
    """
    act = get_activation(activation, **params)
    mu = as_float_array(mu, "mu", allow_inf=False)
    sigma = check_positive(sigma, "sigma")
    mu_b, sig_b = np.broadcast_arrays(mu, sigma)
    z = mu_b / sig_b
    if act.code == RELU:
        return explosion_factor(z / SQRT2)
    if act.code == LEAKY_RELU:
        return _out(_leaky_factor(act.param, np.asarray(z, dtype=float)))
    if act.code == IDENTITY:
        return _out(np.ones_like(z, dtype=float))
    if act.code == DROPOUT:
        p = act.param
        return _out(sig_b**2 / (sig_b**2 + (1.0 - p) * mu_b**2))
    out = np.empty(np.shape(z))
    kinks = act.kinks
    for idx in np.ndindex(out.shape):
        m, s = float(mu_b[idx]), float(sig_b[idx])
        f0 = float(act.value(m))
        d2 = gaussian_expectation(lambda x: float(act.deriv(x)) ** 2, m, s, breakpoints=kinks)
        e1 = gaussian_expectation(lambda x: float(act.value(x)) - f0, m, s, breakpoints=kinks)
        e2 = gaussian_expectation(lambda x: (float(act.value(x)) - f0) ** 2, m, s, breakpoints=kinks)
        out[idx] = s * s * d2 / (e2 - e1 * e1)
    return _out(out)


# --------------------------------------------------------------------------- correlations
def _sin_minus_theta_cos(theta: np.ndarray) -> np.ndarray:
    r""":math:`\sin\theta - \theta\cos\theta`, with its Taylor series
    :math:`\sum_{k\ge1} (-1)^{k+1}\,2k\,\theta^{2k+1}/(2k+1)!` below θ = 0.1 (no cancellation)."""
    small = theta < 0.1
    th = np.where(small, theta, 0.0)
    series = np.zeros_like(theta)
    term_pow = th**3
    fact = 6.0  # (2k+1)! for k = 1
    for k in range(1, 9):
        series += (-1) ** (k + 1) * 2 * k * term_pow / fact
        term_pow = term_pow * th * th
        fact *= (2 * k + 2) * (2 * k + 3)
    direct = np.sin(theta) - theta * np.cos(theta)
    return np.where(small, series, direct)


def correlated_explosion_factor(rho):
    r"""Per-layer factor for equicorrelated ReLU inputs, infinite width and batch.

    Setting (Theorem 2.2's ratio): inputs :math:`x_i \sim N(0, 1)` with common pairwise
    correlation ρ across units, i.i.d. Gaussian weights, the upstream gradient independent
    of the inputs, BN backward with batch statistics held constant (as in the paper's
    proofs), width :math:`d \to \infty`.

    Derivation. Let :math:`v = \mathrm{Var}\,\mathrm{ReLU}(x) = \tfrac12 - \tfrac1{2\pi}` and
    :math:`c = \mathrm{Cov}(\mathrm{ReLU}(x_i), \mathrm{ReLU}(x_k)) = \kappa(\rho) - \tfrac1{2\pi}`,
    with the arc-cosine kernel :math:`\kappa` (:func:`gradexp.gaussian.relu_kernel`). Then
    :math:`\hat\sigma_j^2 = (v - c)\sum_i W_{ij}^2 + c\,(\sum_i W_{ij})^2` and
    :math:`\mathrm{Var}(g_i) = \tfrac12 \sum_j \mathrm{Var}(g_j)\,W_{ij}^2/\hat\sigma_j^2`, so

    .. math:: \rho_n = \frac{1}{2 d_{out}} \sum_j \frac{\sum_i W_{ij}^2}{\hat\sigma_j^2}
              \;\to\; \tfrac12\,\mathbb E\!\left[\frac{1}{a + c Z^2}\right]
              = \frac{1}{2a}\sqrt{\frac{\pi}{2k}}\;\mathrm{erfcx}\!\left(\frac1{\sqrt{2k}}\right),

    with :math:`a = v - c = \tfrac12 - \kappa(\rho)`, :math:`k = c/a`, because
    :math:`(\sum_i W_{ij})^2/\sum_i W_{ij}^2 \to Z^2`, :math:`Z \sim N(0,1)`, does *not*
    concentrate. ρ = 0 gives π/(π−1) (Theorem 2.2 at R = 0); the factor increases with ρ and
    diverges like :math:`\tfrac12\sqrt{\pi/(2ac)}` as ρ → 1 (where :math:`a \to 0`):
    correlation between activations does not offset the explosion in this setting.

    :math:`a` is evaluated as :math:`[2\pi\sin^2(\theta/2) - (\sin\theta - \theta\cos\theta)]/(2\pi)`,
    :math:`\theta = \arccos\rho`, accurate as ρ → 1.

    Parameters
    ----------
    rho : array_like in [0, 1]; ρ = 1 returns inf.
    """
    rho = check_interval(rho, "rho", 0.0, 1.0)
    r = np.atleast_1d(rho).astype(float)
    s = np.sqrt((1.0 - r) * (1.0 + r))
    theta = np.arctan2(s, r)
    a = (2 * np.pi * np.sin(theta / 2) ** 2 - _sin_minus_theta_cos(theta)) / (2 * np.pi)
    v = 0.5 - 0.5 / np.pi
    c = v - a
    out = np.empty_like(r)
    zero = c <= 0
    out[zero] = 0.5 / v
    nz = ~zero & (a > 0)
    k = c[nz] / a[nz]
    u = 1.0 / np.sqrt(2.0 * k)
    out[nz] = 0.5 / a[nz] * np.sqrt(np.pi) * u * special.erfcx(u)
    out[a <= 0] = np.inf
    return _out(out.reshape(np.shape(rho)))


def perfectly_correlated_bound() -> float:
    r"""π/(π+1): Theorem 2.8 of Paik & Choi (later version, eq. 6), *as stated*.

    The paper claims :math:`\pi/(1+\pi) \le \mathbb E_w[\rho_n]` for perfectly correlated
    inputs :math:`x = b\,t`, with equality as :math:`d_n \to \infty`. gradexp's ledger finds
    the statement false: the appendix sets :math:`\mathbb E[\hat\mu(P+N)] = 0` although
    :math:`\hat\mu = (P+N)/\sqrt{2\pi}`; corrected, the same Jensen argument gives
    π/(π−1) (:func:`jensen_corrected_perfectly_correlated_bound`), and the expectation itself
    is infinite (see ``gradexp.claims.paik_choi``).
    """
    return math.pi / (math.pi + 1.0)


def perfectly_correlated_bound_earlier() -> float:
    """π/(2+π): Theorem 2.4 of the earlier version (``001``), as stated there."""
    return math.pi / (math.pi + 2.0)


def jensen_corrected_perfectly_correlated_bound() -> float:
    r"""π/(π−1): the lower bound Theorem 2.8's proof gives once
    :math:`\mathbb E[\hat\mu(P+N)] = \mathbb E(P+N)^2/\sqrt{2\pi}` is used, since then
    :math:`\mathbb E\hat\sigma_j^2 = \sigma_w^2\,(\tfrac12 - \tfrac1{2\pi})\sum_i t_i^2`, the
    same as for independent inputs."""
    return math.pi / (math.pi - 1.0)


# --------------------------------------------------------------------------- Theorem 2.4
def _check_width(d, name):
    d = as_float_array(d, name, allow_inf=False)
    if (d < 1).any() or (d != np.round(d)).any():
        raise ValueError(f"{name} must be a positive integer")
    return d


def theorem_2_4_probability(d_in, d_out, delta):
    r"""Probability bound of Paik & Choi, Theorem 2.4:
    :math:`1 - d_{n+1}\exp(-\tfrac{d_n}{2}(\delta - 1 - \ln\delta))`, for 0 < δ < 1.

    A union bound over the :math:`d_{n+1}` output units of the Chernoff bound
    :math:`P(\chi^2_{d_n} < d_n\delta) \le \exp(-\tfrac{d_n}{2}(\delta - 1 - \ln\delta))`
    (Appendix A.4, eq. 25). May be negative (vacuous) for small widths.
    """
    d_in = _check_width(d_in, "d_in")
    d_out = _check_width(d_out, "d_out")
    delta = check_interval(delta, "delta", 0.0, 1.0, closed=(False, False))
    return _out(1.0 - d_out * np.exp(-0.5 * d_in * (delta - 1.0 - np.log(delta))))


def theorem_2_4_upper_factor(d_in, delta, mu_w=0.0, sigma_w=1.0, *, corrected=False):
    r"""Upper factor of Theorem 2.4: :math:`1 + 2(1 + m)(1 + 2m)/(d_n^3\delta^3)`,
    :math:`m = \mu_w^2/\sigma_w^2` (eq. 5), so that :math:`\rho_n \le C(R)\times` this.

    ``corrected=True`` returns what the sharpened Jensen inequality of Appendix A.4
    actually gives, :math:`1 + 2(1+m)(1+2m)/(d_n\delta^3)`: with
    :math:`S = \sum_i W_{ij}^2`, :math:`\mathrm{Var}\,S = 2 d_n\sigma_w^4(1 + 2m)` and
    :math:`\sup_{S \ge d_n\delta\sigma_w^2} (1/S)'' / 2 = (d_n\delta\sigma_w^2)^{-3}`, so the
    excess over :math:`1/\mathbb E S` is of relative order :math:`1/d_n`, not :math:`1/d_n^3`
    (indeed :math:`\mathbb E[1/\chi^2_d]\,d = d/(d-2)`).
    """
    d_in = _check_width(d_in, "d_in")
    delta = check_interval(delta, "delta", 0.0, 1.0, closed=(False, False))
    mu_w = as_float_array(mu_w, "mu_w", allow_inf=False)
    sigma_w = check_positive(sigma_w, "sigma_w")
    m = mu_w**2 / sigma_w**2
    power = 1 if corrected else 3
    return _out(1.0 + 2.0 * (1 + m) * (1 + 2 * m) / (d_in**power * delta**3))
