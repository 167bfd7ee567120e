"""gradexp's own finite-size results (claim ids ``gx-…``, paper key ``"gradexp"``).

The finite-batch factor of :mod:`gradexp.theory.finite_size` against sampled chains, the explosion
of linear BN chains at finite batch, the ReLU closed form against an mpmath quadrature, orthogonal
weights, representations and the depth drift at finite width. The quote of each claim is
gradexp's own statement; the external reference of the finite-batch claims is Yang, Pennington,
Rao, Sohl-Dickstein & Schoenholz (2019), *A Mean Field Theory of Batch Normalization*, Thm 8 (the
exact factor equals their gradient-explosion rate). The experiments live in
:mod:`gradexp.experiments.finite_size`; every number in a note is formatted from the evidence.
"""

from __future__ import annotations

import math

import numpy as np

from ...experiments import finite_size as fx
from ...experiments.references import mp_relu_finite_batch_factor
from ...theory.explosion import activation_factor
from ...theory.finite_size import finite_batch_factor
from .._common import memo_call as _memo
from .._common import sig as _sig
from .._ledger import (
    FAILS,
    HOLDS,
    HOLDS_LOOSELY,
    INCONCLUSIVE,
    Falsify,
    Hypothesis,
    Verdict,
    claim,
    weigh,
)

PAPER = "gradexp"
Z_MAX = 5.0  # Monte-Carlo agreement: within 5 standard errors
K = 4.0  # weigh(): a hypothesis is rejected beyond 4 standard errors (many rows per claim)
YANG = "Yang et al. 2019, Thm 8"


def _reference_factor(batch, activation, bn_backward, reference):
    """``"finite-batch"``: :func:`finite_batch_factor` (gradexp's statement, = Yang et al.'s Thm 8);
    ``"infinite-batch"``: :func:`activation_factor` (the competitor that ignores the batch)."""
    if reference == "finite-batch":
        return np.asarray(finite_batch_factor(batch, activation, bn_backward=bn_backward), dtype=float)
    if reference == "infinite-batch":
        return float(activation_factor(activation)) * np.ones(np.shape(batch))
    raise ValueError(f"reference must be 'finite-batch' or 'infinite-batch', got {reference!r}")


def _combine(statuses):
    """One verdict from per-row weigh() verdicts: any row rejecting the statement fails it; all rows
    deciding for it holds; otherwise inconclusive."""
    if FAILS in statuses:
        return FAILS
    return HOLDS if all(s == HOLDS for s in statuses) else INCONCLUSIVE


def _pooled(z_statement, z_competitor, k=K):
    """One verdict over groups from the pooled test: chi^2 = sum z^2 of each hypothesis on
    ``len(z)`` degrees of freedom; a hypothesis is rejected when its p-value is below the two-sided
    tail of ``k`` standard errors (any single group beyond ``k`` also rejects the statement).
    ``holds`` when the statement is kept and the competitor rejected, ``fails`` when the statement is
    rejected, ``inconclusive`` when neither is rejected. Returns (status, evidence)."""
    from scipy.stats import chi2, norm

    alpha = 2 * float(norm.sf(k))
    zs, zc = np.asarray(z_statement, float), np.asarray(z_competitor, float)
    c_s, c_c = float(np.sum(zs**2)), float(np.sum(zc**2))
    p_s, p_c = float(chi2.sf(c_s, zs.size)), float(chi2.sf(c_c, zc.size))
    if p_s < alpha or np.any(np.abs(zs) > k):
        status = FAILS
    elif p_c < alpha:
        status = HOLDS
    else:
        status = INCONCLUSIVE
    return status, {"dof": int(zs.size), "chi2_statement": _sig(c_s, 4), "p_statement": _sig(p_s, 3),
                    "chi2_competitor": _sig(c_c, 4), "p_competitor": _sig(p_c, 3),
                    "rejection_p (two-sided tail of k se)": _sig(alpha, 3)}


