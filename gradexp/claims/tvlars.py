"""Claims of Do et al., *Revisiting LARS for Large Batch Training Generalization of Neural
Networks* (TVLARS, ``do-tvlars``).

Each claim quotes one sentence (or formula line) of the paper and grades it: the warm-up schedule
(eq. 4), the time-varying factor phi(t) and its bounds (eqs. 8-14), Algorithm 1 (momentum, the
weight-decay term of the LARS denominator), the percentage update of LARS (eq. 3), Theorem IV.2
(eqs. 5-7) and the square-root learning-rate scaling of Sec. VI. Deterministic checks express
their hypotheses' discrepancies in units of their numerical tolerance; Monte-Carlo checks in
standard errors. The LALC claims (``pc-`` ids) live in :mod:`gradexp.claims.paik_choi_lalc`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp
from scipy.special import ndtr

from ..optim import (
    LARS,
    SGD,
    TVLARS,
    Optimizer,
    WarmupCosine,
    tvlars_phi,
    tvlars_phi_derivative,
)
from ._common import sig as _s
from ._ledger import (
    FAILS,
    HOLDS,
    HOLDS_LOOSELY,
    Falsify,
    Hypothesis,
    Verdict,
    claim,
    weigh,
)

P = "do-tvlars"


def _sig(x, n=4):
    return _s(x, n)


# ====================================================================== schedule eq. 4
@claim("tvlars-eq4-cosine", paper=P, where="Sec. IV-B, eq. 4 (second branch)",
       quote=r"\frac{1}{2} \left[1 + \cos\left(\frac{t-d_{wa}}{T-d_{wa}}\right) \right], & \text{when } t > d_{wa}",
       formalisation="eq. 4's second branch as printed is the cosine annealing of the warm-up schedule: it "
                     "continues the linear warm-up (no jump at d_wa) and anneals the rate to 0 at T "
                     "(gamma_scale = 8, T = 1000, d_wa = 100).",
       falsify=Falsify("competitor", {"with_pi_and_scale": True},
                       "the corrected branch gamma_scale (1/2)[1 + cos(pi (t - d_wa)/(T - d_wa))] (Goyal et al.; "
                       "Sec. VI's q) in the printed branch's place"))
def _eq4(fast: bool, with_pi_and_scale: bool = False) -> Verdict:
    """Eq. 4 written out here: linear warm-up to gamma_scale, then (1/2)[1 + cos((t - d_wa)/(T - d_wa))]
    as printed (``with_pi_and_scale``: gamma_scale (1/2)[1 + cos(pi (t - d_wa)/(T - d_wa))])."""
    T, w, peak = 1000, 100, 8.0

    def printed(t):
        if t <= w:
            return peak * t / w
        c = math.pi if with_pi_and_scale else 1.0
        return (peak if with_pi_and_scale else 1.0) * 0.5 * (1 + math.cos(c * (t - w) / (T - w)))

    gx_printed = WarmupCosine(peak, T, w, form="tvlars_printed")
    goyal = WarmupCosine(peak, T, w)
    end_printed, end_goyal = float(printed(T)), float(goyal(T))
    gx_err = abs(float(gx_printed(T)) - 0.5 * (1 + math.cos(1.0)))
    jump = float(printed(w + 1) - printed(w))
    mid = float(goyal((T + w) / 2))
    ok = abs(end_printed) < 1e-12 and abs(jump) < 0.1 * peak
    hyps = (Hypothesis("statement: annealed to 0 at T", 0.0, end_printed / 1e-12),
            Hypothesis("competitor: printed branch without pi, ends at (1 + cos 1)/2", 0.5 * (1 + math.cos(1.0)),
                       (end_printed - 0.5 * (1 + math.cos(1.0))) / 1e-12))
    return Verdict(HOLDS if ok else FAILS, {
        "gradexp_printed_form_vs_written_out_at_T": _sig(gx_err, 3),
        "printed_value_at_T": _sig(end_printed), "1/2(1+cos 1)": _sig(0.5 * (1 + math.cos(1.0))),
        "printed_jump_at_d_wa_for_gamma_scale=8": _sig(jump),
        "corrected_value_at_T": _sig(end_goyal), "corrected_midpoint/peak": _sig(mid / peak)},
        "as printed the cosine lacks pi and the factor gamma_scale: the rate drops from gamma_scale to "
        f"1 at d_wa and ends at {end_printed:.3f} instead of 0; intended (and used in Sec. VI with q = (1 + "
        "cos(pi t/T))/2): gamma_scale (1/2)[1 + cos(pi (t - d_wa)/(T - d_wa))]" if not ok else
        f"the schedule is continuous at d_wa and ends at {end_printed:.3f}", hypotheses=hyps)



# ===================================================================== phi(t), eqs. 8-14
@claim("tvlars-eq10-derivative", paper=P, where="Sec. V, eq. 10",
       quote=r"\frac{\partial \phi(t)}{\partial t} = \frac{-\lambda \exp\{\lambda t - \lambda d_e\}}{(\alpha + "
             r"\exp\{\lambda t - \lambda d_e\})^2} \leq 0",
       formalisation="eq. 10 is the derivative of eq. 8 (sympy) and phi is monotone decreasing for lambda > 0 "
                     "(central differences of gradexp's phi on 50/500 random parameter sets, tolerance 1e-4).",
       falsify=Falsify("competitor", {"inner_factor": False},
                       "the derivative without the chain rule's inner factor lambda, the nearest wrong formula"))
def _eq10(fast: bool, inner_factor: bool = True) -> Verdict:
    """``inner_factor``: eq. 10 with the chain rule's factor lambda (as printed) or without it."""
    t, lam, de, a, g = sp.symbols("t lambda d_e alpha gamma_min", real=True)
    phi = 1 / (a + sp.exp(lam * (t - de))) + g
    printed = -(lam if inner_factor else 1) * sp.exp(lam * t - lam * de) / (a + sp.exp(lam * t - lam * de)) ** 2
    sym_ok = sp.simplify(sp.diff(phi, t) - printed) == 0
    rng = np.random.default_rng(3)
    n = 50 if fast else 500
    lams, des, alphas = 10 ** rng.uniform(-5, -1, n), rng.uniform(0, 1000, n), 10 ** rng.uniform(-2, 1, n)
    worst, mono = 0.0, True
    for lm, d, al in zip(lams, des, alphas):
        ts = np.linspace(0, d + 20 / lm, 200)
        f = np.asarray(tvlars_phi(ts, lam=lm, d_e=d, alpha=al))
        mono &= bool(np.all(np.diff(f) <= 1e-15))
        h = 1e-3 / lm
        fd = (np.asarray(tvlars_phi(ts + h, lam=lm, d_e=d, alpha=al))
              - np.asarray(tvlars_phi(ts - h + 2 * h * (ts < h), lam=lm, d_e=d, alpha=al)))
        fd = fd / np.where(ts < h, h, 2 * h)
        an = np.asarray(tvlars_phi_derivative(ts, lam=lm, d_e=d, alpha=al))
        scale = np.max(np.abs(an))
        interior = ts >= h
        worst = max(worst, float(np.max(np.abs(fd - an)[interior]) / scale))
    lam_chk = 1e-3  # the printed formula (with or without lambda) against gradexp's derivative at lambda = 1e-3
    ref_num = np.asarray(tvlars_phi_derivative(np.array([5.0, 50.0]), lam=lam_chk, d_e=10.0, alpha=1.0))
    e_ = np.exp(lam_chk * (np.array([5.0, 50.0]) - 10.0))
    printed_num = -(lam_chk if inner_factor else 1.0) * e_ / (1.0 + e_) ** 2
    dev = float(np.max(np.abs(printed_num / ref_num - 1)))
    ok = sym_ok and mono and worst < 1e-4
    hyps = (Hypothesis("statement: eq. 10 as printed, relative deviation in units of 1e-4", 0.0, dev / 1e-4),)
    return Verdict(HOLDS if ok else FAILS, {"printed_vs_derivative_rel_dev": _sig(dev, 3), "inner_factor": inner_factor,
        "sympy_diff_equals_eq10": bool(sym_ok), "monotone_on_random_params": bool(mono),
        "max_rel_err_central_difference": _sig(worst, 3), "param_sets": n},
        "holds for lam > 0 (for lam < 0 phi increases)" if ok else
        f"eq. 10 is not the derivative of eq. 8 (relative deviation {dev:.3g})", hypotheses=hyps)



