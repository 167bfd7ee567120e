"""Claims of Mehmeti-Göpel & Wand (``mehmeti-gopel-wand``) graded on sampled BN chains
(:mod:`gradexp.mc.chain`) and He-initialized ToyNets (:mod:`gradexp.mc.training`): scale invariance
(eqs. 1-2, Sec. 3.2), the Pythagoras update (eq. 3), the initial gradient profiles of plain (eq. 8)
and residual (eq. 9) networks, the ToyNet of Appendices B.1 and C, and the rescaling of eq. 14.

The experiments live in :mod:`gradexp.experiments.elr`; this module keeps the references (eq. 9
written out, the exact finite-batch factor) and the checks. Seeds: each check draws its streams
from one fixed :class:`numpy.random.SeedSequence`.
"""

from __future__ import annotations

import math

import numpy as np

from ..experiments import elr as X
from ..sweep.cache import cached_call
from ._common import sig as _sig
from ._ledger import FAILS, HOLDS, HOLDS_LOOSELY, INCONCLUSIVE, Falsify, Hypothesis, Verdict, claim, weigh

MGW = "mehmeti-gopel-wand"
DEPTH = X.DEPTH  # the paper's ResNet56 Short/NoShort and its simulations
ALPHA = math.sqrt(math.pi / (math.pi - 1))  # as printed in eq. 8, independent of gradexp


def _fbf(batch: int) -> float:
    """The exact finite-batch factor lambda(B) of the squared gradient norm per layer (infinite width)."""
    from .. import finite_batch_factor

    return float(finite_batch_factor(batch))


def _weigh(est, se, paper, paper_name, comp, comp_name, n=None):
    status, hyps, ev = weigh(est, se, paper=paper, competitor=comp, paper_name=paper_name,
                             competitor_name=comp_name, n=n)
    return status, hyps, {k: (_sig(v, 4) if isinstance(v, float) else v) for k, v in ev.items()}


# ============================================================================ eqs. 1-2
def _invariance():
    return cached_call(X.scale_invariance_chains, rng=np.random.SeedSequence(1002))


@claim("mgw-mc-eq1-2", paper=MGW, where="Sec. 3, eq. 1",
       quote=r"The core observation is that for any layer N that is invariant to scaling in the forward pass "
             r"$N(\gamma \cdot x) = N(x)$ (e.g. all normalization layers), its gradient scales inversely with its "
             "input:",
       formalisation="In sampled BN-ReLU chains (depth 6, width 24, batch 32) with BatchNorm and LayerNorm and their "
                     "exact backward, gamma * grad W(gamma W) = grad W(W) for gamma in {0.01, 0.5, 3, 100}, to 1e-9.",
       falsify=Falsify("competitor", {"power": 0},
                       "no scaling (power 0), what Sec. 3.2 says of the gradient with respect to the input"))
def _mc_eq1(fast: bool, power: int = 1) -> Verdict:
    ev = _invariance()
    dev = max(ev[k]["scale_dev_by_power"][str(power)] for k in ("batch_full", "layer_full"))
    comp_power = 0 if power == 1 else 1
    comp = max(ev[k]["scale_dev_by_power"][str(comp_power)] for k in ("batch_full", "layer_full"))
    tol = 1e-9
    hyps = (Hypothesis(f"paper: grad scales as gamma^-{power}", 0.0, dev / tol),
            Hypothesis(f"competitor: gamma^-{comp_power}", 0.0, comp / tol))
    return Verdict(HOLDS if dev < tol else FAILS, {
        "max_rel_dev_batch,layer": [_sig(ev[k]["scale_dev_by_power"][str(power)], 3) for k in ("batch_full", "layer_full")],
        "competitor_max_rel_dev": _sig(comp, 3), "without_normalisation": _sig(ev["none"]["scale_dev_by_power"]["1"], 3),
        "gammas": ev["gammas"], "power": power},
        f"exact with BatchNorm and LayerNorm (largest deviation {dev:.1e}); without normalisation the deviation is "
        f"{ev['none']['scale_dev_by_power']['1']:.3g}", hyps)


