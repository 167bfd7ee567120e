"""Experiments of gradexp's finite-size study: sampled BN chains against the finite-batch factor.

The per-layer squared rate of sampled chains (:func:`chain_factor`) and its scans over batch and
width (:func:`width_scan`, :func:`factor_agreement`), linear BN chains (:func:`identity_explosion`),
a small independent numpy chain with Gaussian or Haar-orthogonal weights (:func:`numpy_chain`) and
the studies built on it (orthogonal weights, representations, the depth drift of the forward
distribution). Each function takes its randomness as ``rng`` (SPEC 7; independent streams from
:func:`gradexp._random.spawn_seeds`), returns plain data with standard errors, and runs its
expensive inner calls through the result store (:func:`gradexp.sweep.cache.cached_call`). The
claims (:mod:`gradexp.claims.gradexp_own.finite_size`), the figures
(:mod:`gradexp.plots.finite_size`) and the tour import these functions.

References
----------
Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz (2019), *A Mean Field Theory of Batch
Normalization*, Thm 8 (the finite-batch factor the chains are compared with).
"""

from __future__ import annotations

import math

import numpy as np

from .._random import as_generator, spawn_seeds
from ..sweep.cache import cached_call
from ..theory.finite_size import finite_batch_factor
from ._memo import memo_call
from ._stats import wls

#: layers kept away from the chain's ends for the per-layer rate (x^0 is Gaussian, not at
#: the fixed point; the upstream gradient at the output has a component along 1)
EDGE = 5


def _chain():
    from ..mc import chain  # numba only when an experiment runs

    return chain


def chain_factor(batch, width, activation="relu", *, bn_backward="full", depth=30, reps=4,
                 rng=0, edge=EDGE, block=4) -> dict:
    r"""Squared per-layer rate of the gradient norm of sampled chains, away from the ends.

    Returns ``{"factor": rate², "stderr": …, "stderr_reps": …, "reps": reps}``: the rate is
    :math:`\exp` of the mean log growth per layer over layers ``edge`` … ``depth − edge`` and all
    repetitions. The standard error comes from block means of ``block`` consecutive per-layer
    log increments pooled over repetitions (successive increments are nearly uncorrelated:
    lag-1 autocorrelation −0.02 to −0.05 measured at B = 8, 32), which gives a usable error
    with few repetitions; ``stderr_reps`` is the between-repetition error (delta method).
    """
    res = _chain().simulate_chain(depth, width, batch, activation=activation,
                                  bn_backward=bn_backward, reps=reps, rng=rng,
                                  corr_features=0, weight_grads=False)
    g = res.log_grad_norms
    inc = g[:, edge:depth - edge] - g[:, edge + 1:depth - edge + 1]
    n_blk = inc.shape[1] // block
    blocks = inc[:, :n_blk * block].reshape(reps, n_blk, block).mean(axis=2).ravel()
    mean = float(inc.mean())
    m = math.exp(2.0 * mean)
    se = m * 2.0 * float(blocks.std(ddof=1)) / math.sqrt(blocks.size)
    lr = inc.mean(axis=1)
    se_r = m * 2.0 * float(lr.std(ddof=1)) / math.sqrt(reps) if reps > 1 else math.nan
    return {"factor": m, "stderr": se, "stderr_reps": se_r, "reps": int(reps)}


def reps_for(batch, width, *, target=1 << 17, lo=2, hi=32) -> int:
    """Repetitions giving about the same statistical precision per cell (∝ 1/(B·d·reps))."""
    return int(min(hi, max(lo, math.ceil(target / (batch * width)))))


