r"""Finite-width correction of the BatchNorm explosion factor: λ(B, d) = λ(B)(1 + a(B)/d + O(d⁻²)).

:func:`gradexp.theory.finite_size.finite_batch_factor` gives the exact per-layer factor λ(B) of
the expected squared gradient norm of a BN chain at infinite width. At width d the sampled
chains grow by λ(B, d) per layer; this module gives the coefficient a(B) of the 1/d term.

What is derived and what is measured
-------------------------------------
*Measured* (every case of :func:`finite_width_factor`): a(B) and the next coefficient b(B) from
chains (:mod:`gradexp.experiments.finite_width`), the Lyapunov factor (``exp`` of the mean
per-layer increment of :math:`\log\|g^n\|^2`) at widths 64 … 512 fitted by weighted least
squares :math:`d(\lambda(B,d)/\lambda(B) - 1) = a + b/d` with λ(B) exact. The table
:data:`MEASURED` is generated data (recipe: :data:`gradexp.experiments.finite_width.TABLE_RECIPE`,
regenerate with :func:`gradexp.experiments.finite_width.table_source`).

*Derived* (the attempt; identity activation, simplified backward, :func:`identity_simplified_a`).
Row convention: h = xⁿ (B × d, centred, every column of squared norm B), z = hW,
:math:`W_{ij} \sim N(0, s^2/d)`, Ĝ = hhᵀ/d (tr Ĝ = B exactly), P = I − 11ᵀ/B, μ̄ = B/(B−1).

1. *Forward–backward split.* :math:`W_j = h^+ z_j + w^\perp_j` with :math:`w^\perp_j` Gaussian on
   the (d − B + 1)-dimensional complement of the row space of h and independent of z and of
   everything downstream. The backward :math:`g^n = \tilde g W^\top` (:math:`\tilde g_{:,j} =
   g^{n+1}_{:,j}/\hat\sigma_j`) splits into orthogonal parts: the independent one with
   :math:`\mathbb E[\|\tilde g\, w^{\perp\top}\|^2\mid\tilde g] = s^2(1 - (B-1)/d)\|\tilde g\|^2`, and
   :math:`M (h^+)^\top` with :math:`M = g^{n+1} x^{n+1\top}` (the σ̂ cancel). For the identity
   activation and the frozen backward :math:`M_n = M_{n+1}P = M_{n+1}` is the same matrix in every
   layer (the rows of the independent part are orthogonal to the rows of x), so this part does not
   grow with depth and drops out of the rate. Contribution: :math:`a_{\rm proj} = -(B-1)`.
2. *Gram fluctuations.* Given Ĝ with eigenvalues :math:`\bar\mu(1+\epsilon_i)` on 1^⊥
   (Σεᵢ = 0), Dirichlet moments of the direction of z give
   :math:`\mathbb E[1/\hat\sigma^2\mid\hat G] = \frac{B-1}{s^2(B-3)}\big(1 + \frac{2\sum\epsilon_i^2}
   {(B-1)(B+1)} + O(\epsilon^3)\big)`. Linearising one BN layer around the symmetric fixed point,
   :math:`\mathbb E[\hat G_{n+1}\mid\hat G_n] - \bar\mu P = \ell(\hat G_n - \bar\mu P)` with
   :math:`\ell = (B-1)/(B+1)`, plus fresh noise :math:`\frac1d(xx^\top - \bar\mu P)` per unit, so the
   stationary :math:`\mathbb E\|\hat G - \bar\mu P\|_F^2 = \frac{B(B-2)(B+1)^2}{4d(B-1)}`
   (:func:`gram_fluctuation`; the i.i.d.-columns value times :math:`1/(1-\ell^2) = (B+1)^2/(4B)`,
   checked against chains in the tests). Contribution: :math:`a_{\rm gram} = (B-2)(B+1)/(2B)`.
3. *Lyapunov (log) corrections.* The mean of :math:`\log\sum_j\|g_j\|^2/\hat\sigma_j^2` over d
   units loses :math:`(1+{\rm CV}^2)/((B-5)d)` (Var/E² of :math:`1/\chi^2_{B-1}` is 2/(B−5)),
   and the χ² noise of the independent part with d − B + 1 degrees of freedom loses
   :math:`\tau_g/d`, τ_g = tr(C²)/tr(C)² of the gradient Gram C. With an isotropic gradient
   Gram (CV² = 2/B, τ_g = 1/B): :math:`a_{\rm log} = -(1+2/B)/(B-5) - 1/B`.

Assumptions: B > 5; d ≫ B²/4 (the Gram fluctuation Σε² ≈ B²/(4d) per eigenvalue must be small:
the expansion parameter is B²/(4d), not B/d); the gradient Gram isotropic (true for depths ≪ d
below an isotropic upstream; over ~d layers products of random matrices align the rows);
the columns of the upstream gradient independent of their own σ̂ to O(1/d) (their coupling goes
through two O(d^{-1/2}) quadratic forms, an O(d⁻²) term).

*Where it stands* (fits over d ≥ B², :func:`gradexp.experiments.finite_width.identity_simplified_regime`):
B = 8: measured a = −4.49 ± 0.37 against the derived −4.17 (z = −0.9); B = 16: measured
−5.99 ± 0.47 (d = 256 … 2048) against −7.73 (z = +3.7, not within 2 standard errors; the
points do not drift towards the derived value with d, so a 1/d term growing with B is
missing). B ≥ 32 needs d ≫ 256 and was not reached.
The full backward and ReLU were not derived: with the through-statistics Jacobian the
σ̂-free part M is no longer constant (fresh symmetric noise each layer, restored at rate
2/(B+1)), and the simple accumulation estimate of its size was 4× the value sampled in a one-off numpy
probe (0.0056 against 0.023 of :math:`\|g\|^2` at B = 8, d = 256); both are left measured.

References
----------
.. [1] G. Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (the infinite-width
   factor, gradient independence, which this correction goes beyond).
.. [2] H. Daneshmand, J. Kohler, F. Bach, T. Hofmann, A. Lucchi, "Batch normalization provably
   avoids rank collapse for randomly initialised deep networks", NeurIPS 2020 (the Gram
   fluctuations at finite width).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int
from .finite_size import finite_batch_factor

__all__ = ["MEASURED", "finite_width_coefficient", "finite_width_factor", "gram_contraction",
           "gram_fluctuation", "identity_simplified_a"]

_BACKWARDS = ("full", "simplified")  # the chain's names (gradexp.mc.simulate_chain's bn_backward)
#: public name (as gradexp.normalizer_factor's ``backward``) -> the chain's name
_BACKWARD_NAMES = {"full": "full", "frozen": "simplified"}
_NORMS = ("batch",)

# ---------------------------------------------------------------------------- generated data
# Generated by gradexp.experiments.finite_width.table_source() from measure_table() with
# TABLE_RECIPE (widths 64, 128, 256, 512); do not edit by hand.
# (activation, backward) -> {batch: (a, a_se, b, b_se, chi2, dof)}
MEASURED: dict = {
    ('identity', 'full'): {
        8: (-2.681, 0.4061, 17.9, 32.8, 6.534, 2),
        16: (-1.869, 0.2304, 110.5, 18.95, 0.4288, 2),
        32: (2.8, 0.159, -29.82, 14.85, 4.067, 2),
        64: (8.991, 0.1491, -350.6, 15.23, 45.81, 2),
    },
    ('identity', 'simplified'): {
        8: (-4.429, 0.4052, -27.08, 33.45, 0.5286, 2),
        16: (-6.944, 0.2276, 216.9, 19.02, 13.87, 2),
        32: (-2.615, 0.1814, 218.8, 16.58, 53.0, 2),
        64: (5.82, 0.1329, -198.3, 14.03, 4.345, 2),
    },
    ('relu', 'full'): {
        8: (-0.6869, 0.4917, -35.42, 39.1, 0.3238, 2),
        16: (-0.8258, 0.2956, 79.21, 26.38, 1.285, 2),
        32: (-0.9844, 0.2098, 96.76, 18.56, 4.958, 2),
        64: (-2.274, 0.1649, 162.5, 14.89, 26.43, 2),
    },
    ('relu', 'simplified'): {
        8: (-0.6598, 0.4874, -83.02, 41.69, 1.697, 2),
        16: (-0.3698, 0.2887, 3.871, 24.33, 3.404, 2),
        32: (-0.6614, 0.212, 36.38, 19.15, 2.918, 2),
        64: (-2.422, 0.1548, 162.5, 14.07, 11.68, 2),
    },
}
# ---------------------------------------------------------------------------- end generated


def _check_batch(batch, name="batch", lo=6) -> int:
    if isinstance(batch, bool):
        raise TypeError(f"{name} must be an integer, got {batch!r}")
    return check_int(batch, name, lo)


def gram_contraction(batch) -> float:
    r"""Contraction ℓ = (B−1)/(B+1) of the deviation of the batch Gram matrix from its fixed point
    per BN layer (identity activation, infinite width):
    :math:`\mathbb E[\hat G_{n+1}\mid\hat G_n] - \bar\mu P \approx \ell\,(\hat G_n - \bar\mu P)`.

    From :math:`\mathbb E[uu^\top] = P/k + \Delta/(k+2) + O(\Delta^2)` for the direction u of
    z ~ N(0, μ̄(P + Δ)), tr Δ = 0, k = B − 1 (derived in gradexp; module docstring, step 2).

    >>> gram_contraction(9)
    0.8
    """
    B = _check_batch(batch, lo=3)
    return (B - 1) / (B + 1)


def gram_fluctuation(batch, width) -> float:
    r"""Stationary :math:`\mathbb E\|\hat G - \bar\mu P\|_F^2` of a linear BN chain at width d,
    :math:`\hat G = xx^\top/d`, to leading order in 1/d:

    .. math:: \frac{B^2(B-2)}{d(B-1)}\cdot\frac{1}{1-\ell^2} = \frac{B(B-2)(B+1)^2}{4d(B-1)}.

    The first factor is the one-unit variance :math:`\mathbb E\|xx^\top - \bar\mu P\|^2/d`
    (:math:`\|x\|^2 = B`), the second the accumulation over layers with ℓ of
    :func:`gram_contraction` (derived in gradexp; module docstring, step 2).

    >>> round(gram_fluctuation(8, 256), 6)
    0.542411
    """
    B = _check_batch(batch, lo=3)
    d = check_int(width, "width", 2)
    return B * (B - 2) * (B + 1) ** 2 / (4.0 * d * (B - 1))


def identity_simplified_a(batch, *, parts=False):
    r"""Derived 1/d coefficient of the Lyapunov factor, identity activation, frozen-statistics
    backward (module docstring, steps 1–3):

    .. math:: a(B) = -(B-1) + \frac{(B-2)(B+1)}{2B} - \frac{1 + 2/B}{B-5} - \frac1B.

    Valid for B > 5 and d ≫ B²/4 (module docstring: assumptions). ``parts=True`` returns the
    dict of the four contributions (``proj``, ``gram``, ``units``, ``noise``) instead.

    >>> round(identity_simplified_a(8), 4)
    -4.1667
    """
    B = _check_batch(batch)
    out = {"proj": -(B - 1.0), "gram": (B - 2.0) * (B + 1.0) / (2.0 * B),
           "units": -(1.0 + 2.0 / B) / (B - 5.0), "noise": -1.0 / B}
    return out if parts else float(sum(out.values()))


def finite_width_coefficient(batch, activation="relu", *, backward="full") -> dict:
    r"""The coefficients of :math:`\lambda(B, d)/\lambda(B) = 1 + a/d + b/d^2`, **measured**:
    ``{"a", "a_se", "b", "b_se", "source"}``, linearly interpolated in 1/B between the batches
    of :data:`MEASURED` (B = 8, 16, 32, 64; errors interpolated the same way, so between
    tabulated batches they are indicative). ``batch`` outside [8, 64] is a ValueError.
    """
    backward = _BACKWARD_NAMES[check_choice(backward, "backward", tuple(_BACKWARD_NAMES))]
    key = (str(activation), backward)
    if key not in MEASURED:
        raise ValueError(f"activation must be one of {sorted({k[0] for k in MEASURED})} "
                         f"(measured), got {activation!r}")
    B = _check_batch(batch, lo=2)
    tab = MEASURED[key]
    bs = np.array(sorted(tab), float)
    if not bs[0] <= B <= bs[-1]:
        raise ValueError(f"batch must lie in [{int(bs[0])}, {int(bs[-1])}] (the measured range), "
                         f"got {batch!r}")
    cols = np.array([tab[int(b)][:4] for b in bs])
    x = 1.0 / bs[::-1]
    vals = [float(np.interp(1.0 / B, x, cols[::-1, i])) for i in range(4)]
    return {"a": vals[0], "a_se": vals[1], "b": vals[2], "b_se": vals[3], "source": "measured"}


def finite_width_factor(batch, width, activation="relu", *, norm="batch", backward="full"):
    r"""Per-layer factor of the squared gradient norm of a BN chain at batch B and width d,

    .. math:: \lambda(B, d) = \lambda(B)\,\bigl(1 + a(B)/d\bigr),

    λ(B) exact (:func:`gradexp.finite_batch_factor`), a(B) **measured** (this is not a derived
    law: the derivation succeeded only partly, see the module docstring and
    ``docs/theory/finite_width.md``): :func:`finite_width_coefficient`, from chains at widths
    64 … 512 (Lyapunov factor), interpolated in 1/B over B ∈ [8, 64].

    Accuracy: the neglected term is :math:`\lambda(B)\,b(B)/d^2` with the measured b of
    :data:`MEASURED`: :math:`|b| \le 351` (identity, full, B = 64) and ≤ 163 for ReLU, so the neglected
    term is up to 9 % (identity) and 4 % (ReLU) of λ at d = 64 and up to 0.13 % and 0.06 % at
    d = 512; the statistical error of a adds ``a_se``/d relative (a_se = 0.13 … 0.49). For the
    identity at B ≥ 32 the two-term fit is poor (χ² up to 53 on 2 dof): there the law is an
    interpolation of the measured widths 64 … 512, not an asymptotic coefficient.
    Only ``norm="batch"`` (centred BatchNorm) is covered.

    Parameters
    ----------
    batch : int in [8, 64].
    width : int ≥ 2.
    activation : ``"relu"`` or ``"identity"``.
    norm : ``"batch"``.
    backward : ``"full"`` (through the batch statistics) or ``"frozen"`` (statistics held
        constant; the chain's ``bn_backward="simplified"``), as :func:`gradexp.normalizer_factor`.

    References
    ----------
    Yang et al., ICLR 2019 (the infinite-width factor); the coefficient measured by gradexp's
    chains (:mod:`gradexp.experiments.finite_width`).
    """
    check_choice(norm, "norm", _NORMS)
    d = check_int(width, "width", 2)
    c = finite_width_coefficient(batch, activation, backward=backward)
    lam = float(finite_batch_factor(int(batch), activation, bn_backward=_BACKWARD_NAMES[backward]))
    return lam * (1.0 + c["a"] / d)
