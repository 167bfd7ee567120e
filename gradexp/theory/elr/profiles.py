r"""Initial gradient profiles of the ELR model: plain (eq. 8) and residual (eq. 9) networks,
the base gradient c = ‖∇W(0)‖‖W(0)‖ and the He-initialised ‖W(0)‖².

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1 and 3.3, eqs. 4, 8, 9.
"""

from __future__ import annotations

import math

import numpy as np

from ..._validate import as_float_array, check_int, check_positive
from ...gaussian import _out
from ..explosion import YANG_RATE

__all__ = ["plain_profile", "residual_profile", "residual_rate", "base_gradient", "he_weight_sq"]


def plain_profile(depth: int, *, rate: float = YANG_RATE, convention: str = "norm") -> np.ndarray:
    r"""Initial gradient norms :math:`\|\nabla W_\ell(0)\|` of a plain BN network (eq. 8).

    .. math:: \|\nabla W_\ell(0)\| = \alpha^{L-\ell+1}, \qquad \ell = 1, \dots, L,
              \qquad \alpha = \sqrt{\pi/(\pi-1)} \approx 1.2112,

    returned input side first (index 0 is layer 1), top layer α, as the base case of eq. 9.

    **Which quantity grows at α.** Yang et al.'s rate :math:`\sqrt{\pi/(\pi-1)}` is the
    per-layer growth of the gradient *norm*; the *squared* norm grows by π/(π−1) ≈ 1.467
    (C(0) of Paik & Choi is a ratio of variances). ``convention="norm"`` (default) applies α to
    the norm, as eq. 9 does and as the toy network of :mod:`gradexp.mc.training` measures.
    Eq. 8 as printed (:math:`\|\nabla W_\ell(0)\|_F^2 \sim \alpha^{L-\ell}`) applies it to the
    squared norm, i.e. the norm would grow at α^{1/2} ≈ 1.10: ``convention="squared"``.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 8; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019 (the rate √(π/(π−1))).

    Examples
    --------
    >>> p = plain_profile(3)
    >>> bool(np.allclose(p, [YANG_RATE**3, YANG_RATE**2, YANG_RATE]))
    True
    """
    L = check_int(depth, "depth", lo=1)
    check_positive(rate, "rate")
    ell = np.arange(1, L + 1, dtype=float)
    expo = L - ell + 1.0
    with np.errstate(over="ignore"):  # beyond the float range the norm is inf
        if convention == "norm":
            return float(rate) ** expo
        if convention == "squared":
            return float(rate) ** (expo / 2.0)
    raise ValueError(f"convention must be 'norm' or 'squared', got {convention!r}")


def residual_profile(depth: int, skip: int = 2, *, rate: float = YANG_RATE) -> np.ndarray:
    r"""Initial gradient norms of a residual network by the recursion of eq. 9.

    .. math::
        g_\ell = \begin{cases}
          \tfrac12\bigl(\alpha\, g_{\ell+1} + g_{\ell+s}\bigr) & \ell \equiv 0 \pmod s,\ \ell < L-s\\
          \alpha\, g_{\ell+1} & \text{otherwise,}\end{cases}
        \qquad g_L = \alpha,

    for layers ℓ = L−1, ..., 1 (returned input side first). α applies to the norm (see
    :func:`plain_profile`). With ``skip > depth`` this is the plain profile.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 9.
    """
    L = check_int(depth, "depth", lo=1)
    s = check_int(skip, "skip", lo=1)
    check_positive(rate, "rate")
    g = np.empty(L + s + 1)
    g[L] = float(rate)
    with np.errstate(over="ignore"):  # beyond the float range the norm is inf
        for ell in range(L - 1, 0, -1):
            if ell % s == 0 and ell < L - s:
                g[ell] = 0.5 * (rate * g[ell + 1] + g[ell + s])
            else:
                g[ell] = rate * g[ell + 1]
    return g[1:L + 1].copy()


def residual_rate(skip: int, *, rate: float = YANG_RATE) -> float:
    r"""Asymptotic per-layer growth of eq. 9 deep inside the network:
    :math:`\bigl((1+\alpha^s)/2\bigr)^{1/s}` (< α for s ≥ 1), since a block of s layers
    multiplies the norm by α^{s−1} and then averages α·(α^{s−1} g) with g.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 9 (its asymptotics derived in gradexp).
    """
    s = check_int(skip, "skip", lo=1)
    a = float(check_positive(rate, "rate"))
    # in log space: ln((1 + α^s)/2)/s, finite for every α > 0 and s
    return float(np.exp((np.logaddexp(0.0, s * math.log(a)) - math.log(2.0)) / s))


def base_gradient(grad_norm, w0_sq=1.0):
    r"""The model's constant :math:`c = \|\nabla W(0)\|\,\|W(0)\|` (gradient norm c/‖W‖).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 (c = ‖∇W(0)‖‖W(0)‖).
    """
    g = as_float_array(grad_norm, "grad_norm", allow_inf=False)
    w = check_positive(w0_sq, "w0_sq")
    return _out(g * np.sqrt(w))


def he_weight_sq(n_in, n_out):
    r"""Expected squared Frobenius norm of an ``n_out × n_in`` He-initialised weight matrix,
    :math:`E\|W\|_F^2 = n_{out} n_{in} \cdot 2/n_{in} = 2 n_{out}`; one unit's (row's) squared
    norm has expectation 2. (Mehmeti-Göpel & Wand state 2 for the layer, hence k₀ = 4.)

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1 (He initialization, σ²(0) = 2); He et al.
    (2015).
    """
    check_positive(n_in, "n_in")
    n_out = check_positive(n_out, "n_out")
    with np.errstate(over="ignore"):  # n_out > 9e307: inf
        return _out(2.0 * n_out)