# ============================================================================ the factor vs chains
@claim("gx-finite-batch-factor", paper=PAPER,
       where="theory.finite_size.finite_batch_factor (Yang et al. 2019, Thm 8)",
       quote="At infinite width the per-layer factor of the expected squared gradient norm of a "
             "BN -> activation -> Gaussian linear chain at batch B is ((B-1)D2 + O - A2 + A12)/"
             "(alpha (B-3)) (full backward) and B D2/(alpha (B-3)) (simplified backward), moments "
             "over one unit's BN output, sqrt(B) times a uniform unit vector orthogonal to 1; "
             "sampled chains extrapolated in 1/width at fixed batch agree.",
       formalisation="per (activation, backward, batch) group: the sampled squared per-layer rate at three "
                     "widths, fitted as lambda(B) + a/width; the intercepts against the exact finite-batch "
                     "factor and against the infinite-batch factor (the competitor), pooled over the groups: "
                     "chi^2 = sum z^2 of each on one degree of freedom per group, a hypothesis rejected when its "
                     "p-value is below the two-sided 4-standard-error tail (or a single group is beyond 4 "
                     "standard errors from the statement); batches B >= 6 only (finite-variance estimator).",
       falsify=Falsify("competitor", {"reference": "infinite-batch"},
                       "the infinite-batch factor (no batch correction) in the finite-batch factor's place"))
def _check_factor(fast: bool, *, reference: str = "finite-batch") -> Verdict:
    ev = _memo(fx.factor_agreement, fast)
    rows = [r for r in ev["rows"] if r["tested"]]
    excluded = sorted({int(r["batch"]) for r in ev["rows"] if not r["tested"]})
    hyps, table, zp, zc = [], {}, [], []
    for r in rows:
        B = np.array([float(r["batch"])])
        paper = float(_reference_factor(B, r["activation"], r["backward"], reference)[0])
        comp = float(_reference_factor(B, r["activation"], r["backward"], "infinite-batch")[0])
        if reference == "infinite-batch":  # the competitor in the statement's place
            comp = float(_reference_factor(B, r["activation"], r["backward"], "finite-batch")[0])
        label = f"{r['activation']}, {r['backward']}, B = {r['batch']}"
        _st, h, e = weigh(r["extrapolated"], r["extrapolated_se"], paper=paper, competitor=comp, k=K,
                         paper_name=f"statement ({reference} factor), {label}",
                         competitor_name=f"competitor, {label}")
        hyps.extend(h)
        zp.append(e["z_paper"])
        zc.append(e["z_competitor"])
        table[label] = _sig([paper, comp, r["extrapolated"], r["extrapolated_se"], e["z_paper"], e["z_competitor"],
                             r["slope_a"]], 5)
    worst = int(np.argmax(np.abs(zp)))
    wr = rows[worst]
    status, pooled = _pooled(zp, zc)
    weak = [f"{lab}, z = {z:.2g}" for lab, z in zip(table, zc) if abs(z) <= K]
    evidence = {
        "reference": reference, "depth": ev["depth"], "widths": ev["widths"], "pooled_test": pooled,
        "rows (statement, competitor, extrapolated, se, z statement, z competitor, a/width slope)": table,
        "excluded_from_z_test (B <= 5: infinite-variance estimator)": excluded,
        "max_|z|_statement": _sig(max(abs(z) for z in zp), 3),
        "min_|z|_competitor": _sig(min(abs(h.z) for h in hyps[1::2]), 3),
        "worst_group": list(table)[worst],
    }
    note = (f"Pooled over {len(rows)} (activation, backward, batch) groups, the 1/width extrapolations at fixed "
            f"batch give chi^2 = {pooled['chi2_statement']:.3g} on {pooled['dof']} dof (p = "
            f"{pooled['p_statement']:.2g}) from the {reference} factor and chi^2 = {pooled['chi2_competitor']:.4g} "
            f"(p = {pooled['p_competitor']:.2g}) from the competitor (rejection below p = "
            f"{pooled['rejection_p (two-sided tail of k se)']:.2g}). Per group: max |z| = "
            f"{evidence['max_|z|_statement']:.3g} from the {reference} factor (worst: {evidence['worst_group']}: "
            f"{wr['extrapolated']:.4f} ± {wr['extrapolated_se']:.4f}); the competitor is between "
            f"{evidence['min_|z|_competitor']:.3g} and {max(abs(z) for z in zc):.3g} standard errors away"
            + (f" (alone within {K:.0f} se: " + "; ".join(weak) + ")" if weak else "") + ".")
    return Verdict(status, evidence, note, hypotheses=tuple(hyps))


