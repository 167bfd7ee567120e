"""Figures of Mehmeti-Göpel & Wand (``002``): the ELR model (Figures 1, 2, 4/13, 6, 14), the
ToyNet check (Figure 10), and a comparison of layer-wise optimizers in the same model."""

from __future__ import annotations

import functools

import matplotlib
import numpy as np

from .. import optim as o
from ..theory import elr
from ._registry import register_figure
from .style import PALETTE, mc_points, new_figure, theory_line

DEPTH = 56


def _layer_colors(n):
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.95, n)]


def _layer_legend(ax, L, first=1, **kw):
    from matplotlib.lines import Line2D

    cols = _layer_colors(L)
    ax.legend([Line2D([], [], color=cols[0]), Line2D([], [], color=cols[-1])],
              [f"layer {first} (input side)", f"layer {L + first - 1}"], **{"loc": "lower left", **kw})


# ================================================================== Figure 1
def _fig1_compute(fast: bool, seed: int) -> dict:
    L, K = 20, 40
    c = elr.plain_profile(L)
    lams = np.array([1e-3, 3e-2, 0.3])
    disc = np.stack([elr.simulate(c, lam, K).elr for lam in lams])
    lam_c = 3e-2
    t = np.arange(K + 1) * lam_c
    cont = elr.continuous_elr(c[None, :], lam_c, t[:, None])
    return {"elr_discrete": disc, "lams": lams, "elr_continuous": cont, "lam_continuous": lam_c,
            "c": c, "steps": np.arange(K + 1)}


def _fig1_plot(d):
    fig, axes = new_figure(1, 4, width=3.0, height=2.9, sharey=True)
    L = d["c"].size
    cols = _layer_colors(L)
    k = d["steps"]
    panels = [(f"continuous (eq. 7), λ = {float(d['lam_continuous']):g}", d["elr_continuous"])] + [
        (f"discrete, λ = {lam:g}", e) for lam, e in zip(d["lams"], d["elr_discrete"])]
    for ax, (title, E) in zip(axes[0], panels):
        for ell in range(L):
            ax.plot(k, E[:, ell], color=cols[ell], lw=1.1)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step k")
    axes[0][0].set_ylabel("ELR  E = ‖∇W‖/‖W‖")
    _layer_legend(axes[0][0], L)
    fig.suptitle(f"Fig. 1: discrete vs continuous ELR model (L = {L}, ‖W(0)‖ = 1, "
                 f"c_ℓ = α^(L−ℓ+1))", fontsize=10)
    return fig


register_figure("mgw-fig1-discrete-vs-continuous", paper="mehmeti-gopel-wand",
                description="Fig. 1: layer-wise ELRs of the discrete model for three λ and of the "
                            "continuous model; large λ flips the ELRs after one step",
                compute=_fig1_compute, plot=_fig1_plot)


# ============================================================= Figures 2 and 14
def _mean_spread(profile, lams, steps):
    C = np.tile(profile, (len(lams), 1))
    tr = elr.simulate(C, np.asarray(lams)[:, None] * np.ones(steps), steps)
    return tr.mean, tr.spread


def _fig2_compute(fast: bool, seed: int, steps=(10,)) -> dict:
    lams = np.logspace(-4, 1, 26 if fast else 101)
    out = {"lams": lams, "steps": np.array(steps)}
    K = max(steps)
    for name, c in (("plain", elr.plain_profile(DEPTH)), ("residual", elr.residual_profile(DEPTH, 2))):
        m, s = _mean_spread(c, lams, K)
        out[f"mean_{name}"] = m[:, list(steps)].T
        out[f"spread_{name}"] = s[:, list(steps)].T
    return out


