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
# # Tour 2 — Spreads in effective learning rates (Mehmeti-Göpel & Wand)
#
# A layer followed by BatchNorm is *scale invariant*: its output does not change when $W$ is
# multiplied by a constant. Its gradient is therefore orthogonal to $W$ (eq. 2) and scales
# like $1/\|W\|$ (eq. 1), and what matters for learning is the **effective learning rate**
# $E = \|\nabla W\|/\|W\|$. Mehmeti-Göpel & Wand model the first steps of SGD with a base
# gradient $c_\ell = \|\nabla W_\ell(0)\|\,\|W_\ell(0)\|$ held constant; by Pythagoras
# (eq. 3) the squared weight norm $s_k = \|W(k)\|^2$ then follows the **discrete model**
#
# $$ s_{k+1} = s_k + \frac{\lambda^2 c^2}{s_k}, \qquad E_k = \frac{c}{s_k}. \qquad\text{(eq. 4)} $$
#
# Layers whose gradients explode (Tour 1) inflate their weights fastest, and their ELR falls.
# This tour runs the model, compares it with its continuous limit, measures it on trained
# networks, and lists the ledger's verdicts.

# %%
# %matplotlib inline
import json

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

import gradexp
from gradexp import elr, optim

KEY = {}

# %% [markdown]
# ## 1. Initial gradients of a deep BN network
#
# At initialization the gradient norm grows by Yang's rate $\alpha = \sqrt{\pi/(\pi-1)}$
# per layer towards the input (eq. 8: $c_\ell = \alpha^{L-\ell+1}$). Residual connections
# every $s$ layers tame the growth (eq. 9).

# %%
depth = 56  # ResNet56, the paper's simulations
c_plain = elr.plain_profile(depth)
c_res = elr.residual_profile(depth, 2)
print(f"alpha = {gradexp.YANG_RATE:.4f}")
print(f"plain:    first/last layer gradient = {c_plain[0] / c_plain[-1]:.4g}")
print(f"residual: first/last layer gradient = {c_res[0] / c_res[-1]:.4g}")
KEY["plain_first_over_last"] = float(c_plain[0] / c_plain[-1])
KEY["residual_first_over_last"] = float(c_res[0] / c_res[-1])

# %% [markdown]
# ## 2. The discrete model flips the order of the layers
#
# After one step $E_1 = c/(1 + \lambda^2c^2)$ (with $\|W(0)\| = 1$), which *decreases* in
# $c$ once $\lambda c > 1$: at a large learning rate the layers that had the largest ELR end
# up with the smallest (Sec. 4.1, Figure 1). We measure the order with Spearman's rank
# correlation between the ELRs before and after the first step.

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), sharey=True)
for ax, lam in zip(axes, (1e-3, 1e-1, 1.0)):
    tr = elr.simulate(c_plain, lam, steps=10)
    rho = spearmanr(tr.elr[0], tr.elr[1])[0]
    for k, style in ((0, "-"), (1, "--"), (10, ":")):
        ax.semilogy(np.arange(1, depth + 1), tr.elr[k], style, label=f"step {k}")
    ax.set_title(f"λ = {lam:g}")
    ax.set_xlabel("layer ℓ")
    print(f"lambda = {lam:g}: Spearman(E_0, E_1) = {rho:+.3f}, mean E after 10 steps = "
          f"{tr.mean[-1]:.3g}, spread = {tr.spread[-1]:.3g}")
    KEY[f"spearman_E0_E1_lam={lam:g}"] = float(rho)
axes[0].set_ylabel("effective learning rate $E_\\ell$")
axes[0].legend()
plt.show()

# %% [markdown]
# The continuous model of eqs. 6–7, $\sigma^2(t) = \sqrt{2\lambda c^2 t + k_0}$, is the
# modified equation of eq. 4 at small λ; its ELR $c/\sigma^2$ is increasing in $c$ at every
# time, so it *cannot* flip, and by eq. 10 all ratios $E_\ell/E_k$ tend to 1. The two
# models agree to relative order $\lambda^2c^2/\sqrt{k_0}$; at a rate small enough that
# $\lambda c \ll 1$ in every layer:

