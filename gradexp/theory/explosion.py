r"""The per-layer gradient explosion factor of BatchNorm + activation layers.

Paik & Choi (``paik-choi-v2``, Theorem 2.2, eq. 4) consider the layer
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

from .._validate import as_float_array, check_int_array, check_interval, check_positive
from ..activations import ACTIVATION_NAMES, DROPOUT, IDENTITY, LEAKY_RELU, RELU, get_activation
from ..gaussian import SQRT2, _out, gaussian_expectation, ldexp, scaled_partial_moments
from .relu import _pdf_accurate, standardized_relu_moments

__all__ = [
    "QUADRATURE_ACTIVATIONS", "YANG_RATE", "activation_factor", "correlated_explosion_factor", "explosion_factor",
    "explosion_factor_asymptotic", "jensen_corrected_perfectly_correlated_bound",
    "perfectly_correlated_bound", "perfectly_correlated_bound_earlier", "theorem_2_4_probability",
    "theorem_2_4_upper_factor",
]

#: Yang et al. (2019)'s per-layer growth of the gradient *norm* at R = 0:
#: :math:`\sqrt{\pi/(\pi-1)} = \sqrt{C(0)}` (C is a ratio of variances; Paik & Choi, Remark 2.5).
YANG_RATE = math.sqrt(math.pi / (math.pi - 1.0))

#: below this R, C(R) = R² + 5/2 − 3/R² to double precision (next term O(R⁻⁴))
_ASYMPTOTIC_R = -1e6

#: the quadrature-based activations (ELU, GELU, SiLU, tanh, softplus) are evaluated, and
#: tested against mpmath, for ``|mu|`` <= QUAD_MU_MAX and QUAD_SIGMA_RANGE[0] <= sigma <= [1]
QUAD_MU_MAX = 5.0
QUAD_SIGMA_RANGE = (1e-2, 1e2)

#: activations with a closed-form factor; the others (from the registry) use quadrature
CLOSED_FORM_CODES = (RELU, LEAKY_RELU, IDENTITY, DROPOUT)
QUADRATURE_ACTIVATIONS = tuple(n for n in ACTIVATION_NAMES if get_activation(n).code not in CLOSED_FORM_CODES)


def explosion_factor_asymptotic(R):
    r"""Asymptotic expansion of C(R) for :math:`R \to -\infty`:
    :math:`C(R) = R^2 + \tfrac52 - 3R^{-2} + O(R^{-4})`.

    Derived from :math:`C = I_0(t)/(I_2(t) - \varphi(t) I_1(t)^2)` with :math:`t = -\sqrt2 R`
    and the asymptotic series :math:`I_0 \sim t^{-1} - t^{-3} + 3t^{-5}`,
    :math:`I_2 \sim 2t^{-3} - 12t^{-5} + 90t^{-7}` (the :math:`\varphi` term is exponentially
    small); checked with sympy in the tests. So C grows like :math:`R^2`, not exponentially.

    Defined for every real R (the expansion itself, not C: −inf at R = 0, +inf at ±inf and
    where :math:`R^2` overflows); :math:`3/R^2` is formed as :math:`(3/R)/R` so that it
    overflows only where the true value does.

    References
    ----------
    Paik & Choi [paik-choi-v2], Theorem 2.2, eq. 4 and Corollary 2.3 (C(R) → ∞ as R → −∞);
    the expansion is derived in gradexp (checked with sympy in ``tests/test_explosion.py``).

    Examples
    --------
    The expansion agrees with :func:`explosion_factor` to the order it claims, O(R⁻⁴):

    >>> R = -50.0
    >>> bool(abs(explosion_factor_asymptotic(R) - explosion_factor(R)) < 20 / R**4)
    True
    """
    R = as_float_array(R, "R")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = (3.0 / R) / R
        out = np.where(np.isinf(R), np.inf, R * R + 2.5 - inv)
    return _out(out)


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
    decreasing. Domain: every real R, ±inf included; for R < −1.3e154 the true value
    exceeds the largest double and the result is inf; for R > 6 it rounds to 1.0. Measured
    relative errors against mpmath (eq. 4 literally, with the working precision grown to
    cover its cancellation) over the whole double range are in the accuracy table of the docs
    (``docs/accuracy.md``, made by ``python dev.py regen accuracy``).

    Parameters
    ----------
    R : array_like, real or ±inf; NaN raises ValueError, None TypeError.

    References
    ----------
    Paik & Choi [paik-choi-v2], Theorem 2.2, eq. 4; Corollary 2.3 (limits); Appendix,
    eq. 20 (R = μ/(√2σ)).

    Examples
    --------
    C(0) = π/(π−1) (Corollary 2.3), and C is the ratio Φ(z)/Var ReLU(z + Z), z = √2 R:

    >>> bool(abs(explosion_factor(0.0) - np.pi / (np.pi - 1)) < 1e-15)
    True
    >>> from gradexp import relu_moments
    >>> from gradexp.gaussian import norm_cdf
    >>> z = 0.8
    >>> bool(abs(explosion_factor(z / np.sqrt(2)) / (norm_cdf(z) / relu_moments(z)[1]) - 1) < 1e-14)
    True
    """
    R = as_float_array(R, "R")
    Rb = np.atleast_1d(R).astype(float)
    out = np.empty_like(Rb)
    with np.errstate(over="ignore"):
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
    r"""Closed form for leaky ReLU :math:`\varphi(x) = \max(x, a x)`, standardized z = μ/σ,
    :math:`-1 \le a \le 1`:

    .. math:: \frac{\Phi(z) + a^2 Q(z)}{a^2 + (1-a)^2 v(z) + 2a(1-a)\Phi(z)},

    from :math:`\varphi(Y) = aY + (1-a)\mathrm{ReLU}(Y)` and Stein's lemma
    :math:`\mathrm{Cov}(Y, \mathrm{ReLU}(Y)) = \sigma^2\Phi(z)` (positive terms for a ≥ 0).
    For z > 0 as written; for z ≤ 0 with :math:`\Phi(z) = \varphi(t) I_0(t)`,
    :math:`v(z) = \varphi(t)[I_2 - \varphi I_1^2](t)`, t = −z, and numerator and denominator
    divided by :math:`\max(\varphi(t), a^2)` in mantissa–exponent form, so that neither
    underflows to 0/0 as z → −∞.
    """
    from ..gaussian import ldexp, pdf_frexp

    z = np.atleast_1d(np.asarray(z, dtype=float))
    out = np.empty_like(z)
    pos = z > 0
    if pos.any():
        zp = z[pos]
        _, v = standardized_relu_moments(zp)
        cdf, sf = special.ndtr(zp), special.ndtr(-zp)
        out[pos] = (cdf + a * a * sf) / (a * a + (1 - a) ** 2 * np.atleast_1d(v) + 2 * a * (1 - a) * cdf)
    neg = ~pos
    if neg.any():
        t = -z[neg]
        i0, i1, i2 = (np.atleast_1d(v) for v in scaled_partial_moments(t))
        m, j = pdf_frexp(t)
        phi = ldexp(m, -j)
        sf = special.ndtr(t)
        ma, ea = np.frexp(a)
        ep = np.where(m > 0, -j, -100000)
        k = np.maximum(ep, 2 * ea)
        P = ldexp(m, ep - k)            # phi(t) / 2**k
        Q = ldexp(ma * ma, 2 * ea - k)  # a**2 / 2**k
        with np.errstate(invalid="ignore", over="ignore"):
            num = P * np.where(np.isinf(t), 0.0, i0) + Q * sf
            bracket = (1 - a) ** 2 * (i2 - phi * i1 * i1) + 2 * a * (1 - a) * i0
            den = Q + P * np.where(np.isinf(t), 0.0, bracket)
        out[neg] = num / den
    return out