@claim("tvlars-eq9-bounds", paper=P, where="Sec. V, eq. 9 (and eqs. 13-14)",
       quote=r"For any $\alpha, \gamma_{\min} \in \mathbb{R}$, the lower and upper bounds for $\phi(t)$ is shown in "
             r"Equation (9).",
       formalisation="gamma_min <= phi(t) <= 1/(alpha + e^{-lambda d_e}) for every real alpha and gamma_min "
                     "(lambda = 1e-3, d_e = 10; gamma_min in {0, 0.001, 0.032}; alpha = -2 for the pole).",
       falsify=Falsify("competitor", {"upper_with_gamma_min": True, "alphas": "positive"},
                       "the corrected statement (upper bound with the gamma_min of eq. 8, alpha > 0) in the "
                       "printed one's place"))
def _eq9(fast: bool, upper_with_gamma_min: bool = False, alphas: str = "all") -> Verdict:
    """Eq. 8, phi = 1/(alpha + e^{lam (t - d_e)}) + gamma_min, written out here, against the printed
    bounds (``upper_with_gamma_min``: eq. 13 with the gamma_min of eq. 8; ``alphas``: 'all' real alpha
    as stated, or 'positive')."""
    lam, de = 1e-3, 10.0

    def phi(t, a=1.0, gmin=0.0):
        return 1.0 / (a + math.exp(lam * (t - de))) + gmin

    viol = []
    for gmin in (0.0, 0.001, 0.032):
        phi0 = phi(0.0, gmin=gmin)
        up_printed = 1.0 / (1.0 + math.exp(-lam * de)) + (gmin if upper_with_gamma_min else 0.0)
        viol.append(phi0 - up_printed)
    gx_err = abs(float(tvlars_phi(0.0, lam=lam, d_e=de, gamma_min=0.032)) - phi(0.0, gmin=0.032))
    # alpha < -1: a pole at t* = d_e + ln(-alpha)/lam > 0
    a = -2.0
    t_star = de + math.log(-a) / lam
    near = [phi(t_star + d, a=a) for d in (-1e-6, 1e-6)]
    ok = max(viol) <= 1e-15 and (alphas == "positive" or all(abs(x) < 1e3 for x in near)) and gx_err < 1e-15
    hyps = (Hypothesis("statement: phi(0) <= printed upper bound (excess in units of 1e-15)", 0.0, max(viol) / 1e-15),)
    return Verdict(HOLDS if ok else FAILS, {
        "phi(0)_minus_printed_upper_for_gmin_0,0.001,0.032": [_sig(v, 3) for v in viol],
        "alpha=-2_pole_at_t": _sig(t_star), "phi_just_before,after_pole": [_sig(x, 3) for x in near]},
        "eq. 13 drops the gamma_min of eq. 8: for lam > 0 and alpha > 0 the bounds are gamma_min < "
        "phi(t) <= 1/(alpha + e^{-lam d_e}) + gamma_min; for alpha < 0 phi has a pole at "
        "t = d_e + ln(-alpha)/lam (at t > 0 when alpha < -1) and is unbounded" if not ok else
        "the corrected bounds hold", hypotheses=hyps)



