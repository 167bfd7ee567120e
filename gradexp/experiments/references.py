"""Independent references: the papers' formulas evaluated literally in mpmath.

Each reference evaluates a paper's formula as printed, at a working precision chosen to cover the
formula's own cancellation, and imports nothing from the rest of :mod:`gradexp` (so a bug in the
package cannot leak into the reference it is checked against). The ledger's checks
(:mod:`gradexp.claims`) and the test suite (``tests/oracles.py`` re-exports this module) use the
same functions: one recipe per reference.

References
----------
Paik & Choi (``paik-choi-v2``), Prop. 2.1 (eqs. 1-2), Thm 2.2 (eq. 4).
Bjorck, Gomes & Selman (``bjorck-gomes-selman``), Thm 1 and Appendix D (eqs. 9-10): the
Fuss-Catalan law of products of Gaussian matrices, and exact moments of such products.
Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz (2019), *A Mean Field Theory of Batch
Normalization*, Thm 8: the finite-batch gradient factor of a BN-ReLU chain (here as a direct
2-D quadrature over the pair density of two coordinates of a uniform vector on the sphere).
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np


# --------------------------------------------------------------------------- Paik & Choi
def _digits_for(x, per_decade=8, base=50):
    x = abs(float(x))
    return int(base + per_decade * math.log10(x + 1.0)) if math.isfinite(x) else base


def _mp_erfc(x):
    """erfc at the working precision; beyond |x| = 1e6 as Gamma(1/2, x^2)/sqrt(pi) (mpmath's erfc
    overflows internally near 1e155)."""
    if abs(x) <= 10**6:
        return mp.erfc(x)
    g = mp.gammainc(mp.mpf(1) / 2, x * x) / mp.sqrt(mp.pi)  # erfc(|x|)
    return g if x > 0 else 2 - g


def mp_relu_moments(mu, sigma, dps=None):
    """Prop. 2.1 (eqs. 1-2) literally: mean = mu Phi(z) + sigma phi(z),
    var = (sigma^2 + mu^2) Phi(z) + mu sigma phi(z) - mean^2, z = mu/sigma.

    The cancellation of both lines grows like a power of abs(z) (mean ~ sigma phi/z^2 for
    z -> -inf, var ~ sigma^2 phi/z^3 against terms of size z^2 sigma^2 phi/abs(z)): the working
    precision grows by 8 digits per decade of abs(z) (60 digits at abs(z) <= 1).
    """
    mu, sigma = mp.mpf(mu), mp.mpf(sigma)
    dps = dps or max(mp.mp.dps + 30, _digits_for(mu / sigma, base=60))
    with mp.workdps(dps):
        z = mu / sigma
        cdf, pdf = _mp_erfc(-z / mp.sqrt(2)) / 2, mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)
        mean = mu * cdf + sigma * pdf
        var = (sigma**2 + mu**2) * cdf + mu * sigma * pdf - mean**2
        return +mean, +var


def mp_explosion_factor(R, dps=None):
    """Eq. 4 of Paik & Choi literally; the precision grows with abs(R) to cover the cancellation."""
    R = mp.mpf(R)
    dps = dps or max(mp.mp.dps + 30, _digits_for(R))
    with mp.workdps(dps):
        erfc = _mp_erfc(-R)
        e = mp.exp(-R * R) / mp.sqrt(mp.pi)
        return +(erfc / ((1 + 2 * R * R) * erfc + 2 * R * e - (R * erfc + e) ** 2))


_ACTIVATION_NAMES = ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "softplus")


def mp_activation_factor(name, mu=0.0, s=1.0, dps=30):
    """Var(x) E[phi'(x)^2] / Var(phi(x)), x ~ N(mu, s^2), by mpmath quadrature at ``dps`` digits of the
    definition (Paik & Choi, Thm 2.2's ratio with the ReLU mask replaced by phi'), split at 0 and at
    the kink; Var(phi) around phi(mu) and divided by s, like the closed form's own scaling.
    Leaky ReLU has slope 0.01, ELU alpha = 1."""
    if name not in _ACTIVATION_NAMES:
        raise ValueError(f"name must be one of {_ACTIVATION_NAMES}, got {name!r}")
    acts = {
        "relu": (lambda x: x if x > 0 else mp.mpf(0), lambda x: 1 if x > 0 else 0),
        "leaky_relu": (lambda x: x if x > 0 else mp.mpf("0.01") * x, lambda x: 1 if x > 0 else mp.mpf("0.01")),
        "elu": (lambda x: x if x > 0 else mp.expm1(x), lambda x: 1 if x > 0 else mp.exp(x)),
        "gelu": (lambda x: x * mp.ncdf(x), lambda x: mp.ncdf(x) + x * mp.npdf(x)),
        "silu": (lambda x: x / (1 + mp.exp(-x)), lambda x: (1 + mp.exp(-x) + x * mp.exp(-x)) / (1 + mp.exp(-x)) ** 2),
        "tanh": (mp.tanh, lambda x: 1 / mp.cosh(x) ** 2),
        "softplus": (lambda x: mp.log1p(mp.exp(x)), lambda x: 1 / (1 + mp.exp(-x))),
    }
    f, d = acts[name]
    with mp.workdps(dps):
        mu, s = mp.mpf(mu), mp.mpf(s)
        f0 = f(mu)
        pts = sorted({-mp.inf, mp.mpf(0), -mu / s, mp.inf}, key=float)

        def E(h):
            return mp.quad(lambda z: h(mu + s * z) * mp.npdf(z), pts)

        d2 = E(lambda x: d(x) ** 2)
        e1 = E(lambda x: (f(x) - f0) / s)
        e2 = E(lambda x: ((f(x) - f0) / s) ** 2)
        return d2 / (e2 - e1**2)


# --------------------------------------------------------------------------- Fuss-Catalan
def _mp_edge(M):
    return mp.mpf(M + 1) ** (M + 1) / mp.mpf(M) ** M


def mp_fc_x_phi(phi, M):
    """Eq. 9 literally: x(phi) = sin^{M+1}((M+1)phi) / (sin(phi) sin^M(M phi))."""
    phi = mp.mpf(phi)
    return mp.sin((M + 1) * phi) ** (M + 1) / (mp.sin(phi) * mp.sin(M * phi) ** M)


def mp_fc_x_eps(eps, M):
    """Eq. 9 at phi = pi/(M+1) - eps (sin((M+1)phi) = sin((M+1)eps) exactly)."""
    a = mp.pi / (M + 1)
    return mp.sin((M + 1) * eps) ** (M + 1) / (mp.sin(a - eps) * mp.sin(a + M * eps) ** M)


def mp_fc_solve(x, M, dps=60):
    """(phi, eps) with x(phi) = x and phi + eps = pi/(M+1), by bisection in log space."""
    with mp.workdps(dps):
        x = mp.mpf(x)
        a = mp.pi / (M + 1)
        small = x < _mp_edge(M) / 2
        if small:
            def f(t):
                return mp.log(mp_fc_x_eps(mp.exp(t), M) / x)  # increasing in t
            lo, hi = mp.log(mp.mpf(10) ** -400), mp.log(a)
        else:
            def f(t):
                return -mp.log(mp_fc_x_phi(mp.exp(t), M) / x)  # increasing in t
            lo, hi = mp.log(mp.mpf(10) ** -100), mp.log(a)
        for _ in range(int(3.4 * dps) + 20):  # bisection of a monotone function: cannot fail
            mid = (lo + hi) / 2
            if f(mid) > 0:
                hi = mid
            else:
                lo = mid
        u = mp.exp((lo + hi) / 2)
        return (a - u, u) if small else (u, a - u)


def mp_fc_pdf(x, M, dps=60):
    """Eq. 10 literally at x(phi) = x."""
    with mp.workdps(dps):
        phi, eps = mp_fc_solve(x, M, dps)
        return mp.sin((M + 1) * eps) * mp.sin(phi) / mp.sin(M * phi) / (mp.pi * mp.mpf(x))


def _mp_g(t, M):
    """rho(x(t)) |dx/dt| by the chain rule (no closed-form CDF used)."""
    h = mp.sin((M + 1) * t) * mp.sin(t) / mp.sin(M * t) / mp.pi
    return -h * ((M + 1) ** 2 * mp.cot((M + 1) * t) - mp.cot(t) - M**2 * mp.cot(M * t))


def _mp_g_eps(e, M):
    a = mp.pi / (M + 1)
    s1, s2, s3 = mp.sin((M + 1) * e), mp.sin(a - e), mp.sin(a + M * e)
    h = s1 * s2 / s3 / mp.pi
    return h * ((M + 1) ** 2 * mp.cot((M + 1) * e) + mp.cot(a - e) - M**2 * mp.cot(a + M * e))


def mp_fc_cdf(x, M, dps=40):
    """F(x) = integral of rho dx along eq. 9, by quadrature in eps (rescaled to [0, 1])."""
    with mp.workdps(dps):
        _, eps = mp_fc_solve(x, M, dps + 10)
        return eps * mp.quad(lambda u: _mp_g_eps(eps * u, M), [0, 1])


def mp_fc_sf(x, M, dps=40):
    """1 - F(x) by quadrature in phi over [0, phi(x)]."""
    with mp.workdps(dps):
        phi, _ = mp_fc_solve(x, M, dps + 10)
        return phi * mp.quad(lambda u: _mp_g(phi * u, M), [0, 1])


def mp_fc_moment(k, M, dps=30):
    """int x^k rho(x) dx over the parametrisation (eqs. 9-10), by quadrature in phi."""
    with mp.workdps(dps):
        a = mp.pi / (M + 1)
        return mp.quad(lambda t: mp_fc_x_phi(t, M) ** k * _mp_g(t, M), [0, a / 2, a])


# --------------------------------------------------------------------------- matrix products
def mp_product_singular_values(factors, dps):
    """Singular values (descending, mpf) of W_M ... W_1 computed in mpmath at ``dps`` digits."""
    with mp.workdps(dps):
        P = mp.eye(factors[0].shape[0])
        for W in factors:
            P = mp.matrix(np.asarray(W).tolist()) * P
        return sorted(mp.svd_r(P, compute_uv=False), reverse=True)


def exact_m2(M: int, N: int) -> float:
    """E N^-1 tr (P^T P)^2 for P a product of M real Gaussian N x N factors of entry variance 1/N.

    Exact recursion on (a, b) = (E tr(P^T P)^2, E (tr P^T P)^2) over one more factor W:
    Wick's theorem for the Gaussian W gives a' = (1 + 1/N) a + b/N and b' = b + 2a/N.
    """
    a, b = float(N), float(N) ** 2
    for _ in range(M):
        a, b = (1 + 1 / N) * a + b / N, b + 2 * a / N
    return a / N


# --------------------------------------------------------------------------- finite batch
def mp_relu_finite_batch_factor(B, dps=15, rho_override=None):
    r"""(full, simplified) finite-batch gradient factor of a BN-ReLU chain at infinite width,
    by direct 2-D mpmath quadrature over the density of two coordinates (y1, y2) of one unit's BN
    output, sqrt(B - 1) times a uniform point of the unit sphere orthogonal to 1 (correlation
    rho = -1/(B-1); ``rho_override`` replaces it).

    With moments over that pair, D2 = P(y1 > 0), O = P(y1 > 0, y2 > 0), A2 = E[y1^2; y1 > 0],
    K = E[y1 y2; y1, y2 > 0] and alpha = A2 - K: full = ((B-1) D2 + O - A2 + K)/(alpha (B-3)),
    simplified = B D2/(alpha (B-3)) (Yang et al. 2019, Thm 8; the sphere moments written out
    here, not gradexp's Gaussian-kernel closed form).
    """
    if int(B) != B or B < 4:
        raise ValueError(f"B must be an integer >= 4, got {B}")
    with mp.workdps(dps):
        rho = -mp.mpf(1) / (B - 1) if rho_override is None else mp.mpf(rho_override)
        c = mp.sqrt(1 - rho ** 2)
        sB = mp.sqrt(B - 1)
        # r = sin(chi): r (1 - r^2)^((B-5)/2) dr = sin(chi) cos^(B-4)(chi) dchi, smooth on
        # [0, pi/2]; in r the weight has an endpoint singularity (1 - r)^(-1/2) at B = 4, which
        # tanh-sinh at 15 digits resolves to only ~4e-10 (the reference, not the closed form, erred).
        # The chi integrand is analytic on each sector, so mpmath's Gauss-Legendre (degree raised
        # until its error estimate is below the working precision) converges geometrically.
        m = B - 4
        t0 = mp.atan2(-rho, c)
        cuts = sorted(float(x) % (2 * math.pi) for x in (math.pi / 2, -math.pi / 2, float(t0),
                                                          float(t0) + math.pi))
        cuts = [mp.mpf(x) for x in cuts] + [mp.mpf(cuts[0]) + 2 * mp.pi]

        def integral(g):
            tot = 0
            for lo, hi in itertools.pairwise(cuts):
                mid = (lo + hi) / 2
                y1m, y2m = mp.cos(mid), rho * mp.cos(mid) + c * mp.sin(mid)
                p1, p2 = y1m > 0, y2m > 0  # the sector's sign pattern (ReLU is 0 or linear there)
                tot += mp.quad(lambda x, t, p1=p1, p2=p2: g(sB * mp.sin(x) * mp.cos(t),
                                                            sB * mp.sin(x) * (rho * mp.cos(t) + c * mp.sin(t)),
                                                            p1, p2)
                               * mp.sin(x) * mp.cos(x) ** m, [0, mp.pi / 2], [lo, hi],
                               method="gauss-legendre")
            return tot

        norm = integral(lambda y1, y2, p1, p2: 1)
        D2 = integral(lambda y1, y2, p1, p2: 1 if p1 else 0) / norm
        O = integral(lambda y1, y2, p1, p2: 1 if (p1 and p2) else 0) / norm
        A2 = integral(lambda y1, y2, p1, p2: y1 * y1 if p1 else 0) / norm
        K = integral(lambda y1, y2, p1, p2: y1 * y2 if (p1 and p2) else 0) / norm
        alpha = A2 - K
        full = ((B - 1) * D2 + O - A2 + K) / (alpha * (B - 3))
        simp = B * D2 / (alpha * (B - 3))
        return float(full), float(simp)
