"""Generate notes/finite.md from the evidence (run from the worktree root):

    PYTHONPATH=$PWD python notes/make_finite_notes.py

Reads the chain scan notes/finite_scan3.jsonl (written by the scan runs described in the notes),
recomputes every other number (accuracy against mpmath, timings, fits, ledger verdicts in fast
mode) and writes notes/finite.md. Generated: do not edit finite.md by hand.
"""

from __future__ import annotations

import collections
import json
import math
import time
from pathlib import Path

import mpmath as mp
import numpy as np

from gradexp.experiments import finite_size as fsc
from gradexp.theory import finite_size as fs

HERE = Path(__file__).parent


def mp_leaky(B, a, backward):
    with mp.workdps(50):
        B, a = mp.mpf(B), mp.mpf(a)
        rho = -1 / (B - 1)
        orth = mp.mpf(1) / 4 + mp.asin(rho) / (2 * mp.pi)
        k1 = (mp.sqrt(1 - rho ** 2) + rho * (mp.pi - mp.acos(rho))) / (2 * mp.pi)
        d2 = (1 + a * a) / 2
        o = a * a + a * (1 - a) + (1 - a) ** 2 * orth
        k = a * rho + (1 - a) ** 2 * k1
        al = d2 - k
        num = (B - 1) * d2 + o - d2 + k if backward == "full" else B * d2
        return num / (al * (B - 3))


