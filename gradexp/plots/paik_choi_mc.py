"""Figures of Paik & Choi (000/001) drawn from sampled networks (:mod:`gradexp.mc.chain`).

Each figure is a compute step (arrays only, from the public simulator and theory functions)
and a plot step that only draws. Monte Carlo as markers with error bars (standard errors),
theory as lines.
"""

from __future__ import annotations

import math

import numpy as np

from ..theory.explosion import (
    correlated_explosion_factor,
    jensen_corrected_perfectly_correlated_bound,
    perfectly_correlated_bound,
)
from ._registry import register_figure
from .style import PALETTE, mc_points, new_figure, theory_line


def _fig1_compute(fast: bool, seed: int) -> dict:
    """Profiles from :func:`gradexp.experiments.paik_choi.fig1_profiles`, with the per-layer norm rates
    predicted at the figure's own batch: sqrt(finite_batch_factor(B, activation)) for BN chains,
    ((1 + lambda^2)/2)^(1/4) for the chain with a skip every two layers (each block multiplies the
    squared norm by (1 + lambda^2)/2), and 1 for LayerNorm and no normalisation."""
    from ..experiments.paik_choi import FIG1_ACTIVATIONS, fig1_profiles
    from ..theory.finite_size import finite_batch_factor

    # width well above batch: the chains' finite-width shift (order batch/width) stays small
    depth, width, batch, reps = (24, 256, 32, 4) if fast else (50, 512, 64, 8)
    out = fig1_profiles(depth, width, batch, rng=seed, reps=reps)
    lam = float(finite_batch_factor(batch))
    out["arch_pred"] = np.array([math.sqrt(lam), ((1 + lam**2) / 2) ** 0.25, 1.0, 1.0])
    out["act_pred"] = np.array([math.sqrt(float(finite_batch_factor(batch, a, **p))) for a, p in FIG1_ACTIVATIONS])
    return out


_FIG1_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">")
_FIG1_STYLES = ("-", "--", "-.", ":")


def _act_label(name: str) -> str:
    from ..experiments.paik_choi import FIG1_ACTIVATIONS

    params = dict(FIG1_ACTIVATIONS).get(name, {})
    extra = {"leaky_relu": lambda p: f"leaky ReLU, slope {p['slope']:g}",
             "dropout": lambda p: f"dropout, keep {p['keep_prob']:g}",
             "relu": lambda p: "ReLU", "elu": lambda p: "ELU", "gelu": lambda p: "GELU", "silu": lambda p: "SiLU"}.get(name)
    return extra(params) if extra else name


