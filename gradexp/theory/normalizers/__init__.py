r"""Exact infinite-width gradient explosion factors of every normalizer.

One entry point, :func:`normalizer_factor`, for the per-layer factor of the expected squared
gradient norm in a chain *norm → φ → Gaussian linear*, repeated, at infinite width:

* ``"batch"``: BatchNorm over a batch of B samples (per unit, centred), with a shift s added to
  its output before φ (the affine β) and an ε in the divisor;
* ``"group"``: GroupNorm, per sample over groups of G units, centred. **LayerNorm is GroupNorm
  with one group of all d units**: ``normalizer_factor("group", d)``;
* ``"rms"``: RMSNorm by groups of G units (no centring); G = d is the usual RMSNorm.

``backward="full"`` differentiates through the statistics (the exact gradient);
``backward="frozen"`` holds them constant (Paik & Choi's simplified backward, the
``bn_backward="simplified"`` of :func:`gradexp.finite_batch_factor`).

Setting and conventions
-----------------------
Weights :math:`W_{ij} \sim N(0, \sigma_w^2/d)` with He scaling :math:`\sigma_w^2 = 2`
(:data:`WEIGHT_VAR`). Without ε the factor does not depend on :math:`\sigma_w` (the
normalizer removes the scale). With ε > 0 only :math:`\varepsilon/\sigma_w^2` matters: for
another weight variance pass ``eps * 2 / sigma_w2``. With ε the forward pass has a fixed point
of the pre-normalization scale v (per-coordinate variance before centring, in the units of
:math:`\sigma_w^2`), solved by :func:`forward_fixed_point`; if
:math:`\sigma_w^2 A_0\,n/(N\varepsilon) \le 1` the only fixed point is v = 0 (the signal decays
to zero with depth: ε dominates) and the factor returned is its limit there.

Derivation (full text on the docs page ``docs/theory/normalizers.md``)
------------------------------------------------------------------------
Write N for the normalized size (B or G) and n for the dimension of the sphere the normalized
vector lives on: n = N − 1 when centred (batch, group), n = N (rms). At infinite width the
vector normalized together is an isotropic Gaussian in its n-dimensional subspace (for BN:
across the batch, the fixed point of Yang et al. 2019; for GN/RMS: the G units of one sample
are i.i.d. given the previous layer), so the output is :math:`y = \sqrt N\,u` with u uniform
on the unit sphere, independent of the divisor :math:`\hat\sigma^2 = v\chi^2_n/N`. One
coordinate is :math:`y_1 = \sqrt n\,t` with density :math:`\propto (1-t^2)^{(n-3)/2}`.

The backward noise :math:`v = W^\top g'` is, for BN, one unit's vector across the batch,
:math:`N(0, cP)`; for GN/RMS the G units of a group get independent noise :math:`N(0, cI)`.
With :math:`M = P - yy^\top/N` (centred; :math:`I - yy^\top/N` for rms) the Jacobian is
:math:`M/\hat\sigma`, and :math:`\mathbb E[1/\chi^2_n] = 1/(n-2)` gives, with
:math:`D_2 = \mathbb E\varphi'(y_1+s)^2`, :math:`A_2 = \mathbb E y_1^2\varphi'(y_1+s)^2`,
:math:`E_2 = \mathbb E\varphi(y_1+s)^2` and the pair moments O, :math:`A_{12}`, α of
:func:`gradexp.finite_batch_factor` (with φ(· + s)):

.. math::

    \lambda^{\rm batch}_{\rm full} = \frac{(B-1)D_2 + O - A_2 + A_{12}}{\alpha\,(B-3)},\quad
    \lambda^{\rm group}_{\rm full} = \frac{(G-1)D_2 - A_2}{E_2\,(G-3)},\quad
    \lambda^{\rm rms}_{\rm full} = \frac{G D_2 - A_2}{E_2\,(G-2)},

and frozen :math:`B D_2/(\alpha(B-3))`, :math:`G D_2/(E_2(G-3))`, :math:`G D_2/(E_2(G-2))`.
GroupNorm and RMSNorm divide by :math:`E_2` (the uncentred second moment: the pre-norm mean
over a sample's units is zero at infinite width) where BatchNorm divides by the batch variance
α; this is why BatchNorm explodes and LayerNorm, at s = 0, does not: for every positively
homogeneous φ (ReLU, leaky ReLU, identity) :math:`D_2 = A_2 = E_2`, so
:math:`\lambda^{\rm group}_{\rm full} = (G-2)/(G-3)` and
:math:`\lambda^{\rm rms}_{\rm full} = (G-1)/(G-2)` whatever φ.

References
----------
.. [1] G. Yang, J. Pennington, V. Rao, J. Sohl-Dickstein, S. S. Schoenholz, "A Mean Field
   Theory of Batch Normalization", ICLR 2019, arXiv:1902.08129: Thm 7 (the gradient rate at
   finite batch), Thm 8 (its ReLU closed form, our ``"batch"`` case at s = 0, ε = 0), Thm 9
   (the factor is at least (B − 2)/(B − 3), with equality only for linear φ), and their
   observation that a larger ε lowers the explosion.
.. [2] Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4 (C(R), the B → ∞ limit with R = s/√2) and
   Appendix A.2, eq. 16 (the frozen backward).
"""

from __future__ import annotations

from .design import depth_to_growth, design_map
from .factor import (
                     BACKWARDS,
                     NORMS,
                     WEIGHT_VAR,
                     forward_fixed_point,
                     normalizer_expansion,
                     normalizer_factor,
                     normalizer_moments,
)
from .rules import coordinate_rule, radial_moments, shifted_pair_rule

__all__ = ["NORMS", "BACKWARDS", "WEIGHT_VAR", "normalizer_factor", "normalizer_moments",
           "normalizer_expansion", "forward_fixed_point", "coordinate_rule", "shifted_pair_rule",
           "radial_moments", "depth_to_growth", "design_map"]