@claim("mgw-mc-eq2", paper=MGW, where="Sec. 3, eq. 2",
       quote="Hence, weight updates ∇W are orthogonal to the weights W themselves:",
       formalisation="max over layers of |cos(grad W, W)| in sampled BN-ReLU chains with BatchNorm and LayerNorm and "
                     "their exact backward, to 1e-12.",
       falsify=Falsify("competitor", {"backward": "statistics held constant"},
                       "the BN backward with the batch statistics held constant (Paik & Choi's simplification), "
                       "under which the gradient is not orthogonal, in the exact backward's place"))
def _mc_eq2(fast: bool, backward: str = "exact") -> Verdict:
    ev = _invariance()
    cos = {"exact": max(ev["batch_full"]["max_abs_cos"], ev["layer_full"]["max_abs_cos"]),
           "statistics held constant": ev["batch_simplified"]["max_abs_cos"]}
    tol = 1e-12
    graded = cos[backward]
    other = "statistics held constant" if backward == "exact" else "exact"
    hyps = (Hypothesis(f"paper: orthogonal ({backward} backward)", 0.0, graded / tol),
            Hypothesis(f"competitor: {other} backward", float(cos[other]), float((graded - cos[other]) / tol)))
    return Verdict(HOLDS if graded < tol else FAILS, {
        "max_abs_cos_exact": _sig(cos["exact"], 3), "max_abs_cos_statistics_constant": _sig(cos["statistics held constant"], 3),
        "max_abs_cos_no_normalisation": _sig(ev["none"]["max_abs_cos"], 3), "backward": backward},
        f"|cos(grad W, W)| <= {cos['exact']:.1e} with the exact backward; holding the statistics constant gives "
        f"{cos['statistics held constant']:.3g}, no normalisation {ev['none']['max_abs_cos']:.3g}", hyps)


# ============================================================================== eq. 8
@claim("mgw-mc-eq8", paper=MGW, where="Sec. 3.3, eq. 8",
       quote=r"$$\|\nabla W_\ell(0)\|_F^2 \sim \alpha^{L-\ell+o(\ell)}, \quad (8)$$",
       formalisation="Per-layer growth of ||grad W_l(0)||_F^2 in plain BN-ReLU chains of the paper's depth 56 at batch "
                     "32, extrapolated in 1/width (widths 64..512) to infinite width: alpha = sqrt(pi/(pi-1)) as "
                     "printed against the exact finite-batch factor lambda(32) (the squared-norm rate at batch 32).",
       falsify=Falsify("competitor", {"printed_rate": "lambda(B)"},
                       "the exact finite-batch factor lambda(32) in the paper's place"))
def _mc_eq8(fast: bool, printed_rate: str = "alpha") -> Verdict:
    B = 32
    widths = (64, 128, 256) if fast else (64, 128, 256, 512)
    ladder = cached_call(X.chain_growth_ladder, B, widths, reps=4 if fast else 8, rng=np.random.SeedSequence(1008))
    fit = X.extrapolate_in_width(ladder)
    vals = {"alpha": ALPHA, "lambda(B)": _fbf(B)}
    other = "lambda(B)" if printed_rate == "alpha" else "alpha"
    status, hyps, w = _weigh(fit["r_inf"], fit["se"], vals[printed_rate], f"paper: {printed_rate}",
                             vals[other], f"competitor: {other} (B = {B})")
    a2 = ALPHA ** 2
    z_a2 = (fit["r_inf"] - a2) / fit["se"]
    z_lam = (fit["r_inf"] - vals["lambda(B)"]) / fit["se"]
    return Verdict(status, {
        "widths": list(widths), "rate_per_width": _sig(ladder["rate"]), "se_per_width": _sig(ladder["se"], 2),
        "rate_infinite_width": _sig(fit["r_inf"], 5), "its_se": _sig(fit["se"], 2),
        "width_coefficient_a": _sig(fit["a"], 3), "chi2_per_dof": _sig(fit["chi2_per_dof"], 3),
        "lambda(B)": _sig(vals["lambda(B)"], 5), "alpha": _sig(ALPHA, 5), "alpha^2": _sig(a2, 5),
        "z_vs_alpha^2": _sig(z_a2, 3), "z_vs_lambda(B)": _sig(z_lam, 3), **w, "depth": DEPTH, "batch": B},
        f"at depth {DEPTH}, batch {B}, the squared weight-gradient norm grows by {fit['r_inf']:.5g} +- {fit['se']:.2g} per "
        f"layer at infinite width (1/width fit), not alpha = {ALPHA:.4g}: it is the rate of the norm that is alpha. "
        f"Against the exact finite-batch factor lambda({B}) = {vals['lambda(B)']:.5g} z = {z_lam:.3g}, against "
        f"alpha^2 = pi/(pi-1) = {a2:.5g} z = {z_a2:.3g}", hyps)