# ============================================================================ identity explosion
@claim("gx-identity-explosion", paper=PAPER,
       where="theory.finite_size, identity activation: (B-2)/(B-3) (Yang et al. 2019, Thm 8)",
       quote="A linear network (identity activation) with BatchNorm explodes at every finite "
             "batch: the expected squared gradient norm grows per layer by (B-2)/(B-3) (full "
             "backward), the explosion is caused by BN itself, not by the activation.",
       formalisation="linear BN chains at B = 6, 8, 12, two widths, extrapolated in 1/width at fixed batch: "
                     "the intercept against (B-2)/(B-3) and against 1 (no explosion, the infinite-batch value).",
       falsify=Falsify("competitor", {"reference": "infinite-batch"},
                       "no explosion (the infinite-batch factor 1 of the identity) in (B-2)/(B-3)'s place"))
def _check_identity(fast: bool, *, reference: str = "finite-batch") -> Verdict:
    ev = _memo(fx.identity_explosion, fast)
    statuses, hyps, table = [], [], {}
    for B, y, se, a in zip(ev["batches"], ev["extrapolated"], ev["extrapolated_se"], ev["slope_a"]):
        paper = float(_reference_factor(np.array([float(B)]), "identity", "full", reference)[0])
        other = "infinite-batch" if reference == "finite-batch" else "finite-batch"
        comp = float(_reference_factor(np.array([float(B)]), "identity", "full", other)[0])
        st, h, e = weigh(y, se, paper=paper, competitor=comp, k=K,
                         paper_name=f"statement ({reference}), B = {B}", competitor_name=f"competitor ({other}), B = {B}")
        statuses.append(st)
        hyps.extend(h)
        table[str(B)] = _sig([y, se, paper, comp, e["z_paper"], e["z_competitor"], a], 5)
    status = _combine(statuses)
    zs = [h.z for h in hyps]
    evidence = {"reference": reference, "depth": ev["depth"], "widths": ev["widths"],
                "rows (B: extrapolated, se, statement, competitor, z statement, z competitor, a/width)": table,
                "max_|z|_statement": _sig(max(abs(z) for z in zs[0::2]), 3),
                "min_|z|_competitor": _sig(min(abs(z) for z in zs[1::2]), 3)}
    note = ("Linear BN chains extrapolated in 1/width: "
            + ", ".join(f"{v[0]:.4f} ± {v[1]:.4f} at B = {b}" for b, v in table.items())
            + f"; max |z| = {evidence['max_|z|_statement']:.3g} from the {reference} value, the competitor at least "
            f"{evidence['min_|z|_competitor']:.3g} standard errors away.")
    return Verdict(status, evidence, note, hypotheses=tuple(hyps))


# ============================================================================ closed form vs mpmath
CLOSED_FORM_TOL = 1e-12


@claim("gx-finite-batch-closed-form", paper=PAPER, where="theory.finite_size, ReLU closed form (Yang et al. 2019, Thm 8)",
       quote="For ReLU the finite-batch factor has the closed form ((B-2)/2 + O + k1)/((B-3)(1/2 - k1)) "
             "(full) and B/(2(B-3)(1/2 - k1)) (simplified), O = 1/4 + asin(rho)/(2 pi), k1 the "
             "arc-cosine kernel, rho = -1/(B-1): the sphere moments equal Gaussian kernels at "
             "correlation -1/(B-1).",
       formalisation="the closed form against a direct mpmath 2-D quadrature over the sphere's pair density "
                     "(experiments.references.mp_relu_finite_batch_factor), relative tolerance 1e-12.",
       falsify=Falsify("competitor", {"rho": 0.0},
                       "Gaussian kernels at correlation 0 (coordinates of one unit treated as independent) "
                       "in place of -1/(B-1)"))
