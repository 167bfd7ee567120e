r"""Recovery of saturated layers at constant learning rate: the universal orbit
v' = v + 2 + 1/v of v = 1/(λE)², and the number of steps until a layer's ELR is within a
tolerance of a reference layer's.

References
----------
Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix B.1.
"""

from __future__ import annotations

import numpy as np

from ..._validate import check_int, check_interval, check_positive
from ...gaussian import _out

__all__ = ["saturation_orbit", "recovery_steps", "recovery_steps_exact"]


def saturation_orbit(v0, steps):
    r"""Iterate the universal saturation map :math:`v_{k+1} = v_k + 2 + 1/v_k`,
    v = 1/(λE)², for ``steps`` steps (elementwise over v0; returns v at the end).

    Eq. 4 at constant λ gives 1/E'² = 1/E² + 2λ² + λ⁴E², i.e. this map: every layer follows
    the same orbit, only its starting point v₀ = s₀²/(λc)² differs. A few starting points
    are iterated with Python floats (10⁷ steps in a few seconds, no numba); more as numpy
    arrays.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4 at constant λ; Appendix B.1.
    """
    v = check_positive(v0, "v0").astype(float)
    steps = check_int(steps, "steps", lo=0)
    if v.size <= 4:
        out = []
        for x in v.ravel().tolist():
            for _ in range(steps):
                x = x + 2.0 + 1.0 / x
            out.append(x)
        return np.array(out).reshape(v.shape)
    v = v.copy()
    for _ in range(steps):
        v += 2.0 + 1.0 / v
    return v


def recovery_steps_exact(c, lr, c_ref, *, w0_sq=1.0, rtol=0.01, max_steps=10**7):
    """The first step k with ``|E(c)/E(c_ref) − 1| ≤ rtol``, by iterating eq. 4 (in the variable
    v of :func:`saturation_orbit`) with Python floats; scalars only; None beyond
    ``max_steps``. The reference :func:`recovery_steps` is checked against.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix B.1 ('saturated layers ... can never
    recover').
    """
    c = float(check_positive(c, "c"))
    cr = float(check_positive(c_ref, "c_ref"))
    lam = float(check_positive(lr, "lr"))
    s0 = float(check_positive(w0_sq, "w0_sq"))
    r = float(check_interval(rtol, "rtol", 0.0, 1.0, closed=(False, False)))
    max_steps = check_int(max_steps, "max_steps", lo=0)
    v, vr = (s0 / (lam * c)) ** 2, (s0 / (lam * cr)) ** 2
    lo2, hi2 = (1.0 - r) ** 2, (1.0 + r) ** 2
    for k in range(max_steps + 1):
        q = vr / v
        if lo2 <= q <= hi2:
            return k
        v = v + 2.0 + 1.0 / v
        vr = vr + 2.0 + 1.0 / vr
    return None


def _orbit_closed(v0, k):
    """v_k ≈ v0 + 2k + ½ ln(1 + 2k/v0) (the sum of 1/v_j by its integral); v0 ≥ 1."""
    return v0 + 2.0 * k + 0.5 * np.log1p(2.0 * k / v0)


def recovery_steps(c, lr, c_ref, *, w0_sq=1.0, rtol=0.01):
    r"""Steps until a layer's ELR is within ``rtol`` of a reference layer's, constant λ.

    With v = 1/(λE)² both layers follow :func:`saturation_orbit`, v' = v + 2 + 1/v, from
    v₀ = s₀²/(λc)². After the first step v ≥ 4 and the map is increasing, so the order is
    kept and the ratio E/E_ref = √(v_ref/v) moves monotonically to 1; with
    :math:`v_k \approx v_1 + 2(k-1) + \tfrac12\ln(1 + 2(k-1)/v_1)` the condition
    ``|√(v_ref/v) − 1| ≤ r`` is solved for k (bisection on the closed form). A layer that
    *saturates* (λE₀ ≫ 1, flipped to E₁ ≈ 1/(λ²E₀)) has v₁ ≈ (λc/s₀)², hence

    .. math:: k_{\rm rec} \approx \frac{(1-r)^2 v_1 - v_{1,\rm ref}}{2r(2-r)}
              \approx \frac{\lambda^2 c^2}{4 r s_0^2}:

    finite, but 10⁸–10¹² steps for the profiles of deep plain networks: the seed's "never
    recover" holds on any practical horizon. Returns the step index (counted from step 0, 0
    if the ELRs start within rtol); :func:`recovery_steps_exact` iterates the model instead
    (the tests find the two within a few steps of each other up to 10⁷ steps).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 ('saturated layers ... can never recover').
    """
    c = check_positive(c, "c")
    cr = check_positive(c_ref, "c_ref")
    lam = check_positive(lr, "lr")
    s0 = check_positive(w0_sq, "w0_sq")
    r = float(check_interval(rtol, "rtol", 0.0, 1.0, closed=(False, False)))
    v0 = (s0 / (lam * c)) ** 2
    vr0 = (s0 / (lam * cr)) ** 2
    v1 = v0 + 2.0 + 1.0 / v0
    vr1 = vr0 + 2.0 + 1.0 / vr0
    v1, vr1 = np.broadcast_arrays(v1, vr1)

    def ok(k):
        v, vr = _orbit_closed(v1, k), _orbit_closed(vr1, k)
        return np.abs(np.sqrt(vr / v) - 1.0) <= r

    hi = np.ones(v1.shape)
    for _ in range(200):
        bad = ~ok(hi)
        if not bad.any():
            break
        hi = np.where(bad, hi * 2.0, hi)
    lo = np.zeros(v1.shape)
    lo = np.where(ok(lo), -1.0, lo)  # already within after step 1
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        good = ok(mid)
        hi = np.where(good & (lo >= 0), mid, hi)
        lo = np.where(~good & (lo >= 0), mid, lo)
    k = np.where(lo < 0, 0.0, np.ceil(hi)) + 1.0
    at0 = np.abs(np.sqrt(np.broadcast_to(vr0, k.shape) / np.broadcast_to(v0, k.shape)) - 1.0) <= r
    return _out(np.where(at0, 0.0, k))