# ============================================================================== eq. 9
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
    return ((1 + alpha ** s) / 2) ** (1 / s) if rule == "linear" else ((1 + alpha ** (2 * s)) / 2) ** (1 / (2 * s))


def _residual_data(fast: bool) -> dict:
    return cached_call(X.residual_chain_rates, width=128 if fast else 256, batch=128 if fast else 256,
                       reps=8, rng=np.random.SeedSequence(1009))


@claim("mgw-mc-eq9", paper=MGW, where="Sec. 3.3, eq. 9",
       quote="Assuming additivity of variances, we can compute the initial gradient magnitudes in a ResNet with the "
             "following recursion:",
       formalisation="Per-layer rate of ||grad W_l(0)|| in residual BN chains of depth 56 with a skip every 2 layers "
                     "and the variance-preserving sum (BN(z) + x)/sqrt2, against eq. 9's rate ((1 + alpha^s)/2)^(1/s) "
                     "(linear average, as printed) and the quadrature average sqrt((1 + alpha^2s)/2)^(1/s) that "
                     "additivity of variances gives, alpha measured on a plain chain of the same width and batch.",
       falsify=Falsify("competitor", {"rule": "quadrature"}, "the quadrature average in eq. 9's place"))
def _mc_eq9(fast: bool, rule: str = "linear") -> Verdict:
    d = _residual_data(fast)
    alpha, alpha_se = d["plain"]["alpha"], d["plain"]["se"]
    e = d["s=2, scale=1/sqrt2"]
    preds = {}
    for rl in ("linear", "quadrature"):
        r = _eq9_rate(2, alpha, rl)
        preds[rl] = (r, abs(_eq9_rate(2, alpha + alpha_se, rl) - r))
    other = "quadrature" if rule == "linear" else "linear"
    se = math.hypot(e["se"], preds[rule][1])
    status, hyps, w = _weigh(e["rate"], se, preds[rule][0], f"paper: {rule} average", preds[other][0],
                             f"competitor: {other} average", n=d["reps"])
    note = (f"at depth {DEPTH} (width {d['width']}, batch {d['batch']}) the measured per-layer rate with s = 2 is "
            f"{e['rate']:.5g} +- {e['se']:.2g}; eq. 9 with the {rule} average gives {preds[rule][0]:.5g} "
            f"(z = {hyps[0].z:.3g}), the {other} average {preds[other][0]:.5g} (z = {hyps[1].z:.3g})")
    if status == INCONCLUSIVE and "n_needed" in w:
        note += f"; about {w['n_needed']} chains would separate them"
    ev = {"alpha_measured_plain_chain": _sig(alpha, 5), "its_se": _sig(alpha_se, 2), **w, "rule_tested": rule,
          "depth": DEPTH, "width": d["width"], "batch": d["batch"], "chains": d["reps"]}
    for k, v in d.items():
        if k.startswith("s="):
            ev[k] = {"rate": _sig(v["rate"], 5), "se": _sig(v["se"], 2),
                     **{f"{rl}_rate": _sig(_eq9_rate(v["skip"], alpha, rl), 5) for rl in ("linear", "quadrature")}}
    return Verdict(status, ev, note, hyps)