# %%
lam, steps = 1e-6, 200
s_disc = elr.discrete_weight_sq(c_plain, lam, steps)
s_cont = elr.continuous_weight_sq(c_plain, lam, lam * np.arange(steps + 1)[:, None])
rel = np.max(np.abs(s_disc - s_cont) / s_disc)
print(f"lambda = {lam:g}, {steps} steps: max relative gap discrete vs continuous = {rel:.2e} "
      f"(largest lambda^2 c^2 = {(lam * c_plain.max())**2:.2e})")
KEY["discrete_vs_continuous_max_rel_gap"] = float(rel)

# %% [markdown]
# ## 3. Mean and spread of the ELR against the learning rate (Figure 2)

# %%
lams = np.logspace(-3, 0, 25)
fig, ax = plt.subplots(figsize=(6, 3.6))
for name, c in (("plain", c_plain), ("residual", c_res)):
    tr = elr.simulate(np.tile(c, (lams.size, 1)), lams[:, None] * np.ones(10), steps=10)
    ax.loglog(lams, tr.mean[:, -1], label=f"{name}: Mean(E)")
    ax.loglog(lams, tr.spread[:, -1], "--", label=f"{name}: Std(E)")
    drop = tr.mean[0, -1] / tr.mean[-1, -1]
    print(f"{name:>8}: Mean(E) after 10 steps falls by {drop:.3g}x from lambda = 1e-3 to 1")
    KEY[f"{name}_mean_drop"] = float(drop)
ax.set_xlabel("learning rate λ")
ax.set_ylabel("after 10 steps")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 4. Stability of the first steps (Appendix A.1)
#
# Gradient descent on eq. 6 is stable while $\lambda \le \sqrt2\,\sigma^2/c$; with
# $\sigma^2(0) = 2$ and $c = \alpha^L$ the paper's eq. 26 gives $\lambda \ll 2\sqrt2\,\alpha^{-L}$.
# Evaluated, at the depths the paper quotes:

# %%
for L, quoted in ((50, 3e-5), (100, 2.5e-9)):
    bound = float(elr.stability_bound_at_init(L))
    print(f"L = {L}: eq. 26 gives {bound:.3g}; the paper's text quotes {quoted:g}")
    KEY[f"stability_bound_L={L}"] = bound

# %% [markdown]
# ## 5. Monte Carlo: does the model describe a trained network?
#
# `gradexp.mc.train_toynet` trains a real BN + ReLU MLP (He init, synthetic data, SGD) and
# records every layer's weight and gradient norm; `compare_with_model` fits the discrete
# model to step 0 of each run and scores it. The flip of §2 should appear (or not) in the
# trained network exactly where the model predicts it. Four runs per rate, depth 50, width 32.

# %%
from gradexp.mc.training import compare_with_model, train_toynet

seeds = np.random.SeedSequence(2024).spawn(4)
for _label, lr in (("low", 1e-3), ("high", 1.0)):
    runs = [train_toynet(50, 32, lr, 5, batch=64, rng=s) for s in seeds]
    cmp = compare_with_model(runs)
    print(f"lr = {lr:g}: Spearman(E_0, E_1) measured {cmp['flip_measured']:+.3f}, "
          f"model {cmp['flip_model']:+.3f}; mean |log E_model/E_measured| at step 1: "
          f"{cmp['log_err'][1]:.3g} ± {cmp['log_err_se'][1]:.2g}")
    KEY[f"toynet_flip_measured_lr={lr:g}"] = cmp["flip_measured"]
    KEY[f"toynet_flip_model_lr={lr:g}"] = cmp["flip_model"]
    KEY[f"toynet_log_err_step1_lr={lr:g}"] = {"mean": float(cmp["log_err"][1]),
                                               "stderr": float(cmp["log_err_se"][1])}