def width_scan(batches, widths, activation="relu", *, bn_backward="full", depth=30, rng=0,
               target=1 << 17, max_work=float("inf")) -> dict:
    """λ(B, d) over a (batch, width) grid with theory λ(B, ∞); cells costlier than ``max_work``
    multiply-adds (B·d²·depth·reps) are skipped (NaN)."""
    batches = [int(b) for b in batches]
    widths = [int(d) for d in widths]
    F = np.full((len(batches), len(widths)), np.nan)
    S = np.full_like(F, np.nan)
    R = np.zeros(F.shape, dtype=int)
    ss = spawn_seeds(rng, len(batches) * len(widths))
    for i, B in enumerate(batches):
        for j, d in enumerate(widths):
            r = reps_for(B, d, target=target, lo=4)
            if B * d * d * depth * r > max_work:
                continue
            out = cached_call(chain_factor, B, d, activation, bn_backward=bn_backward,
                              depth=depth, reps=r,
                              rng=ss[i * len(widths) + j])
            F[i, j], S[i, j], R[i, j] = out["factor"], out["stderr"], r
    theory = np.asarray(finite_batch_factor(np.array(batches, float), activation,
                                            bn_backward=bn_backward))
    return {"batch": np.array(batches), "width": np.array(widths), "factor": F, "stderr": S,
            "reps": R, "theory": theory, "activation": activation, "bn_backward": bn_backward,
            "depth": depth}



# ============================================================================ the factor vs chains
def finite_variance(batch) -> bool:
    r"""Whether the sampled squared rate at batch ``batch`` has a finite variance.

    One unit's squared gradient carries :math:`1/\hat\sigma^2 \propto 1/\chi^2_{B-1}`, and
    :math:`\mathbb E[1/\chi^4_{B-1}]` is finite only for B − 1 > 4: at B ≤ 5 the per-layer
    squared norm is a sum over the width of infinite-variance terms (tail index (B−1)/2 ≤ 2),
    its log is biased by more than O(1/width) and a standard error means nothing. Such batches
    are reported but excluded from the z-tests (a property of the estimator, not a tolerance).
    """
    return int(batch) - 1 > 4


#: (activation, backward) groups and batches: the same in fast and full mode (fast: fewer
#: repetitions, shorter chains, narrower widths). ReLU and identity have closed forms, tanh
#: goes through the sphere quadrature; B = 8, 32 (finite variance, see finite_variance).
FACTOR_GROUPS = (("relu", "full"), ("relu", "simplified"), ("identity", "full"), ("tanh", "full"))
FACTOR_BATCHES = (8, 32)


def _factor_grid(fast):
    """(depth, widths, target) of the width scans."""
    if fast:
        return 16, [64, 128, 256], 1 << 12
    return 30, [128, 256, 512], 1 << 16


def factor_agreement(fast=True, rng=1101, *, groups=FACTOR_GROUPS, batches=FACTOR_BATCHES) -> dict:
    """Sampled λ(B, d) on a (batch, width) grid per (activation, backward) group, extrapolated in
    1/d at fixed batch by weighted least squares (λ(B, d) ≈ λ(B, ∞) + a/d), next to the exact
    finite-batch factor λ(B, ∞) (:func:`gradexp.theory.finite_size.finite_batch_factor`).

    Returns ``{"rows": [...], "depth", "widths", "batches"}``; each row has the extrapolated value
    and its standard error, the widest width's value, the fitted slope a, the fit's χ² and the
    theory ``finite_batch``; rows at batches without finite variance (:func:`finite_variance`)
    carry ``tested=False``. Each group has its own stream (:func:`gradexp._random.spawn_seeds`).
    """
    depth, widths, target = _factor_grid(fast)
    batches = [int(b) for b in batches]
    group_seeds = spawn_seeds(rng, len(groups))
    rows = []
    for gi, (act, bk) in enumerate(groups):
        scan = memo_call(width_scan, tuple(batches), tuple(widths), act, bn_backward=bk, depth=depth,
                         rng=group_seeds[gi], target=target)
        for i, B in enumerate(batches):
            y, se = scan["factor"][i], scan["stderr"][i]
            coef, cse, chi2, dof = wls([np.ones(len(widths)), 1.0 / np.array(widths, float)], y, se)
            rows.append({"activation": act, "backward": bk, "batch": B, "finite_batch": float(scan["theory"][i]),
                             "widest": float(y[-1]), "widest_se": float(se[-1]),
                             "extrapolated": float(coef[0]), "extrapolated_se": float(cse[0]),
                             "slope_a": float(coef[1]), "slope_se": float(cse[1]), "chi2": chi2, "dof": dof,
                             "tested": finite_variance(B)})
    return {"rows": rows, "depth": depth, "widths": widths, "batches": batches}


