"""Reference values for the claims, computed independently of gradexp's implementations
(mpmath at high precision, literal formulas of the papers). Tests use ``tests/oracles.py``
instead; nothing here is imported by the package outside :mod:`gradexp.claims`.

References
----------
Paik & Choi (``paik-choi-v2``), Prop. 2.1 (eqs. 1-2) and Thm 2.2 (eq. 4).
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath as mp


def mp_relu_moments(mu, sigma, dps=60):
    """Prop. 2.1 evaluated literally in mpmath (cancellation is harmless at 60 digits for |z| <= 40):
    mean = mu Phi(z) + sigma phi(z), var = (sigma^2 + mu^2) Phi(z) + mu sigma phi(z) - mean^2, z = mu/sigma."""
    with mp.workdps(dps):
        mu, sigma = mp.mpf(mu), mp.mpf(sigma)
        z = mu / sigma
        cdf, pdf = mp.ncdf(z), mp.npdf(z)
        mean = mu * cdf + sigma * pdf
        var = (sigma**2 + mu**2) * cdf + mu * sigma * pdf - mean**2
        return mean, var


def mp_explosion_factor(R, dps=None):
    """Eq. 4 literally in mpmath, C(R) = erfc(-R) / ((1 + 2R^2) erfc(-R) + 2R e^{-R^2}/sqrt(pi)
    - (R erfc(-R) + e^{-R^2}/sqrt(pi))^2); the working precision grows with |R| to cover the
    cancellation."""
    R = mp.mpf(R)
    dps = dps or max(mp.mp.dps + 30, int(50 + 8 * math.log10(abs(float(R)) + 1)))
    with mp.workdps(dps):
        erfc = mp.erfc(-R)
        e = mp.exp(-R * R) / mp.sqrt(mp.pi)
        return erfc / ((1 + 2 * R * R) * erfc + 2 * R * e - (R * erfc + e) ** 2)


_MP_ACTIVATIONS = {
    "relu": (lambda x: x if x > 0 else mp.mpf(0), lambda x: 1 if x > 0 else 0),
    "leaky_relu": (lambda x: x if x > 0 else mp.mpf("0.01") * x, lambda x: 1 if x > 0 else mp.mpf("0.01")),
    "elu": (lambda x: x if x > 0 else mp.expm1(x), lambda x: 1 if x > 0 else mp.exp(x)),
    "gelu": (lambda x: x * mp.ncdf(x), lambda x: mp.ncdf(x) + x * mp.npdf(x)),
    "silu": (lambda x: x / (1 + mp.exp(-x)),
             lambda x: 1 / (1 + mp.exp(-x)) + x * mp.exp(-x) / (1 + mp.exp(-x)) ** 2),
    "softplus": (lambda x: mp.log1p(mp.exp(x)), lambda x: 1 / (1 + mp.exp(-x))),
    "tanh": (mp.tanh, lambda x: 1 - mp.tanh(x) ** 2),
}


@lru_cache(maxsize=None)
def mp_activation_factor(name: str, mu: float = 0.0, dps: int = 18) -> float:
    """Var(x) E[phi'(x)^2] / Var(phi(x)) for x ~ N(mu, 1) by mpmath quadrature (split at the kink
    at 0); leaky ReLU with slope 0.01, ELU with alpha 1."""
    phi, dphi = _MP_ACTIVATIONS[name]
    with mp.workdps(dps):
        mu = mp.mpf(mu)

        def E(g):
            return mp.quad(lambda x: g(x) * mp.npdf(x - mu), [-mp.inf, 0, mp.inf])

        m1, m2 = E(phi), E(lambda x: phi(x) ** 2)
        return float(E(lambda x: dphi(x) ** 2) / (m2 - m1**2))