@claim("tvlars-eq12-infimum", paper=P, where="Sec. V, eq. 12",
       quote=r"Therefore, the minimum value of the above function at $T \rightarrow \infty$ is γ_{\min} as follows:",
       formalisation="phi(t) - gamma_min decreases to 0 as t -> infinity (gamma_min = 0.01, lambda = 1e-3, "
                     "t = 1e3, 1e4, 1e5), never below it.",
       falsify=Falsify("smallest-effect", {"printed_min": 0.011},
                       "the stated minimum moved by 10% of gamma_min, far above the check's 1e-30 resolution"))
def _eq12(fast: bool, printed_min: float = 0.01) -> Verdict:
    """``printed_min``: the infimum the statement gives (gamma_min = 0.01 here)."""
    gmin = 0.01
    ts = np.array([1e3, 1e4, 1e5])
    gaps = np.asarray(tvlars_phi(ts, lam=1e-3, d_e=10.0, gamma_min=gmin)) - printed_min
    ok = bool(np.all(gaps >= 0) and np.all(np.diff(gaps) <= 0) and gaps[-1] < 1e-30)
    hyps = (Hypothesis("statement: phi - gamma_min at t = 1e5 (units of 1e-30)", 0.0, float(gaps[-1]) / 1e-30),)
    return Verdict(HOLDS if ok else FAILS, {"phi-gamma_min_at_t=1e3,1e4,1e5": [_sig(g, 3) for g in gaps],
                                            "printed_min": printed_min},
                   "an infimum (phi > gamma_min at every finite t for alpha > 0)" if ok else
                   "phi falls below the stated minimum", hypotheses=hyps)



@claim("tvlars-alg1-momentum", paper=P, where="Algorithm 1, line 8 (with line 7)",
       quote=r"Adjust model weight $w_{t+1}^k = m_{t+1}^k + \mu (m_{t+1}^k - w_t^k)$.",
       formalisation="lines 7-8 as printed implement momentum: the update carries memory of past gradients "
                     "(12 steps, mu = 0.9), rather than being SGD with a (1 + mu) larger step.",
       falsify=Falsify("competitor", {"line8": "nesterov"},
                       "line 8 with m_t in place of w_t (Nesterov's form), the nearest reading with memory"))
def _alg1(fast: bool, line8: str = "printed") -> Verdict:
    """``line8``: Algorithm 1's line 8 as printed (w_t), or with m_t in place of w_t ('nesterov')."""
    rng = np.random.default_rng(5)
    rule = TVLARS(eta=0.1, lam=1e-2, d_e=3.0)
    w0 = rng.standard_normal((3, 20))
    gs = rng.standard_normal((12, 3, 20))
    res = {}
    for form in ("tvlars_printed", "tvlars_nesterov"):
        opt = Optimizer(rule=rule, momentum=0.9, form=form)
        w, s = w0, opt.init_state(w0)
        for g in gs:
            w, s, _ = opt.step(w, g, s, lr=1.0)
        res[form] = w
    # memoryless check: the printed update uses only the current gradient, as SGD with (1 + mu) gamma
    opt = Optimizer(rule=rule, momentum=0.9, form="tvlars_printed" if line8 == "printed" else "tvlars_nesterov")
    w, s = w0, opt.init_state(w0)
    err = 0.0
    for g in gs:
        wn = np.linalg.norm(w, axis=-1, keepdims=True)
        gn = np.linalg.norm(g, axis=-1, keepdims=True)
        eta = rule.step_size(1.0, wn, gn, g_norm=gn, t=s.step)
        ref = w - 1.9 * eta * g
        w, s, _ = opt.step(w, g, s, lr=1.0)
        err = max(err, float(np.max(np.abs(w - ref))))
    diff = float(np.max(np.abs(res["tvlars_printed"] - res["tvlars_nesterov"])))
    ok = err > 1e-8  # the printed lines would have to carry memory
    hyps = (Hypothesis("competitor: memoryless SGD with step (1 + mu) gamma (deviation in units of 1e-8)", 0.0, err / 1e-8),)
    return Verdict(HOLDS if ok else FAILS, {
        "max_abs_dev_printed_vs_SGD_with_(1+mu)gamma": _sig(err, 3),
        "printed_vs_nesterov_form_after_12_steps": _sig(diff, 3)},
        "as printed, m_{t+1} - w_t = -gamma g_t, so w_{t+1} = w_t - (1 + mu) gamma g_t: no momentum "
        "memory, only a (1 + mu) larger step; with m_t in place of w_t in line 8 (Nesterov's form) "
        "the update carries momentum" if not ok else
        f"with m_t in line 8 the update carries momentum (deviation from memoryless SGD {err:.3g})", hypotheses=hyps)


# ===================================================================== alpha = 1: the initial rate
#: Table I: classification lambda = 1e-4, Barlow Twins 1e-5; d_e = 10 epochs, counted in epochs or in
#: steps (B = 16K and 1K on CIFAR10: 30 and 490 steps per 10 epochs); gamma_min = 0.001 B/B_base (Sec. VI-C1)
_TABLE_I = tuple((lam, de) for lam in (1e-5, 1e-4) for de in (10, 30, 490))


