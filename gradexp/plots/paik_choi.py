"""Closed-form figures of Paik & Choi (000/001). Chain-based figures: ``paik_choi_mc``."""

from __future__ import annotations

import numpy as np

from ..theory.explosion import (
    YANG_RATE,
    activation_factor,
    correlated_explosion_factor,
    explosion_factor,
    explosion_factor_asymptotic,
    jensen_corrected_perfectly_correlated_bound,
    perfectly_correlated_bound,
)
from ..theory.relu import relu_moments
from ._registry import register_figure
from .style import PALETTE, new_figure, theory_line


# --------------------------------------------------------------------------- Figure 2
def _fig2_compute(fast: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = 20_000 if fast else 200_000
    x = rng.standard_normal(n)
    mask = rng.random(n) < 0.5
    edges = np.linspace(-4, 4, 81)
    _, relu_var = relu_moments(0.0, 1.0)
    return {
        "edges": edges,
        "h_input": np.histogram(x, edges, density=True)[0],
        "h_dropout": np.histogram(x * mask, edges, density=True)[0],
        "h_relu": np.histogram(np.maximum(x, 0), edges, density=True)[0],
        "var_input": x.var(), "var_dropout": (x * mask).var(), "var_relu": np.maximum(x, 0).var(),
        "var_relu_theory": relu_var, "var_dropout_theory": 0.5,
    }


def _fig2_plot(d: dict):
    fig, axes = new_figure(1, 3, width=3.4, height=2.8, sharey=True)
    e = d["edges"]
    mids = 0.5 * (e[1:] + e[:-1])
    panels = [("(a) input N(0, 1)", "h_input", f"Var = {float(d['var_input']):.3f}"),
              ("(b) dropout p = 1/2", "h_dropout",
               f"Var = {float(d['var_dropout']):.3f} (theory {float(d['var_dropout_theory']):.3f})"),
              ("(c) ReLU", "h_relu",
               f"Var = {float(d['var_relu']):.3f} (theory {float(d['var_relu_theory']):.3f})")]
    for ax, (title, key, txt), c in zip(axes[0], panels, PALETTE):
        ax.bar(mids, d[key], width=e[1] - e[0], color=c, alpha=0.8)
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.text(0.02, 0.95, txt, transform=ax.transAxes, va="top", fontsize=8)
    axes[0][0].set_ylabel("density (atom at 0 clipped)")
    axes[0][0].set_ylim(0, 1.2)
    return fig


register_figure("pc-fig2-relu-vs-dropout", paper="paik-choi-v2",
                description="Fig. 2: input, dropout and ReLU distributions with their variances",
                compute=_fig2_compute, plot=_fig2_plot)


# --------------------------------------------------------------------------- C(R)
def _cR_compute(fast: bool, seed: int) -> dict:
    R = np.linspace(-6, 6, 601)
    return {"R": R, "C": explosion_factor(R), "asym": explosion_factor_asymptotic(R),
            "C0": explosion_factor(0.0)}


def _cR_plot(d: dict):
    fig, axes = new_figure(1, 1, width=5.2, height=3.8)
    ax = axes[0][0]
    R = d["R"]
    theory_line(ax, R, d["C"], label="C(R), eq. 4", color=PALETTE[0])
    left = R < -1.5
    theory_line(ax, R[left], d["asym"][left], style="--", color=PALETTE[1],
                label=r"$R^2 + 5/2 - 3/R^2$ (R → −∞)")
    ax.axhline(1.0, color=PALETTE[2], ls=":", label="C(+∞) = 1 (pseudo-linear)")
    ax.plot([0], [d["C0"]], "o", color=PALETTE[3], label=r"C(0) = π/(π−1) (zero-centred)")
    ax.set_yscale("log")
    ax.set_xlabel(r"$R = \mu / (\sqrt{2}\,\sigma)$")
    ax.set_ylabel("per-layer factor C(R)")
    ax.set_title("Cor. 2.3: C(R) and its limits")
    ax.legend()
    return fig


register_figure("pc-cor23-explosion-factor", paper="paik-choi-v2",
                description="Cor. 2.3: C(R) with its limits and the R → −∞ asymptote",
                compute=_cR_compute, plot=_cR_plot)


# --------------------------------------------------------------------------- activations
_ACTS = {"relu": {}, "leaky_relu": {"slope": 0.1}, "elu": {}, "gelu": {}, "silu": {}, "softplus": {},
         "tanh": {}, "dropout": {"keep_prob": 0.5}}


def _acts_compute(fast: bool, seed: int) -> dict:
    mu = np.linspace(-2, 2, 21 if fast else 81)
    out = {"mu": mu, "names": np.array(list(_ACTS))}
    for name, p in _ACTS.items():
        out[f"F_{name}"] = np.asarray(activation_factor(name, mu, 1.0, **p))
    return out


def _acts_plot(d: dict):
    fig, axes = new_figure(1, 1, width=5.2, height=3.8)
    ax = axes[0][0]
    for i, name in enumerate(d["names"]):
        label = {"leaky_relu": "leaky ReLU (a = 0.1)", "dropout": "dropout (p = 1/2)"}.get(str(name), str(name))
        theory_line(ax, d["mu"], d[f"F_{name}"], label=label, color=PALETTE[i % len(PALETTE)])
    ax.axhline(YANG_RATE**2, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(r"pre-activation mean $\mu$ ($\sigma = 1$)")
    ax.set_ylabel(r"factor  Var(x) E[φ'(x)²] / Var(φ(x))")
    ax.set_yscale("log")
    ax.set_title("Per-layer explosion factor by activation")
    ax.legend(ncol=2)
    return fig


register_figure("pc-activation-factors", paper="paik-choi-v2",
                description="Fig. 1 (right), theory: per-layer factor of each activation against the input mean",
                compute=_acts_compute, plot=_acts_plot)


# --------------------------------------------------------------------------- correlation
def _corr_compute(fast: bool, seed: int) -> dict:
    rho = np.linspace(0, 0.995, 200)
    return {"rho": rho, "F": correlated_explosion_factor(rho),
            "bound_paper": perfectly_correlated_bound(),
            "bound_corrected": jensen_corrected_perfectly_correlated_bound()}


def _corr_plot(d: dict):
    fig, axes = new_figure(1, 1, width=5.2, height=3.8)
    ax = axes[0][0]
    theory_line(ax, d["rho"], d["F"], label="equicorrelated inputs (gradexp, infinite width)", color=PALETTE[0])
    ax.axhline(float(d["bound_paper"]), color=PALETTE[1], ls="--", label="Thm 2.8 as stated: π/(π+1)")
    ax.axhline(float(d["bound_corrected"]), color=PALETTE[2], ls=":", label="ρ = 0: π/(π−1)")
    ax.set_yscale("log")
    ax.set_xlabel(r"pairwise input correlation $\rho$")
    ax.set_ylabel("per-layer factor")
    ax.set_title("Correlation raises the factor under the theorems' assumptions")
    ax.legend()
    return fig


register_figure("pc-correlated-factor", paper="paik-choi-v2",
                description="correlated_explosion_factor(ρ) against Thm 2.8's π/(π+1)",
                compute=_corr_compute, plot=_corr_plot)



# --------------------------------------------------------------------------- Table 1
_TABLE1 = {  # rule name -> constructor kwargs (Paik & Choi Table 2 coefficients at batch 4096)
    "sgd": {}, "lars": {"eta": 1e-3}, "lamb": {}, "lambc": {"clip": 1.0}, "clars": {"eta": 1e-3},
    "agc": {"clipping": 1e-2}, "lalc": {"eta": 1e3, "eps": 1.0},
}


def _table1_compute(fast: bool, seed: int) -> dict:
    from .. import optim

    ratio = np.logspace(-4, 2, 61 if fast else 241)  # ||g|| / ||w|| with ||w|| = 1
    lr = 0.1
    out = {"ratio": ratio, "lr": lr, "names": np.array(list(_TABLE1))}
    for name, kw in _TABLE1.items():
        rule = optim.RULES[name](**kw)
        out[f"eta_{name}"] = np.asarray(rule.step_size(lr, np.ones_like(ratio), ratio, g_norm=ratio))
    return out


def _table1_plot(d: dict):
    fig, axes = new_figure(1, 2, width=4.6, height=3.6)
    r = d["ratio"]
    for i, name in enumerate(d["names"]):
        eta = d[f"eta_{name}"]
        c = PALETTE[i % len(PALETTE)]
        ls = "--" if name == "clars" else "-"  # CLARS coincides with LARS when m = g
        theory_line(axes[0][0], r, eta, label=str(name).upper(), color=c, style=ls)
        theory_line(axes[0][1], r, eta * r, label=str(name).upper(), color=c, style=ls)
    axes[0][0].set_ylabel(r"local learning rate $\eta_\ell$")
    axes[0][1].set_ylabel(r"relative update $\|\Delta w\| / \|w\|$")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\|g\| / \|w\|$")
    axes[0][0].set_title(f"Table 1 rules, γ = {float(d['lr'])}")
    axes[0][1].set_title("LALC caps the step where the gradient explodes")
    axes[0][0].legend(ncol=2)
    return fig


register_figure("pc-table1-local-lr", paper="paik-choi-v2",
                description="Table 1: local learning rates of the layer-wise rules against ||g||/||w||",
                compute=_table1_compute, plot=_table1_plot)
