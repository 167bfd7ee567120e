"""mpmath reference functions for the tests: :mod:`gradexp.experiments.references` (one module
for the ledger and the tests). That module evaluates the papers' formulas literally and imports
nothing else from ``gradexp``, so a bug in the package cannot leak into its reference. Tests
import them as ``from oracles import ...``."""

from __future__ import annotations

from gradexp.experiments.references import (  # noqa: F401
    exact_m2,
    mp_activation_factor,
    mp_explosion_factor,
    mp_fc_cdf,
    mp_fc_moment,
    mp_fc_pdf,
    mp_fc_sf,
    mp_fc_solve,
    mp_fc_x_eps,
    mp_fc_x_phi,
    mp_product_singular_values,
    mp_relu_finite_batch_factor,
    mp_relu_moments,
)