def activation_factor(activation="relu", mu=0.0, sigma=1.0, **params):
    r"""Per-layer gradient explosion factor of BN + activation φ (Paik & Choi, Fig. 1 right).

    .. math:: F_\varphi(\mu, \sigma) = \frac{\mathrm{Var}(x)\,\mathbb E[\varphi'(x)^2]}
                                        {\mathrm{Var}(\varphi(x))},\qquad x \sim N(\mu, \sigma^2),

    the generalisation of Theorem 2.2's ratio (same derivation, with the ReLU mask replaced
    by :math:`\varphi'`). Closed forms: ReLU gives :math:`C(\mu/(\sqrt2\sigma))`; leaky ReLU
    with slope a gives ``_leaky_factor`` (a = 0 is ReLU, a = 1 the identity); identity
    gives 1; dropout with keep probability p (:math:`\varphi(x) = m x`) gives
    :math:`\sigma^2/(\sigma^2 + (1-p)\mu^2)`, which is 1 at μ = 0. ELU, GELU, SiLU, tanh and
    softplus use adaptive quadrature split at the kinks (relative accuracy ~1e-10, tested against
    mpmath), with :math:`\mathrm{Var}\,\varphi` computed around :math:`\varphi(\mu)` and
    divided by σ inside the integrand, so that nothing falls below QUADPACK's absolute
    tolerance.

    Domain: ReLU, leaky ReLU, identity and dropout take every finite μ and every finite
    σ > 0 (results are the correctly rounded values or limits: for ReLU :math:`C(\mu/(\sqrt2\sigma))`,
    which is inf where it overflows; dropout tends to 0 as :math:`|\mu|/\sigma \to \infty`).
    The quadrature-based activations are evaluated for :math:`|\mu| \le` :data:`QUAD_MU_MAX`
    and σ in :data:`QUAD_SIGMA_RANGE` only (outside, a ValueError naming the argument: their
    saturating tails need asymptotic forms gradexp does not have yet).

    Parameters
    ----------
    activation : name in :data:`gradexp.ACTIVATION_NAMES` or an Activation.
    mu, sigma : mean and standard deviation of the pre-activation (sigma > 0).
    **params : activation parameter (``slope``, ``alpha``, ``keep_prob``).

    References
    ----------
    Paik & Choi [paik-choi-v2], Theorem 2.2 and its proof (Appendix A.2) with the ReLU mask
    replaced by φ'; Figure 1 (right) for the activations compared.

    Examples
    --------
    Leaky ReLU with slope 0 is ReLU, with slope 1 the identity:

    >>> bool(activation_factor("leaky_relu", 0.3, 2.0, slope=0.0) == activation_factor("relu", 0.3, 2.0))
    True
    >>> bool(abs(activation_factor("leaky_relu", 0.3, 2.0, slope=1.0) - 1.0) < 1e-15)
    True
    """
    act = get_activation(activation, **params)
    mu = as_float_array(mu, "mu", allow_inf=False)
    sigma = check_positive(sigma, "sigma")
    mu_b, sig_b = np.broadcast_arrays(mu, sigma)
    with np.errstate(over="ignore", under="ignore"):
        z = mu_b / sig_b  # overflows to ±inf only where |mu|/sigma does
    if act.code == RELU or (act.code == LEAKY_RELU and act.param == 0.0):
        with np.errstate(under="ignore"):
            return explosion_factor(z / SQRT2)
    if act.code == LEAKY_RELU:  # slope in [-1, 1]: activations.PARAM_DOMAINS, checked by get_activation
        return _out(_leaky_factor(act.param, z).reshape(np.shape(z)))
    if act.code == IDENTITY:
        return _out(np.ones_like(z, dtype=float))
    if act.code == DROPOUT:
        p = act.param
        # sigma^2 / (sigma^2 + (1-p) mu^2), written in z so that nothing overflows
        with np.errstate(over="ignore", under="ignore"):
            return _out(1.0 / (1.0 + (1.0 - p) * (z * z)))
    if (np.abs(mu_b) > QUAD_MU_MAX).any():
        raise ValueError(f"mu must satisfy |mu| <= {QUAD_MU_MAX} for activation {act.name!r} "
                         f"(quadrature domain), got {mu_b[np.abs(mu_b) > QUAD_MU_MAX].ravel()[0]!r}")
    lo, hi = QUAD_SIGMA_RANGE
    bad = (sig_b < lo) | (sig_b > hi)
    if bad.any():
        raise ValueError(f"sigma must lie in [{lo}, {hi}] for activation {act.name!r} "
                         f"(quadrature domain), got {sig_b[bad].ravel()[0]!r}")
    out = np.empty(np.shape(z))
    for idx in np.ndindex(out.shape):
        m, s = float(mu_b[idx]), float(sig_b[idx])
        f0 = float(act.value(m))
        d2 = gaussian_expectation(lambda x: float(act.deriv(x)) ** 2, m, s, breakpoints=act.kinks)
        e1 = gaussian_expectation(lambda x: (float(act.value(x)) - f0) / s, m, s, breakpoints=act.kinks)
        e2 = gaussian_expectation(lambda x: ((float(act.value(x)) - f0) / s) ** 2, m, s, breakpoints=act.kinks)
        out[idx] = d2 / (e2 - e1 * e1)
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

    Domain: every ρ in [0, 1] (subnormal ρ included); ρ = 1 returns inf.

    Parameters
    ----------
    rho : array_like in [0, 1]; ρ = 1 returns inf.

    References
    ----------
    Paik & Choi [paik-choi-v2], Theorem 2.2's ratio (eq. 4's setting) with correlated inputs;
    Cho & Saul (2009), arc-cosine kernel of degree 1. Derived in gradexp.

    Examples
    --------
    At ρ = 0 the inputs are independent and the factor is C(0) (Theorem 2.2):

    >>> bool(abs(correlated_explosion_factor(0.0) - explosion_factor(0.0)) < 1e-15)
    True
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

    References
    ----------
    Paik & Choi (paik-choi-v2, later version), Theorem 2.8, eq. 6 and its appendix proof.

    >>> bool(perfectly_correlated_bound() < 1 < jensen_corrected_perfectly_correlated_bound())
    True
    """
    return math.pi / (math.pi + 1.0)


def perfectly_correlated_bound_earlier() -> float:
    """π/(2+π): Theorem 2.4 of the earlier version (``001``), as stated there.

    References
    ----------
    Paik & Choi, earlier version [paik-choi-v1], Theorem 2.4.
    """
    return math.pi / (math.pi + 2.0)


def jensen_corrected_perfectly_correlated_bound() -> float:
    r"""π/(π−1): the lower bound Theorem 2.8's proof gives once
    :math:`\mathbb E[\hat\mu(P+N)] = \mathbb E(P+N)^2/\sqrt{2\pi}` is used, since then
    :math:`\mathbb E\hat\sigma_j^2 = \sigma_w^2\,(\tfrac12 - \tfrac1{2\pi})\sum_i t_i^2`, the
    same as for independent inputs.

    References
    ----------
    Paik & Choi [paik-choi-v2], Theorem 2.8 (eq. 6) and its proof; the correction is gradexp's.

    >>> jensen_corrected_perfectly_correlated_bound() == explosion_factor(0.0)
    True
    """
    return math.pi / (math.pi - 1.0)


# --------------------------------------------------------------------------- Theorem 2.4
def _chernoff_exponent(delta: np.ndarray) -> np.ndarray:
    r""":math:`\delta - 1 - \ln\delta \ge 0` without cancellation near δ = 1: with
    :math:`u = \delta - 1` (exact for δ ≥ 1/2), :math:`u - \ln(1+u) = \sum_{k\ge2}(-1)^k u^k/k`
    for :math:`|u| < 0.2` (40 terms, truncation below 1e-28 relative)."""
    u = delta - 1.0
    small = np.abs(u) < 0.2
    us = np.where(small, u, 0.0)
    ser = np.zeros_like(us)
    for k in range(41, 1, -1):
        ser = ser * us + (-1.0) ** k / k
    ser = ser * us * us
    with np.errstate(divide="ignore"):
        direct = u - np.log(delta)
    return np.where(small, ser, direct)


def theorem_2_4_probability(d_in, d_out, delta):
    r"""Probability bound of Paik & Choi, Theorem 2.4:
    :math:`1 - d_{n+1}\exp(-\tfrac{d_n}{2}(\delta - 1 - \ln\delta))`, for 0 < δ < 1.

    A union bound over the :math:`d_{n+1}` output units of the Chernoff bound
    :math:`P(\chi^2_{d_n} < d_n\delta) \le \exp(-\tfrac{d_n}{2}(\delta - 1 - \ln\delta))`
    (Appendix A.4, eq. 25). May be negative (vacuous) for small widths, down to −inf where
    :math:`d_{n+1}e^{-\dots}` overflows. Domain: integer widths ≥ 1 (any size), 0 < δ < 1.
    :math:`\delta - 1 - \ln\delta` is summed as a series near δ = 1, and
    :math:`d_{n+1}e^{-x}` is formed as :math:`(d_{n+1}e^{-x/2})e^{-x/2}` so that it does not
    underflow before the product does.

    References
    ----------
    Paik & Choi [paik-choi-v2], Theorem 2.4 and Appendix A.4, eq. 25.

    Examples
    --------
    The bound increases with the input width towards 1:

    >>> bool(theorem_2_4_probability(50, 10, 0.5) < theorem_2_4_probability(100, 10, 0.5) < 1)
    True
    """
    d_in = check_int_array(d_in, "d_in", lo=1)
    d_out = check_int_array(d_out, "d_out", lo=1)
    delta = check_interval(delta, "delta", 0.0, 1.0, closed=(False, False))
    with np.errstate(over="ignore", under="ignore"):
        x = 0.5 * d_in * _chernoff_exponent(delta)
        half = np.exp(-0.5 * x)
        return _out(1.0 - (d_out * half) * half)


def _frexp_parts(x):
    m, e = np.frexp(np.asarray(x, dtype=float))
    return m, e.astype(np.int64)


def _one_plus(m, e):
    """1 + m 2**e (m 2**e >= 0) as (mantissa, exponent), for any e."""
    big = e > 60  # 1 + y rounds to y within 2**-60
    tiny = e < -60  # 1 + y rounds to 1 within 2**-60 (relative error below half an ulp of 1)
    mid = ~big & ~tiny
    y = 1.0 + ldexp(m, np.where(mid, e, 0))
    mm, ee = _frexp_parts(y)
    return np.where(big, m, np.where(tiny, 0.5, mm)), np.where(big, e, np.where(tiny, 1, ee))


def theorem_2_4_upper_factor(d_in, delta, mu_w=0.0, sigma_w=1.0, *, corrected=False):
    r"""Upper factor of Theorem 2.4: :math:`1 + 2(1 + m)(1 + 2m)/(d_n^3\delta^3)`,
    :math:`m = \mu_w^2/\sigma_w^2` (eq. 5), so that :math:`\rho_n \le C(R)\times` this.

    ``corrected=True`` returns what the sharpened Jensen inequality of Appendix A.4
    actually gives, :math:`1 + 2(1+m)(1+2m)/(d_n\delta^3)`: with
    :math:`S = \sum_i W_{ij}^2`, :math:`\mathrm{Var}\,S = 2 d_n\sigma_w^4(1 + 2m)` and
    :math:`\sup_{S \ge d_n\delta\sigma_w^2} (1/S)'' / 2 = (d_n\delta\sigma_w^2)^{-3}`, so the
    excess over :math:`1/\mathbb E S` is of relative order :math:`1/d_n`, not :math:`1/d_n^3`
    (indeed :math:`\mathbb E[1/\chi^2_d]\,d = d/(d-2)`).

    Domain: integer :math:`d_n \ge 1`, 0 < δ < 1, finite :math:`\mu_w`, finite
    :math:`\sigma_w > 0`. The product is formed on mantissas and exponents separately, so
    the result is right (to a few ulp) wherever it is a double, and inf where it overflows.

    References
    ----------
    Paik & Choi [paik-choi-v2], Theorem 2.4, eq. 5 and Appendix A.4.

    Examples
    --------
    >>> f = theorem_2_4_upper_factor(100, 0.5)
    >>> bool(abs(f - (1 + 2 / (100**3 * 0.5**3))) < 1e-15)
    True
    """
    d_in = check_int_array(d_in, "d_in", lo=1)
    delta = check_interval(delta, "delta", 0.0, 1.0, closed=(False, False))
    mu_w = as_float_array(mu_w, "mu_w", allow_inf=False)
    sigma_w = check_positive(sigma_w, "sigma_w")
    power = 1 if corrected else 3
    mm, em = _frexp_parts(np.abs(mu_w))
    ms, es = _frexp_parts(sigma_w)
    rm, er = _frexp_parts(mm / ms)
    er = er + em - es  # |mu_w|/sigma_w = rm 2**er
    m1, e1 = _one_plus(rm * rm, 2 * er)  # 1 + m
    m2, e2 = _one_plus(rm * rm, 2 * er + 1)  # 1 + 2m
    zero = mm == 0
    m1, e1 = np.where(zero, 0.5, m1), np.where(zero, 1, e1)
    m2, e2 = np.where(zero, 0.5, m2), np.where(zero, 1, e2)
    md, ed = _frexp_parts(d_in)
    mdl, edl = _frexp_parts(delta)
    num = m1 * m2
    den = md**power * mdl**3
    term = ldexp(2.0 * num / den, e1 + e2 - power * ed - 3 * edl)
    return _out(1.0 + term)
