r"""Quadrature rules of the normalizers' theory: the sphere (one coordinate, a pair with shifted
kinks) and the radius (inverse moments of χ², for ε > 0).

Everything here is deterministic and cached; accuracy is tested against mpmath in
``tests/test_normalizers.py``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

__all__ = ["coordinate_rule", "shifted_pair_rule", "radial_moments", "radial_nodes"]

#: nodes per panel of the one-coordinate rule and of the outer (χ) and inner (ψ) pair rules
_N_LINE = 40
_N_CHI = 40
_N_PSI = 40
#: the sphere weights cos^m χ are cut where they fall below exp(-_TAIL)
_TAIL = 60.0


# ============================================================================ sphere rules
def _cut(m: float) -> float:
    """Half-width of the angle range where cos^m χ >= exp(-_TAIL)."""
    return math.pi / 2 if m <= _TAIL / 700.0 else min(math.pi / 2, math.acos(math.exp(-_TAIL / m)))


def _panels(lo: float, hi: float, breaks, n_split: int) -> list[float]:
    pts = {lo, hi, *np.linspace(lo, hi, n_split + 1)[1:-1]}
    pts |= {b for b in breaks if lo < b < hi}
    return sorted(pts)


def coordinate_rule(n: float, breaks_y: tuple = (), n_node: int = _N_LINE):
    r"""Rule for one coordinate :math:`y_1 = \sqrt n\,t` of :math:`\sqrt N` times a uniform unit
    vector of an n-dimensional subspace (density of t :math:`\propto (1-t^2)^{(n-3)/2}`).

    With :math:`t = \sin\chi` the weight is :math:`\cos^{n-2}\chi\,d\chi`, smooth, so
    Gauss–Legendre panels (8 equal panels, plus a cut at every point of ``breaks_y``, the kinks
    of the integrand in y) converge geometrically; χ is cut where :math:`\cos^{n-2}\chi < e^{-60}`.
    Returns ``(y, w)``, weights summing to 1. n ≥ 2.

    References
    ----------
    Yang et al., ICLR 2019 (the BSB1 fixed point: the normalized vector is uniform on a
    sphere); the rule is gradexp's.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2 for the coordinate rule, got {n}")
    return _coordinate_rule(float(n), tuple(float(b) for b in breaks_y), int(n_node))


@functools.lru_cache(maxsize=512)
def _coordinate_rule(n: float, breaks_y: tuple, n_node: int):
    m = n - 2.0
    cmax = _cut(m)
    rn = math.sqrt(n)
    breaks = [math.asin(b / rn) for b in breaks_y if abs(b) < rn * math.sin(cmax)]
    edges = _panels(-cmax, cmax, breaks, 8)
    xg, wg = np.polynomial.legendre.leggauss(n_node)
    chi, wc = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        chi.append(a + 0.5 * (b - a) * (xg + 1.0))
        wc.append(0.5 * (b - a) * wg)
    chi, wc = np.concatenate(chi), np.concatenate(wc)
    sc = np.sin(chi)
    w = wc * np.exp(0.5 * m * np.log1p(-sc * sc))
    w /= w.sum()
    y = rn * sc
    for a in (y, w):
        a.setflags(write=False)
    return y, w


def shifted_pair_rule(batch: int, breaks_y: tuple = (), n_chi: int = _N_CHI, n_psi: int = _N_PSI):
    r"""Rule for a pair :math:`(y_1, y_2)` of BN outputs at the symmetric fixed point, exact
    across the kink lines :math:`y_1 = k`, :math:`y_2 = k` for k in ``breaks_y``.

    Conditional form: :math:`y_1 = \sqrt{B-1}\sin\chi` (weight :math:`\cos^{B-3}\chi`) and,
    given :math:`y_1`, the remaining B − 1 coordinates are uniform on a sphere of dimension
    B − 2, so :math:`y_2 = -y_1/(B-1) + \sqrt{B(B-2)/(B-1)}\,\cos\chi\,\sin\psi` (weight
    :math:`\cos^{B-4}\psi`). The inner ψ range is split where :math:`y_2 = k`; the outer χ
    range where :math:`y_1 = k` and where that curve touches ψ = ±π/2, i.e.
    :math:`\sin(\chi \mp \delta) = -k/\sqrt{B-1}` with :math:`\cos\delta = 1/(B-1)`. There the
    inner integral behaves like a half-integer power of the distance, so every outer panel is
    mapped by the smoothstep :math:`3u^2 - 2u^3`, which makes it analytic. Unlike
    :func:`gradexp.theory.finite_size.sphere_pair_rule` (split along rays through 0), this rule
    handles kinks off the origin: φ(y + s) with a shift. Returns ``(y1, y2, w)``; B ≥ 4.

    References
    ----------
    Yang et al., ICLR 2019 (the BSB1 fixed point); the rule is gradexp's.
    """
    B = int(batch)
    if B < 4:
        raise ValueError(f"batch must be >= 4 for the pair rule, got {batch}")
    return _shifted_pair_rule(B, tuple(float(b) for b in breaks_y), int(n_chi), int(n_psi))