def _fig2_plot(d):
    fig, axes = new_figure(1, 2, width=3.6, height=3.2)
    styles = ["-", "--", ":"]
    for j, (key, lab) in enumerate((("mean", "Mean(E)"), ("spread", "Std(E)"))):
        ax = axes[0][j]
        for i, name in enumerate(("plain", "residual")):
            for si, k in enumerate(d["steps"]):
                theory_line(ax, d["lams"], d[f"{key}_{name}"][si], color=PALETTE[i], style=styles[si],
                            label=("NoShort (plain, eq. 8)" if name == "plain"
                                   else "Short (residual, eq. 9, s = 2)")
                            + (f", {k} steps" if len(d["steps"]) > 1 else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate λ")
        ax.set_ylabel(f"{lab} over layers after {'/'.join(str(k) for k in d['steps'])} steps")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8)
    fig.suptitle(f"ELR mean and spread over layers in the discrete model, depth {DEPTH}\n"
                 "E_ℓ = ‖∇W_ℓ‖_F / ‖W_ℓ‖_F, the effective learning rate of layer ℓ (Sec. 3.4)", fontsize=10)
    return fig


register_figure("mgw-fig2-mean-spread-vs-lr", paper="mehmeti-gopel-wand",
                description="Fig. 2: Mean(E) and Std(E) after 10 steps against λ, plain and "
                            "residual (s = 2) profiles, depth 56",
                compute=_fig2_compute, plot=_fig2_plot)

register_figure("mgw-fig14-mean-spread-steps", paper="mehmeti-gopel-wand",
                description="Fig. 14: Figure 2 after 10, 50 and 100 steps",
                compute=functools.partial(_fig2_compute, steps=(10, 50, 100)),
                plot=_fig2_plot)


# ============================================================= Figures 4 / 13
def _fig4_compute(fast: bool, seed: int) -> dict:
    lams = np.logspace(-4, 0, 9 if fast else 33)
    mus = np.array([0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]) if fast else \
        np.concatenate([np.linspace(0, 0.9, 10), [0.95, 0.97, 0.99]])
    steps = np.array([10, 25, 50, 100])
    out = {"lams": lams, "mus": mus, "steps": steps}
    for name, c in (("plain", elr.plain_profile(DEPTH)), ("residual", elr.residual_profile(DEPTH, 2))):
        S = np.empty((steps.size, mus.size, lams.size))
        for j, mu in enumerate(mus):
            C = np.tile(c, (lams.size, 1))
            tr = elr.simulate(C, lams[:, None] * np.ones(steps[-1]), int(steps[-1]), momentum=mu)
            S[:, j, :] = tr.spread[:, steps].T
        out[f"spread_{name}"] = S
    return out


def _fig4_plot(d):
    steps = d["steps"]
    fig, axes = new_figure(2, len(steps), width=2.9, height=2.6, sharex=True, sharey=True)
    lo = min(np.log10(d[f"spread_{n}"]).min() for n in ("plain", "residual"))
    hi = max(np.log10(d[f"spread_{n}"]).max() for n in ("plain", "residual"))
    lx = np.log10(d["lams"])
    for i, name in enumerate(("plain", "residual")):
        for j, k in enumerate(steps):
            ax = axes[i][j]
            im = ax.pcolormesh(lx, np.arange(d["mus"].size), np.log10(d[f"spread_{name}"][j]),
                               vmin=lo, vmax=hi, cmap="magma", shading="nearest")
            ax.set_title(f"{name}, {k} steps")
            ax.set_yticks(np.arange(d["mus"].size)[::2])
            ax.set_yticklabels([f"{m:g}" for m in d["mus"][::2]])
            if i == 1:
                ax.set_xlabel("log10 λ")
            if j == 0:
                ax.set_ylabel("momentum μ")
    fig.colorbar(im, ax=axes, label="log10 Std(E)", shrink=0.8)
    fig.suptitle("Figs. 4/13: ELR spread in the momentum model (Appendix A.2), depth 56",
                 fontsize=10)
    return fig


register_figure("mgw-fig4-momentum-spread", paper="mehmeti-gopel-wand",
                description="Figs. 4 and 13: Std(E) over λ × μ after 10, 25, 50 and 100 steps of "
                            "the momentum model, plain and residual profiles",
                compute=_fig4_compute, plot=_fig4_plot)


# ================================================================== Figure 6
def _schedules(peak, T):
    return {
        "constant": o.Constant(peak),
        "step (T/2, 3T/4)": o.StepDecay(peak, (T // 2, 3 * T // 4)),
        "cosine": o.WarmupCosine(peak, T, 0),
        "warm-up + cosine": o.WarmupCosine(peak, T, T // 10),
        "OneCycle": o.OneCycle(peak, T, pct_start=0.1, div_factor=10, final_div_factor=1000),
    }


def _fig6_compute(fast: bool, seed: int) -> dict:
    T, peak = 200, 0.1
    c = elr.plain_profile(DEPTH)
    out = {"names": np.array(list(_schedules(peak, T))), "peak": peak}
    for i, (_name, sch) in enumerate(_schedules(peak, T).items()):
        tr = elr.simulate(c, sch, T)
        out[f"lr_{i}"] = tr.lr
        out[f"elr_{i}"] = tr.elr
        out[f"w_{i}"] = np.sqrt(tr.weight_sq)
        out[f"spread_lamE_{i}"] = tr.relative_update.std(axis=-1)
    return out


def _fig6_plot(d):
    names = list(d["names"])
    n = len(names)
    fig, axes = new_figure(3, n, width=2.6, height=2.1, sharex=True)
    L = d["elr_0"].shape[1]
    cols = _layer_colors(L)
    for i, name in enumerate(names):
        axes[0][i].plot(d[f"lr_{i}"], color=PALETTE[0])
        axes[0][i].set_title(name)
        for ell in range(0, L, 3):
            axes[1][i].plot(d[f"elr_{i}"][:, ell], color=cols[ell], lw=0.9)
            axes[2][i].plot(d[f"w_{i}"][:, ell], color=cols[ell], lw=0.9)
        axes[1][i].set_yscale("log")
        axes[2][i].set_yscale("log")
        axes[1][i].text(0.97, 0.95, f"mean Std(λE) = {float(np.mean(d[f'spread_lamE_{i}'])):.3g}",
                        transform=axes[1][i].transAxes, ha="right", va="top", fontsize=7)
        axes[2][i].set_xlabel("step k")
    e_lo = min(float(d[f"elr_{i}"].min()) for i in range(n))
    e_hi = max(float(d[f"elr_{i}"].max()) for i in range(n))
    w_lo = min(float(d[f"w_{i}"].min()) for i in range(n))
    w_hi = max(float(d[f"w_{i}"].max()) for i in range(n))
    for i in range(n):
        axes[0][i].set_ylim(0, 1.1 * float(d["peak"]))
        axes[1][i].set_ylim(e_lo / 2, e_hi * 2)
        axes[2][i].set_ylim(w_lo / 1.5, w_hi * 1.5)
    axes[0][0].set_ylabel("λ_k")
    axes[1][0].set_ylabel("E per layer")
    axes[2][0].set_ylabel("‖W‖ per layer")
    _layer_legend(axes[2][0], L)
    fig.suptitle(f"Fig. 6: learning-rate schedulers in the discrete model (depth {L}, peak "
                 f"λ = {float(d['peak']):g})", fontsize=10)
    return fig


register_figure("mgw-fig6-schedulers", paper="mehmeti-gopel-wand",
                description="Fig. 6: ELRs and weight norms per layer under constant, step, cosine, "
                            "warm-up + cosine and OneCycle schedules",
                compute=_fig6_compute, plot=_fig6_plot)


# ================================================================== Figure 10
def _fig10_compute(fast: bool, seed: int) -> dict:
    from ..mc.training import (
        compare_with_model,
        fit_discrete_model,
        minibatch_noise_floor,
        train_toynet,
    )

    depth, width, batch, runs = (50, 32, 64, 2) if fast else (50, 64, 128, 20)
    steps = 30
    lrs = np.array([1e-3, 1.0])
    seeds = np.random.SeedSequence(seed).spawn(runs + 1)
    out = {"lrs": lrs, "depth": depth, "width": width, "batch": batch, "runs": runs}
    for i, lr in enumerate(lrs):
        rs = [train_toynet(depth, width, lr, steps, batch=batch, rng=s) for s in seeds[:runs]]
        out[f"elr_measured_{i}"] = np.mean([r.elr[:, 1:] for r in rs], axis=0)
        out[f"elr_model_{i}"] = np.mean([fit_discrete_model(r).elr for r in rs], axis=0)
        cmp = compare_with_model(rs)
        out[f"log_err_{i}"] = cmp["log_err"]
        out[f"log_err_se_{i}"] = cmp["log_err_se"]
    floor = minibatch_noise_floor(depth, width, batch, reps=max(runs, 2), rng=seeds[-1])
    out["floor"] = np.array([floor.mean, floor.stderr])
    return out


def _fig10_plot(d):
    fig, axes = new_figure(1, 3, width=3.4, height=3.0)
    L = d["elr_measured_0"].shape[1]
    cols = _layer_colors(L)
    k = np.arange(d["elr_measured_0"].shape[0])
    for i, lr in enumerate(d["lrs"]):
        ax = axes[0][i]
        for ell in range(0, L, 4):
            ax.plot(k, d[f"elr_measured_{i}"][:, ell], color=cols[ell], lw=1.2)
            ax.plot(k, d[f"elr_model_{i}"][:, ell], color=cols[ell], lw=1.0, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("step k")
        ax.set_title(f"λ = {lr:g}: measured (—), model (--)")
    axes[0][0].set_ylabel("E = ‖∇W‖/‖W‖")
    # legends outside the axes, below them, so that they cover no data
    from matplotlib.lines import Line2D

    cols_l = _layer_colors(L)
    axes[0][0].legend([Line2D([], [], color=cols_l[0]), Line2D([], [], color=cols_l[-1])],
                      ["layer 2 (input side)", f"layer {L + 1}"], loc="upper center",
                      bbox_to_anchor=(0.5, -0.3), ncol=1, fontsize=7)
    axes[0][1].legend([Line2D([], [], color="0.3"), Line2D([], [], color="0.3", ls="--")],
                      ["measured", "model fitted at step 0"], loc="upper center", bbox_to_anchor=(0.5, -0.3),
                      ncol=1, fontsize=7)
    ax = axes[0][2]
    for i, lr in enumerate(d["lrs"]):
        mc_points(ax, k, d[f"log_err_{i}"], d[f"log_err_se_{i}"], color=PALETTE[i], label=f"λ = {lr:g}")
    f, fse = d["floor"]
    ax.axhspan(f - fse, f + fse, color="0.8", label="minibatch noise floor")
    ax.set_xlabel("step k")
    ax.set_ylabel("mean |log(E_model / E_measured)|")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=1, fontsize=7)
    fig.suptitle(f"Fig. 10: discrete model fitted at step 0 vs BN+ReLU ToyNet MLP (depth "
                 f"{int(d['depth'])}, width {int(d['width'])}, batch {int(d['batch'])}, "
                 f"{int(d['runs'])} runs)\nλ = 1 training is chaotic (rounding changes single runs): "
                 "read averages and error statistics", fontsize=9)
    return fig


register_figure("mgw-fig10-toynet", paper="mehmeti-gopel-wand",
                description="Fig. 10: the discrete model fitted to a trained ToyNet's step-0 norms "
                            "against the measured ELRs over 30 SGD steps, small and large λ",
                compute=_fig10_compute, plot=_fig10_plot)


# ====================================================== layer-wise optimizers
def optimizer_zoo():
    """(label, Optimizer, base rate) of the comparison figure: each rule at its paper's defaults,
    base rates chosen so that the typical relative step is ~1e-2 (SGD: λ = 0.1)."""
    return [
        ("SGD λ=0.1", o.Optimizer(), 0.1),
        ("SGD+mom 0.9, λ=0.01", o.Optimizer(momentum=0.9), 0.01),
        ("LARS η=1e-3, γ=10", o.Optimizer(rule=o.LARS()), 10.0),
        ("LAMB trust, γ=0.01", o.Optimizer(rule=o.LAMB()), 0.01),
        ("LAMBC μ=1, γ=0.01", o.Optimizer(rule=o.LAMBC()), 0.01),
        ("CLARS η=1e-3, γ=10", o.Optimizer(rule=o.CLARS()), 10.0),
        ("AGC λ=0.01, γ=1", o.Optimizer(rule=o.AGC()), 1.0),
        ("LALC η=1e3, ε=1, γ=0.1", o.Optimizer(rule=o.LALC()), 0.1),
        ("ELR constraint E=0.01", o.Optimizer(rule=o.ELRConstraint(), rescale_max_norm=True), 1.0),
        ("TVLARS λ=0.01, d_e=50", o.Optimizer(rule=o.TVLARS(lam=1e-2, d_e=50.0)), 10.0),
    ]


def _opt_compute(fast: bool, seed: int) -> dict:
    K = 100
    c = elr.plain_profile(DEPTH)
    zoo = optimizer_zoo()
    out = {"labels": np.array([z[0] for z in zoo])}
    for i, (_, opt, lr) in enumerate(zoo):
        tr = elr.simulate(c, lr, K, optimizer=opt)
        out[f"cv_elr_{i}"] = tr.spread / tr.mean
        ru = tr.relative_update
        out[f"cv_step_{i}"] = ru.std(axis=-1) / ru.mean(axis=-1)
        out[f"mean_step_{i}"] = ru.mean(axis=-1)
    return out


def _opt_plot(d):
    fig, axes = new_figure(1, 3, width=3.6, height=3.3)
    labels = list(d["labels"])
    colors = list(PALETTE) + ["#999999", "#8B4513"]
    styles = ["-", "--", "-.", ":"]
    for i, lab in enumerate(labels):
        kw = {"color": colors[i % len(colors)], "ls": styles[i // 4 % 4], "lw": 1.3}
        axes[0][0].plot(d[f"cv_elr_{i}"], label=lab, **kw)
        axes[0][1].plot(np.maximum(d[f"cv_step_{i}"], 1e-7), **kw)
        axes[0][2].plot(d[f"mean_step_{i}"], **kw)
    axes[0][0].set_ylabel("Std(E) / Mean(E)  (gradient ELR)")
    axes[0][1].set_ylabel("Std / Mean of ‖ΔW‖/‖W‖")
    axes[0][2].set_ylabel("Mean of ‖ΔW‖/‖W‖")
    for ax in axes[0]:
        ax.set_xlabel("step k")
    for ax in axes[0][1:]:
        ax.set_yscale("log")
    axes[0][1].set_ylim(5e-8, None)
    axes[0][1].text(0.03, 0.03, "floor 1e-7: steps exactly uniform across layers",
                    transform=axes[0][1].transAxes, fontsize=7)
    axes[0][0].legend(fontsize=6.5)
    fig.suptitle(f"Layer-wise rules in the ELR model (plain profile, depth {DEPTH}, ‖W(0)‖ = 1)",
                 fontsize=10)
    return fig


register_figure("mgw-optimizers", paper="gradexp",
                description="The ELR model under SGD, momentum, LARS, LAMB, LAMBC, CLARS, AGC, LALC, "
                            "the ELR constraint and TVLARS: relative spread of E and of the step",
                compute=_opt_compute, plot=_opt_plot)