def _check_closed_form(fast: bool, *, rho: float | None = None) -> Verdict:
    batches = (5,) if fast else (4, 5, 9, 17)
    rows, hyps = {}, []
    worst, worst_comp = 0.0, math.inf
    for B in batches:
        ref = _memo(mp_relu_finite_batch_factor, B, 15, rho_override=rho)
        comp = _memo(mp_relu_finite_batch_factor, B, 15, rho_override=0.0 if rho is None else None)
        got = (finite_batch_factor(B, "relu"), finite_batch_factor(B, "relu", bn_backward="simplified"))
        err = max(abs(g / r - 1) for g, r in zip(got, ref))
        err_c = max(abs(g / r - 1) for g, r in zip(got, comp))
        worst, worst_comp = max(worst, err), min(worst_comp, err_c)
        hyps += [Hypothesis(f"statement: sphere quadrature, B = {B}", float(ref[0]), err / CLOSED_FORM_TOL),
                 Hypothesis(f"competitor: correlation 0, B = {B}", float(comp[0]), err_c / CLOSED_FORM_TOL)]
        rows[str(B)] = _sig([got[0], ref[0], got[1], ref[1], err, err_c], 6)
    ok = worst < CLOSED_FORM_TOL
    evidence = {"rows (B: full, mpmath, simplified, mpmath, max rel. error, rel. distance to competitor)": rows,
                "max_relative_error": _sig(worst, 3), "min_relative_distance_to_competitor": _sig(worst_comp, 3),
                "tolerance": CLOSED_FORM_TOL,
                "reference": "mpmath 2-D quadrature of the disk density" + ("" if rho is None else f" with rho = {rho}")}
    note = (f"The closed form matches a direct mpmath integral over the sphere's pair density to "
            f"{worst:.1e} (B = {', '.join(map(str, batches))}); Gaussian kernels at correlation 0 would be "
            f"{worst_comp:.1e} off.")
    return Verdict(HOLDS if ok else FAILS, evidence, note, hypotheses=tuple(hyps))


# ============================================================================ orthogonal weights
@claim("gx-orthogonal-bound", paper=PAPER, where="gradexp finite-size study; setting of Meterez et al., ICLR 2024",
        formalisation="change of the mean log gain log(||g^0||/||g^L||) from L = 50 to L = 1000 over independent "
                      "networks at B = width = 32 and 64 (8 networks per depth fast, 16 full); bounded: |change| < 1 "
                      "at both widths; the Gaussian-weight arm must grow by more than 2 and 5 standard errors at "
                      "both widths.",
        quote="With Haar-orthogonal weights, identity activation, BN without mean subtraction and "
                  "batch size equal to width, the gradient norm at the input, log(||g^0||/||g^L||), stays "
                  "bounded as the depth L grows from 50 to 1000 (it changes by less than 1, a factor e), "
                  "while with Gaussian weights it keeps growing.",
        falsify=Falsify("competitor", {"weights": "gaussian"},
                        "Gaussian weights (the arm that explodes) in place of Haar-orthogonal ones"))