def wls(X, y, se):
    A = X / se[:, None]
    b = y / se
    c, *_ = np.linalg.lstsq(A, b, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    return c, np.sqrt(np.diag(cov)), float(((A @ c - b) ** 2).sum())


TAIL = """## For the lead

**README paragraph** (theory section / first look):

> `gradexp.finite_batch_factor(B, activation, bn_backward="full")` is the exact per-layer factor of
> the expected squared gradient norm of a BN → activation → linear chain at infinite width and
> batch B: for ReLU `((B−2)/2 + O + k₁)/((B−3)(1/2 − k₁))` with ρ = −1/(B−1),
> O = 1/4 + asin ρ/(2π) and k₁ the arc-cosine kernel at ρ; for the identity (B−2)/(B−3): a linear
> network explodes under BN at every finite batch. Closed forms for ReLU, leaky ReLU, identity
> and dropout, a cached Gauss rule (≤ 1e-10) for the other activations, `inf` where the expected
> inverse batch variance diverges (B = 3), and the 1/B expansion (`finite_batch_expansion`).

**Sweep overlay.** `gradexp.theory.finite_size.rate_vs_batch_overlay(batches, activation="relu", *,
bn_backward="full")` returns `{"batch", "factor", "rate", "rate_inf"}`: `rate` = √λ(B) is the
infinite-width per-layer growth of ||g|| that `ChainResult.rate` estimates, to be drawn as a line
over `rate-vs-batch` points (and, for `rate-vs-width-batch`, as the d → ∞ value each width
series approaches; the measured approach is λ(1 + a/d) with |a| of order one).

**Merge notes.** One line in `gradexp/claims/_ledger.py` (`PAPERS["gradexp"]`, only needed if
the ledger branch's bibliography does not land first; it has the key), one line in
`gradexp/plots/__init__.py` (`"finite_size"` in `PAPER_MODULES`), and re-exports of
`finite_batch_factor`, `finite_batch_expansion`, `finite_batch_rate` in `gradexp/__init__.py`.
The `gx-` checks take `check(fast, **reference)` and register `falsify=` when the ledger's
decorator accepts it (the ledger branch does). `all_claims` on main does not import
`claims.gradexp_own` yet (the ledger branch does). The claims module merged branch `mc`
(orthogonal weights, `batch-nocenter`, `stats="gram"`).
"""


def main():
    out = []
    w = out.append
    # ---------------------------------------------------------------- accuracy
    Bs = list(range(4, 200)) + [256, 512, 1000, 4096, 10 ** 5, 10 ** 7]
    acc = {}
    for name, a in (("relu", 0.0), ("identity", 1.0), ("leaky_relu", 0.2)):
        kw = {"slope": a} if name == "leaky_relu" else {}
        for bk in ("full", "simplified"):
            got = fs.finite_batch_factor(np.array(Bs, float), name, bn_backward=bk, **kw)
            err = max(abs(g / float(mp_leaky(B, a, bk)) - 1) for B, g in zip(Bs, got))
            acc[(name, bk)] = err
    conv = {}
    for name in ("tanh", "gelu", "silu", "elu", "softplus"):
        act = fs.get_activation(name)
        worst = 0.0
        for B in (4, 5, 7, 16, 64, 256, 4096, 10 ** 5):
            y1, y2, wt = fs.sphere_pair_rule(B, 2 * fs._N_CHI, 2 * fs._N_ARC)
            f1, f2, d1, d2 = act.value(y1), act.value(y2), act.deriv(y1), act.deriv(y2)
            c1, c2 = f1 - f1 @ wt, f2 - f2 @ wt
            D2, O, A2, A12 = wt @ (d1 * d1), wt @ (d1 * d2), wt @ (y1 * y1 * d1 * d1), wt @ (y1 * d1 * y2 * d2)
            al = wt @ (c1 * c1) - wt @ (c1 * c2)
            ref = ((B - 1) * D2 + O - A2 + A12) / (al * (B - 3))
            worst = max(worst, abs(fs.finite_batch_factor(B, act) / ref - 1))
        conv[name] = worst
    fs._quadrature_moments.cache_clear()
    t = time.perf_counter()
    fs.finite_batch_factor(np.arange(300, 400), "gelu")
    ms = 1e3 * (time.perf_counter() - t) / 100
    t = time.perf_counter()
    fs.finite_batch_factor(np.arange(300, 400), "gelu")
    ms_cached = 1e3 * (time.perf_counter() - t) / 100
    t = time.perf_counter()
    fs.finite_batch_factor(np.arange(4, 100004), "relu")
    us_relu = 1e6 * (time.perf_counter() - t) / 100000

    w("# Branch `finite`: the finite-size theory of BN gradient explosion (issue 11)\n")
    w("Generated by `notes/make_finite_notes.py` from the evidence; do not edit by hand.\n")
    w("## What is built\n")
    w("- `gradexp/theory/finite_size.py`: `finite_batch_factor(batch, activation, *, bn_backward)` "
      "(exact per-layer factor λ(B) of E||g||² at infinite width), `finite_batch_rate` (√λ), "
      "`finite_batch_moments` (the six sphere moments and α), `finite_batch_expansion` "
      "(λ∞ and c₁ of λ = λ∞ + c₁/B + O(B⁻²)), `sphere_pair_rule` (the quadrature), "
      "`rate_vs_batch_overlay(batches, activation, *, bn_backward)` (theory for the sweeps).")
    w("- `gradexp/claims/gradexp_own/finite_size.py`: six `gx-` claims, the chain experiments "
      "(`chain_factor`, `width_scan`, `factor_agreement`, `identity_explosion`, `orthogonal_gains`, "
      "`orthogonal_map`, `representation_profiles`, `depth_drift`) and a small independent numpy "
      "chain (`numpy_chain`: Gaussian/Haar-orthogonal weights, centred BN, BN without centring, LN, "
      "none; exact backward; Gram statistics) used as the cross-check of `gradexp.mc`.")
    w("- `gradexp/plots/finite_size.py`: figures `gx-finite-batch-factor`, `gx-orthogonal-depth`, "
      "`gx-representations-depth`; `notebooks/05_finite_size.py` (Jupytext percent).")
    w("- Tests: `tests/test_finite_size.py`, `tests/test_claims_finite_size.py`.\n")

    w("## The formula\n")
    w("At the permutation-symmetric fixed point (reached exactly after one layer at infinite width), "
      "one unit's BN output across the batch is y = √B·u, u uniform on the unit sphere of 1^⊥, "
      "independent of the divisor σ̂² = σ_w² d α χ²_{B−1}/B. With gradient independence, "
      "g = φ'(y)⊙v, v ~ N(0, cP) (full) or N(0, cI) (simplified), the BN Jacobian "
      "(P − yyᵀ/B)/σ̂ (full, a rank-(B−2) projection) or I/σ̂ (simplified), and E[1/χ²_{B−1}] = 1/(B−3):\n")
    w("    λ_full(B) = ((B−1)D₂ + O − A₂ + A₁₂) / (α (B−3)),   λ_simplified(B) = B D₂ / (α (B−3)),\n")
    w("D₂ = Eφ'(y₁)², O = Eφ'(y₁)φ'(y₂), A₂ = E y₁²φ'(y₁)², A₁₂ = E y₁φ'(y₁)y₂φ'(y₂), "
      "α = Eφ(y₁)² − Eφ(y₁)φ(y₂). One coordinate is √(B−1)·t with density ∝ (1−t²)^{(B−4)/2}; a pair "
      "has correlation ρ = −1/(B−1). For positively homogeneous φ every moment equals the Gaussian "
      "kernel at correlation ρ (same angular law, same E|y|² = 2): ReLU D₂ = A₂ = 1/2, "
      "O = 1/4 + asin(ρ)/(2π), A₁₂ = k₁(ρ), α = 1/2 − k₁(ρ); identity (B−2)/(B−3) (full) and "
      "(B−1)/(B−3) (simplified). B = 3 (and B = 2 simplified): inf (E 1/χ²_{B−1} diverges); B = 2 "
      "full: 0 (the Jacobian vanishes). Other activations: Gauss–Legendre in whitened polar "
      "coordinates (radius sin χ makes the weight sin χ cos^{B−4}χ smooth; split at the kink rays).\n")
    exp_rows = []
    for name in ("relu", "identity", "leaky_relu", "tanh", "gelu", "silu", "elu", "softplus"):
        l0, c1f = fs.finite_batch_expansion(name)
        _, c1s = fs.finite_batch_expansion(name, bn_backward="simplified")
        exp_rows.append(f"| {name} | {l0:.6f} | {c1f:.4f} | {c1s:.4f} |")
    w("1/B expansion (c₁ from one-dimensional Gaussian expectations; ReLU exact: "
      "c₁ = (π² − π/2 − 1)/(π−1)² full, π(5π−6)/(2(π−1)²) simplified, checked against sympy):\n")
    w("| activation | λ∞ | c₁ full | c₁ simplified |\n| --- | --- | --- | --- |")
    out.extend(exp_rows)
    w("")
    w("Comparison with Yang et al. (ICLR 2019): they derive the gradient rate at the BSB1 fixed point "
      "through Gegenbauer expansions and find that BN explodes gradients for every activation, "
      "the linear one included; the closed forms here give the same structure (the explosion of the "
      "linear network is (B−2)/(B−3), vanishing only as B → ∞; ReLU tends to π/(π−1)). I could not "
      "consult their text offline to compare coefficient by coefficient; the ledger checks the "
      "formulas against chains instead.\n")

    w("## Accuracy and cost (measured in this run)\n")
    w("| quantity | domain | max relative error |\n| --- | --- | --- |")
    for (name, bk), e in acc.items():
        w(f"| closed form {name}, {bk} vs mpmath (50 digits) | B = 4…199, 256…1e7 | {e:.1e} |")
    for name, e in conv.items():
        w(f"| quadrature {name} (full) vs the rule with twice the nodes | B = 4…1e5 | {e:.1e} |")
    w("")
    w(f"Cost: {ms:.1f} ms per new (activation, batch) for the quadrature (GELU), {ms_cached * 1e3:.0f} µs "
      f"cached; closed forms {us_relu:.2f} µs per batch size vectorised (ReLU, 1e5 sizes). The Gauss "
      "rule is also checked against closed forms (ReLU, identity, leaky ReLU: 1e-12), a direct "
      "mpmath 2-D integral over the disk density (ReLU B = 4, 5, 9; tanh, ELU B = 5) and a "
      "Monte-Carlo integral over the sphere (5 standard errors).\n")

    # ---------------------------------------------------------------- chains
    rows = [json.loads(line) for line in open(HERE / "finite_scan3.jsonl")]
    G = collections.defaultdict(list)
    for r in rows:
        th = fs.finite_batch_factor(r["batch"], r["activation"], bn_backward=r["backward"])
        G[(r["activation"], r["backward"], r["batch"])].append((r["width"], r["factor"], r["stderr"], th, r["reps"]))
    w("## Chains against the theory\n")
    w("Sampled chains (`gradexp.mc.simulate_chain`, depth 24, Gaussian upstream gradient, He init), "
      "squared per-layer growth of ||g|| over layers 4…20; standard errors from blocks of 4 "
      "per-layer log increments pooled over repetitions (lag-1 autocorrelation of the increments "
      "−0.02…−0.05, and the block error matches the between-repetition error where both are "
      "available). Relative deviation r = λ̂(B, d)/λ(B) − 1, fitted per group by weighted least "
      "squares r = r₀ + a/d.\n")
    w("| activation, backward, B | r at each width (± se) | r₀ ± se (z) | a ± se | χ² / dof |")
    w("| --- | --- | --- | --- | --- |")
    zs, avals = [], []
    for k in sorted(G, key=lambda k: (k[0], k[1], k[2])):
        v = sorted(G[k])
        d = np.array([x[0] for x in v], float)
        y = np.array([x[1] / x[3] - 1 for x in v])
        se = np.array([x[2] / x[3] for x in v])
        c, cs, chi = wls(np.c_[np.ones_like(d), 1 / d], y, se)
        zs.append(c[0] / cs[0])
        avals.append((k, c[1], cs[1]))
        cells = ", ".join(f"{int(dd)}: {yy:+.4f} ± {ss:.4f}" for dd, yy, ss in zip(d, y, se))
        w(f"| {k[0]}, {k[1]}, {k[2]} | {cells} | {c[0]:+.4f} ± {cs[0]:.4f} ({c[0] / cs[0]:+.1f}) | "
          f"{c[1]:+.2f} ± {cs[1]:.2f} | {chi:.1f} / {len(d) - 2} |")
    zs = np.array(zs)
    w("")
    widest = [(k, v[-1]) for k, v in ((k, sorted(G[k])) for k in G)]
    maxdev = max(abs(x[1] / x[3] - 1) for _, x in widest)
    amin = min(a for _, a, _ in avals)
    amax = max(a for _, a, _ in avals)
    w(f"Over {len(G)} groups the extrapolated deviations r₀ have |z| ≤ {np.abs(zs).max():.1f} "
      f"(mean z {zs.mean():+.2f}, {int((np.abs(zs) > 2).sum())} groups beyond 2σ); at the widest "
      f"width of each group the raw chains are within {100 * maxdev:.2f}% of λ(B).\n")
    w("**Width correction.** The data are described by λ(B, d) = λ(B)(1 + a/d + o(1/d)) with a "
      f"coefficient of order one that depends on the batch and the activation and changes sign: "
      f"fitted a from {amin:+.2f} to {amax:+.2f} (table). It is *not* proportional to B/d over "
      "B = 8…128 (a/B would have to be constant). Sources of O(1/d) terms: the fluctuation of the "
      "forward kernel around the isotropic fixed point (a Wishart spread of order √(B/d) whose "
      "second-order effect is O(1/d)), Jensen's gap between the geometric-mean rate and the "
      "expected squared norm, and the violation of gradient independence; I did not derive a(B). "
      "The depth drift below shows the first one growing with depth.\n")

    # ---------------------------------------------------------------- ledger
    w("## Ledger verdicts\n")
    w("See `gradexp verify --json` (the gx- claims): this script no longer imports the ledger.\n")
    path = HERE / "orthogonal_map.npz"
    if path.exists():  # written by an earlier run of this script (same call, same seed)
        om = {k: v[()] if v.ndim == 0 else v for k, v in np.load(path).items()}
    else:
        om = fsc.orthogonal_map((8, 16, 32, 64), (16, 32, 64), depth=600, start=50, reps=2, rng=7)
        np.savez(path, **{k: np.asarray(v) for k, v in om.items()})
    w("**Orthogonal weights: where the bound holds.** Per-layer log growth of ||g|| between layers "
      f"{om['start']} and {om['stop']} from the output of a depth-{om['depth']} chain (deep, after the "
      "forward transient near the input; Haar-orthogonal weights, identity activation, BN without "
      "centring; mean ± se of 2 chains):\n")
    w("| batch \\ width | " + " | ".join(str(int(d)) for d in om["width"]) + " |")
    w("| --- |" + " --- |" * len(om["width"]))
    for i, B in enumerate(om["batch"]):
        w(f"| {int(B)} | " + " | ".join(f"{om['slope'][i, j]:+.5f} ± {om['slope_se'][i, j]:.5f}"
                                      for j in range(len(om["width"]))) + " |")
    w("")
    w("(The Gaussian-weight rate at the same batch is ½ log λ(B) ≈ "
      + ", ".join(f"{0.5 * math.log(fs.finite_batch_factor(int(B), 'identity')):.4f} (B = {int(B)})"
                  for B in om["batch"]) + " for centred BN.)\n")
    Bg, dg = np.meshgrid(om["batch"], om["width"], indexing="ij")
    flat = np.abs(om["slope"]) < 1e-3
    agree = bool(np.all(flat == (Bg >= dg)))
    w(f"Stationary growth below 1e-3 per layer in {int(flat.sum())} of {flat.size} cells; these are "
      + ("exactly" if agree else "not exactly") + " the cells with batch ≥ width. With batch < width "
      "the orthogonal chain keeps growing, at "
      + ", ".join(f"{100 * om['slope'][i, j] / (0.5 * math.log(fs.finite_batch_factor(int(B), 'identity'))):.0f}%"
                  f" (B = {int(B)}, d = {int(d)})"
                  for i, B in enumerate(om["batch"]) for j, d in enumerate(om["width"]) if B < d)
      + " of the Gaussian centred-BN rate: Meterez et al.'s bound needs batch ≥ width (their "
      "setting is batch = width).\n")
    w(TAIL)
    (HERE / "finite.md").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