@claim("tvlars-alpha1-initial", paper=P, where="Sec. V, end of the proof of eq. 9",
       quote=r"Otherwise, to guarantee that all experiments are conducted fairly, α is set to 1, which means there is "
             r"no increment in the initial LR, and the minimum value of the LR is also set to γ_{\min} .",
       formalisation="with alpha = 1, phi(t) never exceeds its initial value and phi(0) <= 1 + gamma_min (the rate "
                     "never rises above the target), over Table I's lambda and d_e; tolerance 1e-12.",
       falsify=Falsify("competitor", {"alpha": 0.0},
                       "alpha = 0 in place of 1 (pure exponential decay e^{-lambda (t - d_e)}): phi(0) = "
                       "e^{lambda d_e} + gamma_min starts above the target, an increment"))
def _alpha1(fast: bool, alpha: float = 1.0) -> Verdict:
    """``alpha``: the scaling factor of eq. 8 (the statement: 1)."""
    gmin = 0.032  # 0.001 B/B_base at B = 16K, B_base = 512
    worst_rise, worst_start = -math.inf, -math.inf
    for lam, de in _TABLE_I:
        ts = np.linspace(0.0, de + 20.0 / lam, 2001)
        f = np.asarray(tvlars_phi(ts, lam=lam, d_e=de, alpha=alpha, gamma_min=gmin))
        worst_rise = max(worst_rise, float(np.max(f - f[0])))
        worst_start = max(worst_start, float(f[0] - (1.0 + gmin)))
    ok = worst_rise <= 1e-12 and worst_start <= 1e-12
    hyps = (Hypothesis("statement: no increment, max phi(t) - phi(0) (units of 1e-12)", 0.0, worst_rise / 1e-12),
            Hypothesis("statement: phi(0) - (1 + gamma_min) <= 0 (units of 1e-12)", 0.0, max(worst_start, 0.0) / 1e-12))
    ev = {"alpha": alpha, "gamma_min": gmin, "max_phi(t)-phi(0)": _sig(worst_rise, 3),
          "max_phi(0)-(1+gamma_min)": _sig(worst_start, 4), "settings (lambda, d_e)": [list(s) for s in _TABLE_I]}
    note = (f"with alpha = 1 phi only decreases (max rise {worst_rise:.3g}) and starts at most "
            f"{-worst_start:.4g} below 1 + gamma_min: no increment of the initial rate" if ok else
            f"with alpha = {alpha} phi(0) exceeds the target by {worst_start:.4g}: an increment")
    return Verdict(HOLDS if ok else FAILS, ev, note, hypotheses=hyps)


@claim("tvlars-sec1-target-lr", paper=P, where="Sec. I",
       quote=r"Instead of using warm-up (which suffers from major aforementioned issues), TVLARS overcomes sharp "
             r"minimizers by taking full advantage of a high initial LR (i.e., target LR) and inverted sigmoid "
             r"function to enhance training stability, aligning with theories about sharp minimizers in LBT [7].",
       formalisation="TVLARS starts at the target rate: phi(0) = 1 (relative to the target; gamma_min = 0) with "
                     "alpha = 1 and Table I's lambda, d_e, against the competitor 1/(1 + e^{-lambda d_e}) ~ 1/2; "
                     "tolerance 0.05.",
       falsify=Falsify("competitor", {"paper_start": 0.5},
                       "half the target, 1/(1 + e^{-lambda d_e}) at lambda d_e << 1, in the statement's place"))
def _sec1_target(fast: bool, paper_start: float = 1.0) -> Verdict:
    """``paper_start``: phi(0) relative to the target according to the statement (1: the target LR)."""
    vals = [float(tvlars_phi(0.0, lam=lam, d_e=de, alpha=1.0)) for lam, de in _TABLE_I]
    lo, hi = min(vals), max(vals)
    tol = 0.05
    dev = max(abs(lo - paper_start), abs(hi - paper_start))
    comp = 1.0 / (1.0 + math.exp(-max(lam * de for lam, de in _TABLE_I)))
    ok = dev < tol
    big = float(tvlars_phi(0.0, lam=1e-2, d_e=490, alpha=1.0))
    hyps = (Hypothesis(f"statement: phi(0) = {paper_start}", paper_start, dev / tol),
            Hypothesis("competitor: 1/(1 + e^{-lambda d_e})", comp, (hi - comp) / tol))
    return Verdict(HOLDS if ok else FAILS, {
        "phi(0)_min_over_settings": _sig(lo), "phi(0)_max_over_settings": _sig(hi), "paper_start": paper_start,
        "settings (lambda, d_e)": [list(s) for s in _TABLE_I], "phi(0)_lam=1e-2_d_e=490": _sig(big)},
        f"phi(0) = 1/(1 + e^(-lam d_e)) is {lo:.4g} to {hi:.4g} for Table I's lam and d_e (gamma_min = 0): with "
        "alpha = 1 TVLARS starts at about half the target LR, not at it; it starts at the target only when "
        f"lam d_e >> 1 ({big:.4g} at lam = 1e-2, d_e = 490 steps)" if not ok else
        f"phi(0) is {lo:.4g} to {hi:.4g}, the target", hypotheses=hyps)


