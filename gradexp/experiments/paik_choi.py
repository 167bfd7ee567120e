"""Experiments behind the Paik & Choi claims and figures (``paik-choi-v2``, ``paik-choi-v1``).

Each function samples networks with :mod:`gradexp.mc.chain` (or the closed-form layer of
Theorem 2.8) at given settings and returns plain data with standard errors. Randomness comes in
as ``rng=`` (an int or a :class:`numpy.random.SeedSequence`, SPEC 7); the simulators run through
the result store (:func:`gradexp.sweep.cache.cached_call`), so the ledger, the figures and the
tour compute an experiment once. Claims (:mod:`gradexp.claims.paik_choi`,
:mod:`gradexp.claims.paik_choi_mc`) and figures (:mod:`gradexp.plots.paik_choi_mc`) import from
here; nothing here imports them.
"""

from __future__ import annotations

import math

import numpy as np

from .._random import as_generator, spawn_seeds
from ..sweep.cache import cached_call

V_RELU = 0.5 - 0.5 / math.pi  # Var ReLU(Z), Z ~ N(0, 1)

#: the activations of Paik & Choi's Figure 1 (right), with their parameters
FIG1_ACTIVATIONS = (("relu", {}), ("leaky_relu", {"slope": 0.01}), ("elu", {}), ("gelu", {}),
                    ("silu", {}), ("tanh", {}), ("softplus", {}), ("identity", {}),
                    ("dropout", {"keep_prob": 0.5}))
#: Paik & Choi (earlier version), Fig. 1(b): "a 51-layer VGG-like architecture"
FIG1_DEPTH = 51


def _chain(depth, width, batch, rng, reps, **options):
    from ..mc.chain import simulate_chain

    return cached_call(simulate_chain, depth, width, batch, reps=reps, rng=rng, weight_grads=False,
                       corr_features=0, **options)


