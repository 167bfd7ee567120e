"""gradexp's own finite-size figures (paper key ``"gradexp"``).

* ``gx-finite-batch-factor``: the exact finite-batch factor λ(B) against the batch (theory
  lines, both BN backwards, four activations) with sampled chains at two widths;
* ``gx-orthogonal-depth``: linear BN chains, Gaussian against Haar-orthogonal weights, gradient
  norm against depth (Meterez et al. 2024);
* ``gx-representations-depth``: batch-Gram statistics (mean ``|cos|`` between samples, stable rank)
  and the excess kurtosis against depth for BatchNorm, LayerNorm and no normalisation.

Compute steps return arrays only; plot steps only draw.
"""

from __future__ import annotations

import math

import numpy as np

from ..theory.finite_size import finite_batch_factor
from ._registry import register_figure
from .style import PALETTE, mc_points, new_figure, theory_line

_THEORY_ACTS = ("relu", "identity", "tanh", "gelu")


# --------------------------------------------------------------------------- factor vs batch
def _factor_compute(fast: bool, seed: int) -> dict:
    from ..experiments.finite_size import chain_factor, reps_for
    from ..sweep.cache import cached_call

    Bt = np.unique(np.round(np.geomspace(4, 1024, 80))).astype(float)
    out = {"theory_batch": Bt}
    for act in _THEORY_ACTS:
        for bk in ("full", "simplified"):
            out[f"theory_{act}_{bk}"] = finite_batch_factor(Bt, act, bn_backward=bk)
            out[f"limit_{act}"] = finite_batch_factor(math.inf, act)
    mc_b = np.array([4, 8, 16, 32, 64] if fast else [4, 6, 8, 16, 32, 64, 128], dtype=float)
    widths = np.array([64, 256] if fast else [128, 1024])
    depth = 16 if fast else 24
    target = 1 << 13 if fast else 1 << 15
    series = [("relu", "full"), ("relu", "simplified"), ("identity", "full")]
    ss = np.random.SeedSequence(seed).spawn(len(series) * len(widths) * len(mc_b))
    k = 0
    for act, bk in series:
        for j, d in enumerate(widths):
            f, se = np.empty(len(mc_b)), np.empty(len(mc_b))
            for i, B in enumerate(mc_b):
                r = cached_call(chain_factor, int(B), int(d), act, bn_backward=bk, depth=depth,
                                reps=reps_for(int(B), int(d), target=target, lo=3), edge=3,
                                rng=int(ss[k].generate_state(1)[0]))  # the reference data's streams
                k += 1
                f[i], se[i] = r["factor"], r["stderr"]
            out[f"mc_{act}_{bk}_{j}"] = f
            out[f"mc_{act}_{bk}_{j}_se"] = se
    out.update(mc_batch=mc_b, widths=widths, depth=depth,
               series=np.array([f"{a}_{b}" for a, b in series]))
    return out