# ====================================================================== eq. 3: the percentage update
@claim("tvlars-eq3-percentage", paper=P, where="Sec. IV-A, eq. 3",
       quote=r"In other words, instead of taking the vanilla model update step $\nabla\mathcal{L}(w_t^k)$ at every "
             r"layer k , we perform an update step as a percentage of the LWN.",
       formalisation="the LARS step of gradexp's optimizer (eq. 2, eta = 0.02, no weight decay, no momentum) on 8 "
                     "random layers with gradient norms spread over 4 decades: ||update||/||w|| is the same "
                     "percentage lr eta in every layer (relative spread below 1e-12), unlike SGD's.",
       falsify=Falsify("competitor", {"rule": "sgd"},
                       "the vanilla update step (plain SGD) in LARS's place"))
def _eq3(fast: bool, rule: str = "lars") -> Verdict:
    """``rule``: the update rule under test ('lars': eq. 2; 'sgd': the vanilla step)."""
    rng = np.random.default_rng(20240003)
    eta, lr = 0.02, 0.5
    layer_rule = LARS(eta=eta, eps=0.0) if rule == "lars" else SGD()
    opt = Optimizer(rule=layer_rule, momentum=0.0)
    rel = []
    for scale in np.geomspace(1e-3, 10.0, 8):
        w = rng.standard_normal((1, 300)) * rng.uniform(0.5, 2.0)  # one layer (L = 1) of 300 weights
        g = scale * rng.standard_normal((1, 300))
        w1, _, _ = opt.step(w, g, opt.init_state(w), lr=lr)
        rel.append(float(np.linalg.norm(w1 - w) / np.linalg.norm(w)))
    rel = np.array(rel)
    spread = float(np.max(np.abs(rel / (lr * eta) - 1)))
    tol = 1e-12
    ok = spread < tol
    hyps = (Hypothesis("statement: ||update||/||w|| = lr eta in every layer (spread in units of 1e-12)", lr * eta,
                       spread / tol),)
    return Verdict(HOLDS if ok else FAILS, {
        "rule": rule, "lr*eta": lr * eta, "relative_update_by_layer": _sig(list(rel), 4),
        "max_rel_dev_from_lr*eta": _sig(spread, 3)},
        f"every layer moves by the same fraction {lr * eta:.3g} of its weight norm (max relative deviation "
        f"{spread:.2g}) whatever its gradient norm" if ok else
        f"the relative update ranges over {rel.min():.3g} to {rel.max():.3g}: not a fixed percentage", hypotheses=hyps)


# ====================================================================== Theorem IV.2, eqs. 5-7
def _least_squares_gradients(rng, n=512, d=10):
    A = rng.standard_normal((n, d))
    y = A @ rng.standard_normal(d) + rng.standard_normal(n)
    w = rng.standard_normal(d)
    return (A @ w - y)[:, None] * A  # per-example gradients g_i


@claim("tvlars-eq7-batch-noise", paper=P, where="Sec. IV-C, Theorem IV.2",
       quote=r"Given σ^2 is the variance for point-wise unbiased gradient as mentioned in [26], we have the "
             r"stochastic gradient with B is an unbiased estimator of the general gradient and has bounded variance: "
             r"$\mathbb{E}_{(x,y) \sim P(\mathcal{X},\mathcal{Y})} [\bar{g}^t - g_B^t] \leq \sigma^2/B$,",
       formalisation="least-squares per-example gradients (n = 512, d = 10), batches drawn with replacement at "
                     "B = 4, 32, 256: E[g_bar - g_B] = 0 (unbiased, max |z| <= 5) and the informative reading of the "
                     "bound, E||g_bar - g_B||^2 = sigma^2/B (max |z| <= 5); the printed first-moment inequality is "
                     "vacuous (0 <= sigma^2/B): holds-loosely.",
       falsify=Falsify("competitor", {"finite_population": True},
                       "the variance with the finite-population factor (n - B)/(n - 1) (sampling without "
                       "replacement) in sigma^2/B's place"))
def _thm_iv2(fast: bool, finite_population: bool = False) -> Verdict:
    """``finite_population``: the variance reference sigma^2/B times (n - B)/(n - 1) (the competitor)."""
    rng = np.random.default_rng(7)
    G = _least_squares_gradients(rng)
    n = G.shape[0]
    gbar = G.mean(0)
    sigma2 = float(np.mean(np.sum((G - gbar) ** 2, axis=1)))
    T = 4000 if fast else 40000
    rows, zv, zb = {}, [], []
    hyps = []
    for B in (4, 32, 256):
        diff = np.concatenate([gbar - G[rng.integers(0, n, size=(min(1000, T - k), B))].mean(axis=1)
                               for k in range(0, T, 1000)])
        sq = np.sum(diff**2, axis=1)
        m, se = float(sq.mean()), float(sq.std(ddof=1) / math.sqrt(T))
        ref = sigma2 / B * ((n - B) / (n - 1) if finite_population else 1.0)
        comp = sigma2 / B * ((n - B) / (n - 1) if not finite_population else 1.0)
        _st, h, e = weigh(m, se, paper=ref, competitor=comp, k=5.0, n=T,
                         paper_name=f"statement: E||g_bar - g_B||^2 = sigma^2/B{' (n-B)/(n-1)' if finite_population else ''}, B = {B}",
                         competitor_name=f"competitor: {'sigma^2/B' if finite_population else 'sigma^2/B (n-B)/(n-1)'}, B = {B}")
        hyps.extend(h)
        zv.append(e["z_paper"])
        zb.append(float(np.max(np.abs(diff.mean(0)) / (diff.std(0, ddof=1) / math.sqrt(T)))))
        rows[str(B)] = [_sig(m, 4), _sig(se, 2), _sig(ref, 4), _sig(e["z_paper"], 3), _sig(e["z_competitor"], 3)]
    hyps.append(Hypothesis("statement: unbiased, max |z| of E[g_bar - g_B] over coordinates and B", 0.0, max(zb)))
    unbiased = max(zb) < 5
    variance_ok = max(abs(z) for z in zv) < 5
    # the printed inequality bounds a first moment (0 when unbiased): true but vacuous -> holds-loosely;
    # a biased estimator contradicts the sentence ("unbiased") whatever the inequality says -> fails
    status = HOLDS_LOOSELY if (unbiased and variance_ok) else FAILS
    return Verdict(status, {"sigma^2": _sig(sigma2, 5), "B: E||g_bar-g_B||^2, se, reference, z, z competitor": rows,
                            "max_|z|_of_mean_difference_vs_0": _sig(max(zb), 3), "finite_population": finite_population,
                            "max_|z|_variance": _sig(max(abs(z) for z in zv), 3), "batches": T},
                   f"Unbiased (max |z| = {max(zb):.3g}), but as printed the left side is a first moment, 0, so the "
                   "bound is vacuous; read as the squared norm it is an equality, E||g_bar - g_B||^2 = sigma^2/B "
                   f"with replacement (max |z| = {max(abs(z) for z in zv):.3g})." if status == HOLDS_LOOSELY else
                   f"the estimator or its variance departs from the statement (bias max |z| = {max(zb):.3g}, variance "
                   f"max |z| = {max(abs(z) for z in zv):.3g})", hypotheses=tuple(hyps))