@functools.lru_cache(maxsize=512)
def _shifted_pair_rule(B: int, breaks_y: tuple, n_chi: int, n_psi: int):
    m1, m2 = B - 3.0, B - 4.0
    cmax, pmax = _cut(m1), _cut(m2)
    rb = math.sqrt(B - 1.0)
    kk = math.sqrt(B * (B - 2.0) / (B - 1.0))
    delta = math.acos(1.0 / (B - 1.0))
    breaks = []
    for k in breaks_y:
        r = k / rb
        if abs(r) < 1:
            a = math.asin(r)
            breaks.append(a)
            for sgn in (1.0, -1.0):  # sin(χ ∓ δ) = −k/√(B−1)
                for t in (-a, math.pi + a, -math.pi + a):
                    breaks.append(sgn * delta + t)
    edges = _panels(-cmax, cmax, breaks, 4)
    u, wu = np.polynomial.legendre.leggauss(n_chi)
    u, wu = 0.5 * (u + 1.0), 0.5 * wu
    S, dS = u * u * (3.0 - 2.0 * u), 6.0 * u * (1.0 - u)
    chi, wc = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        chi.append(a + (b - a) * S)
        wc.append((b - a) * dS * wu)
    chi, wc = np.concatenate(chi), np.concatenate(wc)
    sc, cc = np.sin(chi), np.cos(chi)
    with np.errstate(divide="ignore"):
        wc = wc * np.exp(0.5 * m1 * np.log1p(-sc * sc))
    y1 = rb * sc
    mid = -sc / rb
    rad = kk * cc
    # inner split at y2 = k (one kink at most is supported per pair: the activations' kinks)
    if breaks_y:
        with np.errstate(divide="ignore", invalid="ignore"):
            arg = (breaks_y[0] - mid) / rad
        psic = np.arcsin(np.clip(np.nan_to_num(arg, nan=2.0, posinf=2.0, neginf=-2.0), -1.0, 1.0))
        psic = np.clip(psic, -pmax, pmax)
    else:
        psic = np.zeros_like(chi)
    xg, wg = np.polynomial.legendre.leggauss(n_psi)
    lo = np.concatenate([np.full_like(psic, -pmax)[:, None], psic[:, None]], axis=1)
    hi = np.concatenate([psic[:, None], np.full_like(psic, pmax)[:, None]], axis=1)
    half = 0.5 * (hi - lo)  # (nchi, 2)
    psi = lo[:, :, None] + half[:, :, None] * (xg + 1.0)[None, None, :]
    wpsi = half[:, :, None] * wg[None, None, :]
    sp = np.sin(psi)
    if m2 > 0:
        with np.errstate(divide="ignore"):
            wpsi = wpsi * np.exp(0.5 * m2 * np.log1p(-sp * sp))
    y2 = mid[:, None, None] + rad[:, None, None] * sp
    w = wc[:, None, None] * wpsi
    w = (w / w.sum()).ravel()
    y1 = np.broadcast_to(y1[:, None, None], y2.shape).ravel().copy()
    y2 = y2.ravel()
    for a in (y1, y2, w):
        a.setflags(write=False)
    return y1, y2, w


# ============================================================================ ε: radial part
def _stirling_remainder(h: float) -> float:
    """lgamma(h) − (h log h − h − ½ log(h/2π)), by its series for h ≥ 20."""
    if h < 20.0:
        return float(special.gammaln(h)) - (h * math.log(h) - h - 0.5 * math.log(h / (2 * math.pi)))
    r = 1.0 / h
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 / 1680)))


#: integrands of the radial expectations, f(X, c), with the power k of their bound X^{-k}
_RADIAL = {
    "inv1": (lambda x, c: 1.0 / (x + c), 1),
    "inv3": (lambda x, c: (x + c) ** -3, 3),
    "xi2": (lambda x, c: x / (x + c), 0),
    "beta": (lambda x, c: x * (x + 2 * c) / (x + c) ** 3, 1),
}