# %% [markdown]
# ## 6. Layer-wise optimizers
#
# `elr.simulate` accepts any layer-wise rule of `gradexp.optim` (acting on the norms exactly
# as the optimizer acts on arrays, under the model's orthogonality assumption). Two spreads
# tell different stories: that of the ELR $E = \|\nabla W\|/\|W\|$ of the raw gradient,
# and that of the step actually taken, $\|\Delta W\|/\|W\|$. After 100 steps at λ = 0.1
# with momentum 0.9 (the rules at their default settings):

# %%
print(f"initial relative ELR spread Std(E)/Mean(E) = {c_plain.std() / c_plain.mean():.3f}")
spreads = {}
for name in ("sgd", "lars", "lamb", "agc", "lalc", "tvlars"):
    tr = elr.simulate(c_plain, 0.1, steps=100, rule=optim.RULES[name](), momentum=0.9)
    step = tr.relative_update[-1]
    spreads[name] = [float(tr.spread[-1] / tr.mean[-1]), float(step.std() / step.mean())]
    print(f"{name:>6}: Std/Mean of E = {spreads[name][0]:.3f}   of the relative step = {spreads[name][1]:.3g}")
KEY["relative_spreads_E_step"] = spreads

# %% [markdown]
# Plain SGD narrows the ELR spread by inflating the weights of the exploding layers; the
# trust-ratio rules (LARS, LAMB, AGC, TVLARS) instead equalize the *step* (a relative step
# spread at rounding level) and barely move the weights, so the ELR spread stays where it
# started. LALC, at its defaults, does neither in 100 steps.

# %% [markdown]
# ## 7. Beyond the early phase: weight decay, two ELR notions, a critical rate, a warm-up
#
# The model of §2–§6 covers the first steps without weight decay. With coupled weight decay β
# (W ← W − λ(∇W + βW), ∇W ⊥ W) the discrete model becomes
# s' = (1 − λβ)² s + λ²c²/s and has a fixed point s* = c √(λ/(β(2 − λβ))), where every layer's
# relative update is √(2λβ/(1+μ)) (Wan et al.'s angular update).

# %%
import numpy as np

from gradexp import elr, optim

c = elr.plain_profile(20)
tr = elr.simulate(c, 0.1, 3000, weight_decay=0.05)
print("max |s/s* - 1| after 3000 steps:",
      float(np.max(np.abs(tr.weight_sq[-1] / elr.equilibrium_weight_sq(c, 0.1, 0.05) - 1))))
print("relative update per layer:", np.round(tr.relative_update[-1, :3], 6),
      " sqrt(2 lam beta) =", float(elr.equilibrium_relative_update(0.1, 0.05)))
lo, hi = elr.equilibrium_steps(c[:3], 0.1, 0.05)
print("steps to the fixed point (proven bounds):", lo, hi)
KEY["wd_max_rel_dev_from_fixed_point"] = float(np.max(np.abs(tr.weight_sq[-1] / elr.equilibrium_weight_sq(c, 0.1, 0.05) - 1)))
KEY["wd_equilibrium_steps_bounds"] = np.asarray([lo, hi], dtype=float).tolist()

# %% [markdown]
# **Two ELR notions.** The relative update λ‖∇W‖/‖W‖ ends equal in every layer; λ/‖W‖² ends in
# the ratios c_k/c_ℓ, because ‖W_ℓ‖² ∝ c_ℓ late in training (with or without weight decay).

# %%
tr = elr.simulate([2.0, 20.0], 0.1, 20000)
ru = tr.relative_update[-1]
print("relative update ratio:", ru[1] / ru[0], " lr/||W||^2 ratio:",
      tr.weight_sq[-1, 0] / tr.weight_sq[-1, 1], " c_k/c_l =", elr.limit_ratio(20.0, 2.0, "lr_over_weight_sq"))
