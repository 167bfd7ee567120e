r"""Finite-size theory of BatchNorm gradient explosion: the exact finite-batch factor.

The per-layer factor of the expected squared gradient norm in a chain
BN → φ → linear (Gaussian weights) at infinite width and finite batch ``B``,
for the full BN backward (through the batch statistics) and for the simplified backward
of Paik & Choi's proofs (statistics held constant). The infinite-batch limit is
:func:`gradexp.activation_factor` (Paik & Choi, Thm 2.2 / Fig. 1 right); for ReLU it is
:math:`\pi/(\pi-1)`, the square of Yang et al.'s rate.

Derivation (the notation of :func:`finite_batch_factor`)
---------------------------------------------------------
*Forward.* At infinite width the pre-normalisation vector of one unit across the batch,
:math:`z_{:,j} = h W_{:,j}`, is Gaussian given the previous layer with covariance
:math:`\sigma_w^2 d\,K_h`, :math:`K_h[b, b'] = \mathbb E\,\varphi(y_b)\varphi(y_{b'})`.
Exchangeability of the batch makes :math:`K_h = aI + c\,\mathbf 1\mathbf 1^\top`, so the
centred vector :math:`Pz` (:math:`P = I - \mathbf 1\mathbf 1^\top/B`) is isotropic in the
(B−1)-dimensional subspace :math:`\mathbf 1^\perp`, with
:math:`Pz \sim N(0, \sigma_w^2 d\,\alpha\,P)` and
:math:`\alpha = \mathbb E[\tfrac1{B-1}\sum_b(\varphi(y_b)-\overline{\varphi(y)})^2]
= \mathbb E\varphi(y_1)^2 - \mathbb E\varphi(y_1)\varphi(y_2)`.
The BN output :math:`y = \sqrt B\,Pz/\|Pz\|` is therefore :math:`\sqrt B` times a uniform unit
vector of :math:`\mathbf 1^\perp` (the permutation-symmetric, Yang et al.'s BSB1, fixed point,
reached exactly after one layer), independent of the divisor
:math:`\hat\sigma^2 = \|Pz\|^2/B = \sigma_w^2 d\,\alpha\,\chi^2_{B-1}/B`. One coordinate is
:math:`y_1 = \sqrt{B-1}\,t` with density :math:`\propto(1-t^2)^{(B-4)/2}` on [−1, 1]; a pair
is :math:`\sqrt{B-1}\,L s` with :math:`LL^\top = \begin{pmatrix}1&\rho\\\rho&1\end{pmatrix}`,
:math:`\rho = -1/(B-1)`, and s in the unit disk with density
:math:`\propto(1-|s|^2)^{(B-5)/2}`.

*Backward* (gradient independence, Yang et al. 2019). The gradient of one unit is
:math:`g = \varphi'(y)\odot v` with v independent of y, :math:`v \sim N(0, c\,P)` (full) or
:math:`N(0, c\,I)` (simplified). The BN Jacobian of one unit is
:math:`J = (P - yy^\top/B)/\hat\sigma` (full: :math:`P - yy^\top/B` is the projection onto
:math:`\{\mathbf 1, y\}^\perp`, of rank B − 2) or :math:`J = I/\hat\sigma` (simplified), and
:math:`c_{n-1}` follows from :math:`\sigma_w^2 d\,\mathbb E\|Jg\|^2`. With
:math:`\mathbb E[1/\chi^2_{B-1}] = 1/(B-3)` the weight scale cancels:

.. math::

    \lambda_{\rm full}(B) = \frac{(B-1)D_2 + O - A_2 + A_{12}}{\alpha\,(B-3)},\qquad
    \lambda_{\rm simp}(B) = \frac{B\,D_2}{\alpha\,(B-3)},

with :math:`D_2 = \mathbb E\varphi'(y_1)^2`, :math:`O = \mathbb E\varphi'(y_1)\varphi'(y_2)`,
:math:`A_2 = \mathbb E\,y_1^2\varphi'(y_1)^2`,
:math:`A_{12} = \mathbb E\,y_1\varphi'(y_1)\,y_2\varphi'(y_2)` over the sphere distribution above.
(For the simplified backward the kernel of v keeps a component along
:math:`\mathbf 1\mathbf 1^\top` that is multiplied by :math:`\kappa O \le \kappa D_2` per layer;
with i.i.d. upstream gradients it is zero, and :math:`\lambda_{\rm simp}` is the dominant
eigenvalue in any case.)

*Homogeneous activations* (ReLU, leaky ReLU, identity, and dropout's :math:`m x`). For
:math:`\varphi(tx) = t\varphi(x)`, t > 0, every moment above is a degree-0 or degree-2
homogeneous function of the pair, whose expectation depends only on its angular
distribution and :math:`\mathbb E|y|^2`; both are those of a Gaussian pair with correlation
ρ = −1/(B−1). Hence exact closed forms from the Gaussian kernels: for ReLU
:math:`D_2 = A_2 = 1/2`, :math:`O = \tfrac14 + \arcsin\rho/(2\pi)`,
:math:`A_{12} = k_1(\rho) = (\sqrt{1-\rho^2} + \rho(\pi/2 + \arcsin\rho))/(2\pi)`,
:math:`\alpha = 1/2 - k_1(\rho)`; for the identity :math:`\lambda_{\rm full} = (B-2)/(B-3)` and
:math:`\lambda_{\rm simp} = (B-1)/(B-3)`: a linear network explodes under BN at every finite
batch (Yang et al.: the explosion is caused by BN itself).

*Divergence.* :math:`\mathbb E[1/\chi^2_{B-1}]` is infinite for B ≤ 3, so the factor is
``inf`` at B = 3 (both backwards) and at B = 2 for the simplified backward; the full
backward at B = 2 is exactly 0 (two normalised samples are ±1 whatever the input, so the
Jacobian :math:`P - yy^\top/2` vanishes).

*Large batch.* The sphere densities expand around the Gaussian,
:math:`\mathbb E_B f(y_1) = \mathbb E f(g) - \tfrac1{4B}\mathbb E[f\,He_4(g)] + O(B^{-2})` and
for pairs the weight :math:`1 - \tfrac1{4B}(He_4(g_1) + He_4(g_2) + 2He_2(g_1)He_2(g_2))
- \tfrac1B g_1g_2`, which gives :math:`\lambda(B) = \lambda_\infty + c_1/B + O(B^{-2})` with
:math:`c_1` from one-dimensional Gaussian expectations (:func:`finite_batch_expansion`).

References
----------
.. [1] G. Yang, J. Pennington, V. Rao, J. Sohl-Dickstein, S. S. Schoenholz, "A Mean Field
   Theory of Batch Normalization", ICLR 2019 (BSB1 fixed point, gradient independence,
   batch-size dependence of the gradient rate).
.. [2] Paik & Choi (``000``/``001``), Thm 2.2, eq. 4, Appendix A.2 eq. 16 (the simplified
   backward).
.. [3] A. Meterez et al., "Towards Training Without Depth Limits: Batch Normalization Without
   Gradient Explosion", ICLR 2024.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from ..activations import DROPOUT, IDENTITY, LEAKY_RELU, RELU, Activation, get_activation
from ..gaussian import _out, gaussian_expectation
from .explosion import activation_factor

__all__ = [
    "finite_batch_factor",
    "finite_batch_moments",
    "finite_batch_expansion",
    "finite_batch_rate",
    "sphere_pair_rule",
    "rate_vs_batch_overlay",
]

_BACKWARDS = ("full", "simplified")
#: Gauss–Legendre nodes in the polar angle χ (radius sin χ) and per arc of the azimuth θ
_N_CHI = 48
_N_ARC = 28
#: the radial weight sin χ cos^{B-4} χ is cut where cos^{B-4} χ < exp(-_TAIL)
_TAIL = 60.0


# ============================================================================ validation
def _check_backward(bn_backward):
    from .._validate import check_choice

    return check_choice(bn_backward, "bn_backward", _BACKWARDS)


def _as_batches(batch) -> np.ndarray:
    """Batch sizes as a float array: integers >= 2 (any size: Python integers beyond int64 are
    converted exactly up to the largest double, about 1.8e308) or +inf; TypeError for a
    non-number (a string, a bool), ValueError naming ``batch`` for a bad value."""
    if isinstance(batch, (bool, np.bool_, str, bytes)):
        raise TypeError(f"batch must be an integer >= 2 or inf, got {batch!r}")
    arr = np.asarray(batch)
    if arr.dtype.kind == "O":  # Python integers beyond int64, or a mixture
        if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in arr.ravel()):
            raise TypeError(f"batch must be an integer >= 2 or inf, got {batch!r}")
        try:
            arr = arr.astype(float)
        except OverflowError:
            raise ValueError("batch must be at most 1.8e308 (the largest double); pass math.inf for "
                             "the infinite-batch limit") from None
    elif arr.dtype.kind not in "iuf":
        raise TypeError(f"batch must be an integer >= 2 or inf, got {batch!r}")
    b = np.asarray(arr, dtype=float)
    if np.any(np.isnan(b)):
        raise ValueError("batch must not be NaN")
    fin = np.isfinite(b)
    if np.any(b[fin] != np.floor(b[fin])) or np.any(b == -np.inf):
        raise ValueError(f"batch must be an integer >= 2 or inf, got {batch!r}")
    if np.any(b < 2):
        raise ValueError(f"batch must be >= 2 (BatchNorm over one sample is undefined), got {batch!r}")
    return b


# ============================================================================ the sphere rule
@functools.lru_cache(maxsize=256)
def sphere_pair_rule(batch: int, n_chi: int = _N_CHI, n_arc: int = _N_ARC):
    r"""Quadrature rule for a pair of coordinates of a BN output at the symmetric fixed point.

    Returns ``(y1, y2, w)``: nodes and weights (summing to 1) with
    :math:`\sum w\,f(y_1, y_2) \approx \mathbb E f(y_1, y_2)` for
    :math:`y = \sqrt B\,u`, u uniform on the unit sphere of :math:`\mathbf 1^\perp \subset
    \mathbb R^B` (B ≥ 4). In whitened polar coordinates :math:`s = \sin\chi\,(\cos\theta,
    \sin\theta)`, :math:`y = \sqrt{B-1}\,Ls`, the density is
    :math:`\propto \sin\chi\cos^{B-4}\chi\,d\chi\,d\theta`: smooth (an integer power), so
    Gauss–Legendre converges geometrically. χ is cut where :math:`\cos^{B-4}\chi < e^{-60}`;
    θ is split at the four rays :math:`y_1 = 0`, :math:`y_2 = 0`, so piecewise-analytic
    activations (kinks at 0) are integrated at the same geometric rate.

    References
    ----------
    Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (BSB1 fixed point);
    quadrature derived in gradexp.
    """
    B = int(batch)
    if B < 4:
        raise ValueError(f"batch must be >= 4 for the pair rule, got {batch}")
    m = B - 4
    chi_max = math.pi / 2 if m == 0 else min(math.pi / 2, math.acos(math.exp(-_TAIL / m)))
    xg, wg = np.polynomial.legendre.leggauss(n_chi)
    chi = 0.5 * chi_max * (xg + 1.0)
    sc = np.sin(chi)
    # cos^m χ as exp(m/2 · log1p(−sin²χ)): a rounded cos χ raised to m = B − 4 would lose m ulps
    wchi = 0.5 * chi_max * wg * sc * np.exp(0.5 * m * np.log1p(-sc * sc))
    rho = -1.0 / (B - 1)
    c = math.sqrt(1.0 - rho * rho)
    t0 = math.atan2(-rho, c)  # y2 = 0 on the rays t0, t0 + π; y1 = 0 on ±π/2
    cuts = np.sort(np.mod([math.pi / 2, -math.pi / 2, t0, t0 + math.pi], 2 * math.pi))
    cuts = np.append(cuts, cuts[0] + 2 * math.pi)
    xa, wa = np.polynomial.legendre.leggauss(n_arc)
    th, wth = [], []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        th.append(lo + 0.5 * (hi - lo) * (xa + 1.0))
        wth.append(0.5 * (hi - lo) * wa)
    th, wth = np.concatenate(th), np.concatenate(wth)
    r = math.sqrt(B - 1) * np.sin(chi)[:, None]
    s1, s2 = r * np.cos(th)[None, :], r * np.sin(th)[None, :]
    y1 = s1
    y2 = rho * s1 + c * s2
    w = wchi[:, None] * wth[None, :]
    w = w / w.sum()
    for a in (y1, y2, w):
        a.setflags(write=False)
    return y1.ravel(), y2.ravel(), w.ravel()


# ============================================================================ moments
def _homogeneous_slope(act: Activation):
    """Negative-side slope a of a positively homogeneous activation, or None."""
    if act.code == RELU:
        return 0.0
    if act.code == LEAKY_RELU:
        return float(act.param)
    if act.code == IDENTITY:
        return 1.0
    return None


def _relu_kernel(rho):
    r""":math:`\mathbb E[\mathrm{ReLU}(g_1)\mathrm{ReLU}(g_2)] = (\sqrt{1-\rho^2} +
    \rho(\pi/2 + \arcsin\rho))/(2\pi)` (arc-cosine kernel of degree 1)."""
    return (np.sqrt((1.0 - rho) * (1.0 + rho)) + rho * (0.5 * np.pi + np.arcsin(rho))) / (2 * np.pi)


def _closed_moments(act: Activation, B: np.ndarray) -> dict:
    """Exact moments (D2, O, A2, A12, E φ², K) for homogeneous activations and dropout."""
    rho = -1.0 / (B - 1.0)
    if act.code == DROPOUT:
        p = act.param
        one = np.ones_like(B)
        return dict(D2=p * one, O=p * p * one, A2=p * one, A12=p * p * rho, E2=p * one,
                    K=p * p * rho)
    a = _homogeneous_slope(act)
    orth = 0.25 + np.arcsin(rho) / (2 * np.pi)
    d2 = 0.5 * (1.0 + a * a) * np.ones_like(B)
    o = a * a + a * (1.0 - a) + (1.0 - a) ** 2 * orth
    k = a * rho + (1.0 - a) ** 2 * _relu_kernel(rho)  # a²ρ + a(1−a)ρ + (1−a)² k₁(ρ)
    return dict(D2=d2, O=o, A2=d2.copy(), A12=k, E2=d2.copy(), K=k)


@functools.lru_cache(maxsize=4096)
def _quadrature_moments(act: Activation, B: int) -> tuple:
    y1, y2, w = sphere_pair_rule(B)
    f1, f2 = act.value(y1), act.value(y2)
    d1, d2 = act.deriv(y1), act.deriv(y2)
    # E φ(y)² around φ(0) is not needed: α = E φ² − E φ₁φ₂ is computed as a covariance
    c1, c2 = f1 - f1 @ w, f2 - f2 @ w
    return (float(w @ (d1 * d1)), float(w @ (d1 * d2)), float(w @ (y1 * y1 * d1 * d1)),
            float(w @ (y1 * d1 * y2 * d2)), float(w @ (f1 * f1)), float(w @ (f1 * f2)),
            float(w @ (c1 * c1) - w @ (c1 * c2)))


def finite_batch_moments(batch, activation="relu", **params) -> dict:
    r"""Sphere moments of the finite-batch factor at the symmetric fixed point.

    Returns a dict of arrays (shape of ``batch``): ``D2`` = E φ'(y₁)², ``O`` =
    E φ'(y₁)φ'(y₂), ``A2`` = E y₁²φ'(y₁)², ``A12`` = E y₁φ'(y₁)y₂φ'(y₂), ``E2`` = E φ(y₁)²,
    ``K`` = E φ(y₁)φ(y₂) and ``alpha`` = E φ² − K (the expected unbiased batch variance of
    φ(y)), for y the BN output of :func:`finite_batch_factor`. Closed forms for ReLU, leaky ReLU,
    identity and dropout (exact for every B ≥ 2); the rule :func:`sphere_pair_rule` for the
    others (B ≥ 4). ``batch=inf`` gives the Gaussian values.

    References
    ----------
    Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (BSB1 fixed point,
    gradient independence); Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4.
    """
    act = get_activation(activation, **params)
    B = _as_batches(batch)
    shape = B.shape
    B = B.ravel()
    keys = ("D2", "O", "A2", "A12", "E2", "K", "alpha")
    out = {k: np.full(B.shape, np.nan) for k in keys}
    closed = act.code == DROPOUT or _homogeneous_slope(act) is not None
    fin = np.isfinite(B)
    if closed:
        Bc = np.where(fin, B, 2.0)  # placeholder for inf, overwritten below
        mom = _closed_moments(act, Bc)
        for k in keys[:-1]:
            out[k] = np.asarray(mom[k], dtype=float).copy()
        out["alpha"] = out["E2"] - out["K"]
    else:
        small = fin & (B < 4)
        if np.any(small):
            raise ValueError(f"the sphere moments of {act.name!r} need batch >= 4 "
                             f"(the pair density is singular below), got {batch!r}")
        for i in np.flatnonzero(fin):
            vals = _quadrature_moments(act, int(B[i]))
            for k, v in zip(keys, vals):
                out[k][i] = v
    if np.any(~fin):
        g = _gaussian_moments(act)
        for k in keys:
            out[k][~fin] = g[k]
    return {k: v.reshape(shape) for k, v in out.items()}


@functools.lru_cache(maxsize=64)
def _gaussian_basis(act: Activation) -> dict:
    """One-dimensional Gaussian expectations used at B = ∞ and in the 1/B expansion."""
    if act.code == DROPOUT:
        p = act.param
        # φ = m g, φ' = m, m ~ Bernoulli(p) independent of g: E over m and g
        return dict(d2=p, d2h4=0.0, a2=p, dp=p, gdp=0.0, e2=p, e2h4=0.0, m1=0.0, m1h4=0.0,
                    m1h2=0.0, gm1=p)
    kinks = act.kinks

    def E(f):
        return float(gaussian_expectation(f, 0.0, 1.0, breakpoints=kinks))

    def he4(x):
        return x ** 4 - 6 * x * x + 3

    def v(x):
        return float(act.value(x))

    def dv(x):
        return float(act.deriv(x))

    return dict(
        d2=E(lambda x: dv(x) ** 2), d2h4=E(lambda x: dv(x) ** 2 * he4(x)),
        a2=E(lambda x: x * x * dv(x) ** 2), dp=E(dv), gdp=E(lambda x: x * dv(x)),
        e2=E(lambda x: v(x) ** 2), e2h4=E(lambda x: v(x) ** 2 * he4(x)), m1=E(v),
        m1h4=E(lambda x: v(x) * he4(x)), m1h2=E(lambda x: v(x) * (x * x - 1)),
        gm1=E(lambda x: x * v(x)),
    )


def _gaussian_moments(act: Activation) -> dict:
    g = _gaussian_basis(act)
    if act.code == DROPOUT:
        p = act.param
        return dict(D2=p, O=p * p, A2=p, A12=0.0, E2=p, K=0.0, alpha=p)
    K = g["m1"] ** 2
    return dict(D2=g["d2"], O=g["dp"] ** 2, A2=g["a2"], A12=g["gdp"] ** 2, E2=g["e2"], K=K,
                alpha=g["e2"] - K)


# ============================================================================ the factor
def finite_batch_factor(batch, activation="relu", *, bn_backward="full", **params):
    r"""Per-layer factor of :math:`\mathbb E\|\partial L/\partial x^n\|^2` at finite batch.

    .. math::

        \lambda_{\rm full}(B) = \frac{(B-1)D_2 + O - A_2 + A_{12}}{\alpha\,(B-3)},\qquad
        \lambda_{\rm simplified}(B) = \frac{B\,D_2}{\alpha\,(B-3)},

    for a chain x → φ → Gaussian linear → BN at infinite width, batch B, at the
    permutation-symmetric fixed point (derivation in the module docstring: one unit's BN output
    across the batch is :math:`\sqrt B` times a uniform unit vector of :math:`\mathbf 1^\perp`,
    independent of the divisor :math:`\hat\sigma^2 \propto \chi^2_{B-1}`, whose inverse mean
    gives the 1/(B − 3); the full Jacobian :math:`(P - yy^\top/B)/\hat\sigma` projects out
    :math:`\mathbf 1` and y). ReLU: :math:`D_2 = A_2 = 1/2`,
    :math:`O = 1/4 + \arcsin\rho/(2\pi)`, :math:`A_{12} = k_1(\rho)`,
    :math:`\alpha = 1/2 - k_1(\rho)`, ρ = −1/(B−1); identity: (B−2)/(B−3) (full) and
    (B−1)/(B−3) (simplified). ``batch=inf`` returns :func:`activation_factor` (μ = 0, σ = 1):
    :math:`\pi/(\pi-1)` for ReLU (Paik & Choi Thm 2.2, eq. 4 at R = 0).

    Parameters
    ----------
    batch : int or array of ints ≥ 2, or ``math.inf``. B = 3 (and B = 2 with
        ``bn_backward="simplified"``) returns ``inf``: the inverse batch variance has
        :math:`\mathbb E[1/\chi^2_{B-1}] = \infty` for B − 1 ≤ 2. B = 2 with the full backward
        returns 0 (two normalised samples are ±1: the BN Jacobian vanishes).
    activation : a name of :mod:`gradexp.activations` (or an Activation); ReLU, leaky ReLU,
        identity and dropout use exact closed forms, the others the quadrature
        :func:`sphere_pair_rule` (relative accuracy ≤ 1e-10, cached per activation and batch).
    bn_backward : ``"full"`` (through the batch statistics, the exact gradient) or
        ``"simplified"`` (statistics held constant; Paik & Choi, Appendix A.2, eq. 16), the
        names of :func:`gradexp.mc.simulate_chain`.
    **params : the activation's parameter (``slope``, ``alpha``, ``keep_prob``).

    Returns
    -------
    float or ndarray (shape of ``batch``).

    References
    ----------
    .. [1] Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019.
    .. [2] Paik & Choi (``000``), Thm 2.2, eq. 4; Appendix A.2, eq. 16.

    Examples
    --------
    >>> import math
    >>> float(finite_batch_factor(10, "identity"))      # (B − 2)/(B − 3)
    1.1428571428571428
    >>> bool(abs(finite_batch_factor(math.inf) - math.pi / (math.pi - 1)) < 1e-15)
    True
    """
    _check_backward(bn_backward)
    act = get_activation(activation, **params)
    B = _as_batches(batch)
    scalar = B.ndim == 0
    B = np.atleast_1d(B)
    out = np.empty(B.shape)
    fin = np.isfinite(B)
    out[~fin] = float(activation_factor(act))
    lo = fin & (B <= 3)
    if bn_backward == "full":
        out[fin & (B == 2)] = 0.0
        out[fin & (B == 3)] = np.inf
    else:
        out[lo] = np.inf
    ok = fin & (B >= 4)
    if np.any(ok):
        Bk = B[ok]
        m = finite_batch_moments(Bk, act)
        if bn_backward == "full":
            num = (Bk - 1.0) * m["D2"] + m["O"] - m["A2"] + m["A12"]
        else:
            num = Bk * m["D2"]
        out[ok] = num / (m["alpha"] * (Bk - 3.0))
    return float(out[0]) if scalar else out


def finite_batch_rate(batch, activation="relu", *, bn_backward="full", **params):
    r"""Per-layer growth of the gradient *norm*, :math:`\sqrt{\lambda(B)}` (the quantity
    ``ChainResult.rate`` estimates at large width).

    References
    ----------
    Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (the batch-size
    dependence of the gradient rate); Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4.

    Examples
    --------
    A scalar batch gives a Python float, like every closed form of :mod:`gradexp.theory`:

    >>> r = finite_batch_rate(16)
    >>> type(r) is float and abs(r * r - finite_batch_factor(16)) < 1e-15
    True
    """
    return _out(np.sqrt(finite_batch_factor(batch, activation, bn_backward=bn_backward, **params)))


def finite_batch_expansion(activation="relu", *, bn_backward="full", **params):
    r"""Coefficients :math:`(\lambda_\infty, c_1)` of :math:`\lambda(B) = \lambda_\infty + c_1/B
    + O(B^{-2})`.

    From the Gaussian expansion of the sphere densities (module docstring): with
    :math:`He_4 = g^4 - 6g^2 + 3`, :math:`He_2 = g^2 - 1` and g ~ N(0, 1),
    :math:`d_1 = -\tfrac14\mathbb E[\varphi'^2 He_4]`,
    :math:`a_1 = -\tfrac14\mathbb E[\varphi^2 He_4] + \tfrac12\mathbb E\varphi\,
    \mathbb E[\varphi He_4] + \tfrac12(\mathbb E[\varphi He_2])^2 + (\mathbb E[g\varphi])^2`
    (the 1/B terms of :math:`D_2` and α),

    .. math::

        c_1^{\rm full} = \lambda_\infty\Big[\frac{d_1 - D_2 + (\mathbb E\varphi')^2 - A_2
            + (\mathbb E g\varphi')^2}{D_2} - \frac{a_1}{\alpha} + 3\Big],\qquad
        c_1^{\rm simp} = \lambda_\infty\Big[\frac{d_1}{D_2} - \frac{a_1}{\alpha} + 3\Big],

    all at B = ∞ (:math:`D_2 = \mathbb E\varphi'^2`, :math:`A_2 = \mathbb E g^2\varphi'^2`,
    :math:`\alpha = \mathrm{Var}\,\varphi`). ReLU (sympy's series of the closed form, in the
    tests): :math:`c_1^{\rm full} = (\pi^2 - \pi/2 - 1)/(\pi-1)^2 = 1.5914`,
    :math:`c_1^{\rm simp} = \pi(5\pi - 6)/(2(\pi-1)^2) = 3.3249`, and the next terms
    :math:`c_2^{\rm full} = (12\pi^3 - 19\pi^2 + 8)/(4(\pi-1)^3) = 4.9009`,
    :math:`c_2^{\rm simp} = \pi(29\pi^2 - 62\pi + 34)/(4(\pi-1)^3) = 10.030`; identity:
    :math:`c_1` = 1 (full), 2 (simplified), from (B−2)/(B−3) and (B−1)/(B−3).

    Returns
    -------
    (lambda_inf, c1) : floats.

    References
    ----------
    .. [1] Yang et al., ICLR 2019 (the batch-size dependence of the gradient rate).
    """
    _check_backward(bn_backward)
    act = get_activation(activation, **params)
    g = _gaussian_basis(act)
    if act.code == DROPOUT:
        p = act.param
        # exact: D2 = p, O = p², A2 = p, A12 = p²ρ, α = p − p²ρ, ρ = −1/(B−1)
        d1, a1, O0, A120 = 0.0, p * p, p * p, 0.0
        D20, A20, al0 = p, p, p
    else:
        D20, A20 = g["d2"], g["a2"]
        O0, A120 = g["dp"] ** 2, g["gdp"] ** 2
        al0 = g["e2"] - g["m1"] ** 2
        d1 = -0.25 * g["d2h4"]
        a1 = (-0.25 * g["e2h4"] + 0.5 * g["m1"] * g["m1h4"] + 0.5 * g["m1h2"] ** 2
              + g["gm1"] ** 2)
    lam = D20 / al0
    if bn_backward == "full":
        c1 = lam * ((d1 - D20 + O0 - A20 + A120) / D20 - a1 / al0 + 3.0)
    else:
        c1 = lam * (d1 / D20 - a1 / al0 + 3.0)
    return float(lam), float(c1)


# ============================================================================ sweep overlay
def rate_vs_batch_overlay(batches, activation="relu", *, bn_backward="full", **params) -> dict:
    r"""Theory curves for the sweeps ``rate-vs-batch`` / ``rate-vs-width-batch``.

    Returns ``{"batch": B, "rate": √λ(B), "rate_inf": √λ(∞), "factor": λ(B)}`` over
    the batch sizes given (inf allowed): the infinite-width per-layer growth of the gradient
    norm that ``ChainResult.rate`` estimates, to draw as a line over the sweep's points.

    References
    ----------
    Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (the batch-size
    dependence of the gradient rate); Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4.
    """
    B = _as_batches(batches)
    lam = finite_batch_factor(B, activation, bn_backward=bn_backward, **params)
    lam_inf = finite_batch_factor(math.inf, activation, bn_backward=bn_backward, **params)
    return {"batch": np.atleast_1d(B), "factor": np.atleast_1d(lam),
            "rate": np.sqrt(np.atleast_1d(lam)), "rate_inf": math.sqrt(lam_inf)}
