r"""The factor of every normalizer: moments, forward fixed point with ε, factor, expansion.

The derivation is in the docstring of :mod:`gradexp.theory.normalizers` and on the docs page
``docs/theory/normalizers.md``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from ..._validate import as_float_array, check_choice, check_real
from ...activations import DROPOUT, RELU, Activation, get_activation
from ...gaussian import gaussian_expectation, scaled_partial_moments
from ..explosion import activation_factor
from ..finite_size import _closed_moments, _homogeneous_slope, finite_batch_expansion, finite_batch_factor
from .rules import coordinate_rule, radial_moments, radial_nodes, shifted_pair_rule

__all__ = ["NORMS", "BACKWARDS", "WEIGHT_VAR", "normalizer_factor", "normalizer_moments",
           "normalizer_expansion", "forward_fixed_point"]

NORMS = ("batch", "group", "rms")
BACKWARDS = ("full", "frozen")
#: weight variance σ_w² (times 1/fan_in) of the Gaussian linear layers: He scaling
WEIGHT_VAR = 2.0
#: nodes per panel of the pair rule inside the radial average (ε > 0, any φ and shift)
_N_GENERAL = 28


# ============================================================================ validation
#: above this size the two-term expansion λ∞ + c1/N replaces the exact rules (ε = 0)
LARGE_SIZE = 1e8


def _as_sizes(size) -> np.ndarray:
    """Sizes as a float array: integers >= 2 or +inf; ValueError/TypeError naming ``size``."""
    if isinstance(size, (bool, np.bool_, str)) or (isinstance(size, np.ndarray) and size.dtype.kind not in "iuf"):
        raise TypeError(f"size must be an integer >= 2 or inf (or an array of them), got {size!r}")
    a = as_float_array(size, "size")
    fin = np.isfinite(a)
    if np.any(a[fin] != np.floor(a[fin])) or np.any(a == -np.inf):
        raise ValueError(f"size must be an integer >= 2 or inf, got {size!r}")
    if np.any(a < 2):
        raise ValueError(f"size must be >= 2 (one sample or one unit cannot be normalized), got {size!r}")
    return a


def _dims(norm: str, N):
    """(n, kappa): the sphere dimension n and the frozen-backward excess of the inverse chi²."""
    return (N - 1.0, 3.0) if norm in ("batch", "group") else (N * 1.0, 2.0)


def _closed(act: Activation, shift: float) -> bool:
    """Moments in closed form: homogeneous activations at s = 0, dropout and identity at any s."""
    if act.code == DROPOUT:
        return True
    a = _homogeneous_slope(act)
    return a is not None and (shift == 0.0 or a == 1.0)


# ============================================================================ moments
def _kink_breaks(act: Activation, shift: float) -> tuple:
    return tuple(float(k - shift) for k in act.kinks)


@functools.lru_cache(maxsize=4096)
def _line_moments(act: Activation, n: float, shift: float) -> tuple:
    y, w = coordinate_rule(n, _kink_breaks(act, shift))
    f, d = act.value(y + shift), act.deriv(y + shift)
    return float(w @ (d * d)), float(w @ (y * y * d * d)), float(w @ (f * f))


@functools.lru_cache(maxsize=4096)
def _pair_moments(act: Activation, B: int, shift: float) -> tuple:
    y1, y2, w = shifted_pair_rule(B, _kink_breaks(act, shift))
    f1, f2 = act.value(y1 + shift), act.value(y2 + shift)
    d1, d2 = act.deriv(y1 + shift), act.deriv(y2 + shift)
    c1, c2 = f1 - f1 @ w, f2 - f2 @ w
    return (float(w @ (d1 * d1)), float(w @ (d1 * d2)), float(w @ (y1 * y1 * d1 * d1)),
            float(w @ (y1 * d1 * y2 * d2)), float(w @ (f1 * f1)), float(w @ (f1 * f2)),
            float(w @ (c1 * c1) - w @ (c1 * c2)))


def _closed_line(act: Activation, shift: float) -> tuple:
    """(D2, A2, E2) in closed form: homogeneous at s = 0; dropout and identity at any s."""
    if act.code == DROPOUT:
        p = act.param
        return p, p, p * (1.0 + shift * shift)
    a = _homogeneous_slope(act)
    h = 0.5 * (1.0 + a * a)
    if a == 1.0:
        return 1.0, 1.0, 1.0 + shift * shift
    return h, h, h


def _closed_pair(act: Activation, B: np.ndarray, shift: float) -> dict:
    """BN pair moments in closed form: homogeneous at s = 0, dropout and identity at any s."""
    mom = _closed_moments(act, B)
    if shift != 0.0:
        rho = -1.0 / (B - 1.0)
        p = act.param if act.code == DROPOUT else 1.0
        s2 = shift * shift
        mom["E2"] = p * (1.0 + s2) * np.ones_like(B)
        mom["K"] = p * p * (rho + s2)
    mom = {k: np.asarray(v, dtype=float) * np.ones_like(B) for k, v in mom.items()}
    mom["alpha"] = mom["E2"] - mom["K"]
    return mom


def normalizer_moments(norm, size, activation="relu", *, shift=0.0, **params) -> dict:
    r"""Sphere moments of the normalized output y (shifted by s inside φ) at the fixed point.

    ``"group"``/``"rms"``: ``D2`` = E φ'(y₁+s)², ``A2`` = E y₁²φ'(y₁+s)², ``E2`` = E φ(y₁+s)²
    (one coordinate of :math:`\sqrt G` times a uniform unit vector of :math:`\mathbf 1^\perp`,
    resp. of :math:`\mathbb R^G`). ``"batch"`` adds the pair moments ``O``, ``A12``, ``K`` and
    ``alpha`` = E2 − K of :func:`gradexp.theory.finite_size.finite_batch_moments`. Closed forms
    for homogeneous activations at s = 0 and for the identity and dropout at every s;
    otherwise :func:`~gradexp.theory.normalizers.rules.coordinate_rule` /
    :func:`~gradexp.theory.normalizers.rules.shifted_pair_rule` (finite sizes ≥ 4 for
    ``"batch"`` and ``"group"``, ≥ 3 for ``"rms"``). Size inf gives the Gaussian values.

    References
    ----------
    Yang et al., ICLR 2019 (BSB1 fixed point); Paik & Choi [paik-choi-v2], Thm 2.2.
    """
    check_choice(norm, "norm", NORMS)
    act = get_activation(activation, **params)
    s = check_real(shift, "shift")
    N = np.atleast_1d(_as_sizes(size)).ravel()
    keys = ("D2", "A2", "E2") if norm != "batch" else ("D2", "O", "A2", "A12", "E2", "K", "alpha")
    out = {k: np.full(N.shape, np.nan) for k in keys}
    fin = np.isfinite(N)
    n, _ = _dims(norm, N)
    closed = _closed(act, s)
    if norm == "batch":
        if closed:
            mom = _closed_pair(act, np.where(fin, N, 4.0), s)
            for k in keys:
                out[k][:] = mom[k]
        else:
            if np.any(fin & (N < 4)):
                raise ValueError(f"size must be >= 4 for the batch moments of {act.name!r} "
                                 f"(the pair density is singular below), got {size!r}")
            for i in np.flatnonzero(fin):
                for k, v in zip(keys, _pair_moments(act, int(N[i]), s)):
                    out[k][i] = v
    else:
        if closed:
            for k, v in zip(keys, _closed_line(act, s)):
                out[k][:] = v
        else:
            if np.any(fin & (n < 3)):
                raise ValueError(f"size must be >= {4 if norm == 'group' else 3} for the "
                                 f"{norm} moments of {act.name!r}, got {size!r}")
            for i in np.flatnonzero(fin):
                for k, v in zip(keys, _line_moments(act, float(n[i]), s)):
                    out[k][i] = v
    if np.any(~fin):
        g = _gaussian_moments(act, s)
        for k in keys:
            out[k][~fin] = g[k]
    shape = np.shape(size)
    return {k: v.reshape(shape) for k, v in out.items()}


@functools.lru_cache(maxsize=256)
def _gaussian_basis(act: Activation, shift: float) -> dict:
    """One-dimensional Gaussian expectations of φ(g + s), g ~ N(0, 1), for the limits and 1/N terms."""
    if act.code == DROPOUT:
        p, s = act.param, shift
        # φ = m(g + s), φ' = m, m ~ Bernoulli(p); He4 and He2 are orthogonal to 1, g, g²
        return dict(d2=p, d2h4=0.0, a2=p, dp=p, gdp=0.0, e2=p * (1 + s * s),
                    e2h4=0.0, m1=p * s, m1h4=0.0, m1h2=0.0, gm1=p)
    kinks = _kink_breaks(act, shift)

    def E(f):
        return float(gaussian_expectation(f, 0.0, 1.0, breakpoints=kinks))

    def he4(x):
        return x ** 4 - 6 * x * x + 3

    def v(x):
        return float(act.value(x + shift))

    def dv(x):
        return float(act.deriv(x + shift))

    return dict(d2=E(lambda x: dv(x) ** 2), d2h4=E(lambda x: dv(x) ** 2 * he4(x)),
                a2=E(lambda x: x * x * dv(x) ** 2), dp=E(dv), gdp=E(lambda x: x * dv(x)),
                e2=E(lambda x: v(x) ** 2), e2h4=E(lambda x: v(x) ** 2 * he4(x)), m1=E(v),
                m1h4=E(lambda x: v(x) * he4(x)), m1h2=E(lambda x: v(x) * (x * x - 1)),
                gm1=E(lambda x: x * v(x)))


def _gaussian_moments(act: Activation, shift: float) -> dict:
    if _closed(act, shift):
        # exact values at N = inf (ρ = 0): closed forms, no quadrature
        if act.code == DROPOUT:
            p, s2 = act.param, shift * shift
            return dict(D2=p, O=p * p, A2=p, A12=0.0, E2=p * (1 + s2), K=p * p * s2,
                        alpha=p * (1 + s2) - p * p * s2)
        a = _homogeneous_slope(act)
        if a == 1.0:
            return dict(D2=1.0, O=1.0, A2=1.0, A12=0.0, E2=1 + shift ** 2, K=shift ** 2, alpha=1.0)
        h = 0.5 * (1 + a * a)
        m = (1 - a) / math.sqrt(2 * math.pi)  # E φ(g)
        dp = 0.5 * (1 + a)
        gdp = (1 - a) / math.sqrt(2 * math.pi)
        return dict(D2=h, O=dp * dp, A2=h, A12=gdp * gdp, E2=h, K=m * m, alpha=h - m * m)
    g = _gaussian_basis(act, shift)
    K = g["m1"] ** 2
    return dict(D2=g["d2"], O=g["dp"] ** 2, A2=g["a2"], A12=g["gdp"] ** 2, E2=g["e2"], K=K,
                alpha=g["e2"] - K)


def forward_fixed_point(norm, size, eps, A0, weight_var=WEIGHT_VAR) -> float:
    r"""Fixed point v of the pre-normalization scale with ε (homogeneous φ at s = 0).

    The output is ξ times its ε = 0 value, so the next pre-norm scale is
    :math:`v = \sigma_w^2 A_0\,\mathbb E\xi^2(v)` with :math:`A_0` = α (batch, the batch variance
    of φ at ε = 0) or :math:`E_2` (group, rms), and :math:`\mathbb E\xi^2` from
    :func:`radial_moments` at u = v/N. The right side is increasing and concave in v with slope
    :math:`\sigma_w^2 A_0\,n/(N\varepsilon)` at 0: a positive fixed point exists, and is unique
    and stable, iff that slope exceeds 1; otherwise returns 0 (the signal dies out with depth).

    References
    ----------
    Derived in gradexp (docs/theory/normalizers.md), in the setting of Yang et al., ICLR 2019.
    """
    from scipy.optimize import brentq

    N = float(size)
    n, _ = _dims(norm, N)
    top = weight_var * A0
    if eps == 0.0:
        return top
    if top * n / (N * eps) <= 1.0:
        return 0.0

    def g(v):
        return top * radial_moments(n, v / N, eps)[2] - v

    lo = top
    for _ in range(1000):  # the slope at 0 exceeds 1, so g > 0 close enough to 0
        lo *= 0.5
        if g(lo) > 0:
            break
    else:
        return 0.0
    return float(brentq(g, lo, top, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))


# ============================================================================ the factor
def _factor_eps0(norm, N, mom, backward):
    """The ε = 0 factor for finite N >= 4 (batch, group) or >= 3 (rms), moments given."""
    D2, A2 = mom["D2"], mom["A2"]
    if norm == "batch":
        den = mom["alpha"] * (N - 3.0)
        if backward == "full":
            return ((N - 1.0) * D2 + mom["O"] - A2 + mom["A12"]) / den
        return N * D2 / den
    if norm == "group":
        den = mom["E2"] * (N - 3.0)
        return ((N - 1.0) * D2 - A2) / den if backward == "full" else N * D2 / den
    den = mom["E2"] * (N - 2.0)
    return (N * D2 - A2) / den if backward == "full" else N * D2 / den


def _factor_eps(norm, N, mom, backward, eps):
    """The factor with ε > 0 at the forward fixed point (homogeneous φ, s = 0); any N >= 2."""
    n, _ = _dims(norm, N)
    A0 = mom["alpha"] if norm == "batch" else mom["E2"]
    v = forward_fixed_point(norm, N, eps, A0)
    R1, Rb, _ = radial_moments(n, v / N, eps)
    D2, A2 = mom["D2"], mom["A2"]
    if backward == "frozen":
        return WEIGHT_VAR * R1 * D2
    if norm == "batch":
        T0 = (N - 2.0) * D2 + (D2 + (N - 1.0) * mom["O"]) / N
        T1 = (N - 1.0) / N * (A2 - mom["A12"])
        return WEIGHT_VAR / (N - 1.0) * (R1 * T0 - Rb * T1)
    if norm == "group":
        return WEIGHT_VAR / N * (R1 * (N - 1.0) * D2 - Rb * A2)
    return WEIGHT_VAR / N * (R1 * N * D2 - Rb * A2)


def _direction_moments(norm, N, act, shift, xi, forward_only=False):
    """Moments of φ(ξ y0 + s) over the unit-scale direction y0 (√N times a uniform unit vector):
    D2, A2 = E y0²φ'², E2 (and O, A12 with y0, alpha for batch); kinks at y0 = (k − s)/ξ.
    ``forward_only``: only alpha (batch) or E2 (group, rms)."""
    breaks = tuple(float((k - shift) / xi) for k in act.kinks)
    if norm == "batch":
        y1, y2, w = shifted_pair_rule(int(N), breaks, _N_GENERAL, _N_GENERAL)
        f1, f2 = act.value(xi * y1 + shift), act.value(xi * y2 + shift)
        if forward_only:
            c1, c2 = f1 - f1 @ w, f2 - f2 @ w
            return {"alpha": w @ (c1 * c1) - w @ (c1 * c2)}
        d1, d2 = act.deriv(xi * y1 + shift), act.deriv(xi * y2 + shift)
        c1, c2 = f1 - f1 @ w, f2 - f2 @ w
        return {"D2": w @ (d1 * d1), "O": w @ (d1 * d2), "A2": w @ (y1 * y1 * d1 * d1),
                "A12": w @ (y1 * d1 * y2 * d2), "alpha": w @ (c1 * c1) - w @ (c1 * c2)}
    n, _ = _dims(norm, N)
    y, w = coordinate_rule(n, breaks)
    f = act.value(xi * y + shift)
    if forward_only:
        return {"E2": w @ (f * f)}
    d = act.deriv(xi * y + shift)
    return {"D2": w @ (d * d), "A2": w @ (y * y * d * d), "E2": w @ (f * f)}


def _radial_average(norm, N, act, shift, v, eps, forward_only=False):
    """Radial nodes at pre-norm scale v: weights, 1/σ², ξ², and the direction moments per node."""
    n, _ = _dims(norm, N)
    u = v / N
    c = eps / u if u > 0 else math.inf
    if not math.isfinite(c):
        return (np.ones(1), np.array([1.0 / eps]), np.zeros(1),
                [_direction_moments(norm, N, act, shift, 1e-300, forward_only)])
    x, w = radial_nodes(n, c, 1, h_max=0.3, tail=40.0, h_sig=3.0)
    inv = 1.0 / (u * x + eps)
    xi2 = u * x * inv
    xi = np.sqrt(xi2)
    mom = [_direction_moments(norm, N, act, shift, float(t), forward_only) for t in xi]
    return w, inv, xi2, mom


def _factor_eps_general(norm, N, act, shift, eps, backward):
    r"""The factor with ε > 0 for any activation and shift (the radius does not separate).

    Forward: :math:`v = \sigma_w^2\,\mathbb E_X A(\xi)` with A = α (batch) or :math:`E_2`
    (group, rms) of φ(ξ y₀ + s); backward: the ε formulas of :func:`normalizer_factor` with the
    moments taken inside the radial expectation, e.g. group
    :math:`\frac{\sigma_w^2}{G}\mathbb E_X\big[\sigma^{-2}((G-1)D_2(\xi) - \xi^2(2-\xi^2)A_2(\xi))\big]`.
    """
    from scipy.optimize import brentq

    key = "alpha" if norm == "batch" else "E2"

    def g(v):
        w, _, _, mom = _radial_average(norm, N, act, shift, v, eps, forward_only=True)
        return WEIGHT_VAR * float(sum(wi * m[key] for wi, m in zip(w, mom))) - v

    hi = WEIGHT_VAR * max(1.0, _direction_moments(norm, N, act, shift, 1.0)[key]) * 4.0
    while g(hi) > 0:
        hi *= 4.0
    # the largest fixed point (the one reached from any larger initial scale): scan down
    lo, found = hi, False
    for _ in range(70):  # down to hi * 1.5**-70 = hi * 4.6e-13
        lo, prev = lo / 1.5, lo
        if g(lo) > 0:
            found = True
            break
    v = float(brentq(g, lo, prev, xtol=1e-300, rtol=1e-14, maxiter=300)) if found else 0.0
    w, inv, xi2, mom = _radial_average(norm, N, act, shift, v, eps)
    beta = xi2 * (2.0 - xi2)
    D2 = np.array([m["D2"] for m in mom])
    A2 = np.array([m["A2"] for m in mom])
    if backward == "frozen":
        return WEIGHT_VAR * float(np.sum(w * inv * D2))
    if norm == "batch":
        O = np.array([m["O"] for m in mom])
        A12 = np.array([m["A12"] for m in mom])
        T0 = (N - 2.0) * D2 + (D2 + (N - 1.0) * O) / N
        T1 = (N - 1.0) / N * (A2 - A12)
        return WEIGHT_VAR / (N - 1.0) * float(np.sum(w * inv * (T0 - beta * T1)))
    k = N - 1.0 if norm == "group" else N
    return WEIGHT_VAR / N * float(np.sum(w * inv * (k * D2 - beta * A2)))


def _limit(norm, act, shift):
    r"""The N → ∞ factor: BN, D2/α = activation_factor(φ, s, 1); group and rms, D2/E2.

    ReLU (group, rms) in closed form without underflow: with t = −s,
    :math:`D_2/E_2 = \Phi(s)/((1+s^2)\Phi(s) + s\varphi(s))` for s ≥ 0 and
    :math:`I_0(t)/I_2(t)` (scaled partial moments) for s < 0.
    """
    if norm == "batch":
        try:
            return float(activation_factor(act, shift, 1.0))
        except ValueError as err:
            raise ValueError(f"shift out of range at size inf: {err}") from None
    if act.code == RELU:
        if shift >= 0:
            p = float(special.ndtr(shift))
            return p / ((1 + shift * shift) * p + shift * math.exp(-0.5 * shift * shift) / math.sqrt(2 * math.pi))
        i0, _, i2 = scaled_partial_moments(-shift)
        return float(i0) / float(i2)
    g = _gaussian_moments(act, shift)
    if not g["E2"] > 0:
        raise ValueError(f"shift={shift}: phi(g + shift) vanishes in double precision, the factor is 0/0")
    return g["D2"] / g["E2"]


def _check_degenerate(out, shift):
    if np.isnan(out).any():
        raise ValueError(f"shift={shift} leaves phi(y + shift) identically zero (or constant) on the "
                         "support of the normalized output: the forward signal and the factor are 0/0")
    return out


def normalizer_factor(norm, size, activation="relu", *, shift=0.0, eps=0.0, backward="full",
                      **params):
    r"""Per-layer factor of :math:`\mathbb E\|\partial L/\partial x\|^2` for norm → φ → linear.

    Exact at infinite width, for a chain of layers ``x → norm(x) + s → φ → W·`` with Gaussian
    weights (variance :data:`WEIGHT_VAR`/fan-in, He), at the forward fixed point:

    .. math::

        \lambda^{\rm batch}_{\rm full}(B) = \frac{(B-1)D_2 + O - A_2 + A_{12}}{\alpha\,(B-3)},\qquad
        \lambda^{\rm group}_{\rm full}(G) = \frac{(G-1)D_2 - A_2}{E_2\,(G-3)},\qquad
        \lambda^{\rm rms}_{\rm full}(G) = \frac{G D_2 - A_2}{E_2\,(G-2)},

    frozen: :math:`B D_2/(\alpha(B-3))`, :math:`G D_2/(E_2(G-3))`, :math:`G D_2/(E_2(G-2))`;
    moments of φ(y + s) over the normalized output y (:func:`normalizer_moments`; derivation in
    the module docstring and on the docs page). BatchNorm at s = 0, ε = 0 is
    :func:`gradexp.finite_batch_factor` (Yang et al. 2019, Thm 8 for ReLU); as B → ∞ it tends
    to :func:`gradexp.activation_factor` (φ, μ = s, σ = 1), for ReLU Paik & Choi's
    C(R) with **R = s/√2** (eq. 4: R = μ/(√2σ), and the BN output has σ = 1). Closed forms, for
    positively homogeneous φ at s = 0 (all sizes, every ε): GN full (G − 2)/(G − 3), frozen
    G/(G − 3); RMS full (G − 1)/(G − 2), frozen G/(G − 2), whatever the slope.

    With ε > 0 the divisor is :math:`\sqrt{\hat\sigma^2 + \varepsilon}` and the factor depends on
    ε/σ_w² (with σ_w² = 2). For homogeneous φ at s = 0 the radius separates:
    :math:`\lambda = \sigma_w^2 R_1 D_2` (frozen), and e.g. for BN full
    :math:`\lambda = \frac{\sigma_w^2}{B-1}\big(R_1 T_0 - R_\beta T_1\big)`,
    :math:`T_0 = (B-2)D_2 + (D_2 + (B-1)O)/B`, :math:`T_1 = \frac{B-1}{B}(A_2 - A_{12})`,
    with :math:`R_1, R_\beta` of :func:`~gradexp.theory.normalizers.rules.radial_moments` at the
    fixed point of :func:`forward_fixed_point` (ε = 0 recovers the formulas above); ε > 0 then
    makes sizes 2 and 3 finite. For other φ or s ≠ 0 the moments are recomputed at every radius
    (``_factor_eps_general``: sizes ≥ 4, ≥ 3 for rms; the largest forward fixed point; a
    second or so per size, up to ~20 s for BatchNorm with a kinked φ and a shift).

    Parameters
    ----------
    norm : ``"batch"``, ``"group"`` (LayerNorm = one group: size = width) or ``"rms"``.
    size : batch size B (batch) or group size G (group, rms); integer ≥ 2 or ``math.inf``;
        array-like (vectorised). At ε = 0, where :math:`\mathbb E[1/\chi^2_n]` diverges
        (n = N − 1 ≤ 2 centred, n = N ≤ 2 rms) the factor is ``inf``: batch/group at
        size 3 (both backwards) and size 2 (frozen), rms at size 2. Centred at size 2 with the
        full backward it is 0 (two normalized values are ±1: the Jacobian vanishes), as
        :func:`gradexp.finite_batch_factor`.
    activation : a name of :mod:`gradexp.activations` or an Activation; ``**params`` its
        parameter (``slope``, ``alpha``, ``keep_prob``). Non-closed cases use cached Gauss rules
        (:func:`~gradexp.theory.normalizers.rules.coordinate_rule`,
        :func:`~gradexp.theory.normalizers.rules.shifted_pair_rule`), relative accuracy ≤ 1e-10.
    shift : real s added to the normalized output before φ (BatchNorm's β; also allowed for
        group/rms). Not NaN, finite.
    eps : ε ≥ 0 in the divisor, in units where σ_w² = 2 (finite; NaN refused).
    backward : ``"full"`` or ``"frozen"``.

    Returns
    -------
    float or ndarray of the shape of ``size``.

    References
    ----------
    .. [1] Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019, Thms 7–9.
    .. [2] Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Appendix A.2, eq. 16.

    Examples
    --------
    LayerNorm + ReLU barely grows; BatchNorm's factor tends to C(s/√2):

    >>> float(normalizer_factor("group", 10))              # (G − 2)/(G − 3)
    1.1428571428571428
    >>> from gradexp import explosion_factor
    >>> bool(abs(normalizer_factor("batch", math.inf, shift=0.5) - explosion_factor(0.5 / 2**0.5)) < 1e-14)
    True
    """
    check_choice(norm, "norm", NORMS)
    check_choice(backward, "backward", BACKWARDS)
    act = get_activation(activation, **params)
    s = check_real(shift, "shift")
    e = check_real(eps, "eps", lo=0.0)
    N = _as_sizes(size)
    scalar = N.ndim == 0
    N = np.atleast_1d(N)
    out = np.empty(N.shape)
    fin = np.isfinite(N)
    if np.any(~fin):
        out[~fin] = _limit(norm, act, s)
    big = fin & (N > LARGE_SIZE)
    if np.any(big):
        if e > 0.0:
            raise ValueError(f"size must be <= {LARGE_SIZE:.0e} for eps > 0 (the forward fixed point is solved "
                             f"per size), got {size!r}")
        # λ∞ + c1/N: the neglected O(N⁻²) term is below 1e-16 relative here, where the sphere
        # rules and the chi-square weights would lose everything to rounding
        lam, c1 = normalizer_expansion(norm, act, shift=s, backward=backward)
        out[big] = lam + c1 / N[big]
        fin = fin & ~big
        if not np.any(fin):
            out = _check_degenerate(out, s)
            return float(out[0]) if scalar else out.reshape(np.shape(size))
    if e == 0.0:
        n, _ = _dims(norm, N)
        if norm == "batch" and s == 0.0 and np.any(fin):
            out[fin] = finite_batch_factor(N[fin], act,
                                           bn_backward="full" if backward == "full" else "simplified")
            return float(out[0]) if scalar else out.reshape(np.shape(size))
        small = fin & (n <= 2)
        if backward == "full" and norm != "rms":
            out[fin & (N == 2)] = 0.0
            out[fin & (N == 3)] = np.inf
        else:
            out[small] = np.inf
        ok = fin & ~small
        if np.any(ok):
            mom = normalizer_moments(norm, N[ok], act, shift=s)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[ok] = _check_degenerate(_factor_eps0(norm, N[ok], mom, backward), s)
    else:
        idx = np.flatnonzero(fin)
        if idx.size:
            if _closed(act, s) and (s == 0.0 or act.code == DROPOUT):
                mom = normalizer_moments(norm, N[idx], act, shift=s)
                for j, i in enumerate(idx):
                    m = {k: float(v[j]) for k, v in mom.items()}
                    out[i] = _factor_eps(norm, float(N[i]), m, backward, e)
            else:
                small = (N[idx] < 4) if norm == "batch" else (_dims(norm, N[idx])[0] < 3)
                if np.any(small):
                    raise ValueError(f"size must be >= {4 if norm != 'rms' else 3} for eps > 0 with "
                                     f"activation {act.name!r} and shift {s} (sphere rules), got {size!r}")
                for i in idx:
                    out[i] = _factor_eps_general(norm, float(N[i]), act, s, e, backward)
        # at N = ∞ the pre-norm scale stays of order 1 and ε/N → 0: the ε = 0 limit (set above)
    with np.errstate(invalid="ignore"):
        out = _check_degenerate(out, s)
    return float(out[0]) if scalar else out.reshape(np.shape(size))


def normalizer_expansion(norm, activation="relu", *, shift=0.0, backward="full", **params):
    r"""Coefficients :math:`(\lambda_\infty, c_1)` of :math:`\lambda(N) = \lambda_\infty + c_1/N
    + O(N^{-2})` at ε = 0.

    One coordinate of the normalized output has :math:`\mathbb E_n f(y_1) = \mathbb E f(g) -
    \mathbb E[f\,He_4(g)]/(4n) + O(n^{-2})` (g ~ N(0, 1), :math:`He_4 = g^4 - 6g^2 + 3`), and n
    = N + O(1). With :math:`d_0 = \mathbb E\varphi'(g+s)^2`, :math:`a_0 = \mathbb E g^2\varphi'(g+s)^2`,
    :math:`e_0 = \mathbb E\varphi(g+s)^2`, :math:`d_1 = -\tfrac14\mathbb E[\varphi'^2He_4]`,
    :math:`e_1 = -\tfrac14\mathbb E[\varphi^2He_4]`, for group and rms
    :math:`\lambda_\infty = d_0/e_0` and

    .. math::

        c_1^{\rm full} = \lambda_\infty\Big[\frac{d_1 + 2d_0 - a_0}{d_0} - \frac{e_1}{e_0}\Big],
        \qquad c_1^{\rm frozen} = \lambda_\infty\Big[\frac{d_1}{d_0} + \kappa - \frac{e_1}{e_0}\Big],

    κ = 3 (group), 2 (rms). ``"batch"`` is :func:`gradexp.finite_batch_expansion` applied to
    φ(· + s) (its formula, with the Gaussian expectations of the shifted activation).
    Homogeneous φ at s = 0: group (1, 1) full and (1, 3) frozen, rms (1, 1) and (1, 2).

    References
    ----------
    Yang et al., ICLR 2019 (the batch-size dependence of the rate); derived in gradexp.
    """
    check_choice(norm, "norm", NORMS)
    check_choice(backward, "backward", BACKWARDS)
    act = get_activation(activation, **params)
    s = check_real(shift, "shift")
    if norm == "batch" and s == 0.0:
        return finite_batch_expansion(act, bn_backward="full" if backward == "full" else "simplified")
    g = _gaussian_basis(act, s)
    if norm == "batch":
        D20, A20 = g["d2"], g["a2"]
        O0, A120 = g["dp"] ** 2, g["gdp"] ** 2
        al0 = g["e2"] - g["m1"] ** 2
        d1 = -0.25 * g["d2h4"]
        a1 = (-0.25 * g["e2h4"] + 0.5 * g["m1"] * g["m1h4"] + 0.5 * g["m1h2"] ** 2 + g["gm1"] ** 2)
        lam = D20 / al0
        if backward == "full":
            return lam, lam * ((d1 - D20 + O0 - A20 + A120) / D20 - a1 / al0 + 3.0)
        return lam, lam * (d1 / D20 - a1 / al0 + 3.0)
    d0, a0, e0 = g["d2"], g["a2"], g["e2"]
    d1, e1 = -0.25 * g["d2h4"], -0.25 * g["e2h4"]
    lam = d0 / e0
    if backward == "full":
        return lam, lam * ((d1 + 2 * d0 - a0) / d0 - e1 / e0)
    kappa = 3.0 if norm == "group" else 2.0
    return lam, lam * (d1 / d0 + kappa - e1 / e0)