def mid_layers(depth: int) -> tuple[int, int]:
    """Layers used for per-layer rates: away from the input and the output by ``depth``//6."""
    k = max(2, depth // 6)
    return k, depth - k


def chain_log_factor(depth, width, batch, *, rng, reps, **options) -> dict:
    r"""Per-layer log factor of the squared gradient norm in sampled chains.

    The estimate is :math:`\ell = 2\log r`, r the per-layer norm rate between the middle layers
    (:func:`mid_layers`) of each network; ``mean`` and ``stderr`` are over the ``reps``
    networks, ``kurtosis`` the mean excess kurtosis of the middle pre-activations.
    ``options`` are :class:`gradexp.mc.ChainSpec` options.
    """
    res = _chain(depth, width, batch, rng, reps, **options)
    lo, hi = mid_layers(depth)
    lr = 2 * res.log_rates(lo, hi)
    return {"mean": float(lr.mean()), "stderr": float(lr.std(ddof=1) / math.sqrt(lr.size)),
            "n": int(lr.size), "kurtosis": float(np.mean(res.act_kurtosis[:, lo:hi + 1])),
            "mean_std_ratio": float(np.mean(res.mean_std_ratio[:, depth // 2]))}


def width_ladder(depth, widths, batch, *, rng, reps, **options) -> dict:
    r""":func:`chain_log_factor` along a ladder of widths at one batch, and its extrapolation
    to infinite width by weighted least squares in 1/width:
    :math:`\ell(d) = \ell_\infty + a/d` (``intercept``, ``intercept_se``, ``chi2``, ``dof``).

    Batch is held fixed so that the intercept is the chain at infinite width and batch
    ``batch``, whose exact value is :func:`gradexp.finite_batch_factor`.
    """
    seeds = spawn_seeds(rng, len(widths))
    rows = [chain_log_factor(depth, int(d), batch, rng=s, reps=reps, **options) for d, s in zip(widths, seeds)]
    y = np.array([r["mean"] for r in rows])
    se = np.array([r["stderr"] for r in rows])
    out = {"widths": [int(d) for d in widths], "batch": int(batch), "depth": int(depth), "reps": int(reps),
           "mean": y.tolist(), "stderr": se.tolist(), "kurtosis": [r["kurtosis"] for r in rows],
           "mean_std_ratio": [r["mean_std_ratio"] for r in rows]}
    if len(widths) >= 2:
        coef, cse, chi2, dof = wls([np.ones(len(widths)), 1.0 / np.asarray(widths, float)], y, se)
        out.update(intercept=float(coef[0]), intercept_se=float(cse[0]), slope=float(coef[1]),
                   slope_se=float(cse[1]), chi2=float(chi2), dof=int(dof))
    return out


def wls(columns, y, se):
    """Weighted least squares y ≈ X c (X from ``columns``); returns (c, standard errors, χ², dof)."""
    X = np.column_stack(columns).astype(float)
    w = 1.0 / np.asarray(se, dtype=float)
    A = X * w[:, None]
    b = np.asarray(y, dtype=float) * w
    coef, *_ = np.linalg.lstsq(A, b, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    chi2 = float(((A @ coef - b) ** 2).sum())
    return coef, np.sqrt(np.diag(cov)), chi2, len(y) - X.shape[1]


def layer_ratio(width, batch, *, rng, reps, **options):
    """:func:`gradexp.mc.single_layer_ratio` through the result store."""
    from ..mc.chain import single_layer_ratio

    return cached_call(single_layer_ratio, width, batch, reps=reps, rng=rng, **options)


def layer_ratio_given_W(W, var_x, pass_prob, var_relu, upstream_var, gamma):
    """Theorem 2.2's ratio for one W (infinite batch, simplified backward; Appendix A.2 eqs. 15, 18):
    sigma_hat_j^2 = sum_i W_ij^2 var_relu_i, Var(g_i) = p_i sum_j s_j gamma_j^2 W_ij^2 / sigma_hat_j^2."""
    var_x, pass_prob, var_relu = (np.broadcast_to(np.asarray(a, float), (W.shape[0],)) for a in (var_x, pass_prob, var_relu))
    sig2 = (W**2 * var_relu[:, None]).sum(axis=0)
    var_g = pass_prob * (W**2 * (upstream_var * gamma**2 / sig2)[None, :]).sum(axis=1)
    return (var_x * var_g).sum() / (gamma**2 * upstream_var).sum()


# --------------------------------------------------------------------------- Theorem 2.8
def perfectly_correlated_terms(W, t):
    r"""Per-output-unit terms of Theorem 2.2's ratio for inputs :math:`x = b\,t`, b ~ N(0, 1),
    infinite batch, simplified backward (Paik & Choi, Thm 2.8; Appendix A.5):

    .. math::

        T_j = \frac{\sum_i t_i^2 W_{ij}^2}{2\hat\sigma_j^2},\qquad
        \hat\sigma_j^2 = v\,(P_j^2 + N_j^2) - P_j N_j/\pi,\quad v = \tfrac12 - \tfrac1{2\pi},

    with :math:`P_j = \sum_{t_i>0} W_{ij} t_i`, :math:`N_j = \sum_{t_i<0} W_{ij}|t_i|` (eq. 29 of
    the appendix, evaluated correctly). The layer's ratio is the mean of :math:`T_j` over j.
    Rescaling a column of W leaves :math:`T_j` unchanged.
    """
    tp = np.where(t > 0, t, 0.0)
    tn = np.where(t < 0, -t, 0.0)
    P = tp @ W
    N = tn @ W
    sig2 = V_RELU * (P**2 + N**2) - P * N / math.pi
    return 0.5 * ((t**2) @ (W**2)) / sig2


def perfectly_correlated_ratios(widths, *, rng, reps) -> dict:
    """Layer ratios (mean of :func:`perfectly_correlated_terms`) for ``reps`` draws of (t, W) per
    width, W ~ N(0, 1/d): per width the mean of log ratio with its standard error, the median
    and the smallest ratio; ``terms`` pools the per-unit terms of the draws at the widest width."""
    out = {"widths": [int(d) for d in widths], "log_mean": [], "log_se": [], "median": [], "min": []}
    for d, ss in zip(widths, spawn_seeds(rng, len(widths))):
        g = as_generator(ss)
        vals, terms = [], []
        for _ in range(int(reps)):
            t = g.standard_normal(d)
            W = g.standard_normal((d, d)) / math.sqrt(d)
            T = perfectly_correlated_terms(W, t)
            vals.append(float(T.mean()))
            terms.append(T)
        lv = np.log(vals)
        out["log_mean"].append(float(lv.mean()))
        out["log_se"].append(float(lv.std(ddof=1) / math.sqrt(lv.size)))
        out["median"].append(float(np.median(vals)))
        out["min"].append(float(np.min(vals)))
        out["terms"] = np.concatenate(terms)
    return out


def iid_unit_prediction(terms, widths, *, rng, n=4000) -> list[float]:
    """Mean log of an average of d terms drawn i.i.d. from the pooled per-unit terms, per width d:
    the width trend a ratio with heavy-tailed, independent per-unit terms would show."""
    g = as_generator(rng)
    terms = np.asarray(terms, float)
    return [float(np.mean(np.log(g.choice(terms, size=(n, int(d))).mean(axis=1)))) for d in widths]


def tail_index(terms, *, q=0.99) -> tuple[float, float]:
    r"""Hill estimator of the tail index of positive samples above their ``q`` quantile, with its
    standard error :math:`\hat\alpha/\sqrt k` (k exceedances). A tail index ≤ 1 means an infinite
    mean."""
    x = np.sort(np.asarray(terms, float))
    u = np.quantile(x, q)
    ex = x[x > u]
    a = 1.0 / float(np.mean(np.log(ex / u)))
    return a, a / math.sqrt(ex.size)


def equalised_variance_ratios(d, *, rng, reps) -> dict:
    """Theorem 2.4 of the earlier version: ratios of the perfectly correlated layer before and after
    rescaling each column of W so that every pre-normalisation variance equals their mean
    ("identical variance"); log means with standard errors, and the largest relative change."""
    g = as_generator(rng)
    raw, eq, change = [], [], 0.0
    for _ in range(int(reps)):
        t = g.standard_normal(d)
        W = g.standard_normal((d, d)) / math.sqrt(d)
        tp, tn = np.where(t > 0, t, 0.0), np.where(t < 0, -t, 0.0)
        P, N = tp @ W, tn @ W
        s2 = V_RELU * (P**2 + N**2) - P * N / math.pi
        W2 = W * np.sqrt(s2.mean() / s2)[None, :]
        r0, r1 = perfectly_correlated_terms(W, t).mean(), perfectly_correlated_terms(W2, t).mean()
        raw.append(r0)
        eq.append(r1)
        change = max(change, abs(r1 / r0 - 1))
    le = np.log(eq)
    return {"log_mean_equalised": float(le.mean()), "log_se_equalised": float(le.std(ddof=1) / math.sqrt(le.size)),
            "median_equalised": float(np.median(eq)), "max_rel_change_by_rescaling": float(change),
            "width": int(d), "draws": int(reps)}


def jensen_variance_ratio(d, *, rng, reps, batch) -> dict:
    """E[sigma_hat_j^2] / (sigma_w^2 sum t^2) for the perfectly correlated layer, by direct
    simulation (b ~ N(0, 1), x = b t, pre-normalisation activations W^T ReLU(x), their variance
    over ``batch`` samples), mean over ``reps`` draws with its standard error (the quantity of
    Appendix A.5, eq. 30)."""
    g = as_generator(rng)
    vals = []
    for _ in range(int(reps)):
        t = g.standard_normal(d)
        W = g.standard_normal((d, d))
        b = g.standard_normal(batch)
        pre = np.maximum(np.outer(b, t), 0.0) @ W
        vals.append(float(pre.var(axis=0).mean() / (t @ t)))
    v = np.asarray(vals)
    return {"mean": float(v.mean()), "stderr": float(v.std(ddof=1) / math.sqrt(v.size)), "n": int(v.size)}


# --------------------------------------------------------------------------- Figure 1
def fig1_profiles(depth, width, batch, *, rng, reps) -> dict:
    """Log gradient-norm profiles log(||g^n|| / ||g^N||) against layers from the output (mean and
    standard error over networks) for Figure 1: architectures (BN, BN with a skip every two
    layers, LayerNorm, no normalisation; ReLU) and activations (BN)."""
    arch = (("BN", {"norm": "batch"}), ("BN, residual every 2 layers", {"norm": "batch", "residual": 2}),
            ("LayerNorm", {"norm": "layer"}), ("no normalisation (He init)", {"norm": "none"}))
    seeds = spawn_seeds(rng, len(arch) + len(FIG1_ACTIVATIONS))
    out = {"depth": depth, "width": width, "batch": batch, "reps": reps,
           "arch_names": [a for a, _ in arch], "act_names": [a for a, _ in FIG1_ACTIVATIONS]}
    for k, (_, kw) in enumerate(arch):
        out[f"arch{k}_m"], out[f"arch{k}_se"] = _log_profile(_chain(depth, width, batch, seeds[k], reps, **kw))
    for k, (name, params) in enumerate(FIG1_ACTIVATIONS):
        res = _chain(depth, width, batch, seeds[len(arch) + k], reps, activation=name,
                     activation_params=params or None)
        out[f"act{k}_m"], out[f"act{k}_se"] = _log_profile(res)
    return out


def _log_profile(res):
    lg = res.log_grad_norms - res.log_grad_norms[:, -1:]
    m = lg.mean(axis=0)[::-1]
    se = lg.std(axis=0, ddof=1)[::-1] / math.sqrt(lg.shape[0])
    return m, se


# --------------------------------------------------------------------------- Lemma 2.9 / Cor 2.5
def second_derivative_check(depth, width, batch, *, rng, per_layer, activation="relu", freeze=True,
                            power=2) -> dict:
    r"""Lemma 2.9, eq. 33 on one sampled chain with a logistic loss on one output: diagonal second
    derivatives :math:`h_i^n` by finite differences against :math:`(g_i^n/l')^{\rm power} l''` on
    ``per_layer`` random coordinates of every layer. ``freeze`` holds BN's statistics fixed (the
    network is then piecewise linear in its activations for ReLU). Returns the largest deviation
    relative to max abs(h), the median relative deviation, and the log-log slope of abs(h) against g^2
    over the coordinates."""
    from ..mc.chain import sample_chain

    net = sample_chain(depth, width, batch, rng=rng, activation=activation, upstream="logistic",
                       bn_backward="simplified" if freeze else "full", corr_features=0)
    net.run()
    lp, lpp = net.logistic_terms()
    rows = net.diagonal_second_derivatives(list(range(depth)), per_layer, as_generator(spawn_seeds(rng, 2)[1]),
                                           freeze=freeze)
    pred = np.array([(g / lp[b]) ** power * lpp[b] for _, b, _, g, _ in rows])
    meas = np.array([hh for *_, hh in rows])
    g2 = np.array([r[2] ** 2 for r in rows])
    live = (g2 > 0) & (np.abs(meas) > 0)
    slope = float(np.polyfit(np.log(g2[live]), np.log(np.abs(meas[live])), 1)[0])
    return {"max_rel_dev": float(np.abs(meas - pred).max() / np.abs(meas).max()),
            "median_rel_dev": float(np.median(np.abs(meas[live] / pred[live] - 1))),
            "loglog_slope": slope, "coordinates": int(meas.size)}


def sqrt_h_layer_ratios(depth, width, batch, *, rng, nets) -> dict:
    r"""Corollary 2.5 of the earlier version on sampled chains (ReLU, logistic loss on one output,
    BN statistics held fixed, so :math:`h = g^2 l''/l'^2` exactly, Lemma 2.9): per layer
    :math:`\sum_i \mathrm{Var}(x_i)\mathrm{Var}(\sqrt{|h_i|})` and the same with the gradient;
    the layer ratios (mean and standard error over layers and networks), and the proof's step 29
    (Var(sqrt(abs(h_i)))/Var(g_i) against the mean of abs(l'')/l'^2)."""
    from ..mc.chain import sample_chain

    ratios_h, ratios_g, step_c, step_pred, spread = [], [], [], [], []
    for s in spawn_seeds(rng, nets):
        net = sample_chain(depth, width, batch, rng=s, upstream="logistic", bn_backward="simplified",
                           corr_features=0)
        net.run()
        lp, lpp = net.logistic_terms()
        w = lpp / lp**2
        vh, vg = [], []
        for n in range(depth):
            net.run(start=n, freeze=True)
            x, g = net.activations(n), net.grad
            sq = np.abs(g) * np.sqrt(w)[:, None]
            vh.append(float((x.var(0) * sq.var(0)).sum()))
            vg.append(float((x.var(0) * g.var(0)).sum()))
            if 0 < n < depth - 1:
                r = sq.var(0) / g.var(0)
                step_c.append(float(r.mean()))
                spread.append(float(r.std() / r.mean()))
        step_pred.append(float(np.mean(np.abs(w))))
        ratios_h += [vh[n] / vh[n + 1] for n in range(1, depth - 1)]
        ratios_g += [vg[n] / vg[n + 1] for n in range(1, depth - 1)]

    def est(v):
        return float(np.mean(v)), float(np.std(v, ddof=1) / math.sqrt(len(v)))

    return {"sqrt_h": est(ratios_h), "grad": est(ratios_g), "step29_measured": float(np.mean(step_c)),
            "step29_constant": float(np.mean(step_pred)), "unit_cv": float(np.median(spread)),
            "depth": depth, "width": width, "batch": batch, "nets": nets}


def pre_ln_transformer_factors(width, *, depth=12, tokens=16, batch=4, heads=4, mlp_ratio=4, rng, reps) -> dict:
    r"""Per-block factors of the squared input-gradient norm of a pre-LN transformer stack at
    initialisation: ``depth`` blocks :math:`h = x + \mathrm{Attn}(\mathrm{LN}(x))`,
    :math:`x' = h + \mathrm{MLP}_{\rm GELU}(\mathrm{LN}(h))` (random Q, K, V, PyTorch's default
    initialisation; the blocks of :func:`gradexp.torch.models.small_vit`), Gaussian tokens
    ``(batch, tokens, width)``, loss :math:`\langle r, x^{\rm depth}\rangle` with Gaussian r, float64.

    Returns per block n the mean and standard error over ``reps`` networks of
    :math:`\log(\|g^n\|^2/\|g^{n+1}\|^2)`, :math:`g^n = \partial L/\partial x^n` (Paik & Choi's
    'explosion rate' per block), and the same for the mean over blocks.
    """
    import torch  # lazy: torch only for this experiment

    from ..torch.models import small_vit

    logs = []
    for ss in spawn_seeds(rng, reps):
        seed = int(ss.generate_state(1)[0])
        torch.manual_seed(seed)
        blocks = small_vit(dim=width, depth=depth, heads=heads, mlp_ratio=mlp_ratio).blocks.double()
        g = torch.Generator().manual_seed(seed + 1)
        x = torch.randn(batch, tokens, width, dtype=torch.float64, generator=g).requires_grad_(True)
        outs, h = [x], x
        for b in blocks:
            h = b(h)
            h.retain_grad()
            outs.append(h)
        r = torch.randn(h.shape, dtype=torch.float64, generator=g)
        (h * r).sum().backward()
        n2 = np.array([float(o.grad.pow(2).sum()) for o in outs])
        logs.append(np.log(n2[:-1] / n2[1:]))
    logs = np.array(logs)
    per_net = logs.mean(axis=1)
    half = depth // 2
    drop = logs[:, :half].mean(axis=1) - logs[:, half:].mean(axis=1)
    return {"width": width, "depth": depth, "tokens": tokens, "batch": batch, "heads": heads, "reps": reps,
            "block_mean": logs.mean(axis=0), "block_se": logs.std(axis=0, ddof=1) / math.sqrt(reps),
            "mean": float(per_net.mean()), "stderr": float(per_net.std(ddof=1) / math.sqrt(reps)),
            "first_minus_second_half": float(drop.mean()),
            "first_minus_second_half_se": float(drop.std(ddof=1) / math.sqrt(reps))}
