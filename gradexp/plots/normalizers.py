"""The normalizer design map (paper key ``"gradexp"``).

* ``gx-normalizer-design-map``: for BatchNorm, GroupNorm (LayerNorm is one group) and RMSNorm,
  and four activations, the exact infinite-width factor λ of E‖g‖² per layer against the batch or
  group size (left), and the depth at which the gradient norm has grown 10× (right), with the
  depth 50 marked: the settings below the line explode by more than 10× in 50 layers.

The compute step returns arrays only (:func:`gradexp.theory.normalizers.design_map`); the plot step
only draws.
"""

from __future__ import annotations

import numpy as np

from ..theory.normalizers import design_map
from ._registry import register_figure
from .style import PALETTE, new_figure, theory_line

_NORM_LABEL = {"batch": "BatchNorm (B)", "group": "GroupNorm / LayerNorm (G)", "rms": "RMSNorm (G)"}
_STYLES = ("-", "--", (0, (6, 2, 1, 2)), (0, (1, 1.5)))
DESIGN_DEPTH = 50


def _design_compute(fast: bool, seed: int) -> dict:
    del seed  # deterministic: closed forms and fixed quadrature rules
    sizes = np.unique(np.round(np.geomspace(4, 4096, 24 if fast else 60))).astype(float)
    m = design_map(sizes, depth=DESIGN_DEPTH, max_growth=10.0, growths=(10.0, 1e6))
    m.pop("backward")
    return m


def _design_plot(d: dict):
    fig, axes = new_figure(1, 2, width=4.8, height=3.8)
    N = np.asarray(d["size"])
    norms = [str(k) for k in np.asarray(d["norms"])]
    acts = [str(a) for a in np.asarray(d["activations"])]
    fac = np.asarray(d["factor"])
    dep = np.asarray(d["depth_to_growth"])[..., 0]
    D = int(d["depth"])
    ax0, ax1 = axes[0]
    for i, k in enumerate(norms):
        for j, a in enumerate(acts):
            lab = f"{_NORM_LABEL[k]}, {a}"
            ls = _STYLES[j % len(_STYLES)]
            y = np.where(np.isfinite(dep[i, j]), dep[i, j], np.nan)
            for ax, yy, lb in ((ax0, fac[i, j], lab), (ax1, y, None)):
                theory_line(ax, N, yy, color=PALETTE[i], label=lb)[0].set_linestyle(ls)
    ax0.axhline(1.0, color="0.5", linewidth=0.6)
    ax0.set_xscale("log")
    ax0.set_ylim(0.95, 3.2)
    ax0.set_xlabel("batch size B or group size G")
    ax0.set_ylabel(r"$\lambda$ = factor of $E\|g\|^2$ per layer")
    ax0.set_title("exact, infinite width, full backward\n(group/rms: relu = identity)", fontsize=9)
    ax0.legend(fontsize=5.5, ncol=1)
    ax1.axhline(D, color="0.3", linewidth=0.8, linestyle="--")
    ax1.text(N[0], D * 1.08, f"depth {D}", fontsize=7, color="0.3")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("batch size B or group size G")
    ax1.set_ylabel("depth at which the gradient norm grows 10x")
    ax1.set_title("below the dashed line: > 10x growth at depth 50")
    fig.suptitle("Normalizer design map: gradient growth against normalization size", fontsize=9)
    return fig


register_figure("gx-normalizer-design-map", paper="gradexp",
                description="normalizer design map: exact factor of BatchNorm, GroupNorm/LayerNorm and "
                            "RMSNorm against the batch or group size for relu, identity, tanh and gelu, "
                            "and the depth at which the gradient norm grows 10x",
                compute=_design_compute, plot=_design_plot)
