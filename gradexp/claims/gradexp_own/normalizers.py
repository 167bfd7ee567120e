"""gradexp's own results on the factor of every normalizer (claim ids ``gx-…``, paper ``"gradexp"``).

The finite-batch factor against the closed form of Yang, Pennington, Rao, Sohl-Dickstein &
Schoenholz (2019), *A Mean Field Theory of Batch Normalization*, ICLR 2019, Thm 8 (written here
independently in mpmath); their Thm 9 (the lower bound (B − 2)/(B − 3), attained only by linear
φ) over activations and batch sizes; and the Monte-Carlo agreement of sampled BatchNorm, GroupNorm
and RMSNorm chains with :func:`gradexp.normalizer_factor`
(:func:`gradexp.experiments.normalizers.agreement`). Every number in a note is formatted from the
evidence.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

from ...experiments import normalizers as nx
from ...theory.finite_size import finite_batch_factor
from ...theory.normalizers import normalizer_factor
from .._common import memo_call as _memo
from .._common import sig as _sig
from .._ledger import FAILS, HOLDS, Falsify, Hypothesis, Verdict, claim
from .finite_size import _pooled

PAPER = "gradexp"
YANG = ("Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz, 'A Mean Field Theory of Batch "
        "Normalization', ICLR 2019")
#: relative tolerance of the Thm 8 comparison (double precision against a 30-digit reference)
THM8_TOL = 1e-13
#: relative tolerance of the Thm 9 equality for the identity and of the bound for the others
#: (the quadrature of normalizer_factor is accurate to 1e-10)
THM9_TOL = 1e-10
K = 4.0  # Monte-Carlo agreement: a hypothesis is rejected beyond 4 standard errors


# ============================================================================ Yang et al. Thm 8
def yang_thm8(B, dps: int = 30) -> mp.mpf:
    r"""Yang et al. (2019), Thm 8: the ReLU gradient rate at batch B (α = 1), in mpmath.

    .. math::

        \lambda(B) = \frac{J'(r) + B - 1}{(B-3)(1 - J(r))} - \frac1{B-3},\qquad r = -\frac1{B-1},

    :math:`J(c) = (\sqrt{1-c^2} + (\pi - \arccos c)c)/\pi`, :math:`J'(c) = (\pi - \arccos c)/\pi`
    (the arccosine kernel), written here independently of :mod:`gradexp.theory`.

    >>> float(yang_thm8(10**9)) - math.pi / (math.pi - 1) < 1e-8
    True
    """
    with mp.workdps(dps):
        B = mp.mpf(int(B))
        r = -1 / (B - 1)
        J = (mp.sqrt(1 - r * r) + (mp.pi - mp.acos(r)) * r) / mp.pi
        Jp = (mp.pi - mp.acos(r)) / mp.pi
        return (Jp + B - 1) / ((B - 3) * (1 - J)) - 1 / (B - 3)


def _thm8_batches(fast: bool):
    return np.unique(np.r_[np.arange(4, 65), np.geomspace(64, 4096, 25).round()]).astype(int) if fast \
        else np.arange(4, 4097)


@claim("gx-yang-thm8", paper=PAPER,
       where=f"theory.finite_size.finite_batch_factor, ReLU, full backward; {YANG}, Thm 8 (Thm 3.10 of the "
             "camera-ready version)",
       quote="The finite-batch factor of a BN -> ReLU -> Gaussian linear chain equals Yang et al.'s Theorem 8 "
             "rate lambda(B) = (J'(r) + B - 1)/((B - 3)(1 - J(r))) - 1/(B - 3), J the arccosine kernel, "
             "r = -1/(B - 1), for every batch size B = 4 ... 4096.",
       formalisation="finite_batch_factor(B, 'relu') against the formula written independently in mpmath at 30 "
                     "digits, relative tolerance 1e-13, at every B = 4..4096 (full mode) or B = 4..64 and 25 "
                     "geometric batches to 4096 (fast); the competitor is the infinite-batch rate pi/(pi - 1).",
       falsify=Falsify("competitor", {"reference": "infinite-batch"},
                       "the infinite-batch rate pi/(pi - 1) (Yang et al.'s large-B limit) in Thm 8's place"))
def _check_thm8(fast: bool, *, reference: str = "thm8") -> Verdict:
    if reference not in ("thm8", "infinite-batch"):
        raise ValueError(f"reference must be 'thm8' or 'infinite-batch', got {reference!r}")
    Bs = _thm8_batches(fast)
    got = np.asarray(finite_batch_factor(Bs.astype(float), "relu"), dtype=float)
    thm8 = np.array([float(yang_thm8(B)) for B in Bs])
    limit = math.pi / (math.pi - 1)
    ref, comp = (thm8, np.full_like(thm8, limit)) if reference == "thm8" else (np.full_like(thm8, limit), thm8)
    err = np.abs(got / ref - 1)
    err_c = np.abs(got / comp - 1)
    i, j = int(np.argmax(err)), int(np.argmin(err_c))
    worst, worst_c = float(err[i]), float(err_c[j])
    status = HOLDS if worst <= THM8_TOL else FAILS
    name = "Thm 8 closed form" if reference == "thm8" else "infinite-batch pi/(pi-1)"
    other = "infinite-batch pi/(pi-1)" if reference == "thm8" else "Thm 8 closed form"
    hyps = (Hypothesis(f"statement: {name}, worst B = {Bs[i]}", float(ref[i]), worst / THM8_TOL),
            Hypothesis(f"competitor: {other}, closest B = {Bs[j]}", float(comp[j]), worst_c / THM8_TOL))
    evidence = {"reference": reference, "batches": f"{int(Bs.size)} batches, {int(Bs[0])}..{int(Bs[-1])}",
                "tolerance": THM8_TOL, "max_relative_error": _sig(worst, 3), "worst_batch": int(Bs[i]),
                "min_relative_distance_to_competitor": _sig(worst_c, 3), "closest_competitor_batch": int(Bs[j]),
                "factor_at (B: gradexp, reference)": {str(int(b)): _sig([float(g), float(r)], 16)
                                                      for b, g, r in zip(Bs, got, ref) if b in (4, 8, 64, 4096)}}
    note = (f"Over {evidence['batches']} the finite-batch factor matches the {name} to {worst:.1e} relative "
            f"(worst at B = {int(Bs[i])}, tolerance {THM8_TOL:.0e}); the {other} is at least "
            f"{worst_c:.1e} away (B = {int(Bs[j])}).")
    return Verdict(status, evidence, note, hypotheses=hyps)


# ============================================================================ Yang et al. Thm 9
#: activations of the Thm 9 check: the linear one and non-linear ones, smooth and kinked
#: (label, name, params); the leaky ReLU of slope 0.9 is the near-linear case of "only for linear"
THM9_ACTIVATIONS = (("identity", "identity", {}), ("relu", "relu", {}), ("tanh", "tanh", {}),
                    ("gelu", "gelu", {}), ("silu", "silu", {}), ("elu", "elu", {}),
                    ("softplus", "softplus", {}), ("leaky_relu(0.01)", "leaky_relu", {"slope": 0.01}),
                    ("leaky_relu(0.9)", "leaky_relu", {"slope": 0.9}))


def _thm9_batches(fast: bool):
    return (4, 8, 32) if fast else (4, 5, 6, 8, 12, 16, 32, 64, 256)


@claim("gx-yang-thm9", paper=PAPER,
       where=f"theory.normalizers.normalizer_factor('batch', B, phi); {YANG}, Thm 9",
       quote="For every non-constant activation the BatchNorm gradient factor at batch B is at least "
             "(B - 2)/(B - 3), the factor of a linear network, with equality only for a linear activation.",
       formalisation="normalizer_factor('batch', B, phi) (full backward, eps = 0, no shift) for phi in identity, "
                     "relu, tanh, gelu, silu, elu, softplus, leaky relu (slopes 0.01 and 0.9, the near-linear case) at B = 4, 8, 32 (fast) or "
                     "4..256 (full): the identity equals (B - 2)/(B - 3) to 1e-10 relative, every other phi "
                     "exceeds it by more than 1e-10 relative (the quadrature's accuracy).",
       falsify=Falsify("smallest-effect", {"bound_scale": 1.0 + 10 * THM9_TOL},
                       "the bound raised by ten times the check's tolerance (1e-9 relative): the smallest move "
                       "the equality for linear phi claims to resolve"))
def _check_thm9(fast: bool, *, bound_scale: float = 1.0) -> Verdict:
    Bs = np.array(_thm9_batches(fast), dtype=float)
    bound = (Bs - 2) / (Bs - 3) * bound_scale
    rows, excess = {}, {}
    for act, name, params in THM9_ACTIVATIONS:
        f = np.asarray(normalizer_factor("batch", Bs, name, **params), dtype=float)
        excess[act] = f / bound - 1
        rows[act] = _sig(list(excess[act]), 4)
    lin = np.abs(excess["identity"])
    nonlin = {a: float(np.min(e)) for a, e in excess.items() if a != "identity"}
    closest = min(nonlin, key=nonlin.get)
    equal = bool(np.max(lin) <= THM9_TOL)
    above = all(v > THM9_TOL for v in nonlin.values())
    status = HOLDS if (equal and above) else FAILS
    hyps = (Hypothesis("statement: identity at the bound (B-2)/(B-3), worst batch", float(bound[np.argmax(lin)]),
                       float(np.max(lin)) / THM9_TOL),
            Hypothesis(f"competitor: a non-linear phi at the bound, closest {closest}", 0.0,
                       nonlin[closest] / THM9_TOL))
    evidence = {"batches": [int(b) for b in Bs], "bound_scale": bound_scale, "tolerance": THM9_TOL,
                "relative excess factor/bound - 1 (activation: by batch)": rows,
                "identity_max_|excess|": _sig(float(np.max(lin)), 3),
                "smallest_nonlinear_excess": _sig(nonlin[closest], 4), "closest_activation": closest}
    note = (f"At B = {', '.join(str(int(b)) for b in Bs)} the identity's factor is the bound to "
            f"{evidence['identity_max_|excess|']:.1e} relative; every non-linear phi exceeds it, the least "
            f"{closest} by {evidence['smallest_nonlinear_excess']:.3g} relative (tolerance {THM9_TOL:.0e}).")
    return Verdict(status, evidence, note, hypotheses=hyps)


# ============================================================================ Monte-Carlo agreement
def _reference(row, reference):
    if reference == "theory":
        return row["theory"]
    if reference == "infinite-size":
        return row["infinite"]
    if reference == "batch":
        return row["batch_factor"]
    raise ValueError(f"reference must be 'theory', 'infinite-size' or 'batch', got {reference!r}")


@claim("gx-normalizer-mc", paper=PAPER,
       where="theory.normalizers.normalizer_factor against experiments.normalizers.agreement "
             f"(docs/theory/normalizers.md, Monte-Carlo agreement); BatchNorm case: {YANG}, Thm 7-8",
       quote="Sampled BatchNorm, GroupNorm and RMSNorm chains with ReLU, identity, tanh and GELU at sizes 8, 16 "
             "and 64, extrapolated in 1/width at fixed size, agree with the exact infinite-width factor "
             "normalizer_factor at their own size.",
       formalisation="per cell (norm, activation, backward, size) the sampled squared per-layer rate at three "
                     "(fast) or four (full) widths from 64, fitted as lambda + a/width; the intercepts against "
                     "normalizer_factor at the cell's size and against the infinite-size factor (the competitor), "
                     "pooled: chi^2 = sum z^2 on one dof per cell, a hypothesis rejected when its p-value is below "
                     "the two-sided 4-standard-error tail (or one cell is beyond 4 standard errors from the "
                     "statement); full backward for all cells, frozen for relu and tanh; size 4 (infinite-variance "
                     "estimator) reported, not tested.",
       falsify=Falsify("competitor", {"reference": "infinite-size"},
                       "the infinite-size factor (no finite-size correction) in the factor at the chain's size"))
def _check_mc(fast: bool, *, reference: str = "theory") -> Verdict:
    ev = _memo(nx.agreement, fast)
    rows = [r for r in ev["rows"] if r["tested"]]
    other = "infinite-size" if reference != "infinite-size" else "theory"
    zs, zc, table, hyps = [], [], {}, []
    for r in rows:
        p, c = _reference(r, reference), _reference(r, other)
        z1 = (r["extrapolated"] - p) / r["extrapolated_se"]
        z2 = (r["extrapolated"] - c) / r["extrapolated_se"]
        label = f"{r['norm']}, {r['activation']}, {r['backward']}, size {r['size']}"
        zs.append(z1)
        zc.append(z2)
        hyps += [Hypothesis(f"statement ({reference}), {label}", p, z1),
                 Hypothesis(f"competitor ({other}), {label}", c, z2)]
        table[label] = _sig([p, c, r["extrapolated"], r["extrapolated_se"], z1, z2], 4)
    status, pooled = _pooled(zs, zc, k=K)
    worst = int(np.argmax(np.abs(zs)))
    reported = {f"{r['norm']}, {r['activation']}, {r['backward']}, size {r['size']}":
                _sig([r["theory"], r["extrapolated"], r["extrapolated_se"]], 4)
                for r in ev["rows"] if not r["tested"]}
    evidence = {"reference": reference, "mode": ev["mode"], "depth": ev["depth"], "widths": ev["widths"],
                "pooled_test": pooled,
                "cells (statement, competitor, extrapolated, se, z statement, z competitor)": table,
                "reported_not_tested (theory, extrapolated, se)": reported,
                "max_|z|_statement": _sig(float(np.max(np.abs(zs))), 3), "worst_cell": list(table)[worst],
                "min_|z|_competitor": _sig(float(np.min(np.abs(zc))), 3),
                "worst_cell (extrapolated, se)": _sig([rows[worst]["extrapolated"], rows[worst]["extrapolated_se"]], 5)}
    # GroupNorm/RMSNorm cells against BatchNorm's factor at the same size (a second competitor)
    zb = [(r["extrapolated"] - r["batch_factor"]) / r["extrapolated_se"] for r in rows if r["norm"] != "batch"]
    evidence["group_rms_cells_vs_batchnorm_factor (chi^2, dof, min |z|)"] = _sig(
        [float(np.sum(np.square(zb))), len(zb), float(np.min(np.abs(zb)))], 4)
    wr = dict(zip(("extrapolated", "extrapolated_se"), evidence["worst_cell (extrapolated, se)"]))
    note = (f"Pooled over {len(rows)} cells, the 1/width extrapolations give chi^2 = {pooled['chi2_statement']:.4g} "
            f"on {pooled['dof']} dof (p = {pooled['p_statement']:.2g}) from the {reference} factor and chi^2 = "
            f"{pooled['chi2_competitor']:.4g} (p = {pooled['p_competitor']:.2g}) from the {other} factor "
            f"(rejection below p = {pooled['rejection_p (two-sided tail of k se)']:.2g}); max |z| = "
            f"{evidence['max_|z|_statement']:.3g} (worst: {evidence['worst_cell']}: {wr['extrapolated']:.4f} ± "
            f"{wr['extrapolated_se']:.4f}); per cell the competitor is at least "
            f"{evidence['min_|z|_competitor']:.3g} standard errors away. The GroupNorm/RMSNorm cells are chi^2 = "
            f"{evidence['group_rms_cells_vs_batchnorm_factor (chi^2, dof, min |z|)'][0]:.4g} from BatchNorm's factor "
            f"at their size.")
    return Verdict(status, evidence, note, hypotheses=tuple(hyps))