def _check_orthogonal(fast: bool, *, weights: str = "orthogonal") -> Verdict:
    widths = (32, 64)
    depths = (50, 200, 1000) if fast else (50, 100, 200, 500, 1000)
    reps = 8 if fast else 16
    arms = fx.ORTHO_ARMS
    evs = {d: _memo(fx.orthogonal_gains, d, d, depths, reps=reps, rng=2024 + d) for d in widths}

    def change(ev, w, n):
        m, se = ev[f"{w}_{n}_gain"], ev[f"{w}_{n}_gain_se"]
        return float(m[-1] - m[0]), float(math.hypot(se[-1], se[0]))

    tested = {d: change(evs[d], weights, "batch-nocenter") for d in widths}
    gauss = {d: change(evs[d], "gaussian", "batch-nocenter") for d in widths}
    ortho_c = {d: change(evs[d], "orthogonal", "batch") for d in widths}
    gauss_c = {d: change(evs[d], "gaussian", "batch") for d in widths}
    # the infinite-width value of centred BN at batch B (width >> B); at width = B it is not a prediction
    inf_width = {d: 0.5 * (depths[-1] - depths[0]) * math.log((d - 2) / (d - 3)) for d in widths}
    bounded = all(abs(tested[d][0]) < 1.0 for d in widths)
    grows = all(gauss[d][0] > 5 * gauss[d][1] and gauss[d][0] > 2.0 for d in widths)
    if bounded and grows:
        status = HOLDS
    elif grows and all(abs(tested[d][0]) < 0.1 * gauss[d][0] for d in widths):
        status = HOLDS_LOOSELY
    else:
        status = FAILS
    evidence = {"batch = width": list(widths), "reps": reps, "depths": list(depths), "tested_weights": weights,
                "gain log(||g^0||/||g^L||) by L (width, arm: means; se)": {
                    f"{d}, {w}, {n}": [_sig(list(evs[d][f"{w}_{n}_gain"]), 3), _sig(list(evs[d][f"{w}_{n}_gain_se"]), 2)]
                    for d in widths for w, n in dict.fromkeys(arms)},
                "change_L50_to_L1000 (width: tested, BN without centring; se)": {str(d): _sig(list(v), 4) for d, v in tested.items()},
                "change (width: gaussian, BN without centring; se)": {str(d): _sig(list(v), 4) for d, v in gauss.items()},
                "change (width: orthogonal, centred BN; se)": {str(d): _sig(list(v), 4) for d, v in ortho_c.items()},
                "change (width: gaussian, centred BN; se)": {str(d): _sig(list(v), 4) for d, v in gauss_c.items()},
                "infinite_width_centred_value (L1-L0)/2 log((B-2)/(B-3)), not a finite-width prediction":
                    {str(d): _sig(v, 4) for d, v in inf_width.items()}}
    note = (f"From depth {depths[0]} to {depths[-1]} ({reps} networks per depth) the input-gradient log gain of "
            f"{weights} weights (BN without centring, B = d) changes by "
            + ", ".join(f"{tested[d][0]:.2f} ± {tested[d][1]:.2f} at d = {d}" for d in widths)
            + "; Gaussian weights: " + ", ".join(f"{gauss[d][0]:.2f} ± {gauss[d][1]:.2f} at d = {d}" for d in widths)
            + " (centred BN: " + ", ".join(f"{gauss_c[d][0]:.2f} ± {gauss_c[d][1]:.2f}" for d in widths)
            + "); orthogonal weights with centred BN: "
            + ", ".join(f"{ortho_c[d][0]:.2f} ± {ortho_c[d][1]:.2f}" for d in widths) + ". The tested arm by depth "
            + "; ".join(f"d = {d}: " + ", ".join(f"{v:.2f}" for v in evs[d][f"{weights}_batch-nocenter_gain"])
                        for d in widths)
            + "; distance of the change from the bound 1: "
            + ", ".join(f"{(abs(tested[d][0]) - 1.0) / tested[d][1]:.2g} se at d = {d}" for d in widths)
            + " (bounded is read on the point estimate; where it is within a few se of 1 more networks or depths "
              "beyond 1000 would sharpen it).")
    worst = max(widths, key=lambda d: (abs(tested[d][0]) - 1.0) / tested[d][1])
    t, gw = tested[worst], gauss[worst]
    hyps = (Hypothesis(f"statement: bounded (|change| below 1), d = {worst}", 1.0, (abs(t[0]) - 1.0) / t[1]),
            Hypothesis(f"competitor: the Gaussian-weight change, d = {worst}", gw[0],
                       (t[0] - gw[0]) / math.hypot(t[1], gw[1])))
    return Verdict(status, evidence, note, hypotheses=hyps)


# ============================================================================ representations
@claim("gx-rank-collapse", paper=PAPER, where="gradexp finite-size study; cf. Daneshmand et al., NeurIPS 2020 / 2021",
        formalisation="at depth 60 (fast) / 200 (full), ReLU, batch 32: BN well conditioned = mean |cos| < 0.5, "
                      "stable rank > 2 and no decay from mid-depth beyond 5 standard errors; collapsed = "
                      "|cos| > 0.9 and stable rank < 2 for LN and no normalisation.",
        quote="BatchNorm keeps the representations of a batch well conditioned with depth (samples "
                  "stay nearly orthogonal, the batch Gram keeps a stable rank above 2 that does not decay), while "
                  "LayerNorm and no normalisation collapse them (|cos| -> 1, stable rank -> 1) in "
                  "ReLU networks: the other side of 'LayerNorm does not explode'.",
        falsify=Falsify("competitor", {"bn_norm": "layer"},
                        "LayerNorm (the normaliser said to collapse) in BatchNorm's place"))
