"""Experiments for the effective-learning-rate papers: BN chains and ToyNets at initialization
(Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Secs. 3-4, Appendices B-C) and the ToyNet parts of
gradexp's own ELR results (``gx-elr-*``).

Each function takes its randomness as ``rng=`` (SPEC 7, one :class:`numpy.random.SeedSequence`
spawned into independent streams), returns plain data with standard errors, and is cheap to call
twice: the expensive simulators run through :func:`gradexp.sweep.cache.cached_call`.
"""

from __future__ import annotations

import math

import numpy as np

from .._random import as_seed_sequence
from .._validate import check_int, check_real
from ..sweep.cache import cached_call

#: the paper's simulated depth (ResNet56)
DEPTH = 56


def _mid(depth: int) -> tuple[int, int]:
    """Layers used for per-layer rates: away from the input and the output by ``depth``//6."""
    k = max(2, depth // 6)
    return k, depth - k


def _chain(*args, **kwargs):
    from ..mc.chain import simulate_chain

    return cached_call(simulate_chain, *args, **kwargs)


# ======================================================================= BN chains, eq. 8
def chain_growth_ladder(batch: int, widths, *, depth: int = DEPTH, reps: int = 4, rng=None) -> dict:
    r"""Per-layer growth of the squared weight-gradient norm :math:`\|\nabla W_\ell(0)\|_F^2` of a
    plain BN-ReLU chain (cross-entropy upstream) at one batch size over a ladder of widths.

    For each width ``reps`` chains; per chain the log-rate
    :math:`(\ln\|\nabla W_{lo}\| - \ln\|\nabla W_{hi}\|)/(hi - lo)` over the middle layers
    (``depth``//6 from either end); the squared-norm rate is :math:`e^{2\bar r}` with its standard
    error by the delta method. Returns ``{"widths", "rate", "se", "batch", "depth", "reps"}``.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 8; Yang et al. (2019), Thm 3.10.
    """
    widths = [check_int(d, "widths", lo=2) for d in widths]
    batch = check_int(batch, "batch", lo=4)
    seeds = as_seed_sequence(rng).spawn(len(widths))
    lo, hi = _mid(depth)
    rate, se = [], []
    for d, s in zip(widths, seeds):
        res = _chain(depth, d, batch, reps=reps, rng=s, upstream="cross_entropy", corr_features=0)
        lw = np.log(res.weight_grad_norms)
        per = (lw[:, lo] - lw[:, hi]) / (hi - lo)
        r = math.exp(2 * float(per.mean()))
        rate.append(r)
        se.append(r * 2 * float(per.std(ddof=1)) / math.sqrt(reps))
    return {"widths": widths, "rate": rate, "se": se, "batch": batch, "depth": depth, "reps": reps}


def extrapolate_in_width(ladder: dict) -> dict:
    r"""Weighted least-squares fit :math:`r(d) = r_\infty + a/d` of a :func:`chain_growth_ladder`;
    returns ``r_inf``, its standard error, ``a`` and the fit's :math:`\chi^2` per degree of freedom."""
    d = np.asarray(ladder["widths"], float)
    y, se = np.asarray(ladder["rate"]), np.asarray(ladder["se"])
    X = np.column_stack([np.ones_like(d), 1 / d]) / se[:, None]
    coef, *_ = np.linalg.lstsq(X, y / se, rcond=None)
    cov = np.linalg.inv(X.T @ X)
    dof = max(len(d) - 2, 1)
    chi2 = float(((X @ coef - y / se) ** 2).sum()) / dof
    return {"r_inf": float(coef[0]), "se": float(math.sqrt(cov[0, 0])), "a": float(coef[1]),
            "chi2_per_dof": chi2}


# ======================================================================= BN chains, eq. 9
def residual_chain_rates(*, depth: int = DEPTH, width: int = 128, batch: int = 128, reps: int = 4,
                         skips=(2, 3), rng=None) -> dict:
    r"""Per-layer growth of :math:`\|\nabla W_\ell(0)\|_F` in plain and residual BN chains.

    The plain chain gives :math:`\hat\alpha` (norm rate over the middle layers, with standard
    error); each residual chain (skip every ``s`` layers, branch sum scaled by
    :math:`1/\sqrt2`, the variance-preserving 'followed by a normalization layer' case, and by 1,
    ResNet-v1) gives the rate between its lowest and highest block-boundary layers, and the
    measured first/last ratio. Returns nested dicts keyed ``"plain"`` and ``"s=2, scale=1/sqrt2"`` ...

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 9.
    """
    seeds = as_seed_sequence(rng).spawn(1 + 2 * len(skips))
    plain = _chain(depth, width, batch, reps=reps, rng=seeds[0], corr_features=0)
    lo, hi = _mid(depth)
    lwp = np.log(plain.weight_grad_norms)
    per = (lwp[:, lo] - lwp[:, hi]) / (hi - lo)
    alpha = math.exp(float(per.mean()))
    out = {"plain": {"alpha": alpha, "se": alpha * float(per.std(ddof=1)) / math.sqrt(reps)},
           "depth": depth, "width": width, "batch": batch, "reps": reps}
    k = 1
    for s in skips:
        for scale, name in ((1 / math.sqrt(2.0), "1/sqrt2"), (1.0, "1")):
            res = _chain(depth, width, batch, reps=reps, rng=seeds[k], residual=s, residual_scale=scale,
                         corr_features=0)
            k += 1
            lw = np.log(res.weight_grad_norms)
            top = depth - 1 - ((depth - 1) % s)  # a block-boundary layer near the output
            bot = top - ((depth - 2) // s) * s + s
            rates = np.exp((lw[:, bot] - lw[:, top]) / (top - bot))
            mean = lw.mean(axis=0)
            out[f"s={s}, scale={name}"] = {"rate": float(rates.mean()),
                                          "se": float(rates.std(ddof=1) / math.sqrt(reps)),
                                          "first/last": float(math.exp(mean[0] - mean[-1])), "skip": s}
    return out


# ================================================================ BN chains, eqs. 1-2
def scale_invariance_chains(*, depth: int = 6, width: int = 24, batch: int = 32,
                            gammas=(0.01, 0.5, 3.0, 100.0), layer: int = 3, rng=None) -> dict:
    r"""Scale one layer's weights by :math:`\gamma` in sampled chains (BatchNorm and LayerNorm with
    their exact backward, BatchNorm with the statistics held constant, no normalization) and
    record :math:`\max|\cos(\nabla W, W)|` over layers and, for each power :math:`p \in \{0,1,2\}`,
    :math:`\max_\gamma \|\gamma^p \nabla W(\gamma W) - \nabla W(W)\|_\infty / \|\nabla W(W)\|_\infty`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3, eqs. 1-2.
    """
    from ..mc.chain import sample_chain

    seeds = as_seed_sequence(rng).spawn(4)
    out = {"gammas": list(gammas)}
    for label, kw, s in (("batch_full", {"norm": "batch"}, seeds[0]),
                         ("layer_full", {"norm": "layer"}, seeds[1]),
                         ("batch_simplified", {"norm": "batch", "bn_backward": "simplified"}, seeds[2]),
                         ("none", {"norm": "none"}, seeds[3])):
        net = sample_chain(depth, width, batch, rng=s, upstream="cross_entropy", activation="relu",
                           corr_features=0, **kw)
        net.run()
        g0 = net.grad.copy()
        dws = {n: v.copy() for n, v in net.weight_grads.items()}
        cos = max(abs(float((dws[n] * net.weights[n]).sum()))
                  / (np.linalg.norm(dws[n]) * np.linalg.norm(net.weights[n])) for n in range(depth))
        dev = {p: 0.0 for p in (0, 1, 2)}
        worst_input = 0.0
        for gm in gammas:
            net.weights[layer][:] *= gm
            net.run()
            for p, v in dev.items():
                dev[p] = max(v, float(np.abs(net.weight_grads[layer] * gm ** p - dws[layer]).max()
                                           / np.abs(dws[layer]).max()))
            worst_input = max(worst_input, float(np.abs(net.grad - g0).max() / np.abs(g0).max()))
            net.weights[layer][:] /= gm
        out[label] = {"max_abs_cos": cos, "scale_dev_by_power": {str(p): v for p, v in dev.items()},
                      "max_rel_change_input_grad": worst_input}
    return out


# ======================================================================== ToyNet: eq. 3
def toynet_step_increments(lrs=(0.01, 0.1, 1.0), *, depth: int = 10, width: int = 32, batch: int = 64,
                           steps: int = 5, rng=None) -> dict:
    r"""SGD steps of a ToyNet with exact BN gradients: for each learning rate the measured
    increments :math:`\|W_\ell(t+\lambda)\|_F^2 - \|W_\ell(t)\|_F^2` summed over layers and steps,
    the same sum of :math:`\lambda^2\|\nabla W_\ell(t)\|_F^2` (eq. 3's right-hand side), and the
    largest per-step relative discrepancy :math:`|\Delta - \lambda^2\|\nabla W\|^2| / \|W(t+\lambda)\|^2`.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 3.
    """
    from ..mc.training import train_toynet

    seeds = as_seed_sequence(rng).spawn(len(lrs))
    out = {"lrs": [float(x) for x in lrs], "measured": [], "eq3": [], "max_rel_dev": [],
           "toynet": f"depth {depth}, width {width}, batch {batch}, {steps} SGD steps"}
    for lr, s in zip(lrs, seeds):
        run = cached_call(train_toynet, depth, width, float(lr), steps, batch=batch, rng=s)
        inc = run.weight_sq[1:] - run.weight_sq[:-1]
        pred = lr ** 2 * run.grad_sq[:-1]
        out["measured"].append(float(inc.sum()))
        out["eq3"].append(float(pred.sum()))
        out["max_rel_dev"].append(float(np.max(np.abs(inc - pred) / run.weight_sq[1:])))
    return out


# ====================================================================== ToyNet: eval mode
def _bn_eval(h, mean, var, eps):
    return (h - mean) / np.sqrt(var + eps)


def eval_mode_rescale(*, depth: int = 4, width: int = 32, batch: int = 128, n_batches: int = 50,
                      eps: float = 1e-5, momentum: float = 0.1, rng=None) -> dict:
    r"""Output change of a BN network in evaluation mode after the weight rescaling of eq. 14.

    A He-initialized ToyNet whose BatchNorm layers keep PyTorch-style running statistics
    (``momentum`` 0.1, unbiased variance, ``eps`` inside the square root) accumulated over
    ``n_batches`` training batches; then :math:`W \leftarrow W/\hat W`,
    :math:`\hat W = \max_\ell \|W_\ell\|_F`, with the running mean divided by :math:`\hat W`
    (the paper's recipe), with the running variance also divided by :math:`\hat W^2`, and with
    neither. Returns the relative change :math:`\max|f_{new} - f| / \max|f|` of the evaluation
    output on a held-out batch for each recipe, the batch-statistics (training-mode) change, the
    training-mode change of the unrescaled network with ``eps`` replaced by :math:`\epsilon \hat W^2`
    (eps's effect alone: BatchNorm of :math:`h/\hat W` with :math:`\epsilon` is BatchNorm of :math:`h`
    with :math:`\epsilon \hat W^2`), its first-order size
    :math:`\epsilon(\hat W^2 - 1)/(2\,\overline{\mathrm{Var}}(h_L))` (last layer's mean pre-activation
    variance), the training-mode change at :math:`\epsilon = 0`, and the change of the same ReLU
    network without normalization.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.5, eq. 14 and the sentence after it.
    """
    from ..mc.training import init_toynet, make_synthetic_data

    depth = check_int(depth, "depth", lo=1)
    eps = float(check_real(eps, "eps", lo=0.0))
    s_net, s_data, s_test = as_seed_sequence(rng).spawn(3)
    net = init_toynet(depth, width, rng=s_net)
    data_rng = np.random.default_rng(s_data)
    means = np.zeros((depth, width))
    vars_ = np.ones((depth, width))
    for _ in range(n_batches):
        a = data_rng.standard_normal((batch, width))
        for ell, W in enumerate(net.weights):
            h = a @ W.T
            m, v = h.mean(axis=0), h.var(axis=0, ddof=1)
            means[ell] = (1 - momentum) * means[ell] + momentum * m
            vars_[ell] = (1 - momentum) * vars_[ell] + momentum * v
            a = np.maximum((h - m) / np.sqrt(h.var(axis=0) + eps), 0.0)
    x, _ = make_synthetic_data(batch, width, rng=s_test)

    def evaluate(weights, mu, var):
        a = x
        for ell, W in enumerate(weights):
            a = np.maximum(_bn_eval(a @ W.T, mu[ell], var[ell], eps), 0.0)
        return a @ net.head.T

    def train_mode(weights, eps_=eps, var_out=None):
        a = x
        for W in weights:
            h = a @ W.T
            if var_out is not None:
                var_out.append(h.var(axis=0))
            a = np.maximum((h - h.mean(axis=0)) / np.sqrt(h.var(axis=0) + eps_), 0.0)
        return a @ net.head.T

    w_hat = float(np.sqrt((net.weights ** 2).sum(axis=(1, 2))).max())
    W2 = net.weights / w_hat
    f0 = evaluate(net.weights, means, vars_)
    scale = float(np.max(np.abs(f0)))

    def rel(f):
        return float(np.max(np.abs(f - f0)) / scale)

    pre_var: list = []
    t0 = train_mode(net.weights, var_out=pre_var)

    def plain(weights):
        a = x
        for W in weights:
            a = np.maximum(a @ W.T, 0.0)
        return a @ net.head.T

    p0 = plain(net.weights)
    return {"no_normalization": float(np.max(np.abs(plain(W2) - p0)) / np.max(np.abs(p0))),"W_hat": w_hat, "eps": eps, "depth": depth, "width": width, "batch": batch,
            "mean_only": rel(evaluate(W2, means / w_hat, vars_)),
            "mean_and_variance": rel(evaluate(W2, means / w_hat, vars_ / w_hat ** 2)),
            "no_statistics": rel(evaluate(W2, means, vars_)),
            "train_mode": float(np.max(np.abs(train_mode(W2) - t0)) / np.max(np.abs(t0))),
            # the same network unrescaled with eps -> eps W_hat^2: eps's effect alone (BN of h/W_hat with eps
            # is BN of h with eps W_hat^2)
            "train_mode_eps_only": float(np.max(np.abs(train_mode(net.weights, eps * w_hat ** 2) - t0))
                                         / np.max(np.abs(t0))),
            "train_mode_eps_first_order": float(eps * (w_hat ** 2 - 1) / (2 * np.mean(pre_var[-1]))),
            "train_mode_eps0": float(np.max(np.abs(train_mode(W2, 0.0) - train_mode(net.weights, 0.0)))
                                     / np.max(np.abs(t0)))}


# ======================================================================== ToyNet: Fig. 10
def toynet_fig10(*, depth: int = 50, width: int = 32, batch: int = 64, runs: int = 2,
                 lrs=(("low", 1e-3), ("high", 1.0)), steps: int = 30, rng=None) -> dict:
    r"""The paper's Figure 10 experiment: ``runs`` ToyNets trained with SGD at a low and a high
    constant learning rate (the same networks for both), the discrete model fitted to their
    initial norms (:func:`gradexp.mc.training.compare_with_model`), and the minibatch noise floor.

    Returns per arm the Spearman correlation of E(0) and E(1) over layers (measured and model,
    averaged over runs, with its standard error over runs), the spread of the ELRs over layers
    (the standard deviation over layers 2..L of log E, measured and model) at steps 0, 5 and
    ``steps`` with standard errors over runs, its drop from step 0 to ``steps`` (per run, then
    mean and standard error) and the measured drop's excess over the model's (paired over runs), the mean absolute log E error of the model at steps 1, 5, ``steps`` with
    standard errors, the largest Pythagoras residual and the loss; and the noise floor (mean,
    standard error).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1, Figure 10.
    """
    from scipy.stats import spearmanr

    from ..mc.training import (
        compare_with_model,
        fit_discrete_model,
        minibatch_noise_floor,
        train_toynet,
    )

    s_runs, s_floor = as_seed_sequence(rng).spawn(2)
    seeds = s_runs.spawn(runs)
    out = {"toynet": f"depth {depth}, width {width}, batch {batch}, {runs} runs, {steps} SGD steps"}
    for name, lr in lrs:
        rs = [cached_call(train_toynet, depth, width, lr, steps, batch=batch, rng=s) for s in seeds]
        cmp = compare_with_model(rs)
        rho = [float(spearmanr(r.elr[0, 1:], r.elr[1, 1:])[0]) for r in rs]
        at = (0, 5, steps)
        sm = np.array([[np.std(np.log(r.elr[k, 1:])) for k in at] for r in rs])
        sp = np.array([[np.std(np.log(m.elr[k])) for k in at] for m in (fit_discrete_model(r) for r in rs)])

        def _se(a):
            return (np.std(a, axis=0, ddof=1) / math.sqrt(len(a))) if len(a) > 1 else np.zeros(np.shape(a)[1:])

        out[name] = {
            "spread_steps": list(at),
            "spread_measured": sm.mean(axis=0).tolist(), "spread_measured_se": _se(sm).tolist(),
            "spread_model": sp.mean(axis=0).tolist(), "spread_model_se": _se(sp).tolist(),
            "spread_drop_measured": [float(np.mean(sm[:, 0] - sm[:, -1])), float(_se(sm[:, 0] - sm[:, -1]))],
            "spread_drop_model": [float(np.mean(sp[:, 0] - sp[:, -1])), float(_se(sp[:, 0] - sp[:, -1]))],
            "spread_drop_excess": [float(np.mean(sm[:, 0] - sm[:, -1] - sp[:, 0] + sp[:, -1])),
                                   float(_se(sm[:, 0] - sm[:, -1] - sp[:, 0] + sp[:, -1]))],
            "spearman_runs": [float(np.mean(rho)), float(_se(np.array(rho)))],
            "lr": lr, "flip_measured": float(cmp["flip_measured"]), "flip_model": float(cmp["flip_model"]),
            "spearman_runs_se": float(np.std(rho, ddof=1) / math.sqrt(len(rho))) if len(rho) > 1 else 0.0,
            "log_err": [float(cmp["log_err"][k]) for k in (1, 5, steps)],
            "log_err_se": [float(cmp["log_err_se"][k]) for k in (1, 5, steps)],
            "pythagoras_max_rel_err": max(float(np.max(np.abs(r.weight_sq[1:] - r.weight_sq[:-1]
                                                              - lr ** 2 * r.grad_sq[:-1]) / r.weight_sq[1:]))
                                          for r in rs),
            "loss_first_last": [float(rs[0].loss[0]), float(rs[0].loss[-1])]}
    floor = cached_call(minibatch_noise_floor, depth, width, batch, reps=runs, rng=s_floor)
    out["noise_floor"] = [float(floor.mean), float(floor.stderr)]
    return out


# ================================================================== ToyNet: growth rates
def toynet_growth_rate(*, depth: int, width: int, batch: int, reps: int, rng=None) -> dict:
    r"""Per-layer growth of :math:`\|\nabla W_\ell(0)\|_F` in He-initialized ToyNets
    (:func:`gradexp.mc.training.gradient_growth_rate`): mean and standard error over networks of the
    norm rate and of the squared-norm rate.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 8 and Appendix C (ToyNet setup).
    """
    from ..mc.training import gradient_growth_rate

    res = cached_call(gradient_growth_rate, depth, width, batch, reps=reps, rng=as_seed_sequence(rng))
    return {"norm": [float(res["norm"].mean), float(res["norm"].stderr)],
            "squared": [float(res["squared"].mean), float(res["squared"].stderr)],
            "depth": depth, "width": width, "batch": batch, "reps": reps}


# ================================================================ gradexp's own: gx-elr-*
def _est(samples) -> list:
    from ..mc._estimate import estimate

    e = estimate(np.asarray(samples, float))
    return [float(e.mean), float(e.stderr), int(e.n)]


def toynet_wd_equilibrium(*, lr: float = 0.5, weight_decay: float = 0.01, steps: int = 900, reps: int = 2,
                          layers=slice(1, None), rng=None) -> dict:
    r"""ToyNets (depth 10, width 32, batch 64) trained with SGD and coupled weight decay: over the last
    third of the steps, the mean relative update :math:`\lambda\|\Delta W\|/\|W\|` (to compare with
    the equilibrium :math:`\sqrt{2\lambda\beta}`), the spread over layers of its log and of
    :math:`\log(\lambda/\|W\|^2)`, and the slope of :math:`\log\|W_\ell\|^2` on :math:`\log c_\ell`
    (1 at the fixed point). Each entry is ``[mean, stderr, n]`` over runs.

    References
    ----------
    Wan et al. (2021), Thm 1 (angular update); Mehmeti-Göpel & Wand [mehmeti-gopel-wand], eq. 4.
    """
    from ..mc.training import train_toynet

    window = slice(steps * 2 // 3, steps)
    ratios, spread_ru, spread_lr, slopes = [], [], [], []
    for s in as_seed_sequence(rng).spawn(reps):
        run = cached_call(train_toynet, 10, 32, lr, steps, batch=64, weight_decay=weight_decay, rng=s)
        r = run.relative_update[window, layers]
        ratios.append(float(np.mean(r)))
        cbar = np.mean(np.sqrt(run.grad_sq[window, layers] * run.weight_sq[window, layers]), axis=0)
        slopes.append(float(np.polyfit(np.log(cbar), np.log(np.mean(run.weight_sq[window, layers], axis=0)), 1)[0]))
        spread_ru.append(float(np.mean(np.std(np.log(r), axis=1))))
        spread_lr.append(float(np.mean(np.std(np.log(lr / run.weight_sq[window, layers]), axis=1))))
    return {"toynet": f"depth 10, width 32, batch 64, lr {lr}, weight_decay {weight_decay}, {steps} steps, {reps} runs",
            "toynet_lr,wd": [lr, weight_decay], "toynet_mean_relative_update_last_third": _est(ratios),
            "toynet_sd_log_relative_update_over_layers": _est(spread_ru),
            "toynet_sd_log_lr_over_weight_sq_over_layers": _est(spread_lr),
            "toynet_slope_log_weight_sq_vs_log_c": _est(slopes)}


def toynet_one_step_widening(lrs, *, reps: int, layers=slice(1, None), rng=None) -> dict:
    r"""One SGD step from initialization of the same ToyNets (depth 30, width 32, batch 64) at each
    rate of ``lrs``: the change of :math:`\mathrm{sd}_\ell(\log E)` in that step, minus the change at
    the smallest rate (where the weights barely move and only the minibatch changes); mean and
    standard error over networks, per rate.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.1 (the first step).
    """
    from ..mc._estimate import estimate
    from ..mc.training import train_toynet_arms

    lrs = [float(x) for x in lrs]
    arms = cached_call(train_toynet_arms, 30, 32, {x: x for x in lrs}, 1, reps=reps, rng=rng, batch=64)
    dS = {lam: [float(np.std(np.log(r.elr[1, layers])) - np.std(np.log(r.elr[0, layers]))) for r in runs]
          for lam, runs in arms.items()}
    base = dS[lrs[0]]
    diffs = [estimate(np.array(dS[x]) - np.array(base)) for x in lrs[1:]]
    return {"lrs": lrs[1:], "mean": [float(d.mean) for d in diffs], "se": [float(d.stderr) for d in diffs]}


def toynet_momentum_threshold(*, reps: int, lam0: float = 0.03, k: int = 3, mu: float = 0.9,
                              layers=slice(1, None), rng=None) -> dict:
    r"""Momentum ToyNets (depth 20, width 32, batch 64) after ``k`` steps at ``lam0``: the critical rate
    of :func:`gradexp.theory.elr.critical_lr` from the measured state, then one step at half and at
    twice that rate from the same state; counts of narrowed / widened :math:`\ln(E_{max}/E_{min})`.

    References
    ----------
    gradexp, issue 12.3 (critical learning rate with momentum).
    """
    from .. import optim as o
    from ..mc.training import train_toynet
    from ..theory import elr

    opt = o.Optimizer(momentum=mu)
    below = above = n = 0
    crit = []
    for s in as_seed_sequence(rng).spawn(reps):
        base = cached_call(train_toynet, 20, 32, lam0, k, batch=64, optimizer=opt, rng=s)
        A, G = base.weight_sq[k, layers], base.grad_sq[k, layers]
        lc = float(elr.critical_lr(A, G, buffer_sq=base.buffer_sq[k, layers],
                                   weight_buffer_dot=base.weight_buffer_dot[k, layers], momentum=mu))
        if not 0 < lc < math.inf:
            continue
        n += 1
        crit.append(lc)
        S = float(elr.log_spread(np.sqrt(G / A)))
        for f in (0.5, 2.0):
            run = cached_call(train_toynet, 20, 32, np.r_[np.full(k, lam0), f * lc], k + 1, batch=64,
                              optimizer=opt, rng=s)
            dS = float(elr.log_spread(run.elr[k + 1, layers])) - S
            below += f < 1 and dS < 0
            above += f > 1 and dS > 0
    return {"toynet_momentum": f"depth 20, width 32, batch 64, mu {mu}, {k} steps at {lam0}, {reps} runs",
            "toynet_momentum_states_with_finite_threshold": n, "toynet_momentum_thresholds": crit,
            "toynet_momentum_half_rate_narrowed": int(below), "toynet_momentum_double_rate_widened": int(above)}


def toynet_warmup_arms(*, target: float = 5.0, steps: int = 40, reps: int = 4, layers=slice(1, None),
                       rng=None) -> dict:
    r"""The same ToyNets (depth 30, width 32, batch 64) trained towards ``target`` with no warm-up, a
    linear 20-step warm-up and the equalizing warm-up: per arm ``[mean, stderr, n]`` of the mean
    :math:`\mathrm{sd}_\ell(\log E)` over steps 1-10 and of the final loss.

    References
    ----------
    gradexp, issue 12.4 (equalizing warm-up); Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 4.4.
    """
    from .. import optim as o
    from ..mc.training import train_toynet_arms

    arms = {"none": target, "linear20": o.LinearWarmup(target, 20), "equalizing": o.EqualizingWarmup(target, layers=layers)}
    runs = cached_call(train_toynet_arms, 30, 32, arms, steps, reps=reps, rng=rng, batch=64)
    out = {"toynet": f"depth 30, width 32, batch 64, target lr {target}, {steps} steps, {reps} runs"}
    for name, rs in runs.items():
        out[f"toynet_{name}_sd_log_E_steps_1-10"] = _est([np.mean(np.std(np.log(r.elr[1:11, layers]), axis=1))
                                                          for r in rs])
        out[f"toynet_{name}_final_loss"] = _est([r.loss[-1] for r in rs])
    return out
