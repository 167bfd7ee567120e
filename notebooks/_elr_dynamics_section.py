# %% [markdown]
# ## Beyond the early phase: weight decay, two ELR notions, a critical rate, a warm-up
#
# The seed's model covers the first steps without weight decay. With coupled weight decay β
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

# %% [markdown]
# **Two ELR notions.** The relative update λ‖∇W‖/‖W‖ ends equal in every layer; λ/‖W‖² ends in
# the ratios c_k/c_ℓ, because ‖W_ℓ‖² ∝ c_ℓ late in training (with or without weight decay).

# %%
tr = elr.simulate([2.0, 20.0], 0.1, 20000)
ru = tr.relative_update[-1]
print("relative update ratio:", ru[1] / ru[0], " lr/||W||^2 ratio:",
      tr.weight_sq[-1, 0] / tr.weight_sq[-1, 1], " c_k/c_l =", elr.limit_ratio(20.0, 2.0, "lr_over_weight_sq"))

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

# %% [markdown]
# **A warm-up without hyperparameters.** λ_k = min(λ, 1/√(E_max E_min)) equalizes the extreme
# layers in one step (S → ln cosh(S/2)); a depth-56 plain profile is equal after a few steps.

# %%
c56 = elr.plain_profile(56)
for name, lr in (("none", 1.0), ("linear 100", optim.LinearWarmup(1.0, 100)),
                 ("equalizing", optim.EqualizingWarmup(1.0))):
    S = elr.log_spread(elr.simulate(c56, lr, 200).elr)
    print(f"{name:>11}: S at steps 0, 1, 4, 200 =", np.round(S[[0, 1, 4, 200]], 4))

# %% [markdown]
# **Saturated layers recover** after ≈ λ²c²/(4r s₀²) steps (r = 1%): finite, but astronomically
# long for deep plain networks.

# %%
print("closed form:", float(elr.recovery_steps(300.0, 0.2, 1.2)),
      " iterated:", elr.recovery_steps_exact(300.0, 0.2, 1.2))
deep = elr.plain_profile(100)
print("depth-100 bottom layer at lam = 0.1:", float(elr.recovery_steps(deep[0], 0.1, deep[-1])), "steps")