@claim("tvlars-eq7-proof-step", paper=P, where="Sec. IV-C, proof of Theorem IV.2 (before eq. 7)",
       quote=r"Apply the L^2 Weak Law Theorem 2.2.3 in [27], we have: $g_B^t \leq \bar{g}^t + \frac{\sigma^2}{B}$, "
             r"which can be also understood as:",
       formalisation="per coordinate, with Gaussian per-example gradients of variance sigma^2 = 1: the probability "
                     "that g_B > g_bar + sigma^2/B, against 0 (the step as a sure inequality) and against the exact "
                     "1 - Phi(sigma/sqrt B), at B = 4, 16, 64 (binomial standard errors).",
       falsify=Falsify("competitor", {"paper_probability": "exact"},
                       "the exact violation probability 1 - Phi(sigma/sqrt B) in place of the step's 0"))
def _eq7_step(fast: bool, paper_probability: str = "zero") -> Verdict:
    """``paper_probability``: 'zero' (the step holds surely) or 'exact' (1 - Phi(sigma/sqrt B))."""
    rng = np.random.default_rng(20240007)
    sigma, T = 1.0, (20000 if fast else 200000)
    rows, hyps, statuses = {}, [], []
    for B in (4, 16, 64):
        gB = sigma * rng.standard_normal(T) / math.sqrt(B)  # g_B - g_bar, exactly N(0, sigma^2/B)
        p = float(np.mean(gB > sigma**2 / B))
        exact = float(ndtr(-sigma / math.sqrt(B)))
        se = math.sqrt(exact * (1 - exact) / T)
        paper = 0.0 if paper_probability == "zero" else exact
        comp = exact if paper_probability == "zero" else 0.0
        st, h, _ = weigh(p, se, paper=paper, competitor=comp, k=5.0, n=T,
                         paper_name=f"statement: P(violation) = {'0' if paper == 0 else '1 - Phi(sigma/sqrt B)'}, B = {B}",
                         competitor_name=f"competitor, B = {B}")
        statuses.append(st)
        hyps.extend(h)
        rows[str(B)] = [_sig(p, 4), _sig(se, 2), _sig(exact, 4)]
    status = FAILS if FAILS in statuses else HOLDS
    p16 = rows["16"]
    return Verdict(status, {"sigma": sigma, "samples_per_B": T, "paper_probability": paper_probability,
                            "B: P(g_B > g_bar + sigma^2/B), se, 1 - Phi(sigma/sqrt B)": rows},
                   f"The step fails with probability 1 - Phi(sigma/sqrt B): measured {p16[0]:.3g} ± {p16[1]:.2g} at "
                   f"B = 16 (exact {p16[2]:.3g}); the weak law bounds E(g_B - g_bar)^2 = sigma^2/B, not g_B itself."
                   if status == FAILS else
                   f"the violation frequency matches 1 - Phi(sigma/sqrt B) ({p16[0]:.3g} ± {p16[1]:.2g} at B = 16)",
                   hypotheses=tuple(hyps))


# ====================================================================== weight decay in the denominator
#: ResNet18's largest convolution (512 x 512 x 3 x 3) and Sec. VI's weight decay
_LAYER_PARAMS, _WD = 512 * 512 * 3 * 3, 5e-4


@claim("tvlars-sec3-wd-denominator", paper=P, where="Sec. III, eq. 2 (and Algorithm 1, line 6)",
       quote=r"w_d is weight decay to ensure non-zero division, for simplicity, it is not included in the dominator "
             r"later on.",
       formalisation="dropping w_d from the LARS denominator ||grad L + w_d|| (eq. 2 and Algorithm 1 add the scalar "
                     "w_d to every entry) changes the layer-wise rate by less than 5% for ResNet18's largest layer "
                     "(d = 2,359,296 parameters, w_d = 5e-4, Sec. VI) at layer gradient norms 1 and 0.1 (the paper: "
                     "||grad L|| << 1).",
       falsify=Falsify("competitor", {"decay_term": "w_d w"},
                       "eq. 1's weight-decay gradient w_d w (Kaiming-uniform weights) in place of Algorithm 1's "
                       "scalar w_d"))