def _chi2_expect(n: float, c: float, kind: str) -> float:
    r""":math:`\mathbb E f(X)`, X ~ χ²_n, for the integrands of ``_RADIAL`` (c ≥ 0).

    Trapezoid rule in z = log(X/n): the integrands are analytic in the strip Im z ∈ (−π, π) (the
    pole X = −c lies on Im z = π), so the rule converges like :math:`e^{-2\pi^2/h}`; the step
    also resolves the peak of width √(2/n). The log-density
    :math:`\tfrac n2(z - \mathrm{expm1}\,z) + \tfrac12\log\frac{n}{4\pi} - r(\tfrac n2)` (r
    the Stirling remainder) has no cancellation at large n. Range: where the integrand is above
    e^{-45} of its bound. Infinite when c = 0 and the bound :math:`X^{-k}` is not integrable.
    """
    f, k = _RADIAL[kind]
    if c == 0.0 and 0.5 * n <= k:
        return math.inf
    x, w = radial_nodes(n, c, k)
    return float(np.sum(w * f(x, c)))


def radial_nodes(n: float, c: float, k: int, h_max: float = 0.25, tail: float = 45.0,
                 h_sig: float = 6.0):
    r"""Nodes X and weights of a trapezoid rule for :math:`\mathbb E f(X)`, X ~ χ²_n, in z = log(X/n).

    For integrands analytic in the strip :math:`|\mathrm{Im}\,z| < \pi` (poles at X = −c) and
    bounded by a multiple of :math:`(X + c)^{-k}`; step :math:`\min(h_{max}, \sqrt{2/n}/h_{sig})`
    (error about
    :math:`e^{-2\pi^2/h}`), range where the integrand exceeds :math:`e^{-tail}` of its bound.
    The log-density :math:`\tfrac n2(z - \mathrm{expm1}\,z) + \tfrac12\log\frac{n}{4\pi} - r(\tfrac n2)`
    (r the Stirling remainder) has no cancellation at large n.

    References
    ----------
    Trefethen & Weideman, "The exponentially convergent trapezoidal rule", SIAM Review 56 (2014).
    """
    hn = 0.5 * n
    sig = math.sqrt(1.0 / hn)
    h = min(h_max, sig / h_sig)
    if hn > k:
        lo = -12.0 * sig - tail / (hn - k)
    else:
        lo = min(0.0, math.log(c / n)) - 12.0 - tail / hn
    t = 3.0 * math.sqrt(60.0 / hn) + 180.0 / hn + 1.0
    z = np.arange(lo, math.log1p(t) + h, h)
    logp = hn * (z - np.expm1(z)) + 0.5 * math.log(hn / (2 * math.pi)) - _stirling_remainder(hn)
    return n * np.exp(z), h * np.exp(logp)


def radial_moments(n, u, eps) -> tuple:
    r"""Radial expectations of the normalization with ε at pre-norm scale u = v/N.

    With :math:`\hat\sigma_0^2 = uX`, X ~ χ²_n, :math:`\sigma^2 = \hat\sigma_0^2 + \varepsilon`
    and :math:`\xi^2 = \hat\sigma_0^2/\sigma^2` (the output is ξ√N times a uniform unit vector),
    returns :math:`(R_1, R_\beta, \Xi) = (\mathbb E[1/\sigma^2],\ \mathbb E[\xi^2(2-\xi^2)/\sigma^2],\
    \mathbb E\xi^2)`; with c = ε/u these are :math:`\mathbb E[1/(X+c)]/u`,
    :math:`\mathbb E[X(X+2c)/(X+c)^3]/u` and :math:`\mathbb E[X/(X+c)]`, each integrated as
    written (no difference of nearly equal terms for ε ≫ u). u = 0 (collapsed signal) gives
    :math:`(1/\varepsilon, 0, 0)`; ε = 0 gives :math:`(1/(u(n-2)), 1/(u(n-2)), 1)`.

    References
    ----------
    Derived in gradexp (docs/theory/normalizers.md); the ε of BatchNorm as in Ioffe & Szegedy
    (2015) and Yang et al., ICLR 2019.
    """
    if eps == 0.0:
        r = math.inf if n <= 2 else 1.0 / (u * (n - 2.0))
        return r, r, 1.0
    if u == 0.0:
        return 1.0 / eps, 0.0, 0.0
    c = eps / u
    return (_chi2_expect(n, c, "inv1") / u, _chi2_expect(n, c, "beta") / u,
            _chi2_expect(n, c, "xi2"))
