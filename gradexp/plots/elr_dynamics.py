"""gradexp's own figures on ELR dynamics beyond the early phase (issue 12): weight decay and
its fixed point, the two ELR notions, the critical learning rate, the equalizing warm-up and
the recovery of saturated layers. Each figure is a compute step (arrays) and a plot step."""

from __future__ import annotations

import math

import numpy as np

from .. import optim as o
from ..sweep.cache import cached_call
from ..theory import elr
from ._registry import register_figure
from .style import PALETTE, mc_points, new_figure, theory_line

SEL = slice(1, None)


# ====================================================================== weight decay
def _wd_compute(fast: bool, seed: int) -> dict:
    from ..mc.training import train_toynet

    lam, beta = 0.1, 0.05
    c = np.array([1.5, 40.0, 900.0])
    K = 400
    out = {"c": c, "lam": lam, "beta": beta, "k": np.arange(K + 1)}
    for mu in (0.0, 0.9):
        tr = elr.simulate(c, lam, K, momentum=mu, weight_decay=beta)
        out[f"w_mu{mu}"] = tr.weight_sq
        out[f"ru_mu{mu}"] = tr.relative_update
        out[f"eq_mu{mu}"] = elr.equilibrium_weight_sq(c, lam, beta, momentum=mu)
        out[f"ru_eq_mu{mu}"] = float(elr.equilibrium_relative_update(lam, beta, momentum=mu))
    out["w_cont"] = elr.continuous_weight_sq(c[None, :], lam, lam * out["k"][:, None], weight_decay=beta)
    t_lam, t_beta = 0.5, 0.01
    steps, reps = (600, 2) if fast else (2000, 6)
    runs = [cached_call(train_toynet, 10, 32, t_lam, steps, batch=64, weight_decay=t_beta, rng=s)
            for s in np.random.SeedSequence(seed).spawn(reps)]
    ru = np.array([r.relative_update[:, SEL].mean(axis=1) for r in runs])
    out.update(toy_ru=ru.mean(0), toy_ru_se=ru.std(0, ddof=1) / math.sqrt(reps),
               toy_ru_eq=math.sqrt(2 * t_lam * t_beta), toy_lam=t_lam, toy_beta=t_beta, toy_reps=reps)
    return out


