"""Build the tour notebooks from plain Python cell lists: ``python notebooks/_build.py``.

Generated notebooks are committed; the test suite executes them (tests/test_notebooks.py).
"""

from pathlib import Path

import nbformat

HERE = Path(__file__).parent


def md(s):
    return nbformat.v4.new_markdown_cell(s.strip())


def code(s):
    return nbformat.v4.new_code_cell(s.strip())


TOURS = {}

TOURS["01_explosion_theory.ipynb"] = [
    md("""
# Tour 1: gradient explosion under BatchNorm + ReLU

Paik & Choi show that a layer `x → BN(W ReLU(x) + b)` multiplies the gradient variance by
C(R), R = μ/(√2σ), at initialization. This tour evaluates the closed forms, checks them
against mpmath, and measures them on sampled networks with gradexp's Monte-Carlo chain.
"""),
    code("""
import math
import numpy as np
import gradexp

print("C(0) =", gradexp.explosion_factor(0.0), " pi/(pi-1) =", math.pi / (math.pi - 1))
print("Yang's per-layer norm rate:", gradexp.YANG_RATE)
R = np.array([-1e4, -40.0, -5.0, 0.0, 2.0, np.inf])
print(dict(zip(R.tolist(), gradexp.explosion_factor(R).tolist())))
"""),
    md("""
At R = −40 the formula as printed returns NaN in double precision; gradexp's value agrees
with a 80-digit mpmath evaluation of the same formula:
"""),
    code("""
import mpmath as mp
from gradexp.claims.paik_choi import mp_explosion_factor

for r in (-40.0, -1e3, 3.0):
    ref = mp_explosion_factor(r)
    print(r, float(abs((mp.mpf(gradexp.explosion_factor(r)) - ref) / ref)))
"""),
    md("## Other activations\n`activation_factor` generalises C(R) to any registered activation."),
    code("""
for name in gradexp.ACTIVATION_NAMES:
    params = {"keep_prob": 0.5} if name == "dropout" else {}
    print(f"{name:>10}: {gradexp.activation_factor(name, **params):.4f}")
"""),
    md("""
## Correlated inputs

Under the theorems' own assumptions, correlation between activations *raises* the factor
(infinite width and batch), and the paper's π/(π+1) for perfectly correlated inputs is
not what the mathematics gives: see the ledger entries below.
"""),
    code("""
rho = np.array([0.0, 0.5, 0.9, 0.99])
print(gradexp.correlated_explosion_factor(rho))
from gradexp.claims import run_ledger
for r in run_ledger(fast=True, ids=["pc-thm-2.8", "pc-correlation-offsets", "pc-thm-2.2"]):
    print(f"{r.claim.id:<24} {r.status:<8} {r.note[:90]}...")
"""),
]


TOURS["02_elr_model.ipynb"] = [
    md("""
# Tour 2: effective learning rates and layer-wise optimizers

Mehmeti-Göpel & Wand model the effective learning rate E = ‖∇W‖/‖W‖ of scale-invariant
(BN) layers: with plain SGD, ‖W‖² grows by λ²c²/‖W‖² per step (eq. 4), so layers with
exploding gradients inflate their weights and their ELR falls. gradexp runs that model with
any profile, schedule and layer-wise rule.
"""),
    code("""
import numpy as np
import gradexp
from gradexp import elr, optim

depth = 56
c = elr.plain_profile(depth)            # initial gradient norms (eq. 8; alpha on the norm)
c_res = elr.residual_profile(depth, 2)  # eq. 9
print("first/last gradient, plain:", c[0] / c[-1], " residual:", c_res[0] / c_res[-1])
for lr in (1e-3, 1e-1, 1.0):
    tr = elr.simulate(c, lr, steps=10)
    print(f"lr={lr:g}: mean E after 10 steps = {tr.mean[-1]:.3g}, spread = {tr.spread[-1]:.3g}")
"""),
    md("## The same question for each layer-wise rule\nWhat ELR spread does each rule leave after 100 steps at depth 56?"),
    code("""
for name in ("sgd", "lars", "lalc", "tvlars", "agc"):
    rule = optim.RULES[name]()
    tr = elr.simulate(c, 0.1, steps=100, rule=rule, momentum=0.9)
    print(f"{name:>6}: Std(E)/Mean(E) = {(tr.spread[-1] / tr.mean[-1]):.3f}")
"""),
    md("## Schedules\nA linear warm-up followed by cosine decay (Goyal et al.), and TVLARS's φ(t)."),
    code("""
sched = optim.WarmupCosine(peak=0.1, total_steps=100, warmup_steps=10)
print(optim.schedule_values(sched, 12)[:12])
print(optim.tvlars_phi(np.array([0, 10, 100, 1000]), lam=1e-2, d_e=100))
"""),
    md("The claims of the paper, with verdicts computed now:"),
    code("""
from gradexp.claims import run_ledger
for r in run_ledger(fast=True, ids=["mgw-sec41-flip", "mgw-fig2-mean-spread", "mgw-a1-numbers", "mgw-eq8-rate"]):
    print(f"{r.claim.id:<22} {r.status:<14} {r.note[:80]}")
"""),
]


TOURS["03_random_matrices.ipynb"] = [
    md("""
# Tour 3: products of random matrices

Bjorck, Gomes & Selman explain the ill-conditioning of unnormalized deep linear networks with
products of Gaussian matrices. The squared singular values of W_M⋯W_1 (entries N(0, 1/N))
follow the Fuss–Catalan law as N → ∞, with right edge (M+1)^(M+1)/M^M.
"""),
    code("""
import numpy as np
import gradexp
from gradexp.mc import product_singular_values

M, N = 3, 400
s = product_singular_values(M, N, seed=1, reps=4)
x = np.sort((s**2).ravel())
print("edge", gradexp.fuss_catalan_edge(M), " largest sample", x[-1])
# Kolmogorov-Smirnov distance against the law's CDF
ks = np.max(np.abs(gradexp.fuss_catalan_cdf(x, M) - np.arange(1, x.size + 1) / x.size))
print("KS distance", ks)
for k in (1, 2, 3):
    print(k, "moment: law", gradexp.fuss_catalan_moment(k, M), " sample", np.mean(x**k))
"""),
    md("## Long products\nDirect multiplication loses the small singular values once the condition number passes 1e16; the QR accumulation keeps them."),
    code("""
for method in ("direct", "qr"):
    s = product_singular_values(30, 64, seed=2, method=method, log=True)
    print(f"{method:>6}: log condition number = {s[0] - s[-1]:.1f}")
"""),
    code("""
from gradexp.claims import run_ledger
for r in run_ledger(fast=True, ids=["bjorck-thm1-density", "bjorck-sec4-linear-growth", "bjorck-fig12-caption"]):
    print(f"{r.claim.id:<22} {r.status:<14} {r.note[:80]}")
"""),
]


def main():
    for name, cells in TOURS.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = cells
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
