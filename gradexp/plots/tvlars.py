"""Figures of Do et al., TVLARS (``003``): the time-varying factor φ(t) of eq. 8 (Figure 5)."""

from __future__ import annotations

import numpy as np

from ..optim import tvlars_phi, tvlars_phi_bounds
from ._registry import register_figure
from .style import PALETTE, new_figure, theory_line

BASE = dict(lam=5e-3, d_e=200.0, alpha=1.0, gamma_min=0.01)
VARY = {
    "lam": ("λ (delay factor)", [1e-3, 5e-3, 1e-2, 5e-2]),
    "d_e": ("d_e (delay)", [0.0, 200.0, 500.0, 1000.0]),
    "alpha": ("α (scaling)", [0.5, 1.0, 2.0, 4.0]),
}


def _fig5_compute(fast: bool, seed: int) -> dict:
    t = np.linspace(0.0, 2000.0, 401 if fast else 2001)
    out = {"t": t, "base": np.array([BASE[k] for k in ("lam", "d_e", "alpha", "gamma_min")])}
    for key, (_, values) in VARY.items():
        curves, upper, upper_printed = [], [], []
        for v in values:
            p = {**BASE, key: v}
            curves.append(tvlars_phi(t, **p))
            upper.append(tvlars_phi_bounds(**p)[1])
            upper_printed.append(tvlars_phi_bounds(**p, as_printed=True)[1])
        out[f"values_{key}"] = np.array(values)
        out[f"phi_{key}"] = np.array(curves)
        out[f"upper_{key}"] = np.array(upper)
        out[f"upper_printed_{key}"] = np.array(upper_printed)
    return out


def _fig5_plot(d):
    fig, axes = new_figure(1, 3, width=3.4, height=3.0, sharey=True)
    lam, de, alpha, gmin = (float(x) for x in d["base"])
    for ax, (key, (label, _)) in zip(axes[0], VARY.items()):
        for i, v in enumerate(d[f"values_{key}"]):
            theory_line(ax, d["t"], d[f"phi_{key}"][i], color=PALETTE[i], label=f"{label.split()[0]} = {v:g}")
            ax.axhline(d[f"upper_{key}"][i], color=PALETTE[i], ls="--", lw=0.8)
            ax.axhline(d[f"upper_printed_{key}"][i], color=PALETTE[i], ls=":", lw=0.8)
        ax.axhline(gmin, color="0.4", lw=0.8)
        ax.set_xlabel("t")
        ax.set_title(f"varying {label}")
        ax.legend(loc="upper right")
    axes[0][0].set_ylabel("φ(t)")
    fig.suptitle(f"Fig. 5 (TVLARS eq. 8): base λ = {lam:g}, d_e = {de:g}, α = {alpha:g}, "
                 f"γ_min = {gmin:g}; dashed: φ(0) = corrected bound, dotted: eq. 13 as printed",
                 fontsize=9)
    return fig


register_figure("tvlars-fig5-phi", paper="do-tvlars",
                description="Fig. 5: the TVLARS factor φ(t) for several λ, d_e and α, with the "
                            "corrected upper bound φ(0) and the printed one (eq. 13)",
                compute=_fig5_compute, plot=_fig5_plot)
