"""One shared figure style: readable fonts, a colour-blind-safe palette (Okabe–Ito),
theory as lines and Monte Carlo as markers with error bars."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
}


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 5.0, height: float = 3.6, **kw):
    """A figure with the shared style applied (no pyplot global state is left changed)."""
    with plt.rc_context(RC):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                                 squeeze=False, layout="constrained", **kw)
    return fig, axes


def theory_line(ax, x, y, *, label=None, color=None, style="-", **kw):
    """Theory is drawn as a line."""
    with plt.rc_context(RC):
        return ax.plot(x, y, style, label=label, color=color, **kw)


def mc_points(ax, x, y, yerr=None, *, label=None, color=None, marker="o", **kw):
    """Monte Carlo is drawn as markers with error bars (pass the standard error)."""
    with plt.rc_context(RC):
        return ax.errorbar(x, y, yerr=yerr, fmt=marker, label=label, color=color,
                           capsize=2, linestyle="none", **kw)