@claim("mgw-eq9-residual", paper=MGW, where="Sec. 3.3, before eq. 9",
       quote="ResNets: When considering residual networks, skip-connections dampen exploding gradients by "
             "exponential down-weighting [Ali Mehmeti-Göpel et al., 2021].",
       formalisation="The per-layer growth rate of ||grad W_l(0)|| in residual BN chains (skip every 2 and every 3 "
                     "layers, variance-preserving sum) is nearer eq. 9's dampened rate than the plain chain's rate "
                     "alpha (no dampening), in standard errors, at depth 56.",
       falsify=Falsify("competitor", {"paper_rate": "plain"},
                       "the plain chain's rate (no dampening) in the paper's place"))
def _residual(fast: bool, paper_rate: str = "eq. 9") -> Verdict:
    from ..theory import elr

    d = _residual_data(fast)
    alpha = d["plain"]["alpha"]
    ev, hyps_all, status = {}, (), HOLDS
    for s in (2, 3):
        e = d[f"s={s}, scale=1/sqrt2"]
        damp = _eq9_rate(s, alpha, "quadrature")  # the recursion's rate (mgw-mc-eq9 grades linear vs quadrature)
        vals = {"eq. 9": damp, "plain": alpha}
        other = "plain" if paper_rate == "eq. 9" else "eq. 9"
        se = math.hypot(e["se"], d["plain"]["se"])
        zp, zc = (e["rate"] - vals[paper_rate]) / se, (e["rate"] - vals[other]) / se
        hyps_all += (Hypothesis(f"paper: {paper_rate} rate (s = {s})", vals[paper_rate], zp),
                     Hypothesis(f"competitor: {other} rate (s = {s})", vals[other], zc))
        if not (abs(zc) > 3 and abs(zp) < abs(zc)):
            status = FAILS
        ev[f"s={s}"] = {"residual_rate": _sig(e["rate"], 5), "se": _sig(e["se"], 2), "plain_rate": _sig(alpha, 5),
                        "eq9_rate": _sig(damp, 5), "z_vs_plain": _sig((e["rate"] - alpha) / se, 3)}
    r = elr.residual_profile(DEPTH, 2)
    impl = float(np.max(np.abs(r / _eq9_profile(DEPTH, 2, float(elr.YANG_RATE), "linear") - 1)))
    ev["gradexp_residual_profile_vs_eq9_written_out"] = _sig(impl, 3)
    e2 = ev["s=2"]
    return Verdict(status, ev,
                   f"with a skip every 2 layers the gradient norm grows by {e2['residual_rate']:.5g} per layer against "
                   f"{e2['plain_rate']:.5g} without (z = {e2['z_vs_plain']:.3g}): still exponential, at a lower rate",
                   hyps_all)


# ====================================================================== ToyNet, Sec. 3.2
@claim("mgw-eq2-orthogonality", paper=MGW, where="Sec. 3.2",
       quote="The dynamic re-scaling of gradients explored above applies to each layer independently and does not "
             "affect layers above or below.",
       formalisation="In a He-initialized ToyNet (depth 12, width 32, batch 64, exact BN backward, eps = 0), scaling "
                     "layer 5's weights by 7 scales its gradient by 1/7 and leaves the other layers' gradients and the "
                     "loss unchanged (to 1e-10).",
       falsify=Falsify("competitor", {"others_power": 1},
                       "the other layers' gradients scaling by 1/gamma too (a global instead of a layer-wise effect)"))
