r"""A design map for users: how much do gradients grow at my normalizer, size, activation and depth?

:func:`depth_to_growth` turns a per-layer factor λ of the *squared* gradient norm into the depth
at which the gradient *norm* has grown by a given ratio; :func:`design_map` tabulates
:func:`~gradexp.theory.normalizers.normalizer_factor` over sizes, normalizers and activations,
with those depths and the settings that keep the growth bounded at a given depth.
"""

from __future__ import annotations

import numpy as np

from ..._validate import as_float_array, check_int, check_real
from .factor import BACKWARDS, NORMS, normalizer_factor

__all__ = ["depth_to_growth", "design_map"]

#: activations drawn by default: two homogeneous (closed forms) and two smooth (quadrature)
DEFAULT_ACTIVATIONS = ("relu", "identity", "tanh", "gelu")


def depth_to_growth(factor, growth=10.0):
    r"""Depth L at which the gradient norm has grown by ``growth``: :math:`\lambda^{L/2} = g`.

    .. math:: L = \frac{2\log g}{\log\lambda}\quad(\lambda > 1),\qquad L = \infty\quad(\lambda \le 1),

    λ the per-layer factor of :math:`\mathbb E\|g\|^2` (so :math:`\sqrt\lambda` is the growth of
    the norm per layer), L a real number (the layer count is its ceiling); λ = inf gives 0.
    ``log1p(λ − 1)`` keeps λ close to 1 accurate.

    Parameters
    ----------
    factor : array_like of λ ≥ 0 (inf allowed; NaN refused).
    growth : g > 1, finite.

    References
    ----------
    Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (gradients grow
    geometrically with depth, at the rate √λ per layer).

    Examples
    --------
    BatchNorm + ReLU at infinite batch, λ = π/(π − 1): ten layers give 6.8×, 12 layers 10×:

    >>> import math
    >>> round(float(depth_to_growth(math.pi / (math.pi - 1), 10.0)), 3)
    12.018
    >>> bool(depth_to_growth(1.0) == math.inf)
    True
    """
    lam = as_float_array(factor, "factor")
    if np.any(lam < 0):
        raise ValueError(f"factor must be >= 0, got {lam[lam < 0].ravel()[0]!r}")
    g = check_real(growth, "growth")
    if not g > 1.0:
        raise ValueError(f"growth must be > 1, got {g}")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(lam > 1.0, 2.0 * np.log(g) / np.log1p(lam - 1.0), np.inf)
    out = np.where(np.isinf(lam), 0.0, out)
    return float(out) if out.ndim == 0 else out


def _names(value, name: str) -> tuple[str, ...]:
    """A name or a sequence of names (TypeError naming the argument otherwise)."""
    if isinstance(value, str):
        return (value,)
    try:
        out = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a name or a sequence of names, got {value!r}") from None
    if not out or not all(isinstance(v, str) for v in out):
        raise TypeError(f"{name} must be a non-empty sequence of names, got {value!r}")
    return out


def design_map(sizes=(4, 8, 16, 32, 64, 128, 256, 512, 1024), norms=NORMS,
               activations=DEFAULT_ACTIVATIONS, *, depth=50, max_growth=10.0, growths=(10.0, 1e6),
               shift=0.0, eps=0.0, backward="full") -> dict:
    r"""Factor, depths to given growths, and boundedness over sizes × normalizers × activations.

    For each normalizer k, activation a and size N (batch size for ``"batch"``, group size for
    ``"group"`` and ``"rms"``; LayerNorm is ``"group"`` at N = width):

    * ``factor[k, a, i]`` = λ = :func:`normalizer_factor` (per-layer factor of E‖g‖²);
    * ``depth_to_growth[k, a, i, j]`` = :func:`depth_to_growth` (λ, ``growths[j]``);
    * ``growth_at_depth[k, a, i]`` = :math:`\lambda^{D/2}`, the growth of the gradient norm over
      ``depth`` = D layers (inf where it overflows);
    * ``bounded[k, a, i]`` = growth_at_depth ≤ ``max_growth``;
    * ``smallest_bounded_size[k, a]``: the smallest size of ``sizes`` from which on every larger
      size listed is bounded (NaN if none): the design answer "at depth D, use at least this
      batch/group size".

    Returns a dict of numpy arrays (and the parameters), ready for ``np.savez``.

    References
    ----------
    Yang et al., ICLR 2019 (Thms 7–9); Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4.

    Examples
    --------
    >>> m = design_map([8, 64], norms=("batch", "group"), activations=("relu",), depth=20)
    >>> m["factor"].shape, bool(m["bounded"][1, 0, 1])      # LayerNorm, G = 64: bounded
    ((2, 1, 2), True)
    """
    N = as_float_array(sizes, "sizes").ravel()
    if N.size == 0 or np.any(np.isnan(N)) or np.any(N < 2) or np.any(N[np.isfinite(N)] != np.floor(N[np.isfinite(N)])):
        raise ValueError(f"sizes must be integers >= 2 (or inf), got {sizes!r}")
    norms, activations = _names(norms, "norms"), _names(activations, "activations")
    for k in norms:
        if k not in NORMS:
            raise ValueError(f"norms must be a subset of {NORMS}, got {k!r}")
    if backward not in BACKWARDS:
        raise ValueError(f"backward must be one of {BACKWARDS}, got {backward!r}")
    D = check_int(depth, "depth", lo=1)
    mg = check_real(max_growth, "max_growth", lo=1.0)
    gs = as_float_array(growths, "growths").ravel()
    if gs.size == 0 or not np.all(gs > 1) or not np.all(np.isfinite(gs)):
        raise ValueError(f"growths must be finite numbers > 1, got {growths!r}")
    K, A, S = len(norms), len(activations), len(N)
    fac = np.empty((K, A, S))
    for i, k in enumerate(norms):
        for j, a in enumerate(activations):
            fac[i, j] = normalizer_factor(k, N, a, shift=shift, eps=eps, backward=backward)
    dep = np.stack([depth_to_growth(fac, g) for g in gs], axis=-1)
    with np.errstate(over="ignore", divide="ignore"):
        growth = np.exp(0.5 * D * np.log(fac))
    bounded = growth <= mg
    smallest = np.full((K, A), np.nan)
    order = np.argsort(N)
    for i in range(K):
        for j in range(A):
            b = bounded[i, j, order]
            tail_ok = np.flip(np.logical_and.accumulate(np.flip(b)))
            if tail_ok.any():
                smallest[i, j] = N[order][np.argmax(tail_ok)]
    return {"size": N, "norms": np.array(norms), "activations": np.array(activations),
            "growths": gs, "depth": D, "max_growth": mg, "shift": float(shift), "eps": float(eps),
            "backward": backward, "factor": fac, "depth_to_growth": dep,
            "growth_at_depth": growth, "bounded": bounded, "smallest_bounded_size": smallest}
