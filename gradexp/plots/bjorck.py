"""Figures of Bjorck, Gomes & Selman (``004``): singular values of products of Gaussian matrices.

Figure 8 (histograms of singular values of products), Figure 9 (the parametrisation x(φ),
eq. 9), Figure 10 (the densities of eq. 10 with sampled squared singular values over them),
Figures 11–12 (condition number and largest singular value against the number of factors,
direct multiplication against the stable QR method, with the theory).

Entries have variance 1/N throughout (the captions' "standard Gaussian" entries only rescale
the singular values by N^{M/2}); x is a squared singular value.
"""

from __future__ import annotations

import math

import numpy as np

from ..theory.rmt import (
    fuss_catalan_edge,
    fuss_catalan_pdf,
    fuss_catalan_singular_pdf,
    fuss_catalan_x,
    ginibre_lyapunov_exponents,
)
from ._registry import register_figure
from .style import PALETTE, mc_points, new_figure, theory_line

#: Edelman (1988): E log kappa = log N + 1.537 + o(1) for a real square Gaussian matrix
EDELMAN_LOG_KAPPA = 1.537


def _mc():
    from ..mc import (
        matrices,  # numba and the samplers load only when a figure is computed
    )

    return matrices


# ================================================================== Figure 8
FIG8_M = (1, 2, 4, 8)


def _fig8_compute(fast: bool, seed: int) -> dict:
    mm = _mc()
    N, runs = (200, 3) if fast else (1000, 5)
    children = np.random.SeedSequence(seed).spawn(len(FIG8_M))
    out = {"N": N, "runs": runs, "Ms": np.array(FIG8_M)}
    for M, child in zip(FIG8_M, children):
        top = math.sqrt(fuss_catalan_edge(M))
        edges = np.linspace(0.0, 1.08 * top, 61)
        sv = mm.product_singular_values(M, N, reps=runs, rng=child)
        out[f"edges_{M}"] = edges
        out[f"density_{M}"] = np.stack([np.histogram(r, bins=edges, density=True)[0] for r in sv])
        s = np.linspace(1e-3 * top, top, 600)
        out[f"s_{M}"] = s
        out[f"theory_{M}"] = fuss_catalan_singular_pdf(s, M)
        out[f"smax_{M}"] = sv[:, 0]
    return out


def _fig8_plot(d):
    Ms = [int(m) for m in d["Ms"]]
    fig, axes = new_figure(2, 2, width=3.9, height=2.9)
    for ax, M, col in zip(axes.ravel(), Ms, PALETTE):
        edges = d[f"edges_{M}"]
        for i, dens in enumerate(d[f"density_{M}"]):
            ax.stairs(dens, edges, color=col, alpha=0.55, lw=1.0, label="runs" if i == 0 else None)
        theory_line(ax, d[f"s_{M}"], d[f"theory_{M}"], color="k", label="N → ∞: 2σρ(σ²)")
        ax.axvline(math.sqrt(fuss_catalan_edge(M)), color="0.5", ls=":", lw=1.0, label="edge √x₊")
        ax.set_title(f"M = {M} factor{'s' if M > 1 else ''}")
        ax.set_xlabel("singular value σ")
        ax.set_ylabel("density")
        if M > 1:
            ax.set_ylim(0, 1.3 * max(np.max(d[f"density_{M}"][:, 2:]), np.max(d[f"theory_{M}"][30:])))
        ax.legend(loc="lower left" if M == 1 else "upper right")
    fig.suptitle(f"Fig. 8: singular values of products of M Gaussian {int(d['N'])}×{int(d['N'])} matrices "
                 f"(entries N(0, 1/N)), {int(d['runs'])} runs overlaid", fontsize=10)
    return fig


register_figure("bjorck-fig8-histograms", paper="bjorck-gomes-selman",
                description="Fig. 8: histograms of the singular values of products of M = 1, 2, 4, 8 Gaussian "
                            "matrices (several runs) with the large-N density 2σρ(σ²)",
                compute=_fig8_compute, plot=_fig8_plot)


# ================================================================== Figure 9
FIG9_M = (1, 2, 3, 4, 5)


def _fig9_compute(fast: bool, seed: int) -> dict:
    out = {"Ms": np.array(FIG9_M)}
    for M in FIG9_M:
        phi = np.linspace(0.0, math.pi / (M + 1), 200 if fast else 1000)
        out[f"phi_{M}"] = phi
        out[f"x_{M}"] = fuss_catalan_x(phi, M)
    return out


