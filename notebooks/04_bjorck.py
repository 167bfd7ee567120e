# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tour 4 — Products of random matrices (Bjorck, Gomes & Selman)
#
# Without normalization, a deep linear network at initialization is a product of random
# matrices $X = X_M\cdots X_1$, entries $N(0, 1/N)$. Bjorck, Gomes & Selman explain its
# ill-conditioning with the limiting law of its spectrum (Theorem 1, eq. 5; Liu, Wang &
# Zhang): as $N\to\infty$ the **squared** singular values of $X$ follow the Fuss–Catalan law
#
# $$
# x(\varphi) = \frac{\sin^{M+1}((M+1)\varphi)}{\sin\varphi\,\sin^M(M\varphi)},\qquad
# \rho(x) = \frac{1}{\pi x}\,\frac{\sin((M+1)\varphi)\sin\varphi}{\sin(M\varphi)},\qquad
# 0 < \varphi < \frac{\pi}{M+1},
# $$
#
# on $(0, x_+)$ with edge $x_+ = (M+1)^{M+1}/M^M$. This tour evaluates the law, samples
# products against it, and follows the largest singular value and the condition number
# with depth.

# %%
# %matplotlib inline
import json
import math

import matplotlib.pyplot as plt
import numpy as np

import gradexp
from gradexp.mc import depth_scan, estimate, product_singular_values

KEY = {}

# %% [markdown]
# ## 1. The law and its moments
#
# Its moments are the Fuss–Catalan numbers $\binom{(M+1)k}{k}/(Mk+1)$; for $M = 1$ it is the
# Marchenko–Pastur law on $(0, 4)$ (eigenvalues of $X^\top X$, not singular values).

# %%
for M in (1, 2, 3, 10):
    moments = [gradexp.fuss_catalan_moment(k, M, exact=True) for k in (1, 2, 3)]
    print(f"M = {M:>2}: edge x+ = {float(gradexp.fuss_catalan_edge(M)):.4f}, "
          f"moments k = 1, 2, 3: {[int(m) for m in moments]}")
KEY["edge_M=3"] = float(gradexp.fuss_catalan_edge(3))

# %% [markdown]
# ## 2. Monte Carlo: sampled products against the law
#
# Four products of $M = 3$ factors of size $N = 400$: the histogram of their squared
# singular values against $\rho$, the Kolmogorov–Smirnov distance to the CDF, and the
# sample moments with their standard errors (over the four products).

# %%
M, N, reps = 3, 400, 4
s = product_singular_values(M, N, rng=1, reps=reps)
x = np.sort((s**2).ravel())
ks = float(np.max(np.abs(gradexp.fuss_catalan_cdf(x, M) - np.arange(1, x.size + 1) / x.size)))
print(f"{x.size} squared singular values; largest {x[-1]:.3f} (edge {float(gradexp.fuss_catalan_edge(M)):.3f})")
print(f"Kolmogorov-Smirnov distance to the Fuss-Catalan CDF: {ks:.4f}")
KEY["ks_M=3_N=400"] = ks
for k in (1, 2, 3):
    est = estimate(np.mean(s**(2 * k), axis=1))  # one moment per product
    law = gradexp.fuss_catalan_moment(k, M)
    print(f"moment {k}: law {law:.4f}   sampled {est.mean:.4f} ± {est.stderr:.4f}   "
          f"({est.z_score(law):+.1f} s.e.; finite N biases it by O(1/N))")
    KEY[f"moment_{k}_M=3_N=400"] = {"mean": est.mean, "stderr": est.stderr}

grid = np.linspace(1e-3, float(gradexp.fuss_catalan_edge(M)) * 0.999, 400)
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.hist(x, bins=80, density=True, alpha=0.5, label=f"{reps} sampled products, N = {N}")
ax.plot(grid, gradexp.fuss_catalan_pdf(grid, M), lw=2, label="Fuss–Catalan density, M = 3")
ax.set_ylim(0, 1.2)
ax.set_xlabel("squared singular value x")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. The largest singular value grows like √depth, not linearly
#
# Sec. 4 reads the edge as a bound on singular values and concludes that the largest grows
# linearly with depth. The law is for *squared* singular values, so the largest singular
# value tends to $\sqrt{x_+} = \sqrt{(M+1)^{M+1}/M^M} \sim \sqrt{e(M+1)}$. Sampled
# ($N = 128$, four chains):

# %%
depths = np.array([1, 2, 4, 8, 16, 32])
scan = depth_scan(depths, 128, reps=4, rng=2)
smax = scan.estimates("sigma_max")
print(f"{'M':>3} {'sqrt(edge)':>11} {'sampled sigma_max':>20}")
for M_, est in zip(depths, smax):
    print(f"{M_:>3} {math.sqrt(float(gradexp.fuss_catalan_edge(int(M_)))):>11.3f} {est.mean:>12.3f} ± {est.stderr:.3f}")
slope = np.polyfit(np.log(depths[2:]), np.log([e.mean for e in smax[2:]]), 1)[0]
print(f"log-log slope of sigma_max against depth (M >= 4): {slope:.3f}  (linear growth: 1, sqrt: 0.5)")
KEY["sigma_max_loglog_slope"] = float(slope)

Ms = np.arange(1, 33)
edge_sv = np.sqrt([float(gradexp.fuss_catalan_edge(int(m))) for m in Ms])
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(Ms, edge_sv, lw=2, label=r"$\sqrt{x_+}$ (the law's edge, in singular values)")
ax.plot(Ms, edge_sv[0] * Ms, ":", color="grey", label="linear growth from M = 1")
ax.errorbar(depths, [e.mean for e in smax], yerr=[e.stderr for e in smax], fmt="o", color="C1",
            label="sampled, N = 128")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("number of factors M")
ax.set_ylabel(r"largest singular value $\sigma_{\max}$")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# At finite $N$ the sampled largest singular value falls below $\sqrt{x_+}$ as $M$ grows (the
# limit law needs $N \gg M$), but its growth is nowhere near linear: the ledger's
# `bjorck-sec4-linear-growth` makes this quantitative.

# %% [markdown]
# ## 4. Long products: the condition number
#
# The log condition number grows linearly in depth (by the gaps between Lyapunov exponents).
# Multiplying the factors directly in double precision loses the small singular values
# once the condition number passes ~1e16; gradexp's QR accumulation keeps them.

# %%
for method in ("direct", "qr"):
    sv = product_singular_values(30, 64, rng=3, method=method, log=True)
    cond = (sv[0] - sv[-1]) / math.log(10)
    print(f"{method:>6}: log10 condition number of a 30-factor product (N = 64) = {cond:.1f}")
    KEY[f"log10_cond_{method}"] = float(cond)

# %% [markdown]
# ## 5. The ledger's verdicts

# %%
from gradexp.claims import all_claims, run_ledger

PAPERS = ("bjorck-gomes-selman",)
ids = [c.id for c in all_claims() if c.paper in PAPERS]
results = run_ledger(fast=True, ids=ids)
for r in results:
    print(f"{r.claim.id:<34} {r.status:<14} {r.claim.where}")
KEY["verdicts"] = {r.claim.id: r.status for r in results}

# %% tags=["key-numbers"]
print(json.dumps(KEY, indent=1, sort_keys=True))
