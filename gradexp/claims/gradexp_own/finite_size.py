"""gradexp's own finite-size results (claim ids ``gx-…``, paper key ``"gradexp"``).

The finite-batch factor of :mod:`gradexp.theory.finite_size` against sampled chains, the
explosion of linear BN chains at finite batch, and the finite-width correction.
Experiments run through :func:`gradexp.sweep.cache.cached_call`; every note is formatted
from the evidence.
"""

from __future__ import annotations

import math

import numpy as np

from ...sweep.cache import cached_call
from ...theory.finite_size import finite_batch_factor

#: layers kept away from the chain's ends for the per-layer rate (x^0 is Gaussian, not at
#: the fixed point; the upstream gradient at the output has a component along 1)
EDGE = 5


def _chain():
    from ...mc import chain  # numba only when an experiment runs

    return chain


def chain_factor(batch, width, activation="relu", *, bn_backward="full", depth=30, reps=4,
                 seed=0, edge=EDGE) -> dict:
    r"""Squared per-layer rate of the gradient norm of sampled chains, away from the ends.

    Returns ``{"factor": rate², "stderr": 2·rate·se(rate), "reps": reps, "log_rates": …}``
    with the rate from :meth:`ChainResult.rate_between` over layers ``edge`` … ``depth − edge``
    (per-repetition mean log growth, geometric mean over repetitions, delta-method error).
    """
    res = _chain().simulate_chain(depth, width, batch, activation=activation,
                                  bn_backward=bn_backward, reps=reps, seed=seed,
                                  corr_features=0, weight_grads=False)
    lr = res.log_rates(edge, depth - edge)
    m = float(np.exp(2.0 * lr.mean()))
    se = float(m * 2.0 * lr.std(ddof=1) / math.sqrt(lr.size))
    return {"factor": m, "stderr": se, "reps": int(reps), "log_rates": lr}


def reps_for(batch, width, *, target=1 << 17, lo=2, hi=32) -> int:
    """Repetitions giving about the same statistical precision per cell (∝ 1/(B·d·reps))."""
    return int(min(hi, max(lo, math.ceil(target / (batch * width)))))


def width_scan(batches, widths, activation="relu", *, bn_backward="full", depth=30, seed=0,
               target=1 << 17, max_work=float("inf")) -> dict:
    """λ(B, d) over a (batch, width) grid with theory λ(B, ∞); cells costlier than ``max_work``
    multiply-adds (B·d²·depth·reps) are skipped (NaN)."""
    batches = [int(b) for b in batches]
    widths = [int(d) for d in widths]
    F = np.full((len(batches), len(widths)), np.nan)
    S = np.full_like(F, np.nan)
    R = np.zeros(F.shape, dtype=int)
    ss = np.random.SeedSequence(seed).spawn(len(batches) * len(widths))
    for i, B in enumerate(batches):
        for j, d in enumerate(widths):
            r = reps_for(B, d, target=target)
            if B * d * d * depth * r > max_work:
                continue
            out = cached_call(chain_factor, B, d, activation, bn_backward=bn_backward,
                              depth=depth, reps=r,
                              seed=int(ss[i * len(widths) + j].generate_state(1)[0]))
            F[i, j], S[i, j], R[i, j] = out["factor"], out["stderr"], r
    theory = np.asarray(finite_batch_factor(np.array(batches, float), activation,
                                            bn_backward=bn_backward))
    return {"batch": np.array(batches), "width": np.array(widths), "factor": F, "stderr": S,
            "reps": R, "theory": theory, "activation": activation, "bn_backward": bn_backward,
            "depth": depth}