def _sec32(fast: bool, others_power: int = 0) -> Verdict:
    from ..mc.training import init_toynet, make_synthetic_data, single_thread_blas, toynet_loss_and_grads

    with single_thread_blas():
        net = init_toynet(12, 32, rng=11)
        x, y = make_synthetic_data(64, 32, rng=12)
        loss, dW, _, _ = toynet_loss_and_grads(net, x, y)
        gamma, ell = 7.0, 5
        W2 = net.weights.copy()
        W2[ell] *= gamma
        loss2, dW2, _, _ = toynet_loss_and_grads(net.with_weights(W2), x, y)
    scale_err = float(np.max(np.abs(dW2[ell] * gamma - dW[ell])) / np.max(np.abs(dW[ell])))
    others = [i for i in range(net.depth) if i != ell]
    other_err = float(np.max(np.abs(dW2[others] * gamma ** others_power - dW[others])) / np.max(np.abs(dW[others])))
    comp_err = float(np.max(np.abs(dW2[others] * gamma ** (1 - others_power) - dW[others])) / np.max(np.abs(dW[others])))
    tol = 1e-10
    hyps = (Hypothesis(f"paper: other layers scale as gamma^-{others_power}", 0.0, other_err / tol),
            Hypothesis(f"competitor: other layers scale as gamma^-{1 - others_power}", 0.0, comp_err / tol))
    ok = scale_err < tol and other_err < tol and abs(loss2 - loss) < 1e-12
    return Verdict(HOLDS if ok else FAILS, {
        "rel_err_gamma*dW(gamma W)-dW(W)": _sig(scale_err, 3), "rel_change_other_layers": _sig(other_err, 3),
        "loss_change": _sig(abs(loss2 - loss), 3), "others_power": others_power},
        f"the scaled layer's gradient scales by 1/gamma (error {scale_err:.1e}), the others change by {other_err:.1e}",
        hyps)


# ====================================================================== ToyNet, eq. 3
@claim("mgw-eq3-pythagoras", paper=MGW, where="Sec. 3.1, eq. 3",
       quote="Assuming full mutual independence of all entries in the weight and gradient matrices, we can deduce the "
             "following update rule from the orthogonality condition (2):",
       formalisation="In SGD steps of a ToyNet with exact BN gradients (depth 10, width 32, batch 64, lam 0.01, 0.1, 1) "
                     "the measured increase of ||W||_F^2 summed over layers and 5 steps, divided by eq. 3's "
                     "lam^2 ||grad W||^2, is 1 (to 1e-9); the competitor is the gradient flow's conserved norm "
                     "(ratio 0).",
       falsify=Falsify("smallest-effect", {"paper_ratio": 1 + 1e-7},
                       "eq. 3's increment moved by 1e-7, 100 times the check's tolerance of 1e-9"))
def _eq3(fast: bool, paper_ratio: float = 1.0) -> Verdict:
    ev = cached_call(X.toynet_step_increments, rng=np.random.SeedSequence(3))
    ratios = [m / p for m, p in zip(ev["measured"], ev["eq3"])]
    worst = max(ratios, key=lambda r: abs(r - paper_ratio))
    tol = 1e-9
    hyps = _hyps_det(worst, tol, f"paper: measured/eq. 3 = {paper_ratio:g}", paper_ratio,
                     "competitor: norm conserved (ratio 0)", 0.0)
    return Verdict(HOLDS if abs(worst - paper_ratio) < tol else FAILS, {
        "lrs": ev["lrs"], "increment_ratio_measured/eq3": [_sig(r, 12) for r in ratios],
        "max_per_step_rel_dev": [_sig(x, 3) for x in ev["max_rel_dev"]], "toynet": ev["toynet"], "tolerance": tol,
        "largest_ratio_deviation": _sig(abs(worst - 1), 3)},
        f"the weight norms of a BN ToyNet grow exactly as eq. 3 says (largest ratio deviation {abs(worst - 1):.1e}): "
        "BN makes the gradient orthogonal (eq. 2), no independence assumption is needed", hyps)


