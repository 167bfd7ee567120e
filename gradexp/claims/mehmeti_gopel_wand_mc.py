"""Monte-Carlo claims of Mehmeti-Göpel & Wand (``mehmeti-gopel-wand``) on sampled BN chains
(:mod:`gradexp.mc.chain`): scale invariance (eqs. 1-2) and the initial gradient profiles of plain
(eq. 8) and residual (eq. 9) networks at the paper's depth 56.

Seeds: each check draws its streams from one fixed :class:`numpy.random.SeedSequence`.
"""

from __future__ import annotations

import math

import numpy as np

from ._common import Z_MAX, mid as _mid, seeds as _seeds, sig as _sig
from ._ledger import FAILS, HOLDS, Verdict, claim

MGW = "mehmeti-gopel-wand"
SQRT2 = math.sqrt(2.0)


def _mc():
    """gradexp.mc.chain with its pure simulators memoised (numba is imported only when a check runs)."""
    from ._common import memoised_chain

    return memoised_chain()


# ============================================================================ Mehmeti-Göpel & Wand
@claim("mgw-mc-eq1-2", paper=MGW, source="Sec. 3, eqs. 1-2",
       statement="A normalisation layer is scale invariant: scaling the weights before it by gamma scales "
                 "their gradient by 1/gamma (eq. 1), and the weight gradient is orthogonal to the weights, "
                 "<grad W, W> = 0 (eq. 2).",
       falsify={"power": 2})
def _mc_mgw_eq12(fast: bool, power: int = 1) -> Verdict:
    """``power``: eq. 1's exponent, grad(gamma W) = grad(W) / gamma^power."""
    ch = _mc()
    gammas = (0.01, 0.5, 3.0, 100.0)
    seeds = _seeds(1002, 4)
    ev = {}
    for label, kw, s in (("batch_full", dict(norm="batch"), seeds[0]),
                         ("layer_full", dict(norm="layer"), seeds[1]),
                         ("batch_simplified", dict(norm="batch", bn_backward="simplified"), seeds[2]),
                         ("none", dict(norm="none"), seeds[3])):
        net = ch.sample_chain(6, 24, 32, rng=s, upstream="cross_entropy", activation="relu",
                              corr_features=0, **kw)
        net.run()
        g0 = net.grad.copy()
        dws = {n: v.copy() for n, v in net.weight_grads.items()}
        cos = max(abs(float((dws[n] * net.weights[n]).sum()))
                  / (np.linalg.norm(dws[n]) * np.linalg.norm(net.weights[n])) for n in range(6))
        worst_scale, worst_input = 0.0, 0.0
        for gm in gammas:
            net.weights[3][:] *= gm
            net.run()
            worst_scale = max(worst_scale, float(np.abs(net.weight_grads[3] * gm**power - dws[3]).max()
                                                 / np.abs(dws[3]).max()))
            worst_input = max(worst_input, float(np.abs(net.grad - g0).max() / np.abs(g0).max()))
            net.weights[3][:] /= gm
        ev[label] = {"max_|cos(gradW, W)|": _sig(cos, 3),
                     "max_rel_dev_gamma*grad(gamma W) vs grad(W)": _sig(worst_scale, 3),
                     "max_rel_change_of_input_gradient": _sig(worst_input, 3)}
    ok = all(ev[k]["max_|cos(gradW, W)|"] < 1e-12 and ev[k]["max_rel_dev_gamma*grad(gamma W) vs grad(W)"] < 1e-9
             for k in ("batch_full", "layer_full"))
    return Verdict(HOLDS if ok else FAILS, {**ev, "gammas": list(gammas)},
                   "Exact with BatchNorm and LayerNorm and their exact backward (to rounding). Paik & Choi's "
                   "simplified backward (statistics held constant) keeps eq. 1 but breaks eq. 2; without "
                   "normalisation neither holds.")


DEPTH = 56  # the paper's ResNet56 Short/NoShort and its simulations


def _alpha():
    """Yang et al.'s rate as printed in the paper, alpha = sqrt(pi/(pi-1)) (independent of gradexp)."""
    return math.sqrt(math.pi / (math.pi - 1))


@claim("mgw-mc-eq8", paper=MGW, source="Sec. 3.3, eq. 8",
       statement="In a feed-forward BN network at initialisation ||grad W_l(0)||_F^2 ~ alpha^(L-l), "
                 "alpha = sqrt(pi/(pi-1)).",
       falsify={"printed_rate": math.pi / (math.pi - 1)})