def _wd_plot(d):
    fig, axes = new_figure(1, 3, width=3.5, height=3.0)
    k = d["k"]
    ax = axes[0][0]
    for i, ci in enumerate(d["c"]):
        theory_line(ax, k, d["w_mu0.0"][:, i], color=PALETTE[i], label=f"c = {ci:g}")
        theory_line(ax, k, d["w_cont"][:, i], color=PALETTE[i], style=":")
        ax.axhline(d["eq_mu0.0"][i], color=PALETTE[i], lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("step k")
    ax.set_ylabel("‖W‖²")
    ax.set_title(f"SGD, λ = {float(d['lam']):g}, β = {float(d['beta']):g}\n"
                 "discrete (—), continuous (⋯), s* (--)")
    ax.legend(loc="lower right")
    ax = axes[0][1]
    for mu, st in ((0.0, "-"), (0.9, "--")):
        for i in range(len(d["c"])):
            theory_line(ax, k[:-1], d[f"ru_mu{mu}"][:, i], color=PALETTE[i], style=st)
        ax.axhline(d[f"ru_eq_mu{mu}"], color="0.3", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("step k")
    ax.set_ylabel("relative update ‖ΔW‖/‖W‖")
    ax.set_title("μ = 0 (—), 0.9 (--); √(2λβ/(1+μ)) (⋯)")
    ax = axes[0][2]
    kk = np.arange(d["toy_ru"].size)
    every = max(1, kk.size // 60)
    mc_points(ax, kk[::every], d["toy_ru"][::every], d["toy_ru_se"][::every], color=PALETTE[0],
              label="ToyNet, mean over layers 2..10")
    ax.axhline(d["toy_ru_eq"], color="0.3", ls="--", label="√(2λβ)")
    ax.set_xlabel("step k")
    ax.set_ylabel("relative update")
    ax.set_title(f"ToyNet, λ = {float(d['toy_lam']):g}, β = {float(d['toy_beta']):g}, "
                 f"{int(d['toy_reps'])} runs")
    ax.legend(loc="lower right")
    fig.suptitle("Weight decay: the fixed point of the ELR model and a trained ToyNet", fontsize=10)
    return fig


register_figure("gx-elr-weight-decay", paper="gradexp",
                description="‖W‖² under coupled weight decay (discrete, continuous, momentum) reaching "
                            "its fixed point; relative update → √(2λβ/(1+μ)) in the model and a ToyNet",
                compute=_wd_compute, plot=_wd_plot)


# ====================================================================== ELR notions
def _notions_compute(fast: bool, seed: int) -> dict:
    c = np.array([2.0, 20.0])
    lam = 0.1
    K = 20000 if fast else 100000
    ks = np.unique(np.geomspace(1, K, 200).astype(int))
    out = {"c": c, "lam": lam, "ks": ks}
    for beta in (0.0, 0.05):
        kk = K if beta == 0 else 1500
        tr = elr.simulate(c, lam, kk, weight_decay=beta)
        sel = ks[ks < kk]
        out[f"ks_wd{beta}"] = sel
        out[f"ru_ratio_wd{beta}"] = tr.relative_update[sel, 1] / tr.relative_update[sel, 0]
        out[f"lrw_ratio_wd{beta}"] = tr.weight_sq[sel, 0] / tr.weight_sq[sel, 1]
    return out


def _notions_plot(d):
    fig, axes = new_figure(1, 2, width=4.0, height=3.1)
    cl, ck = d["c"][1], d["c"][0]
    for j, beta in enumerate((0.0, 0.05)):
        ax = axes[0][j]
        ks = d[f"ks_wd{beta}"]
        theory_line(ax, ks, d[f"ru_ratio_wd{beta}"], color=PALETTE[0], label="relative update λE: ratio ℓ/k")
        theory_line(ax, ks, d[f"lrw_ratio_wd{beta}"], color=PALETTE[1], label="λ/‖W‖²: ratio ℓ/k")
        ax.axhline(1.0, color=PALETTE[0], lw=0.8, ls="--")
        ax.axhline(ck / cl, color=PALETTE[1], lw=0.8, ls="--", label=f"c_k/c_ℓ = {ck / cl:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step k")
        ax.set_title(f"β = {beta:g}" + (" (algebraic, ∝ 1/k)" if beta == 0 else " (geometric)"))
        ax.legend(loc="best")
    axes[0][0].set_ylabel("ratio of layer ℓ (c = 20) to layer k (c = 2)")
    fig.suptitle(f"Two ELR notions in the discrete model, λ = {float(d['lam']):g}", fontsize=10)
    return fig


register_figure("gx-elr-notions", paper="gradexp",
                description="The relative update converges to the same value in every layer, λ/‖W‖² to "
                            "ratios c_k/c_ℓ; algebraically without weight decay, geometrically with it",
                compute=_notions_compute, plot=_notions_plot)


# ================================================================== critical rate
def _critical_compute(fast: bool, seed: int) -> dict:
    from ..mc.training import train_toynet_arms

    c = elr.plain_profile(20)
    lams = np.logspace(-4, 4, 161)
    S0 = float(elr.log_spread(c))
    E = c.copy()
    plain = np.array([float(elr.log_spread(E / (1 + x ** 2 * E ** 2))) for x in lams]) - S0
    plain_wd = np.array([float(elr.log_spread(E / ((1 - x * 0.05) ** 2 + x ** 2 * E ** 2)))
                         for x in lams[lams < 1 / 0.05]]) - S0
    st = elr.momentum_state(c, 0.01, 3, 0.9)
    k = 3
    A, G = st["weight_sq"][k], st["grad_sq"][k]
    B, C = st["weight_buffer_dot"][k], st["buffer_sq"][k]
    Sm = float(elr.log_spread(c / A))
    rho = elr.one_step_factor(lams[:, None], A, G, buffer_sq=C, weight_buffer_dot=B, momentum=0.9)
    mom = elr.log_spread(np.sqrt(G / A) / rho) - Sm
    lc = float(elr.critical_lr(A, G, buffer_sq=C, weight_buffer_dot=B, momentum=0.9))
    t_lams = np.logspace(-4, 2, 7 if fast else 13)
    reps = 4 if fast else 12
    arms = cached_call(train_toynet_arms, 30, 32, {float(x): float(x) for x in t_lams}, 1,
                       reps=reps, rng=seed, batch=64)
    dS = np.array([[np.std(np.log(r.elr[1, SEL])) - np.std(np.log(r.elr[0, SEL])) for r in runs]
                   for runs in arms.values()])
    return {"lams": lams, "plain": plain, "lams_wd": lams[lams < 1 / 0.05], "plain_wd": plain_wd,
            "momentum": mom, "lam_crit": lc, "toy_lams": t_lams, "toy_dS": dS.mean(1),
            "toy_dS_se": dS.std(1, ddof=1) / math.sqrt(reps), "toy_reps": reps}


def _critical_plot(d):
    fig, axes = new_figure(1, 2, width=4.2, height=3.1)
    ax = axes[0][0]
    theory_line(ax, d["lams"], d["plain"], color=PALETTE[0], label="plain SGD")
    theory_line(ax, d["lams_wd"], d["plain_wd"], color=PALETTE[2], style="--", label="plain SGD, β = 0.05")
    theory_line(ax, d["lams"], d["momentum"], color=PALETTE[1], label="momentum 0.9 (state after 3 steps)")
    if np.isfinite(d["lam_crit"]):
        ax.axvline(d["lam_crit"], color=PALETTE[1], ls=":", label=f"critical λ = {float(d['lam_crit']):.3g}")
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("λ of the next step")
    ax.set_ylabel("ΔS = S' − S,  S = ln(max E/min E)")
    ax.set_title("ELR model, depth-20 plain profile")
    ax.legend(loc="lower left")
    ax = axes[0][1]
    mc_points(ax, d["toy_lams"], d["toy_dS"], d["toy_dS_se"], color=PALETTE[0])
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("λ of the first step")
    ax.set_ylabel("change of sd_ℓ(log E) in one step")
    ax.set_title(f"ToyNet 30×32, plain SGD, {int(d['toy_reps'])} runs")
    fig.suptitle("One step never widens the spread without momentum; with momentum above a critical λ",
                 fontsize=10)
    return fig


register_figure("gx-elr-critical-lr", paper="gradexp",
                description="Change of the ELR log spread in one step against λ: negative at every λ "
                            "without momentum, positive above the critical λ with momentum; ToyNet",
                compute=_critical_compute, plot=_critical_plot)


# ========================================================================== warm-up
WARMUP_ARMS = ("none", "linear", "equalizing", "lalc", "lars")


def _warmup_compute(fast: bool, seed: int) -> dict:
    from ..mc.training import train_toynet_arms

    c = elr.plain_profile(56)
    K, target = 200, 1.0
    arms = {"none": {"lr": target}, "linear": {"lr": o.LinearWarmup(target, 100)},
            "equalizing": {"lr": o.EqualizingWarmup(target)},
            "lalc": {"lr": target, "rule": o.LALC()}, "lars": {"lr": target, "rule": o.LARS(eta=1e-3)}}
    out = {"k": np.arange(K + 1), "target": target}
    for name, kw in arms.items():
        kw = dict(kw)
        tr = elr.simulate(c, kw.pop("lr"), K, **kw)
        out[f"S_{name}"] = elr.log_spread(tr.elr)
        out[f"Sru_{name}"] = elr.log_spread(tr.relative_update)
    t_target = 5.0
    steps, reps = (40, 3) if fast else (80, 12)
    t_arms = {"none": t_target, "linear": o.LinearWarmup(t_target, 20),
              "equalizing": o.EqualizingWarmup(t_target, layers=SEL),
              "lalc": {"lr": t_target, "optimizer": o.Optimizer(rule=o.LALC())},
              "lars": {"lr": t_target, "optimizer": o.Optimizer(rule=o.LARS(eta=0.02))}}
    runs = cached_call(train_toynet_arms, 30, 32, t_arms, steps, reps=reps, rng=seed, batch=64)
    for name, rs in runs.items():
        sd = np.array([np.std(np.log(r.elr[:, SEL]), axis=1) for r in rs])
        loss = np.array([r.loss for r in rs])
        out[f"toy_sd_{name}"] = sd.mean(0)
        out[f"toy_sd_se_{name}"] = sd.std(0, ddof=1) / math.sqrt(reps)
        out[f"toy_loss_{name}"] = loss.mean(0)
        out[f"toy_loss_se_{name}"] = loss.std(0, ddof=1) / math.sqrt(reps)
    out.update(toy_target=t_target, toy_reps=reps, toy_k=np.arange(steps + 1))
    return out


def _warmup_plot(d):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig, axes = new_figure(2, 2, width=4.6, height=3.4)
    labels = {"none": "no warm-up", "linear": "linear warm-up", "equalizing": "equalizing warm-up (gradexp)",
              "lalc": "LALC", "lars": "LARS"}
    (a, b), (c, e) = axes
    for i, name in enumerate(WARMUP_ARMS):
        col = PALETTE[i]
        # spreads that are exactly 0 (LARS's relative update) cannot be drawn on a log axis: left out
        S = np.where(d[f"S_{name}"] > 0, d[f"S_{name}"], np.nan)
        Sru = np.where(d[f"Sru_{name}"] > 0, d[f"Sru_{name}"], np.nan)
        theory_line(a, d["k"], S, color=col)
        theory_line(b, d["k"][:-1], Sru, color=col)
        kk = d["toy_k"]
        for ax, key in ((c, "toy_sd"), (e, "toy_loss")):
            m, se = d[f"{key}_{name}"], d[f"{key}_se_{name}"]
            ax.fill_between(kk, m - se, m + se, color=col, alpha=0.25, lw=0)
            ax.plot(kk, m, color=col)
    for ax, yl in ((a, "S = ln(E_max / E_min)"), (b, "ln of max/min of λE = ‖ΔW‖/‖W‖")):
        ax.set_yscale("log")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(0, d["k"][-1])
        ax.set_xlabel("step k")
        ax.set_ylabel(yl)
    a.set_title(f"(a) model, depth 56, target λ = {float(d['target']):g}: spread of E")
    b.set_title("(b) model: spread of the relative update λE\n(LARS: equal in every layer, spread 0, not drawn)")
    c.set_ylabel("sd over layers of ln E")
    c.set_title(f"(c) ToyNet 30 × 32, target λ = {float(d['toy_target']):g}: spread of E")
    e.set_ylabel("training loss")
    e.set_title("(d) ToyNet: training loss")
    for ax in (c, e):
        ax.set_xlabel("step k")
    handles = [Line2D([], [], color=PALETTE[i], label=labels[n]) for i, n in enumerate(WARMUP_ARMS)]
    handles.append(Patch(color="0.5", alpha=0.25, label=f"band: ±1 standard error over {int(d['toy_reps'])} ToyNets"))
    fig.legend(handles=handles, loc="outside lower center", ncol=3)
    fig.suptitle("Equalizing warm-up λ_k = min(λ, 1/√(E_max E_min)) against other warm-ups\n"
                 "E = ‖∇W‖/‖W‖, the effective learning rate of Mehmeti-Göpel & Wand")
    return fig


register_figure("gx-elr-warmup", paper="gradexp",
                description="ELR spread (both notions) in the model and ELR spread and loss in a ToyNet "
                            "under the equalizing warm-up, linear warm-up, none, LALC and LARS",
                compute=_warmup_compute, plot=_warmup_plot)


# ====================================================================== saturation
def _saturation_compute(fast: bool, seed: int) -> dict:
    lam_c = np.geomspace(3.0, 1e4, 40)
    lam = 0.5
    c = lam_c / lam
    closed = elr.recovery_steps(c, lam, 1.2)
    pts = np.geomspace(3.0, 200.0 if fast else 600.0, 6)
    exact = np.array([elr.recovery_steps_exact(x / lam, lam, 1.2, max_steps=10 ** 7) for x in pts],
                     dtype=float)
    deep = elr.plain_profile(100)
    lams = np.logspace(-3, 0, 7)
    deep_rec = np.array([elr.recovery_steps(deep, x, deep[-1]) for x in lams])
    return {"lam_c": lam_c, "closed": closed, "asym": lam_c ** 2 / (4 * 0.01), "pts": pts,
            "exact": exact, "deep_lams": lams, "deep_rec": deep_rec, "deep_c": deep}


def _saturation_plot(d):
    fig, axes = new_figure(1, 2, width=4.2, height=3.1)
    ax = axes[0][0]
    theory_line(ax, d["lam_c"], d["closed"], color=PALETTE[0], label="recovery_steps (closed form)")
    theory_line(ax, d["lam_c"], d["asym"], color=PALETTE[1], style="--", label="λ²c²/(4r s₀²)")
    mc_points(ax, d["pts"], d["exact"], color="k", marker="x", label="iterated model (≤ 1e7 steps)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("λ c (s₀ = 1)")
    ax.set_ylabel("steps to within 1% of the top layer")
    ax.legend(loc="upper left")
    ax = axes[0][1]
    cols = [PALETTE[i % len(PALETTE)] for i in range(len(d["deep_lams"]))]
    ell = np.arange(1, d["deep_c"].size + 1)
    for lam, rec, col in zip(d["deep_lams"], d["deep_rec"], cols):
        ax.plot(ell, np.maximum(rec, 1.0), color=col, label=f"λ = {lam:.2g}")
    ax.set_yscale("log")
    ax.set_xlabel("layer ℓ (depth-100 plain profile)")
    ax.set_ylabel("recovery steps")
    ax.legend(loc="upper right", ncol=2)
    fig.suptitle("Saturated layers recover, after ≈ λ²c²/(4r) steps", fontsize=10)
    return fig


register_figure("gx-elr-saturation", paper="gradexp",
                description="Recovery time of saturated layers against λc (closed form, asymptote and "
                            "the iterated model up to 1e7 steps) and per layer of a depth-100 profile",
                compute=_saturation_compute, plot=_saturation_plot)