def _check_rank(fast: bool, *, bn_norm: str = "batch") -> Verdict:
    ev = _memo(fx.representation_profiles, fast, rng=2020)
    B = ev["batch"]
    last = -1
    cos = {n: (ev[f"{n}_mean_abs_cos_mean"][last], ev[f"{n}_mean_abs_cos_se"][last])
           for n in ("batch", "layer", "none")}
    sr = {n: (ev[f"{n}_stable_rank_mean"][last], ev[f"{n}_stable_rank_se"][last])
          for n in ("batch", "layer", "none")}
    # collapsed: stable rank below 2 and |cos| above 0.9; not collapsed: stable rank above 2,
    # |cos| below 0.5 and no decay from mid-depth to the last layer (within 5 standard errors)
    mid = len(ev["layers"]) // 2
    sr_mid = {n: ev[f"{n}_stable_rank_mean"][mid] for n in ("batch", "layer", "none")}
    well = (cos[bn_norm][0] < 0.5 and sr[bn_norm][0] > 2.0
            and sr[bn_norm][0] >= sr_mid[bn_norm] - 5 * sr[bn_norm][1])
    collapsed = all(cos[n][0] > 0.9 and sr[n][0] < 2.0 for n in ("layer", "none"))
    ok = well and collapsed
    evidence = {"depth": ev["depth"], "width": ev["width"], "batch": B, "reps": ev["reps"],
                "tested_norm": bn_norm,
                "mean_|cos|_at_depth (norm: mean, se)": {n: _sig(list(v), 3) for n, v in cos.items()},
                "stable_rank_at_depth (norm: mean, se)": {n: _sig(list(v), 3) for n, v in sr.items()},
                "stable_rank_at_mid_depth": {n: _sig(v, 3) for n, v in sr_mid.items()},
                "BN_stable_rank_over_sqrt(width)": _sig(sr["batch"][0] / math.sqrt(ev["width"]), 3),
                "first_layer_|cos|": {n: _sig(ev[f"{n}_mean_abs_cos_mean"][0], 3)
                                      for n in ("batch", "layer", "none")}}
    note = (f"At depth {ev['depth']} (ReLU, width {ev['width']}, batch {B}) the mean |cos| between "
            f"samples is {cos['batch'][0]:.3f} with BN, {cos['layer'][0]:.3f} with LN and "
            f"{cos['none'][0]:.3f} without normalisation; the stable rank of the batch Gram is "
            f"{sr['batch'][0]:.1f}, {sr['layer'][0]:.2f} and {sr['none'][0]:.2f} (of {B}).")
    hyps = (Hypothesis(f"statement: {bn_norm} keeps a stable rank above 2", 2.0, (sr[bn_norm][0] - 2.0) / sr[bn_norm][1]),
            Hypothesis(f"competitor: {bn_norm} collapses (stable rank 1)", 1.0, (sr[bn_norm][0] - 1.0) / sr[bn_norm][1]))
    return Verdict(HOLDS if ok else FAILS, evidence, note, hypotheses=hyps)


# ============================================================================ depth drift
@claim("gx-depth-drift", paper=PAPER, where="gradexp finite-size study (issue 11)",
        formalisation="batch 64, widths 64/128 (fast) or 64/256 (full): the change of |kurtosis - (-6/(B+1))| from "
                      "layer 4 to layer depth-4 and of the rate excess over the finite-batch factor from the first "
                      "to the last window, pooled over widths per activation; kurtosis rise z > 5 and rate rise "
                      "z > 2: holds; kurtosis only: holds-loosely.",
        quote="For smooth activations (tanh, GELU) at finite width the forward distribution of the BN "
                  "outputs drifts from the infinite-width fixed point with depth: the departure of the "
                  "batch excess kurtosis from its fixed-point value -6/(B+1) grows from the early to the "
                  "late layers, and the local per-layer rate excess over the finite-batch factor grows "
                  "with it.",
        falsify=Falsify("smallest-effect", {"rise_offset_se": Z_MAX},
                        "the kurtosis departure of the early layers raised by the check's own detection threshold "
                        "(5 pooled standard errors): a rise that small is what the check claims to resolve"))