KEY["two_notions_relative_update_ratio"] = float(ru[1] / ru[0])
KEY["two_notions_lr_over_weight_sq_ratio"] = float(tr.weight_sq[-1, 0] / tr.weight_sq[-1, 1])

# %% [markdown]
# **Critical learning rate.** Without momentum no rate widens the log spread
# S = ln(max E/min E) in one step (`critical_lr` is infinite: the step is a contraction of ln E).
# With momentum the buffer makes the step layer-dependent and a finite threshold appears.

# %%
A, G = np.ones(3), np.array([1.0, 1e2, 1e4])
print("plain SGD:", float(elr.critical_lr(A, G)))
st = elr.momentum_state(c, 0.01, 3, 0.9)
lc = float(elr.critical_lr(st["weight_sq"][3], st["grad_sq"][3], buffer_sq=st["buffer_sq"][3],
                           weight_buffer_dot=st["weight_buffer_dot"][3], momentum=0.9))
print("momentum 0.9 after 3 steps at 0.01: critical lr =", lc)
KEY["critical_lr_momentum"] = lc

# %% [markdown]
# **A warm-up without hyperparameters.** λ_k = min(λ, 1/√(E_max E_min)) equalizes the extreme
# layers in one step (S → ln cosh(S/2)); a depth-56 plain profile is equal after a few steps.

# %%
c56 = elr.plain_profile(56)
for name, lr in (("none", 1.0), ("linear 100", optim.LinearWarmup(1.0, 100)),
                 ("equalizing", optim.EqualizingWarmup(1.0))):
    S = elr.log_spread(elr.simulate(c56, lr, 200).elr)
    print(f"{name:>11}: S at steps 0, 1, 4, 200 =", np.round(S[[0, 1, 4, 200]], 4))
    KEY[f"log_spread_{name}_steps_0_1_4_200"] = np.asarray(S[[0, 1, 4, 200]], dtype=float).tolist()

# %% [markdown]
# **Saturated layers recover** after ≈ λ²c²/(4r s₀²) steps (r = 1%): finite, but astronomically
# long for deep plain networks.

# %%
print("closed form:", float(elr.recovery_steps(300.0, 0.2, 1.2)),
      " iterated:", elr.recovery_steps_exact(300.0, 0.2, 1.2))
deep = elr.plain_profile(100)
print("depth-100 bottom layer at lam = 0.1:", float(elr.recovery_steps(deep[0], 0.1, deep[-1])), "steps")
KEY["recovery_steps_depth100"] = float(elr.recovery_steps(deep[0], 0.1, deep[-1]))

# %% [markdown]
# ## 8. The ledger's verdicts

# %%
from gradexp.claims import all_claims, run_ledger

PAPERS = ("mehmeti-gopel-wand",)
ids = [c.id for c in all_claims() if c.paper in PAPERS and c.id not in ("mgw-fig10-toynet", "mgw-fig10-converge")]
results = run_ledger(fast=True, ids=ids)
for r in results:
    print(f"{r.claim.id:<32} {r.status:<14} {r.claim.where}")
print({s: sum(r.status == s for r in results) for s in ("holds", "holds-loosely", "inconclusive", "fails")})
KEY["verdicts"] = {r.claim.id: r.status for r in results}

# %% [markdown]
# Most of the model's statements hold. Among those that do not: $\alpha$ of eq. 8 is the growth of
# the gradient *norm*; the stability numbers of Appendix A.1 do not follow from eq. 26 (§4); the limit
# and the starting value of eqs. 33–34 are $c_\ell/c_k$ and $(c_\ell/c_k)^2$; He initialization does
# not equalize a BN network's initial gradient norms (Appendix C); and rescaling only the running mean
# (Sec. 4.5) changes the network's output in evaluation mode.

# %% tags=["key-numbers"]
print(json.dumps(KEY, indent=1, sort_keys=True))