def _fig1_plot(d: dict):
    import matplotlib

    colours = matplotlib.colormaps["tab10"].colors  # ten distinguishable qualitative colours
    fig, axes = new_figure(1, 2, width=4.8, height=3.8)
    depth = int(d["depth"])
    layers = np.arange(depth + 1)
    k0 = max(2, depth // 6)
    for ax, key, names, preds, title in (
            (axes[0][0], "arch", d["arch_names"], d["arch_pred"], "architectures (ReLU)"),
            (axes[0][1], "act", d["act_names"], d["act_pred"], "activations (BatchNorm)")):
        n = len(names)
        for k, (name, pred) in enumerate(zip(names, preds)):
            # colour, marker, line style and a small offset along x all differ, so curves with
            # (nearly) equal rates (ELU/softplus, dropout/identity) stay distinguishable
            c = colours[k % len(colours)]
            m, se = np.asarray(d[f"{key}{k}_m"]), np.asarray(d[f"{key}{k}_se"])
            step = max(1, depth // 12)
            # residual chains move in blocks of two layers: the architectures share one phase
            sl = slice(0 if key == "arch" else k % step, None, step)
            label = _act_label(str(name)) if key == "act" else str(name)
            mc_points(ax, layers[sl] + 0.25 * (k - (n - 1) / 2) / n, np.exp(m[sl]), yerr=np.exp(m[sl]) * se[sl],
                      color=c, marker=_FIG1_MARKERS[k % len(_FIG1_MARKERS)], markersize=3.5,
                      markerfacecolor="none" if k % 2 else c, label=f"{label} ({float(pred):.3f})")
            # the prediction is a slope: anchored at the sampled value at layer k0, away from the
            # output block (a residual chain's last block sits below the line through 1)
            theory_line(ax, layers, np.exp(m[k0]) * float(pred) ** (layers - k0), color=c,
                        style=_FIG1_STYLES[k % len(_FIG1_STYLES)], linewidth=1.0)
        ax.set_yscale("log")
        ax.set_xlabel("layers from the output, N - n")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=6.5, title=f"sampled (predicted rate at B = {int(d['batch'])})",
                  title_fontsize=7)
    axes[0][0].set_ylabel(r"$\|g^n\| / \|g^N\|$")
    fig.suptitle(f"Gradient growth at initialisation (width {int(d['width'])}, batch {int(d['batch'])})\n"
                 f"lines: per-layer rates predicted at this batch (exact finite-batch factor), through the data "
                 f"at N - n = {k0}", fontsize=9)
    return fig


register_figure("pc-fig1-chain-growth", paper="paik-choi-v2",
                description="Fig. 1: gradient norm against depth in sampled chains: BN, BN with skips, "
                            "LayerNorm, no normalisation (left) and BN with the Fig. 1 activations "
                            "(right), with the predicted slopes",
                compute=_fig1_compute, plot=_fig1_plot)


# --------------------------------------------------------------------------- correlation
def _corr_compute(fast: bool, seed: int) -> dict:
    from ..mc.chain import single_layer_ratio

    rhos = np.array([0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    width, batch, reps = (128, 512, 8) if fast else (512, 2048, 24)
    widths = np.array([64, 128, 256] if fast else [64, 128, 256, 512, 1024])
    seqs = np.random.SeedSequence(seed).spawn(len(rhos) + len(widths))
    m, se = [], []
    for k, rho in enumerate(rhos):
        e = single_layer_ratio(width, batch, input_corr=float(rho), bn_backward="simplified",
                               reps=reps, rng=seqs[k]).ratio
        m.append(e.mean)
        se.append(e.stderr)
    med, q25, q75 = [], [], []
    for k, w in enumerate(widths):
        r = single_layer_ratio(int(w), 256, input_corr="bt", bn_backward="simplified",
                               reps=2 * reps, rng=seqs[len(rhos) + k])
        med.append(r.median)
        q25.append(np.quantile(r.samples, 0.25))
        q75.append(np.quantile(r.samples, 0.75))
    rho_line = np.linspace(0, 0.995, 200)
    return {"rho": rhos, "ratio": np.array(m), "ratio_se": np.array(se), "width": width,
            "batch": batch, "rho_line": rho_line, "factor_line": correlated_explosion_factor(rho_line),
            "widths": widths, "bt_median": np.array(med), "bt_q25": np.array(q25),
            "bt_q75": np.array(q75), "pc_bound": perfectly_correlated_bound(),
            "jensen_bound": jensen_corrected_perfectly_correlated_bound()}


def _corr_plot(d: dict):
    fig, axes = new_figure(1, 2, width=4.4, height=3.4)
    ax = axes[0][0]
    theory_line(ax, d["rho_line"], d["factor_line"], label=r"correlated_explosion_factor ($d, B = \infty$)",
                color=PALETTE[0])
    mc_points(ax, d["rho"], d["ratio"], yerr=d["ratio_se"], color=PALETTE[1],
              label=f"sampled layers (d = {int(d['width'])}, B = {int(d['batch'])})")
    ax.axhline(float(d["pc_bound"]), color=PALETTE[2], ls="--", lw=1, label=r"$\pi/(\pi+1)$ (Thm 2.8)")
    ax.set_yscale("log")
    ax.set_xlabel(r"input correlation $\rho$")
    ax.set_ylabel("per-layer ratio (Thm 2.2)")
    ax.set_title("equicorrelated inputs")
    ax.legend(fontsize=7)
    ax = axes[0][1]
    med = np.asarray(d["bt_median"])
    yerr = np.vstack([med - np.asarray(d["bt_q25"]), np.asarray(d["bt_q75"]) - med])
    mc_points(ax, d["widths"], med, yerr=yerr, color=PALETTE[1], label="sampled layers: median, IQR")
    ax.axhline(float(d["pc_bound"]), color=PALETTE[2], ls="--", lw=1, label=r"$\pi/(\pi+1)$ (Thm 2.8 as stated)")
    ax.axhline(float(d["jensen_bound"]), color=PALETTE[0], ls=":", lw=1,
               label=r"$\pi/(\pi-1)$ (Jensen bound, corrected)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width d")
    ax.set_ylabel("per-layer ratio (Thm 2.8 setting)")
    ax.set_title("perfectly correlated x = b t (B = 256)")
    ax.legend(fontsize=7)
    return fig


register_figure("pc-correlation-ratio", paper="paik-choi-v2",
                description="Measured single-layer ratio against input correlation rho with "
                            "correlated_explosion_factor, and for x = b t against width with pi/(pi+1)",
                compute=_corr_compute, plot=_corr_plot)


# --------------------------------------------------------------------------- Figure 4
def _fig4_compute(fast: bool, seed: int) -> dict:
    from ..mc.chain import sample_chain

    depth, width = (5, 16) if fast else (8, 32)
    per_layer = 8 if fast else 25
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    out = {"labels": []}
    for k, (label, act, freeze) in enumerate((("ReLU, BN statistics fixed", "relu", True),
                                              ("ReLU, batch statistics", "relu", False),
                                              ("GELU, BN statistics fixed", "gelu", True))):
        net = sample_chain(depth, width, 32, rng=np.random.SeedSequence([seed, k]), activation=act,
                           upstream="logistic", bn_backward="simplified" if freeze else "full",
                           corr_features=0)
        net.run()
        lp, lpp = net.logistic_terms()
        curv = lpp / lp**2  # l''/l'^2 of the logistic loss, per sample
        rows = net.diagonal_second_derivatives(range(depth), per_layer, rng, freeze=freeze)
        g2 = [g * g for _, _, _, g, _ in rows]
        hh = [abs(hv) for *_, hv in rows]
        pred = [g * g * curv[b] for _, b, _, g, _ in rows]
        layer = [n for n, *_ in rows]
        out["labels"].append(label)
        out[f"g2_{k}"], out[f"h_{k}"] = np.array(g2), np.array(hh)
        out[f"pred_{k}"], out[f"layer_{k}"] = np.array(pred), np.array(layer)
    out["depth"] = depth
    return out


def _fig4_plot(d: dict):
    fig, axes = new_figure(1, 3, width=3.3, height=3.1, sharey=True)
    for k, ax in enumerate(axes[0]):
        g2, hh, pred = (np.asarray(d[f"{n}_{k}"]) for n in ("g2", "h", "pred"))
        live = (g2 > 0) & (hh > 0)
        sc = ax.scatter(g2[live], hh[live], c=np.asarray(d[f"layer_{k}"])[live], s=9, cmap="viridis",
                        label="sampled activations")
        ax.scatter(g2[live], pred[live], s=6, marker="x", color=PALETTE[1], lw=0.6,
                   label=r"$(g/l')^2 l''$ (Lemma 2.9)")
        lo, hi = g2[live].min(), g2[live].max()
        xs = np.geomspace(lo, hi, 10)
        theory_line(ax, xs, xs * np.median(pred[live] / g2[live]), color="0.3", style="--",
                    label=r"slope 1")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$g^2 = (\partial L/\partial x^n_i)^2$")
        ax.set_title(d["labels"][k], fontsize=9)
    axes[0][0].set_ylabel(r"$|\partial^2 L/\partial (x^n_i)^2|$ (finite differences)")
    axes[0][0].legend(fontsize=6.5, loc="upper left")
    fig.colorbar(sc, ax=axes[0][-1], label="layer n")
    return fig


register_figure("pc-fig4-second-derivatives", paper="paik-choi-v2",
                description="Fig. 4 / Lemma 2.9: diagonal second derivatives against squared gradients "
                            "in a one-output network with a logistic loss",
                compute=_fig4_compute, plot=_fig4_plot)
