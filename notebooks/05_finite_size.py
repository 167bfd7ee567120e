# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tour 5: finite-size theory of BatchNorm gradient explosion
#
# Paik & Choi's C(R) and Yang et al.'s rate √(π/(π−1)) are limits of infinite batch and infinite
# width. This tour computes the **exact finite-batch factor** λ(B) of a BN → activation → linear
# chain at infinite width, checks it against mpmath-free identities and sampled chains, and
# looks at two finite-size phenomena: linear networks explode under BN at every finite batch,
# and orthogonal weights with batch = width keep the gradient bounded (Meterez et al. 2024).
#
# **Derivation in one paragraph.** At the permutation-symmetric fixed point one unit's BN output
# across the batch is √B times a uniform unit vector orthogonal to **1**, independent of the BN
# divisor σ̂² ∝ χ²_{B−1}. Backpropagating through the BN Jacobian (P − yyᵀ/B)/σ̂ and averaging
# (E 1/χ²_{B−1} = 1/(B−3)) gives
#
# λ_full(B) = ((B−1)D₂ + O − A₂ + A₁₂) / (α(B−3)),  λ_simplified(B) = B D₂ / (α(B−3)),
#
# with D₂ = E φ'(y₁)², O = E φ'(y₁)φ'(y₂), A₂ = E y₁²φ'(y₁)², A₁₂ = E y₁φ'(y₁)y₂φ'(y₂) and α the
# expected unbiased batch variance of φ(y). For positively homogeneous φ (ReLU, leaky ReLU,
# identity) these are Gaussian kernels at correlation −1/(B−1): exact closed forms.

# %%
# %matplotlib inline
import json
import math
import time

import matplotlib.pyplot as plt
import numpy as np

from gradexp.theory.finite_size import finite_batch_expansion, finite_batch_factor, finite_batch_moments

KEY = {}  # the key numbers of this tour, printed as JSON at the end (checked by the tests)

B = np.array([4, 5, 8, 16, 32, 64, 128, 256, 1024])
for act in ("relu", "identity"):
    for bk in ("full", "simplified"):
        lam = finite_batch_factor(B, act, bn_backward=bk)
        print(f"{act:9s} {bk:10s}", " ".join(f"{v:.4f}" for v in lam))
        KEY[f"lambda_{act}_{bk}_B=4..1024"] = np.asarray(lam, dtype=float).tolist()
print("B = inf (activation_factor):", finite_batch_factor(math.inf), "= pi/(pi-1) =", math.pi / (math.pi - 1))

# %% [markdown]
# The identity activation gives exactly (B−2)/(B−3) with the full backward: a linear network
# *explodes* under BN at every finite batch, and the explosion vanishes only as B → ∞: it is
# caused by BN itself (Yang et al. 2019). B = 3 gives `inf` (E 1/χ²₂ diverges), and B = 2 with
# the full backward gives 0: two normalised samples are ±1 whatever the input.

# %%
Bi = np.arange(4, 40)
print("identity == (B-2)/(B-3):", np.allclose(finite_batch_factor(Bi, "identity"), (Bi - 2) / (Bi - 3), rtol=1e-14))
print("B = 2, 3 (full):", finite_batch_factor([2, 3], "relu"))
for act in ("relu", "identity", "tanh", "gelu"):
    lam, c1 = finite_batch_expansion(act)
    print(f"{act:9s} lambda(B) = {lam:.6f} + {c1:.4f}/B + O(1/B^2);  at B = 1000: "
          f"{finite_batch_factor(1000, act):.6f} vs {lam + c1 / 1000:.6f}")
    KEY[f"expansion_{act}"] = [lam, c1]

# %% [markdown]
# Smooth activations use a Gauss–Legendre rule in whitened polar coordinates of the pair
# density (smooth after the substitution radius = sin χ; split at the kink rays), accurate to
# about 1e-12 and cached per (activation, batch).

# %%
t = time.perf_counter()
vals = finite_batch_factor(np.arange(4, 104), "gelu")
dt = time.perf_counter() - t
print(f"GELU at 100 batch sizes: {1e3 * dt / 100:.1f} ms per batch size; lambda(16) = {vals[12]:.6f}")
m = finite_batch_moments(16, "tanh")
print({k: round(float(v), 6) for k, v in m.items()})

# %% [markdown]
# ## A Monte-Carlo check
# Sampled chains (gradexp.mc, exact backward) measure the squared per-layer growth of the
# gradient norm away from the ends of the chain; at width ≫ batch it is λ(B).

# %%
from gradexp.experiments.finite_size import chain_factor

for bk in ("full", "simplified"):
    r = chain_factor(16, 256, "relu", bn_backward=bk, depth=16, reps=4, edge=3, rng=5)
    th = finite_batch_factor(16, "relu", bn_backward=bk)
    print(f"{bk:10s} sampled {r['factor']:.4f} ± {r['stderr']:.4f}   theory {th:.4f}   "
          f"z = {(r['factor'] - th) / r['stderr']:+.2f}")
    KEY[f"mc_chain_factor_B=16_{bk}"] = {"mean": float(r["factor"]), "stderr": float(r["stderr"])}

# %%
Bt = np.unique(np.round(np.geomspace(4, 1024, 60)))
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for k, act in enumerate(("relu", "identity", "tanh", "gelu")):
    c = f"C{k}"
    ax.plot(Bt, finite_batch_factor(Bt, act), color=c, label=f"{act}, full")
    ax.plot(Bt, finite_batch_factor(Bt, act, bn_backward="simplified"), "--", color=c)
    ax.axhline(finite_batch_factor(math.inf, act), color=c, lw=0.6, ls=":")
ax.set_xscale("log")
ax.set_ylim(0.95, 3.2)
ax.set_xlabel("batch B")
ax.set_ylabel("λ(B)")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Orthogonal weights (Meterez et al. 2024)
# Identity activation, batch = width, BN without mean subtraction: with Haar-orthogonal weights
# the input gradient stays bounded in depth, with Gaussian weights it keeps growing.

# %%
from gradexp.experiments.finite_size import numpy_chain

depth, d = 300, 16
fig, ax = plt.subplots(figsize=(5.5, 3.4))
for k, w in enumerate(("gaussian", "orthogonal")):
    r = numpy_chain(depth, d, d, weights=w, norm="batch-nocenter", rng=3, stats_every=depth)
    lg = np.log(r["grad_norms"])
    ax.plot(np.arange(depth + 1), (lg - lg[-1])[::-1], color=f"C{k}", label=f"{w} weights")
    print(f"{w:10s} log(||g^0||/||g^N||) = {lg[0] - lg[-1]:.2f}, final isometry gap {r['isometry_gap'][-1]:.3g}")
ax.set_xlabel("layers from the output")
ax.set_ylabel("log gradient norm ratio")
ax.legend()
plt.show()

# %% tags=["key-numbers"]
print(json.dumps(KEY, indent=1, sort_keys=True))