# ============================================================================ identity explosion
#: batches of the identity claim, the same in fast and full mode. The excess (B-2)/(B-3) - 1 =
#: 1/(B-3) shrinks with B while the standard error at fixed B*width*reps does not, so the z
#: against 1 falls like 1/B: a grid reaching B = 64 in full mode only (as before) tested a
#: statement fast mode never tested and failed for lack of power. B >= 6: finite_variance.
IDENTITY_BATCHES = (6, 8, 12)


def identity_explosion(fast=True, rng=1202) -> dict:
    """Linear BN chains (identity activation) at the batches :data:`IDENTITY_BATCHES` and two
    widths, the squared per-layer rate extrapolated in 1/width at fixed batch (two-point weighted
    fit λ(B) + a/d; standard error propagated). The same batches in both modes (full: wider,
    longer, more repetitions)."""
    depth = 20 if fast else 40
    widths = (64, 128) if fast else (128, 512)
    target = 1 << 13 if fast else 1 << 15
    batches = IDENTITY_BATCHES
    ss = spawn_seeds(rng, len(batches) * len(widths))
    out = {"depth": depth, "widths": list(widths), "batches": list(batches), "sampled": [], "sampled_se": [],
           "extrapolated": [], "extrapolated_se": [], "slope_a": []}
    for i, B in enumerate(batches):
        y, se = [], []
        for j, d in enumerate(widths):
            r = reps_for(B, d, target=target, lo=4)
            res = cached_call(chain_factor, B, d, "identity", depth=depth, reps=r, edge=4, rng=ss[i * len(widths) + j])
            y.append(res["factor"])
            se.append(res["stderr"])
        coef, cse, _, _ = wls([np.ones(len(widths)), 1.0 / np.array(widths, float)], y, se)
        out["sampled"].append(y)
        out["sampled_se"].append(se)
        out["extrapolated"].append(float(coef[0]))
        out["extrapolated_se"].append(float(cse[0]))
        out["slope_a"].append(float(coef[1]))
    return out


# ============================================================================ small numpy chains
def haar_orthogonal(rng: np.random.Generator, n: int, m: int | None = None) -> np.ndarray:
    """Haar-distributed n × m matrix with orthonormal columns (n ≥ m) or rows (n < m): the Q of a
    Gaussian QR with the signs of diag(R) fixed (Mezzadri 2007), scaled by √(max(n, m)/ m)... here
    left unscaled (normalised layers are scale invariant)."""
    m = n if m is None else m
    a = rng.standard_normal((max(n, m), min(n, m)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))[None, :]
    return q if n >= m else q.T


def _normalise(z, norm, eps=0.0):
    """(y, backward) for norm in batch | batch-nocenter | layer | none (z: batch × width)."""
    if norm == "none":
        return z, lambda g: g
    axis = 0 if norm.startswith("batch") else 1
    if norm == "batch-nocenter":
        r = np.sqrt(np.mean(z * z, axis=axis, keepdims=True) + eps)
        y = z / r
        return y, lambda g: (g - y * np.mean(g * y, axis=axis, keepdims=True)) / r
    mu = z.mean(axis=axis, keepdims=True)
    c = z - mu
    s = np.sqrt(np.mean(c * c, axis=axis, keepdims=True) + eps)
    y = c / s
    return y, lambda g: (g - g.mean(axis=axis, keepdims=True)
                         - y * np.mean(g * y, axis=axis, keepdims=True)) / s


def gram_statistics(x: np.ndarray) -> tuple[float, float, float]:
    r"""(mean ``|cos|`` between samples, stable rank Σλ/λ_max, isometry gap) of the batch Gram
    :math:`G = xx^\top/d`. The isometry gap :math:`\log(\mathrm{tr}G/B) - \tfrac1B\log\det G`
    (Meterez et al. 2024) is 0 iff G ∝ I and +inf for a singular G."""
    G = x @ x.T / x.shape[1]
    dg = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    C = G / dg[:, None] / dg[None, :]
    B = G.shape[0]
    off = np.abs(C[~np.eye(B, dtype=bool)]).mean() if B > 1 else 0.0
    lam = np.linalg.eigvalsh(G)
    srank = float(lam.sum() / lam[-1]) if lam[-1] > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = float(np.log(lam.mean()) - np.mean(np.log(lam))) if lam[0] > 0 else math.inf
    return float(off), srank, gap