def _hyps_det(x, tol, pn, p, cn, c):
    return (Hypothesis(pn, float(p), float((x - p) / tol)), Hypothesis(cn, float(c), float((x - c) / tol)))


# ==================================================================== ToyNet, eq. 8 / App. C
@claim("mgw-eq8-rate", paper=MGW, where="Sec. 3.3, eq. 8 (ToyNet)",
       quote=r"with $\alpha = \sqrt{\pi/(\pi-1)} \approx 1.21$ (see also [Luther, 2020] for a simplified derivation).",
       formalisation="Per-layer growth of ||grad W_l(0)||_F^2 in He-initialized ToyNets (cross-entropy on synthetic "
                     "data): eq. 8's alpha = 1.21 for the squared norm against the exact finite-batch factor lambda(B).",
       falsify=Falsify("competitor", {"printed_rate": "lambda(B)"},
                       "the exact finite-batch factor lambda(B) in the paper's place"))
def _eq8_rate(fast: bool, printed_rate: str = "alpha") -> Verdict:
    depth, width, batch, reps = (20, 64, 128, 6) if fast else (30, 128, 256, 16)
    res = cached_call(X.toynet_growth_rate, depth=depth, width=width, batch=batch, reps=reps, rng=np.random.SeedSequence(808))
    m, se = res["squared"]
    vals = {"alpha": ALPHA, "lambda(B)": _fbf(batch)}
    other = "lambda(B)" if printed_rate == "alpha" else "alpha"
    status, hyps, w = _weigh(m, se, vals[printed_rate], f"paper: {printed_rate} (squared norm)", vals[other],
                             f"competitor: {other} (B = {batch})", n=reps)
    return Verdict(status, {"squared_norm_rate": _sig(m, 5), "se": _sig(se, 2), "norm_rate": _sig(res["norm"][0], 5),
                            "lambda(B)": _sig(vals["lambda(B)"], 5), "alpha": _sig(ALPHA, 5), **w,
                            "toynet": f"depth {depth}, width {width}, batch {batch}, {reps} nets"},
                   f"the squared gradient norm grows by {m:.4g} +- {se:.2g} per layer (the norm by "
                   f"{res['norm'][0]:.4g}): alpha = {ALPHA:.4g} is the growth of the norm, the squared norm grows by "
                   f"about alpha^2 (lambda({batch}) = {vals['lambda(B)']:.4g} at this batch)", hyps)


@claim("mgw-c-he-equal", paper=MGW, where="Appendix C, ToyNet setup",
       quote="All layers have constant width of 32 filters and we use He. initialization so the initial gradient norm "
             "of each layer (except the first) is equal;",
       formalisation="Per-layer ratio of consecutive initial gradient norms ||grad W_l(0)||_F in He-initialized BN "
                     "ToyNets of width 32 (depth 20, batch 128): 1 (equal) against sqrt(lambda(128)), BN's gradient "
                     "explosion at this batch.",
       falsify=Falsify("competitor", {"paper_ratio": "sqrt(lambda(B))"},
                       "BN's gradient explosion sqrt(lambda(B)) per layer in the paper's place"))
def _he_equal(fast: bool, paper_ratio: str = "1") -> Verdict:
    batch, reps = 128, 6 if fast else 16
    res = cached_call(X.toynet_growth_rate, depth=20, width=32, batch=batch, reps=reps, rng=np.random.SeedSequence(1032))
    m, se = res["norm"]
    vals = {"1": 1.0, "sqrt(lambda(B))": math.sqrt(_fbf(batch))}
    other = "sqrt(lambda(B))" if paper_ratio == "1" else "1"
    status, hyps, w = _weigh(m, se, vals[paper_ratio], f"paper: equal norms (ratio {paper_ratio})", vals[other],
                             f"competitor: ratio {other}", n=reps)
    return Verdict(status, {"norm_ratio_per_layer": _sig(m, 5), "se": _sig(se, 2),
                            "sqrt(lambda(B))": _sig(vals["sqrt(lambda(B))"], 5), **w,
                            "toynet": f"depth 20, width 32, batch {batch}, {reps} nets"},
                   f"with BN the initial gradient norm grows by {m:.4g} +- {se:.2g} per layer towards the input "
                   f"(sqrt(lambda({batch})) = {vals['sqrt(lambda(B))']:.4g}): He initialization equalizes the forward "
                   "signal, not the gradients, as the paper's own Sec. 3.3 says", hyps)