def _mc_mgw_eq8(fast: bool, printed_rate: float | None = None) -> Verdict:
    """``printed_rate``: the per-layer growth eq. 8 gives the squared norm (alpha as printed)."""
    ch = _mc()
    a = _alpha()
    printed = a if printed_rate is None else printed_rate
    depth = DEPTH
    d, B, reps = (128, 128, 4) if fast else (256, 256, 6)
    res = ch.simulate_chain(depth, d, B, reps=reps, rng=np.random.SeedSequence(1008),
                            upstream="cross_entropy", corr_features=0)
    lo, hi = _mid(depth)
    lw = np.log(res.weight_grad_norms)
    per = (lw[:, lo] - lw[:, hi]) / (hi - lo)  # log growth of the norm per layer
    sq_rate = math.exp(2 * per.mean())
    sq_se = sq_rate * 2 * per.std(ddof=1) / math.sqrt(reps)
    cands = {"printed": printed, "alpha^(1/2)": math.sqrt(a), "alpha": a, "alpha^2=pi/(pi-1)": a * a}
    dist = {k: abs(math.log(sq_rate / v)) for k, v in cands.items()}
    nearest = min(dist, key=dist.get)
    ok = dist["printed"] <= min(dist.values()) + 1e-12 and dist["printed"] < 0.03
    return Verdict(HOLDS if ok else FAILS,
                   {"squared_weight_grad_norm_growth_per_layer": _sig(sq_rate, 5), "its_se": _sig(sq_se, 2),
                    "printed_rate": _sig(printed, 5), "alpha": _sig(a, 5), "alpha^2=pi/(pi-1)": _sig(a * a, 5),
                    "z_vs_printed": _sig((sq_rate - printed) / sq_se, 3),
                    "z_vs_alpha^2": _sig((sq_rate - a * a) / sq_se, 3), "nearest_reading": nearest,
                    "rel_dev_from_alpha^2": _sig(sq_rate / (a * a) - 1, 3),
                    "depth": depth, "width": d, "batch": B},
                   f"As printed, no: at the paper's depth {depth} the squared weight-gradient norm grows by "
                   f"{sq_rate:.5g} +- {sq_se:.2g} per layer, {100 * (sq_rate / (a * a) - 1):+.2g}% from alpha^2 = "
                   f"pi/(pi-1) = {a * a:.5g} (the finite-batch shift), i.e. ||grad W_l(0)||_F ~ alpha^(L-l): the "
                   "rate applies to the norm, as eq. 9 uses it." if not ok else
                   f"The squared norm grows by {sq_rate:.5g} +- {sq_se:.2g} per layer at depth {depth}.")


def _eq9_profile(depth: int, s: int, alpha: float, rule: str) -> np.ndarray:
    """Eq. 9's recursion, written out here (independent of gradexp.theory.elr): the norm at a block
    boundary is the average of alpha * the next layer's and the skip target's ('linear', as printed)
    or their root mean square ('quadrature': additivity of variances, the paper's stated assumption)."""
    g = {depth: alpha}  # layers 1..L as in the paper, base case ||grad W_L|| = alpha
    for ell in range(depth - 1, 0, -1):
        if ell % s == 0 and ell < depth - s:
            a, b = alpha * g[ell + 1], g[ell + s]
            g[ell] = (a + b) / 2 if rule == "linear" else math.sqrt((a * a + b * b) / 2)
        else:
            g[ell] = alpha * g[ell + 1]
    return np.array([g[ell] for ell in range(1, depth + 1)])


def _eq9_rate(s: int, alpha: float, rule: str) -> float:
    """Asymptotic per-layer rate of the recursion: ((1 + alpha^s)/2)^(1/s), or sqrt((1 + alpha^2s)/2)^(1/s)."""
    return ((1 + alpha**s) / 2) ** (1 / s) if rule == "linear" else ((1 + alpha ** (2 * s)) / 2) ** (1 / (2 * s))


@claim("mgw-mc-eq9", paper=MGW, source="Sec. 3.3, eq. 9",
       statement="In a residual BN network (depth 56) with skips every s layers, followed by normalisation, "
                 "the initial weight-gradient norms follow ||grad W_l|| = (alpha ||grad W_{l+1}|| + "
                 "||grad W_{l+s}||)/2 at block boundaries and alpha ||grad W_{l+1}|| elsewhere.",
       falsify={"rule": "quadrature"})