def _fig9_plot(d):
    fig, axes = new_figure(1, 1, width=5.2, height=3.6)
    ax = axes[0][0]
    for M, col in zip(d["Ms"], PALETTE):
        M = int(M)
        theory_line(ax, d[f"phi_{M}"], d[f"x_{M}"], color=col, label=f"M = {M}")
        ax.plot([0], [fuss_catalan_edge(M)], "o", color=col, ms=4)
        ax.plot([math.pi / (M + 1)], [0], "|", color=col, ms=8)
    ax.set_xlabel("φ")
    ax.set_ylabel("x(φ)  (squared singular value)")
    ax.set_xlim(0, math.pi / 2)
    ax.set_ylim(bottom=0)
    ax.legend(title="factors", loc="upper right")
    ax.set_title("Fig. 9 (eq. 9): x(φ) is strictly decreasing on (0, π/(M+1));\n"
                 "dots: edge (M+1)^{M+1}/M^M at φ = 0", fontsize=10)
    return fig


register_figure("bjorck-fig9-x-phi", paper="bjorck-gomes-selman",
                description="Fig. 9: the parametrisation x(φ) of eq. 9 for M = 1..5",
                compute=_fig9_compute, plot=_fig9_plot)


# ================================================================== Figure 10
FIG10_M = (1, 2, 3, 5)


def _fig10_compute(fast: bool, seed: int) -> dict:
    mm = _mc()
    N, runs = (200, 4) if fast else (1000, 5)
    children = np.random.SeedSequence(seed).spawn(len(FIG10_M))
    out = {"N": N, "runs": runs, "Ms": np.array(FIG10_M)}
    for M, child in zip(FIG10_M, children):
        e = fuss_catalan_edge(M)
        x = mm.product_singular_values(M, N, reps=runs, rng=child) ** 2
        edges = np.geomspace(1e-4 * e if M > 1 else 1e-3, e, 25 if fast else 33)
        dens = np.stack([np.histogram(r, bins=edges)[0] / (r.size * np.diff(edges)) for r in x])
        out[f"edges_{M}"] = edges
        out[f"mean_{M}"] = dens.mean(axis=0)
        out[f"stderr_{M}"] = dens.std(axis=0, ddof=1) / math.sqrt(runs)
        xs = np.geomspace(edges[0] / 3, e, 800)
        out[f"x_{M}"] = xs
        out[f"pdf_{M}"] = fuss_catalan_pdf(xs, M)
    return out


def _fig10_plot(d):
    fig, axes = new_figure(1, 1, width=6.6, height=4.4)
    ax = axes[0][0]
    for M, col in zip(d["Ms"], PALETTE):
        M = int(M)
        theory_line(ax, d[f"x_{M}"], d[f"pdf_{M}"], color=col, label=f"M = {M}: eq. 10")
        edges = d[f"edges_{M}"]
        centres = np.sqrt(edges[:-1] * edges[1:])
        m = d[f"mean_{M}"]
        keep = m > 0
        mc_points(ax, centres[keep], m[keep], d[f"stderr_{M}"][keep], color=col, marker="o", ms=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, None)
    ax.set_xlabel("x = squared singular value")
    ax.set_ylabel("density ρ(x)")
    ax.legend(loc="lower left", title=f"markers: N = {int(d['N'])}, mean ± s.e. of {int(d['runs'])} runs")
    ax.set_title("Fig. 10: Fuss–Catalan densities (lines) and sampled squared singular values;\n"
                 "ρ ~ x^{−M/(M+1)} at 0, square-root edge at (M+1)^{M+1}/M^M", fontsize=10)
    return fig


register_figure("bjorck-fig10-densities", paper="bjorck-gomes-selman",
                description="Fig. 10: the densities of eq. 10 (M = 1, 2, 3, 5) with histograms of sampled squared "
                            "singular values (mean ± s.e. over runs) over them",
                compute=_fig10_compute, plot=_fig10_plot)


# ================================================================== Figures 11-12
def _scan_depths(fast: bool) -> np.ndarray:
    # one SVD per depth and run dominates the cost at N = 1000
    return np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30] if fast else
                    [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30])


def _depth_compute(fast: bool, seed: int) -> dict:
    mm = _mc()
    N, runs = (100, 3) if fast else (1000, 5)
    depths = _scan_depths(fast)
    ss_stable, ss_direct = np.random.SeedSequence(seed).spawn(2)
    stable = mm.depth_scan(depths, N, reps=runs, rng=ss_stable, method="qr")
    direct = mm.depth_scan(depths, N, reps=runs, rng=ss_direct, method="direct")
    lam = ginibre_lyapunov_exponents(N)
    out = {"N": N, "runs": runs, "depths": depths, "lyapunov_gap": lam[0] - lam[-1]}
    for name, scan in (("stable", stable), ("direct", direct)):
        for q in ("log10_condition", "sigma_max"):
            est = scan.estimate(q)
            out[f"{name}_{q}_mean"] = est.mean
            out[f"{name}_{q}_std"] = est.stderr * np.sqrt(est.n)
    mm_ = np.arange(1, depths[-1] + 1)
    out["theory_depths"] = mm_
    out["theory_log10_kappa"] = (math.log(N) + EDELMAN_LOG_KAPPA + (mm_ - 1) * out["lyapunov_gap"]) / math.log(10)
    out["sqrt_edge"] = np.sqrt([fuss_catalan_edge(int(m)) for m in mm_])
    out["edge_as_singular_value"] = np.array([fuss_catalan_edge(int(m)) for m in mm_])
    return out