def _factor_plot(d: dict):
    fig, axes = new_figure(1, 2, width=4.6, height=3.7)
    Bt = np.asarray(d["theory_batch"])
    ax = axes[0][0]
    for k, act in enumerate(_THEORY_ACTS):
        c = PALETTE[k]
        theory_line(ax, Bt, d[f"theory_{act}_full"], color=c, label=f"{act}, full")
        theory_line(ax, Bt, d[f"theory_{act}_simplified"], color=c, style="--",
                    label=f"{act}, simplified")
        ax.axhline(float(d[f"limit_{act}"]), color=c, linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    ax.set_ylim(0.95, 3.2)
    ax.set_xlabel("batch B")
    ax.set_ylabel(r"$\lambda(B)$ = factor of $E\|g\|^2$ per layer")
    ax.set_title("infinite width (dotted: B = inf)")
    ax.legend(fontsize=6, ncol=2)
    ax = axes[0][1]
    mb = np.asarray(d["mc_batch"])
    markers = ("o", "s")
    for k, name in enumerate(np.asarray(d["series"])):
        act, bk = str(name).split("_")
        c = PALETTE[k]
        theory_line(ax, Bt, d[f"theory_{act}_{bk}"], color=c, linewidth=1.0,
                    style="-" if bk == "full" else "--")
        for j, w in enumerate(np.asarray(d["widths"])):
            x = mb * (1.0 + 0.04 * (j - 0.5))
            mc_points(ax, x, d[f"mc_{act}_{bk}_{j}"], yerr=d[f"mc_{act}_{bk}_{j}_se"], color=c,
                      marker=markers[j], markersize=3.5, label=f"{act}, {bk}, width {int(w)}")
    ax.set_xscale("log")
    ax.set_xlabel("batch B")
    ax.set_title(f"sampled chains (depth {int(d['depth'])}): squared rate")
    ax.legend(fontsize=6)
    fig.suptitle("Exact finite-batch factor of BN gradient explosion", fontsize=9)
    return fig


register_figure("gx-finite-batch-factor", paper="gradexp",
                description="finite-batch factor lambda(B) of BN gradient explosion (theory, full and "
                            "simplified backward, four activations) with sampled chains at two widths",
                compute=_factor_compute, plot=_factor_plot)


# --------------------------------------------------------------------------- orthogonal
def _ortho_compute(fast: bool, seed: int) -> dict:
    from ..experiments.finite_size import orthogonal_depth_profiles

    width = 32 if fast else 64
    depth = 300 if fast else 1000
    reps = 3 if fast else 4
    return orthogonal_depth_profiles(width, width, depth, reps=reps, rng=seed)


def _ortho_plot(d: dict):
    fig, axes = new_figure(1, 2, width=4.6, height=3.6)
    k = np.asarray(d["layers_from_output"])
    B = int(d["batch"])
    for ax, norm in zip(axes[0], ("batch", "batch-nocenter")):
        for c, w in enumerate(("gaussian", "orthogonal")):
            key = f"{w}_{norm}"
            m, se = np.asarray(d[f"{key}_mean"]), np.asarray(d[f"{key}_se"])
            sl = slice(None, None, max(1, len(k) // 25))
            mc_points(ax, k[sl], m[sl], yerr=se[sl], color=PALETTE[c], markersize=3,
                      label=f"{w} weights")
        if norm == "batch":
            theory_line(ax, k, 0.5 * k * math.log((B - 2) / (B - 3)), color="0.3", style="--",
                        linewidth=1.0, label=r"infinite-width theory $\frac{k}{2}\log\frac{B-2}{B-3}$")
        ax.set_xlabel("layers from the output, k")
        ax.set_title("BN (centred)" if norm == "batch" else "BN without mean subtraction")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(r"$\log(\|g^{N-k}\|/\|g^N\|)$")
    fig.suptitle(f"Identity activation, batch = width = {B}: Gaussian vs orthogonal weights",
                 fontsize=9)
    return fig


register_figure("gx-orthogonal-depth", paper="gradexp",
                description="linear BN chains, batch = width: log gradient norm against depth, "
                            "Gaussian vs Haar-orthogonal weights, centred BN and BN without mean "
                            "subtraction (Meterez et al. 2024)",
                compute=_ortho_compute, plot=_ortho_plot)


# --------------------------------------------------------------------------- representations
def _repr_compute(fast: bool, seed: int) -> dict:
    from ..experiments.finite_size import representation_profiles

    return representation_profiles(fast, rng=seed)


def _repr_plot(d: dict):
    fig, axes = new_figure(1, 3, width=3.4, height=3.3)
    layers = np.asarray(d["layers"])
    for c, norm in enumerate(("batch", "layer", "none")):
        for key, ax in ((("mean_abs_cos", axes[0][0]), ("stable_rank", axes[0][1]),
                                       ("kurtosis", axes[0][2]))):
            m, se = np.asarray(d[f"{norm}_{key}_mean"]), np.asarray(d[f"{norm}_{key}_se"])
            if key == "stable_rank":
                m, se = m / float(d["batch"]), se / float(d["batch"])
            mc_points(ax, layers, m, yerr=se, color=PALETTE[c], markersize=3,
                      label={"batch": "BatchNorm", "layer": "LayerNorm", "none": "no norm"}[norm])
    axes[0][0].set_ylabel("mean |cos| between samples")
    axes[0][1].set_ylabel("stable rank of the batch Gram / B")
    axes[0][2].set_ylabel("excess kurtosis over the batch")
    for ax in axes[0]:
        ax.set_xlabel("layer n")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"ReLU chains, Gaussian weights, width {int(d['width'])}, batch {int(d['batch'])}",
                 fontsize=9)
    return fig


register_figure("gx-representations-depth", paper="gradexp",
                description="representation statistics against depth (mean |cos| between samples, "
                            "stable rank, excess kurtosis) for BatchNorm, LayerNorm and no "
                            "normalisation (Daneshmand et al. 2020/2021)",
                compute=_repr_compute, plot=_repr_plot)