def numpy_chain(depth, width, batch, *, activation="identity", weights="gaussian", norm="batch",
                rng=0, stats_every=1) -> dict:
    r"""A small BN/LN/no-norm chain in numpy with Gaussian or Haar-orthogonal weights.

    :math:`x^{n+1} = \mathrm{Norm}(\varphi(x^n)W^n)`, :math:`x^0 \sim N(0, I)`, upstream gradient
    i.i.d. N(0, 1); exact backward (the full BN backward; ``"batch-nocenter"`` divides by the batch
    RMS without centring, Meterez et al.'s setting). Returns per-layer gradient norms
    ``grad_norms[n] = ||∂L/∂x^n||`` (n = 0..depth) and, every ``stats_every`` layers, the Gram
    statistics of :func:`gram_statistics` and the batch excess kurtosis of :math:`x^n`.
    Used for the orthogonal-weights and representation studies (independent of gradexp.mc).
    """
    from ..activations import get_activation

    act = get_activation(activation)
    rng = as_generator(rng)
    x = rng.standard_normal((batch, width))
    xs, backs, Ws = [x], [], []
    layers = list(range(0, depth + 1, stats_every))
    stats = []
    if 0 in layers:
        stats.append(gram_statistics(x))
    gain = math.sqrt(2.0 if act.name == "relu" else 1.0)
    for n in range(depth):
        if weights == "orthogonal":
            W = haar_orthogonal(rng, width)
        else:
            W = rng.standard_normal((width, width)) * (gain / math.sqrt(width))
        z = act.value(x) @ W
        x, back = _normalise(z, norm)
        xs.append(x)
        backs.append(back)
        Ws.append(W)
        if (n + 1) in layers:
            stats.append(gram_statistics(x))
    g = rng.standard_normal(x.shape)
    gn = np.empty(depth + 1)
    gn[depth] = np.linalg.norm(g)
    for n in range(depth - 1, -1, -1):
        gz = backs[n](g)
        g = (gz @ Ws[n].T) * act.deriv(xs[n])
        gn[n] = np.linalg.norm(g)
    st = np.array(stats)
    kurt = np.array([_kurtosis(xs[n]) for n in layers])
    return {"grad_norms": gn, "layers": np.array(layers), "mean_abs_cos": st[:, 0],
            "stable_rank": st[:, 1], "isometry_gap": st[:, 2], "kurtosis": kurt}


def _kurtosis(x):
    c = x - x.mean(axis=0)
    m2 = np.mean(c * c, axis=0)
    m4 = np.mean(c ** 4, axis=0)
    ok = m2 > 0
    return float(np.mean(m4[ok] / m2[ok] ** 2) - 3.0) if ok.any() else math.nan


# ============================================================================ orthogonal weights
ORTHO_ARMS = (("gaussian", "batch"), ("orthogonal", "batch"), ("gaussian", "batch-nocenter"),
              ("orthogonal", "batch-nocenter"))


def orthogonal_depth_profiles(batch, width, depth, *, reps=3, rng=0) -> dict:
    """log(||g^{N-k}|| / ||g^N||) against k for the four arms (weights × BN variant), identity
    activation; mean and standard error over ``reps`` chains (numpy, :func:`numpy_chain`)."""
    ss = spawn_seeds(rng, len(ORTHO_ARMS) * reps)
    out = {"batch": batch, "width": width, "depth": depth, "reps": reps,
           "layers_from_output": np.arange(depth + 1),
           "arms": np.array([f"{w}_{n}" for w, n in ORTHO_ARMS])}
    for a, (w, norm) in enumerate(ORTHO_ARMS):
        prof, gap = [], []
        for r in range(reps):
            res = cached_call(numpy_chain, depth, width, batch, activation="identity", weights=w,
                              norm=norm, rng=int(ss[a * reps + r].generate_state(1)[0]),  # the figure reference's streams
                              stats_every=depth)
            lg = np.log(res["grad_norms"])
            prof.append((lg - lg[-1])[::-1])
            gap.append(res["isometry_gap"][-1])
        prof = np.array(prof)
        out[f"{w}_{norm}_mean"] = prof.mean(axis=0)
        out[f"{w}_{norm}_se"] = prof.std(axis=0, ddof=1) / math.sqrt(reps)
        out[f"{w}_{norm}_gap"] = np.array(gap)
    return out