def _wd_denominator(fast: bool, decay_term: str = "w_d") -> Verdict:
    """``decay_term``: what the denominator adds to the gradient: the scalar 'w_d' (eq. 2, Algorithm 1, as
    printed) or 'w_d w' (eq. 1's gradient of (lambda/2)||w||^2)."""
    rng = np.random.default_rng(20240006)
    d = _LAYER_PARAMS
    fan_in = 512 * 9
    ratios = {}
    w = rng.uniform(-1, 1, d) * math.sqrt(6.0 / fan_in)  # Kaiming uniform (Sec. VI-A)
    for gnorm in (1.0, 0.1):
        g = rng.standard_normal(d)
        g *= gnorm / np.linalg.norm(g)
        extra = _WD * (w if decay_term == "w_d w" else 1.0)
        ratios[gnorm] = float(np.linalg.norm(g + extra) / gnorm)
    tol = 0.05
    worst = max(abs(r - 1) for r in ratios.values())
    ok = worst < tol
    pred = {gn: math.sqrt(1 + d * _WD**2 / gn**2) for gn in ratios}
    hyps = (Hypothesis("statement: w_d negligible, ratio 1 (units of 5%)", 1.0, worst / tol),
            Hypothesis("competitor: sqrt(1 + d w_d^2/||g||^2) at ||g|| = 1 (units of 5%)", pred[1.0],
                       (ratios[1.0] - pred[1.0]) / tol))
    return Verdict(HOLDS if ok else FAILS, {
        "parameters_d": d, "w_d": _WD, "sqrt(d)*w_d": _sig(math.sqrt(d) * _WD, 4), "decay_term": decay_term,
        "||g + term||/||g|| at ||g|| = 1, 0.1": [_sig(ratios[1.0], 4), _sig(ratios[0.1], 4)],
        "sqrt(1 + d w_d^2/||g||^2) at ||g|| = 1, 0.1": [_sig(pred[1.0], 4), _sig(pred[0.1], 4)]},
        f"Not negligible: the scalar w_d adds sqrt(d) w_d = {math.sqrt(d) * _WD:.3g} to the denominator's norm, so "
        f"dropping it changes the layer's rate by a factor {ratios[1.0]:.3g} at ||grad L|| = 1 and "
        f"{ratios[0.1]:.3g} at 0.1; Algorithm 1 (scalar w_d) and eq. 1 (w_d w) also disagree." if not ok else
        f"with {decay_term} the denominator changes by a factor {ratios[1.0]:.4g} at ||grad L|| = 1 and "
        f"{ratios[0.1]:.4g} at 0.1", hypotheses=hyps)


# ====================================================================== Sec. VI: square-root scaling
#: Sec. VI-A: the gamma_target sets and their batch sizes
_RATES = {512: (1, 2, 3), 1024: (2, 3, 4), 2048: (5, 6, 7), 4096: (8, 9, 10), 8192: (10, 12, 15),
          16384: (15, 17, 19)}


@claim("tvlars-sec6-sqrt-scaling", paper=P, where="Sec. VI-A, Hyperparameters (with Sec. VI-C2)",
       quote=r"The LR's are determined using the square root scaling rule [23], which is described detailedly at VI-C2.",
       formalisation="the log-log slope of the 18 listed gamma_target values against their batch sizes (least "
                     "squares, standard error from the residual scatter) against 1/2 (square-root rule) and 1 "
                     "(linear scaling, the competitor); k = 3.",
       falsify=Falsify("competitor", {"paper_exponent": 1.0},
                       "the linear scaling rule (exponent 1, Goyal et al.) in the square-root rule's place"))
def _sqrt_scaling(fast: bool, paper_exponent: float = 0.5) -> Verdict:
    """``paper_exponent``: the exponent of B the stated rule gives the learning rate (1/2: square root)."""
    x = np.log(np.repeat(np.array(list(_RATES), float), 3))
    y = np.log(np.array([r for v in _RATES.values() for r in v], float))
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = y - X @ coef
    cov = float(res @ res) / (len(y) - 2) * np.linalg.inv(X.T @ X)
    slope, se = float(coef[1]), float(math.sqrt(cov[1, 1]))
    comp = 1.0 if paper_exponent != 1.0 else 0.5
    status, hyps, e = weigh(slope, se, paper=paper_exponent, competitor=comp, k=3.0, n=len(y),
                            paper_name=f"statement: exponent {paper_exponent}", competitor_name=f"competitor: exponent {comp}")
    ratio = _RATES[16384][1] / _RATES[512][1]
    ev = {"slope": _sig(slope, 4), "slope_se": _sig(se, 3), "z_statement": _sig(e["z_paper"], 3),
          "z_competitor": _sig(e["z_competitor"], 3), "middle_rate_ratio_16384/512": _sig(ratio, 4),
          "sqrt(32)": _sig(math.sqrt(32), 4), "batch_ratio": 32, "paper_exponent": paper_exponent,
          "competitor_exponent": comp}
    ev.update({k: v for k, v in e.items() if k == "n_needed"})
    note = (f"The listed rates grow like B^{slope:.3g} ± {se:.2g} (middle rates x{ratio:.3g} over a 32-fold batch; "
            f"square root: x{math.sqrt(32):.3g}): z = {e['z_paper']:.2g} from exponent {paper_exponent}, "
            f"{e['z_competitor']:.2g} from {comp}.")
    return Verdict(status, ev, note, hypotheses=hyps)