# ====================================================================== ToyNet, Fig. 10
@claim("mgw-fig10-toynet", paper=MGW, where="Appendix B.1, Figure 10",
       quote='For the ToyNet50 we see that for the low learning rate, ELRs slowly converge as predicted and for the high '
             'learning rate, effective learning rates "flip" at the first step.',
       formalisation="ToyNet50 (width 32, batch 64; 2 runs fast, 8 full), SGD at lam = 1e-3 and 1: Spearman "
                     "correlation of E(0) and E(1) over layers, measured and predicted by the discrete model fitted to "
                     "the initial norms: near +1 at the low rate and negative (a flip) at the high rate; the model's "
                     "error after 30 steps is compared with the minibatch noise floor.",
       falsify=Falsify("competitor", {"high_lr_prediction": "continuous"},
                       "the continuous model's prediction at the high rate (no flip: Spearman +1) in the discrete "
                       "model's place"))
def _fig10(fast: bool, high_lr_prediction: str = "discrete") -> Verdict:
    ev = cached_call(X.toynet_fig10, width=32, batch=64, runs=2 if fast else 8, rng=np.random.SeedSequence(1010))
    lo, hi = ev["low"], ev["high"]
    pred_hi = hi["flip_model"] if high_lr_prediction == "discrete" else 1.0
    tol = max(hi["spearman_runs_se"], 0.05)
    hyps = (Hypothesis(f"paper: the {high_lr_prediction} model's Spearman at lam = 1", float(pred_hi),
                       float((hi["flip_measured"] - pred_hi) / tol)),
            Hypothesis("competitor: " + ("no flip (Spearman +1)" if high_lr_prediction == "discrete"
                                         else "the discrete model's flip"),
                       1.0 if high_lr_prediction == "discrete" else float(hi["flip_model"]),
                       float((hi["flip_measured"] - (1.0 if high_lr_prediction == "discrete" else hi["flip_model"])) / tol)))
    qual = (lo["flip_measured"] > 0.9 and lo["flip_model"] > 0.9
            and (hi["flip_measured"] < 0) == (pred_hi < 0))
    floor = ev["noise_floor"][0]
    excess = [lo["log_err"][-1] / floor, hi["log_err"][-1] / floor]
    status = (HOLDS if max(excess) < 2 else HOLDS_LOOSELY) if qual else FAILS
    return Verdict(status, {
        "toynet": ev["toynet"], "spearman_E0_E1_low_measured,model": [_sig(lo["flip_measured"], 3), _sig(lo["flip_model"], 3)],
        "spearman_E0_E1_high_measured,model": [_sig(hi["flip_measured"], 3), _sig(hi["flip_model"], 3)],
        "mean_abs_log_E_err_steps_1,5,30_low": _sig(lo["log_err"], 3), "mean_abs_log_E_err_steps_1,5,30_high": _sig(hi["log_err"], 3),
        "pythagoras_max_rel_err": _sig(max(lo["pythagoras_max_rel_err"], hi["pythagoras_max_rel_err"]), 3),
        "minibatch_noise_floor": _sig(ev["noise_floor"], 3),
        "log_E_err_step30_over_noise_floor_low,high": [_sig(x, 3) for x in excess]},
        "the flip (or its absence) is predicted; weight norms follow eq. 3 exactly, so every deviation comes from the "
        f"gradient norm c/||W|| not staying constant: after 30 steps the model's mean |log E| error is {excess[0]:.3g}x "
        f"(low rate) and {excess[1]:.3g}x (high rate) the minibatch noise floor, so the model is qualitative only", hyps)