def _mc_mgw_eq9(fast: bool, rule: str = "linear") -> Verdict:
    """``rule``: how eq. 9 combines the two branches ('linear' as printed, 'quadrature' as the
    additivity of variances the paper assumes)."""
    ch = _mc()
    depth = DEPTH
    d, B, reps = (128, 128, 4) if fast else (256, 256, 8)
    seeds = _seeds(1009, 5)
    plain = ch.simulate_chain(depth, d, B, reps=reps, rng=seeds[0], corr_features=0)
    lo, hi = _mid(depth)
    lwp = np.log(plain.weight_grad_norms)
    per = (lwp[:, lo] - lwp[:, hi]) / (hi - lo)
    alpha = math.exp(float(per.mean()))
    alpha_se = alpha * float(per.std(ddof=1)) / math.sqrt(reps)
    out, zs = {}, {}
    k = 1
    for s in (2, 3):
        for scale in (1 / SQRT2, 1.0):
            res = ch.simulate_chain(depth, d, B, reps=reps, rng=seeds[k], residual=s,
                                    residual_scale=scale, corr_features=0)
            k += 1
            lw = np.log(res.weight_grad_norms)
            meas = lw.mean(axis=0) - lw.mean(axis=0)[-1]
            top = depth - 1 - ((depth - 1) % s)  # a block-boundary layer near the output
            bot = top - ((depth - 2) // s) * s + s
            rates = np.exp((lw[:, bot] - lw[:, top]) / (top - bot))
            r_meas, r_se = float(rates.mean()), float(rates.std(ddof=1) / math.sqrt(reps))
            key = f"s={s}, scale={'1/sqrt2' if scale < 1 else '1'}"
            entry = {"measured_rate_per_layer": _sig(r_meas, 5), "its_se": _sig(r_se, 2),
                     "measured_first/last": _sig(math.exp(meas[0]), 4)}
            for rl in ("linear", "quadrature"):
                pred = np.log(_eq9_profile(depth, s, alpha, rl))
                r_pred = _eq9_rate(s, alpha, rl)
                # the prediction's uncertainty from alpha's
                r_pred_se = abs(_eq9_rate(s, alpha + alpha_se, rl) - r_pred)
                z = (r_meas - r_pred) / math.hypot(r_se, r_pred_se)
                entry[f"{rl}_rate"] = _sig(r_pred, 5)
                entry[f"{rl}_first/last"] = _sig(math.exp(pred[0] - pred[-1]), 4)
                entry[f"z_vs_{rl}"] = _sig(z, 3)
                if scale < 1:
                    zs[(s, rl)] = z
            out[key] = entry
    tested = [abs(zs[(s, rule)]) for s in (2, 3)]
    status = HOLDS if max(tested) < Z_MAX else FAILS
    other = "quadrature" if rule == "linear" else "linear"
    e2 = out["s=2, scale=1/sqrt2"]
    note = (f"At depth {depth} with a variance-preserving skip ((BN(z) + x)/sqrt2, the 'followed by a "
            f"normalization layer' case) the measured per-layer rate for s = 2 is {e2['measured_rate_per_layer']:.5g} "
            f"+- {e2['its_se']:.2g}: eq. 9 as printed ({'linear' if rule == 'linear' else 'quadrature'} average) gives "
            f"{e2[f'{rule}_rate']:.5g} (z = {e2[f'z_vs_{rule}']:.3g}), the {other} rule gives "
            f"{e2[f'{other}_rate']:.5g} (z = {e2[f'z_vs_{other}']:.3g}); over the 56 layers first/last is "
            f"{e2['measured_first/last']:.4g} measured against {e2[f'{rule}_first/last']:.4g}. ")
    if status == FAILS and rule == "linear":
        note += ("The paper's own assumption, additivity of variances, makes the norms add in quadrature: "
                 "||grad W_l|| = sqrt((alpha^2 ||grad W_{l+1}||^2 + ||grad W_{l+s}||^2)/2), per-block factor "
                 "sqrt((1 + alpha^2s)/2), and the per-block excess of the printed average accumulates with depth. ")
    note += "A plain ResNet-v1 sum (scale 1) is reported in the evidence for comparison."
    return Verdict(status, {"alpha_measured_plain_chain": _sig(alpha, 5), "its_se": _sig(alpha_se, 2), **out,
                            "rule_tested": rule, "depth": depth, "width": d, "batch": B, "networks": reps},
                   note)