def _saturation_text(d) -> str:
    """Where direct multiplication saturates, read from the data: the range of its mean log10 κ at
    the depths where it falls more than one decade below the stable method."""
    direct = np.asarray(d["direct_log10_condition_mean"], dtype=float)
    stable = np.asarray(d["stable_log10_condition_mean"], dtype=float)
    sat = stable - direct > 1.0
    if not sat.any():
        return "direct multiplication agrees with the stable method at these depths"
    lo, hi = math.floor(float(direct[sat].min())), math.ceil(float(direct[sat].max()))
    span = f"1e{lo}" if hi <= lo + 1 else f"1e{lo}–1e{hi}"
    return f"direct multiplication saturates near {span}"


def _fig11_plot(d):
    fig, axes = new_figure(1, 1, width=6.2, height=4.2)
    ax = axes[0][0]
    dep = d["depths"]
    mc_points(ax, dep, d["stable_log10_condition_mean"], d["stable_log10_condition_std"], color=PALETTE[0],
              label="stable QR method")
    mc_points(ax, dep, d["direct_log10_condition_mean"], d["direct_log10_condition_std"], color=PALETTE[1],
              marker="s", label="direct multiplication (double)")
    theory_line(ax, d["theory_depths"], d["theory_log10_kappa"], color="k", style="--",
                label=f"[ln N + 1.537 + (M−1)(λ₁−λ_N)] / ln 10,  λ₁−λ_N = {float(d['lyapunov_gap']):.3f}")
    ax.axhline(-math.log10(np.finfo(float).eps), color="0.5", ls=":", lw=1.0, label="1/ε (double precision)")
    ax.set_xlabel("number of factors M")
    ax.set_ylabel("log₁₀ condition number κ")
    ax.legend(loc="lower right", title=f"N = {int(d['N'])}, mean ± s.d. of {int(d['runs'])} runs", fontsize=7)
    ax.set_title("Fig. 11: condition number of products of Gaussian matrices\n"
                 f"(exponential growth; {_saturation_text(d)})", fontsize=10)
    return fig


def _fig12_plot(d):
    fig, axes = new_figure(1, 1, width=6.2, height=4.2)
    ax = axes[0][0]
    dep = d["depths"]
    mc_points(ax, dep, d["stable_sigma_max_mean"], d["stable_sigma_max_std"], color=PALETTE[0],
              label="stable QR method")
    mc_points(ax, dep + 0.25, d["direct_sigma_max_mean"], d["direct_sigma_max_std"], color=PALETTE[1],
              marker="s", label="direct multiplication")
    theory_line(ax, d["theory_depths"], d["sqrt_edge"], color="k",
                label="N → ∞: √x₊,  x₊ = (M+1)^{M+1}/M^M ≈ e(M+1)")
    theory_line(ax, d["theory_depths"], d["edge_as_singular_value"], color="0.5", style="--",
                label="x₊ read as σ_max (the paper's 'linear')")
    ax.set_xlabel("number of factors M")
    ax.set_ylabel("largest singular value σ_max")
    ax.set_ylim(0, 1.15 * float(np.max(d["sqrt_edge"])) + 1)
    fig.legend(loc="outside lower center", ncol=1, title=f"N = {int(d['N'])}, mean ± s.d. of {int(d['runs'])} runs")
    ax.set_title("Fig. 12: largest singular value against the number of factors\n"
                 "(grows like √M; the edge e(M+1) is for squared singular values)", fontsize=10)
    return fig


register_figure("bjorck-fig11-condition", paper="bjorck-gomes-selman",
                description="Fig. 11: log10 condition number against the number of factors, direct vs stable QR "
                            "method, with the Lyapunov growth rate",
                compute=_depth_compute, plot=_fig11_plot)
register_figure("bjorck-fig12-sigma-max", paper="bjorck-gomes-selman",
                description="Fig. 12: largest singular value against the number of factors, direct vs stable, "
                            "with the theoretical edge sqrt((M+1)^{M+1}/M^M)",
                compute=_depth_compute, plot=_fig12_plot, data_name="bjorck-fig11-condition")