def orthogonal_map(batches, widths, *, depth=800, start=50, stop=None, reps=2,
                   norm="batch-nocenter", rng=0) -> dict:
    """Per-layer log growth of the gradient norm between ``start`` and ``stop`` (default depth/2)
    layers from the output of a depth-``depth`` chain (orthogonal weights, identity activation),
    over a (batch, width) grid: the stationary rate deep in the network, after the forward
    transient near the input."""
    stop = depth // 2 if stop is None else stop
    S = np.full((len(batches), len(widths)), np.nan)
    E = np.full_like(S, np.nan)
    ss = spawn_seeds(rng, len(batches) * len(widths) * reps)
    k = 0
    for i, B in enumerate(batches):
        for j, d in enumerate(widths):
            sl = []
            for _ in range(reps):
                res = cached_call(numpy_chain, depth, int(d), int(B), activation="identity",
                                  weights="orthogonal", norm=norm,
                                  rng=ss[k], stats_every=depth)
                k += 1
                lg = np.log(res["grad_norms"])
                sl.append((lg[depth - stop] - lg[depth - start]) / (stop - start))
            S[i, j] = np.mean(sl)
            E[i, j] = np.std(sl, ddof=1) / math.sqrt(reps) if reps > 1 else math.nan
    return {"batch": np.array(batches), "width": np.array(widths), "slope": S, "slope_se": E,
            "depth": depth, "start": start, "stop": stop, "norm": norm}


def orthogonal_gains(batch, width, depths, *, reps=3, rng=0, arms=ORTHO_ARMS) -> dict:
    """Whole-network gain log(||g^0|| / ||g^L||) of separate networks of depth L (identity
    activation), mean and standard error over ``reps`` networks, for each (weights, BN) arm."""
    ss = spawn_seeds(rng, len(arms) * len(depths) * reps)
    out = {"batch": batch, "width": width, "depths": np.array(depths), "reps": reps}
    k = 0
    for w, norm in arms:
        m, se = [], []
        for L in depths:
            g = []
            for _ in range(reps):
                res = cached_call(numpy_chain, int(L), width, batch, activation="identity",
                                  weights=w, norm=norm, rng=ss[k],
                                  stats_every=int(L))
                k += 1
                g.append(math.log(res["grad_norms"][0] / res["grad_norms"][-1]))
            m.append(np.mean(g))
            se.append(np.std(g, ddof=1) / math.sqrt(reps))
        out[f"{w}_{norm}_gain"] = np.array(m)
        out[f"{w}_{norm}_gain_se"] = np.array(se)
    return out