# ============================================================================ eq. 14 rescaling
def _rescale() -> dict:
    return cached_call(X.eval_mode_rescale, rng=np.random.SeedSequence(1405))


@claim("mgw-eq14-function", paper=MGW, where="Sec. 4.5, after eq. 14",
       quote="This should not change the network function since normalization layers are scale invariant and "
             "gradients are normalized.",
       formalisation="A 4-layer ToyNet (width 32, batch 128, BN eps = 1e-5) in training mode (batch statistics): the "
                     "relative output change after W <- W/max_l ||W_l||_F, against eps's own effect, bounded by "
                     "eps/Var(h) ~ 1e-3.",
       falsify=Falsify("competitor", {"network": "without normalization"},
                       "the same rescaling of a ReLU network without normalization layers (output scaled by "
                       "W_hat^-L) in the BN network's place"))
def _eq14_function(fast: bool, network: str = "BN") -> Verdict:
    ev = _rescale()
    ch = ev["train_mode"] if network == "BN" else ev["no_normalization"]
    tol = 1e-2  # eps/Var(h) bounds eps's own effect: ~1e-3 here
    hyps = (Hypothesis("paper: unchanged (0)", 0.0, ch / tol),
            Hypothesis("competitor: without normalization", float(ev["no_normalization"]),
                       float((ch - ev["no_normalization"]) / tol)))
    return Verdict(HOLDS if ch < tol else FAILS, {"relative_output_change_train_mode": _sig(ev["train_mode"], 3),
                                                  "without_normalization": _sig(ev["no_normalization"], 3),
                                                  "W_hat": _sig(ev["W_hat"], 4), "eps": ev["eps"], "network": network},
                   f"with batch statistics the output changes by {ev['train_mode']:.2g} relative (the effect of eps); "
                   f"without normalization by {ev['no_normalization']:.3g}", hyps)


@claim("mgw-eq14-running-mean", paper=MGW, where="Sec. 4.5, after eq. 14",
       quote='It is important to also update the "running mean" value μ of a Normalization layer so the computations '
             'are still correct at validation time:',
       formalisation="The same ToyNet with PyTorch-style running statistics (momentum 0.1, 50 batches) in evaluation "
                     "mode: the relative output change after W <- W/W_hat with the running mean divided by W_hat (the "
                     "paper's recipe), against the recipe that also divides the running variance by W_hat^2.",
       falsify=Falsify("competitor", {"recipe": "mean and variance"},
                       "rescaling the running variance by 1/W_hat^2 as well, in the paper's recipe's place"))
def _eq14_running_mean(fast: bool, recipe: str = "mean only") -> Verdict:
    ev = _rescale()
    key = {"mean only": "mean_only", "mean and variance": "mean_and_variance"}[recipe]
    ch = ev[key]
    tol = 1e-2
    other = "mean_and_variance" if key == "mean_only" else "mean_only"
    hyps = (Hypothesis(f"paper: {recipe} keeps the output (change 0)", 0.0, ch / tol),
            Hypothesis("competitor: " + other.replace("_", " ") + " recipe", float(ev[other]), float((ch - ev[other]) / tol)))
    return Verdict(HOLDS if ch < tol else FAILS, {
        "rel_output_change_mean_only": _sig(ev["mean_only"], 3),
        "rel_output_change_mean_and_variance": _sig(ev["mean_and_variance"], 3),
        "rel_output_change_no_statistics": _sig(ev["no_statistics"], 3), "W_hat": _sig(ev["W_hat"], 4),
        "eps": ev["eps"], "recipe": recipe},
        f"in evaluation mode the paper's recipe (running mean only) changes the output by {ev['mean_only']:.3g} "
        f"relative; dividing the running variance by W_hat^2 too leaves {ev['mean_and_variance']:.2g} (from eps)", hyps)