def _check_drift(fast: bool, *, rise_offset_se: float = 0.0, smooth: tuple = ("tanh", "gelu")) -> Verdict:
    ev = _memo(fx.depth_drift, fast, rng=4848)
    rows = {}
    pooled = {a: [0.0, 0.0, 0.0, 0.0] for a in smooth}  # Σ change, Σ se², Σ rate change, Σ se²
    for act in [str(a) for a in ev["activations"]]:
        for d in ev["widths"]:
            km, ks = ev[f"{act}_{d}_kurt_mean"], ev[f"{act}_{d}_kurt_se"]
            early, late = 4, int(ev["depth"]) - 4
            base = float(ev["baseline_kurtosis"])
            dk = float(abs(km[late] - base) - abs(km[early] - base))
            dks = float(math.hypot(ks[late], ks[early]))
            ex, exs = ev[f"{act}_{d}_excess"], ev[f"{act}_{d}_excess_se"]
            dex, dexs = float(ex[-1] - ex[0]), float(math.hypot(exs[-1], exs[0]))
            rows[f"{act}, width {int(d)}"] = _sig([km[early], km[late], dk, dks, ex[0], ex[-1], dex, dexs], 3)
            if act in pooled:
                p = pooled[act]
                p[0] += dk
                p[1] += dks ** 2
                p[2] += dex
                p[3] += dexs ** 2
    # per activation, pooled over the widths (the statement is about the activation)
    zk = {a: p[0] / math.sqrt(p[1]) - rise_offset_se for a, p in pooled.items()}
    ze = {a: p[2] / math.sqrt(p[3]) for a, p in pooled.items()}
    ok_k = all(z > Z_MAX for z in zk.values())
    ok_e = all(z > 2.0 for z in ze.values())
    status = HOLDS if (ok_k and ok_e) else (HOLDS_LOOSELY if ok_k else FAILS)
    evidence = {"batch": int(ev["batch"]), "depth": int(ev["depth"]), "reps": int(ev["reps"]),
                "sphere_baseline_kurtosis_-6/(B+1)": _sig(ev["baseline_kurtosis"], 3),
                "tested": list(smooth), "rise_offset_se": rise_offset_se,
                "z_kurtosis_departure_rise (pooled over widths)": {a: _sig(z, 3) for a, z in zk.items()},
                "z_rate_excess_rise (pooled over widths)": {a: _sig(z, 3) for a, z in ze.items()},
                "rows (kurt early, late, change of |kurt - baseline|, se, rate excess first window, "
                "last window, change, se)": rows}
    parts = [f"{k}: kurtosis {v[0]:+.3f} -> {v[1]:+.3f}, rate excess {100 * v[4]:+.2f}% -> {100 * v[5]:+.2f}%"
             for k, v in rows.items()]
    note = ("Layer 4 -> layer depth-4: " + "; ".join(parts) + ". Rise of the kurtosis departure, "
            "pooled over widths: " + ", ".join(f"{a} z = {z:.1f}" for a, z in zk.items())
            + "; rise of the rate excess: " + ", ".join(f"{a} z = {z:.1f}" for a, z in ze.items()) + ".")
    hyps = tuple(Hypothesis(f"competitor: no kurtosis drift ({a})", 0.0, z) for a, z in zk.items()) + tuple(
        Hypothesis(f"competitor: no rate-excess rise ({a})", 0.0, z) for a, z in ze.items())
    return Verdict(status, evidence, note, hypotheses=hyps)