# ============================================================================ representations
def representation_profiles(fast=True, rng=0, *, activation="relu", batch=32, width=None,
                            depth=None, reps=None, engine="mc") -> dict:
    """Per-layer Gram statistics (mean ``|cos|``, stable rank) and excess kurtosis of the
    normalisation outputs for BN / LN / no normalisation (Gaussian weights).

    ``engine="mc"`` runs :func:`gradexp.mc.simulate_chain` (``stats="gram"``; kurtosis: the
    bias-corrected G2, 0 for Gaussian samples); ``"numpy"`` runs :func:`numpy_chain` (biased g2),
    an independent implementation used to cross-check the first."""
    width = (64 if fast else 128) if width is None else width
    depth = (60 if fast else 200) if depth is None else depth
    reps = (3 if fast else 6) if reps is None else reps
    every = max(1, depth // 20)
    layers = np.arange(0, depth + 1, every)
    ss = spawn_seeds(rng, 3 * reps)
    out = {"batch": batch, "width": width, "depth": depth, "reps": reps, "activation": activation,
           "layers": layers, "engine": engine}
    for a, norm in enumerate(("batch", "layer", "none")):
        if engine == "mc":
            res = _chain().simulate_chain(depth, width, batch, activation=activation, norm=norm,
                                          reps=reps, rng=ss[a * reps], stats="gram",
                                          corr_features=0, weight_grads=False)
            vals = {"mean_abs_cos": res.gram_cos[:, layers], "stable_rank": res.stable_rank[:, layers],
                    "kurtosis": res.kurtosis[:, layers]}
        else:
            runs = [cached_call(numpy_chain, depth, width, batch, activation=activation, norm=norm,
                                rng=ss[a * reps + r], stats_every=every)
                    for r in range(reps)]
            vals = {k: np.array([r[k] for r in runs]) for k in ("mean_abs_cos", "stable_rank", "kurtosis")}
        for key, v in vals.items():
            out[f"{norm}_{key}_mean"] = v.mean(axis=0)
            out[f"{norm}_{key}_se"] = v.std(axis=0, ddof=1) / math.sqrt(reps)
    return out



# ============================================================================ depth drift
def depth_drift(fast=True, rng=0, *, activations=("tanh", "gelu", "relu"), batch=64) -> dict:
    """Excess kurtosis of the BN outputs and the local squared rate against depth, per activation
    and width (gradexp.mc chains, full backward)."""
    widths = (64, 128) if fast else (64, 256)
    depth = 30 if fast else 48
    reps = 16 if fast else 24
    win = 6
    edges = list(range(4, depth - 4 - win + 1, win))
    ss = spawn_seeds(rng, len(activations) * len(widths))
    out = {"batch": batch, "widths": np.array(widths), "depth": depth, "reps": reps,
           "windows": np.array([(a, a + win) for a in edges]),
           "baseline_kurtosis": -6.0 / (batch + 1)}  # one coordinate of sqrt(B) u, u uniform
    k = 0
    for act in activations:
        lam = finite_batch_factor(batch, act)
        out[f"{act}_theory"] = lam
        for d in widths:
            res = _chain().simulate_chain(depth, d, batch, activation=act, reps=reps,
                                          rng=ss[k],
                                          corr_features=0, weight_grads=False)
            k += 1
            kurt = res.act_kurtosis
            out[f"{act}_{d}_kurt_mean"] = kurt.mean(axis=0)
            out[f"{act}_{d}_kurt_se"] = kurt.std(axis=0, ddof=1) / math.sqrt(reps)
            g = res.log_grad_norms
            ex, exse, kw = [], [], []
            for a in edges:
                inc = g[:, a:a + win] - g[:, a + 1:a + win + 1]
                lr = 2 * inc.mean(axis=1)
                ex.append(math.exp(lr.mean()) / lam - 1)
                exse.append(math.exp(lr.mean()) / lam * lr.std(ddof=1) / math.sqrt(reps))
                kw.append(kurt[:, a:a + win + 1].mean())
            out[f"{act}_{d}_excess"] = np.array(ex)
            out[f"{act}_{d}_excess_se"] = np.array(exse)
            out[f"{act}_{d}_window_kurt"] = np.array(kw)
    out["activations"] = np.array(activations)
    return out




# ============================================================================ single-layer batch shift
def single_layer_shift(fast=True, rng=2202) -> dict:
    """Paik & Choi's single-layer ratio (Thm 2.2's setting: i.i.d. N(0, 1) inputs, Gaussian weights,
    i.i.d. upstream gradient) with batch statistics and the full BN backward, at batches 8 and 16 and
    two widths, extrapolated in 1/width at fixed batch (two-point weighted fit, :func:`wls`)."""
    from ..mc.chain import single_layer_ratio

    widths = (256, 1024) if fast else (512, 2048)
    reps = 32 if fast else 96
    batches = (8, 16)
    ss = spawn_seeds(rng, len(batches) * len(widths))
    out = {"widths": list(widths), "batches": list(batches), "reps": reps, "sampled": [], "sampled_se": [],
           "extrapolated": [], "extrapolated_se": [], "slope_a": []}
    for i, B in enumerate(batches):
        y, se = [], []
        for j, d in enumerate(widths):
            e = memo_call(single_layer_ratio, d, B, input_mean=0.0, bn_backward="full", reps=reps,
                          rng=ss[i * len(widths) + j]).ratio
            y.append(float(e.mean))
            se.append(float(e.stderr))
        coef, cse, _, _ = wls([np.ones(len(widths)), 1.0 / np.array(widths, float)], y, se)
        out["sampled"].append(y)
        out["sampled_se"].append(se)
        out["extrapolated"].append(float(coef[0]))
        out["extrapolated_se"].append(float(cse[0]))
        out["slope_a"].append(float(coef[1]))
    return out