# ====================================================================== Sec. V-3: the steepness
@claim("tvlars-sec5-steepness", paper=P, where="Sec. V-3, Configurable Decay Rate",
       quote=r"Specifically, as λ is large, the steepness is significant, and the time-variant component $\phi(t)$ "
             r"reduces faster.",
       formalisation="with alpha = 1, d_e = 10, gamma_min = 0: the time at which phi has lost half of its initial "
                     "value decreases strictly as lambda grows over 1e-5 ... 1e-1 (bisection to 1e-12 relative).",
       falsify=Falsify("competitor", {"lam_role": "temperature"},
                       "lambda as a temperature that divides the time, psi = (t - d_e)/lambda (the usual role of a "
                       "'soft-temperature factor'), in place of eq. 8's psi = lambda (t - d_e)"))
def _steepness(fast: bool, lam_role: str = "rate") -> Verdict:
    """``lam_role``: 'rate' (eq. 8, psi = lambda (t - d_e)) or 'temperature' (psi = (t - d_e)/lambda)."""
    de = 10.0
    lams = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)

    def phi(t, lam):
        k = lam if lam_role == "rate" else 1.0 / lam
        return float(tvlars_phi(t, lam=k, d_e=de, alpha=1.0))

    t_half = []
    for lam in lams:
        target = 0.5 * phi(0.0, lam)
        lo, hi = 0.0, 1.0
        while phi(hi, lam) > target:
            hi *= 2.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if phi(mid, lam) > target else (lo, mid)
        t_half.append(0.5 * (lo + hi))
    ratios = [b / a for a, b in itertools.pairwise(t_half)]
    ok = all(r < 1 - 1e-12 for r in ratios)
    hyps = (Hypothesis("statement: t_half decreases with lambda, largest ratio of successive t_half", 1.0,
                       (max(ratios) - 1) / 1e-12),)
    return Verdict(HOLDS if ok else FAILS, {
        "lam_role": lam_role, "lambdas": list(lams), "t_half": _sig(t_half, 5), "successive_ratios": _sig(ratios, 4)},
        f"phi loses half its initial value after {t_half[0]:.4g} steps at lambda = 1e-5 and {t_half[-1]:.4g} at 1e-1 "
        "(about ln 3/lambda for lambda d_e << 1): larger lambda, faster decay" if ok else
        f"the half-time does not decrease with lambda ({t_half[0]:.4g} -> {t_half[-1]:.4g})", hypotheses=hyps)


# ====================================================================== Sec. VI-C2: sqrt(m) keeps the variance
@claim("tvlars-sec6c2-sqrt-variance", paper=P, where="Sec. VI-C2 (citing [22], [23])",
       quote=r"suggest that, when $\mathcal{B}/\mathcal{B}_{\text{base}} = m$, the LR should be $\epsilon\sqrt{m}$ to keep "
             r"the variance, where ϵ is the LR used with $\mathcal{B}_{\text{base}}$.",
       formalisation="the variance of the SGD step E||alpha (g_B - g_bar)||^2 (least-squares per-example gradients, "
                     "batches with replacement, B_base = 4, m = 4, 16) at alpha = eps sqrt(m), relative to m = 1: "
                     "ratio 1, against m (the linear scaling rule alpha = eps m gives m^2/m).",
       falsify=Falsify("competitor", {"scaling": "linear"},
                       "the linear scaling rule alpha = eps m (Goyal et al.) in place of eps sqrt(m)"))
def _sqrt_variance(fast: bool, scaling: str = "sqrt") -> Verdict:
    """``scaling``: how the LR grows with m = B/B_base ('sqrt' as stated, 'linear')."""
    from ..experiments._memo import memo_call
    from ..experiments.bjorck import sgd_noise_scan

    T = 20_000 if fast else 200_000
    eps, base = 0.1, 4
    ms = (1, 4, 16)
    _, sampled = memo_call(sgd_noise_scan, 20240062, tuple(base * m for m in ms), T)
    noise = {}
    for m, (e_mean, e_se) in zip(ms, sampled):
        a = eps * (math.sqrt(m) if scaling == "sqrt" else m)
        noise[m] = (a**2 * e_mean, a**2 * e_se)
    statuses, hyps, rows = [], [], {}
    for m in (4, 16):
        r = noise[m][0] / noise[1][0]
        se = r * math.hypot(noise[m][1] / noise[m][0], noise[1][1] / noise[1][0])
        st, h, e = weigh(r, se, paper=1.0, competitor=float(m), k=5.0, n=T,
                         paper_name=f"statement: variance kept, m = {m}", competitor_name=f"competitor: x m, m = {m}")
        statuses.append(st)
        hyps.extend(h)
        rows[str(m)] = [_sig(r, 4), _sig(se, 2), _sig(e["z_paper"], 3)]
    status = FAILS if FAILS in statuses else (HOLDS if all(s == HOLDS for s in statuses) else statuses[0])
    return Verdict(status, {"scaling": scaling, "B_base": base, "batches": T,
                            "m: variance ratio to m = 1, se, z": rows},
                   f"with alpha = eps {'sqrt(m)' if scaling == 'sqrt' else 'm'} the step variance is x{rows['4'][0]:.4g} "
                   f"at m = 4 and x{rows['16'][0]:.4g} at m = 16 (eq. 2's alpha^2/B: sqrt(m) keeps it)",
                   hypotheses=tuple(hyps))