# ============================================================================ single-layer batch shift
def single_layer_ratio_infinite_width(B: int) -> float:
    r"""Paik & Choi's single-layer ratio at R = 0 with batch statistics and the full BN backward, at
    infinite width and batch B (biased batch variances):

    .. math::

        \rho(B) = c_B\Big[\tfrac12 - \tfrac1B + \frac{\tfrac12 + \tfrac{B-1}4 - \tfrac1{\pi B}}{B^2}\Big],
        \qquad c_B = \frac{B(B-2)}{v(B-1)(B-3)},\quad v = \tfrac12 - \tfrac1{2\pi},

    so :math:`\rho(B) = C(0)\,(1 + \tfrac1{2B} + O(B^{-2}))`, :math:`C(0) = \pi/(\pi-1)`.
    Derivation: at infinite width the upstream gradient of unit j is :math:`P_j g'/\sigma_j` with
    :math:`P_j = I - 11^\top/B - y_jy_j^\top/B`; the centred pre-activations are isotropic Gaussian
    (kernel :math:`v(I - 11^\top/B)`), so :math:`y_j` is uniform on the sphere of radius √B in
    :math:`1^\perp`, independent of :math:`\sigma_j^2 \sim v\chi^2_{B-1}/B`, giving the gradient
    covariance :math:`c_B\,(I - 11^\top/B)` at the input; with the ReLU mask m and k = Σm,
    :math:`E[\mathrm{Var}_b g \mid x] = c_B(k/B - 2k/B^2 + k^2/B^3)`, and the moments
    :math:`E[\mathrm{Var}_b(x)\,k] = (B-1)/2`, :math:`E[\mathrm{Var}_b(x)\,k^2] = (B-1)(\tfrac12 +
    \tfrac{B-1}4 - \tfrac1{\pi B})` (Gaussian x) over the denominator's :math:`(B-1)/B`.

    >>> B = 10**6; round(B * (single_layer_ratio_infinite_width(B) / (math.pi / (math.pi - 1)) - 1), 4)
    0.5
    """
    if int(B) != B or B < 4:
        raise ValueError(f"B must be an integer >= 4, got {B}")
    v = 0.5 - 0.5 / math.pi
    c = B * (B - 2) / (v * (B - 1) * (B - 3))
    return c * (0.5 - 1.0 / B + (0.5 + (B - 1) / 4.0 - 1.0 / (math.pi * B)) / B**2)


@claim("gx-single-layer-batch-shift", paper=PAPER,
       where="gradexp finite-size study; the single-layer ratio of Paik & Choi's Thm 2.2 at finite batch",
       quote="With batch statistics and the full BN backward, the single-layer ratio of Paik & Choi's Thm 2.2 "
             "(R = 0) at infinite width exceeds C(0) = pi/(pi-1) by 1/(2B) + O(1/B^2), not by the 1.09/B of the "
             "chain factor lambda(B).",
       formalisation="sampled single-layer ratios at B = 8, 16 and two widths, extrapolated in 1/width at fixed "
                     "batch, against the exact infinite-width rho(B) (single_layer_ratio_infinite_width) and "
                     "against the competitor lambda(B), the chain's finite-batch factor; k = 4.",
       falsify=Falsify("competitor", {"reference": "chain-factor"},
                       "the chain's finite-batch factor lambda(B) (shift 1.09/B) in rho(B)'s place"))
def _check_single_layer_shift(fast: bool, *, reference: str = "single-layer") -> Verdict:
    ev = _memo(fx.single_layer_shift, fast)
    C0 = math.pi / (math.pi - 1)
    statuses, hyps, table = [], [], {}
    for B, y, se in zip(ev["batches"], ev["extrapolated"], ev["extrapolated_se"]):
        rho, lam = single_layer_ratio_infinite_width(B), float(finite_batch_factor(B, "relu"))
        paper, comp = (rho, lam) if reference == "single-layer" else (lam, rho)
        st, h, e = weigh(y, se, paper=paper, competitor=comp, k=K, paper_name=f"statement ({reference}), B = {B}",
                         competitor_name=f"competitor, B = {B}")
        statuses.append(st)
        hyps.extend(h)
        table[str(B)] = _sig([y, se, B * (y / C0 - 1), B * se / C0, B * (rho / C0 - 1), B * (lam / C0 - 1),
                              e["z_paper"], e["z_competitor"]], 4)
    status = _combine(statuses)
    evidence = {"reference": reference, "widths": ev["widths"], "reps": ev["reps"],
                "rows (B: extrapolated, se, B(ratio/C-1), se, B(rho/C-1), B(lambda/C-1), z statement, z competitor)": table}
    note = ("B times the relative excess over C(0), extrapolated in 1/width: "
            + "; ".join(f"B = {b}: {v[2]:.3g} ± {v[3]:.2g} (single layer {v[4]:.3g}, chain factor {v[5]:.3g}; "
                        f"z = {v[6]:.2g}, {v[7]:.2g})" for b, v in table.items()) + ".")
    return Verdict(status, evidence, note, hypotheses=tuple(hyps))
