r"""Measurements of the finite-width correction a(B) of the BatchNorm explosion factor.

The per-layer factor of a BN chain at width d is written
:math:`\lambda(B, d) = \lambda(B)\,(1 + a(B)/d + b(B)/d^2 + \dots)`, with :math:`\lambda(B)` the
exact infinite-width factor of :func:`gradexp.theory.finite_size.finite_batch_factor`.
:func:`width_point` measures :math:`\lambda(B, d)` from sampled chains
(:func:`gradexp.mc.simulate_chain`) as the Lyapunov rate: ``exp`` of the mean per-layer increment
of :math:`\log\|g^n\|^2`, over layers ``burn`` … ``depth − tail`` (the output end is discarded
because the upstream gradient is not at its stationary law, the input end because the forward
law needs ``burn`` layers to reach its finite-width stationary law: :func:`burn_in_profile`).
The standard error is the between-repetition error of the per-repetition mean (honest under
the long layer-to-layer correlations of the batch Gram matrix at large B).
:func:`fit_a` fits :math:`d\,(\lambda(B, d)/\lambda(B) - 1) = a + b/d` by weighted least squares
with :math:`\lambda(B)` fixed to the exact value.

Every call goes through :func:`gradexp.sweep.cache.cached_call` in :func:`measure_table`, so a
rerun reads the store.
"""

from __future__ import annotations

import math

import numpy as np

from ..sweep.cache import cached_call
from ..theory.finite_size import finite_batch_factor

__all__ = ["width_point", "burn_in_profile", "fit_a", "measure_table", "table_source", "pooled_point",
           "identity_simplified_regime", "REGIME_WIDTHS", "TABLE_RECIPE"]


def _chain():
    from ..mc import chain  # numba only when an experiment runs

    return chain


def width_point(batch, width, activation="relu", *, bn_backward="full", depth=60, burn=30,
                tail=5, reps=16, seed=0) -> dict:
    r"""Sampled Lyapunov factor :math:`\lambda(B, d)` of one (batch, width) cell.

    Returns ``{"factor", "stderr", "log_factor", "log_stderr", "var_inc", "layers", "reps"}``:
    ``log_factor`` is the mean over repetitions and layers ``burn`` … ``depth − tail − 1`` of the
    increment :math:`\log\|g^n\|^2 - \log\|g^{n+1}\|^2`, ``log_stderr`` the standard error of
    the mean of the per-repetition means, ``factor = exp(log_factor)`` and ``var_inc`` the
    variance of one increment (pooled), from which the gap between the Lyapunov rate and the
    growth of the *mean* squared norm, :math:`\approx` ``var_inc``/2 per layer for weakly
    correlated increments, can be judged.
    """
    res = _chain().simulate_chain(depth, width, batch, activation=activation,
                                  bn_backward=bn_backward, reps=reps, rng=seed,
                                  corr_features=0, weight_grads=False)
    g = 2.0 * np.log(res.grad_norms)
    inc = g[:, burn:depth - tail] - g[:, burn + 1:depth - tail + 1]
    per_rep = inc.mean(axis=1)
    mean = float(per_rep.mean())
    se = float(per_rep.std(ddof=1)) / math.sqrt(reps)
    f = math.exp(mean)
    return {"factor": f, "stderr": f * se, "log_factor": mean, "log_stderr": se,
            "var_inc": float(inc.var(ddof=1)), "layers": int(inc.shape[1]), "reps": int(reps)}


def burn_in_profile(batch, width, activation="relu", *, depth=60, reps=16, seed=0) -> dict:
    r"""Forward law against depth: mean :math:`|\cos|` between samples of :math:`x^n` and the
    stable rank of the batch Gram matrix, per layer, with standard errors over repetitions.

    The chain starts from i.i.d. Gaussian inputs, whose Gram matrix fluctuates less than the
    stationary finite-width law of the BN chain; the burn-in is enough once these curves are
    flat within their errors.
    """
    res = _chain().simulate_chain(depth, width, batch, activation=activation, reps=reps,
                                  rng=seed, corr_features=0, weight_grads=False, stats="gram")
    out = {"batch": int(batch), "width": int(width), "activation": activation, "reps": int(reps)}
    for name in ("gram_cos", "stable_rank"):
        v = getattr(res, name)
        out[name] = v.mean(axis=0)
        out[name + "_se"] = v.std(axis=0, ddof=1) / math.sqrt(reps)
    return out


def fit_a(widths, factors, stderrs, lam_inf, *, order=2) -> dict:
    r"""Weighted fit of :math:`y_d = d\,(\lambda_d/\lambda_\infty - 1) = a + b/d` (``order=2``)
    or :math:`= a` (``order=1``), :math:`\lambda_\infty` exact; returns a, its standard error,
    b, its error, χ² and the degrees of freedom."""
    d = np.asarray(widths, float)
    y = d * (np.asarray(factors, float) / lam_inf - 1.0)
    se = d * np.asarray(stderrs, float) / lam_inf
    X = np.ones((d.size, 1)) if order == 1 else np.column_stack([np.ones(d.size), 1.0 / d])
    w = 1.0 / se
    A, rhs = X * w[:, None], y * w
    coef, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    chi2 = float(((A @ coef - rhs) ** 2).sum())
    out = {"a": float(coef[0]), "a_se": float(math.sqrt(cov[0, 0])), "chi2": chi2,
           "dof": int(d.size - X.shape[1]), "y": y, "y_se": se}
    if order == 2:
        out.update(b=float(coef[1]), b_se=float(math.sqrt(cov[1, 1])))
    return out


#: the recipe of the measured table (the arguments of :func:`measure_table`)
TABLE_RECIPE = dict(batches=(8, 16, 32, 64), widths=(64, 128, 256, 512),
                    activations=("identity", "relu"), backwards=("full", "simplified"),
                    depth=70, burn=40, tail=5, seed=2323, target=1 << 21)


def _reps(batch, width, target):
    """Repetitions for about equal precision of y_d = d(λ_d/λ − 1) per cell: Var y_d ∝ d/(B reps)."""
    return int(min(64, max(8, math.ceil(target / (batch * width) * width / 64))))


def _cell_seed(seed, activation, backward, batch, width) -> int:
    """One stream per cell, named by the cell (independent of the grid it is measured in)."""
    key = [int(seed), sum(map(ord, activation)), sum(map(ord, backward)), int(batch), int(width)]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def measure_table(batches=TABLE_RECIPE["batches"], widths=TABLE_RECIPE["widths"],
                  activations=TABLE_RECIPE["activations"], backwards=TABLE_RECIPE["backwards"], *,
                  depth=TABLE_RECIPE["depth"], burn=TABLE_RECIPE["burn"], tail=TABLE_RECIPE["tail"],
                  seed=TABLE_RECIPE["seed"], target=TABLE_RECIPE["target"], order=2,
                  progress=None) -> list[dict]:
    """a(B) per (activation, backward, batch): :func:`width_point` at every width (cached), then
    :func:`fit_a`. Rows carry the per-width factors so the fit can be redone."""
    rows = []
    cells = [(a, k, B) for a in activations for k in backwards for B in batches]
    for act, bk, B in cells:
        lam = float(finite_batch_factor(B, act, bn_backward=bk))
        F, S, V = [], [], []
        for d in widths:
            s = _cell_seed(seed, act, bk, B, d)
            r = cached_call(width_point, int(B), int(d), act, bn_backward=bk, depth=depth,
                            burn=burn, tail=tail, reps=_reps(B, d, target) // 8 * 8 or 8, seed=s)
            F.append(r["factor"])
            S.append(r["stderr"])
            V.append(r["var_inc"])
            if progress:
                progress(act, bk, B, d, r)
        fit = fit_a(widths, F, S, lam, order=order)
        rows.append(dict(activation=act, backward=bk, batch=int(B), lam=lam,
                         widths=list(widths), factors=F, stderrs=S, var_inc=V, **fit))
    return rows


def table_source(rows) -> str:
    """The ``MEASURED = {...}`` literal of :mod:`gradexp.theory.finite_width` from
    :func:`measure_table` rows (generated data: paste between the markers, do not edit)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["activation"], r["backward"]), {})[r["batch"]] = tuple(
            float(f"{v:.4g}") for v in (r["a"], r["a_se"], r["b"], r["b_se"], r["chi2"])) + (r["dof"],)
    lines = ["MEASURED: dict = {"]
    for key, tab in groups.items():
        lines.append(f"    {key!r}: {{")
        for B, v in sorted(tab.items()):
            lines.append(f"        {B}: {v!r},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines)


def pooled_point(batch, width, activation="identity", *, bn_backward="simplified", calls=1,
                 reps=64, seed=TABLE_RECIPE["seed"]) -> dict:
    """:func:`width_point` (cached) over ``calls`` independent streams of ``reps`` chains each,
    pooled by inverse-variance weights of the log factor (the cells of :func:`measure_table`
    are the first stream)."""
    R = TABLE_RECIPE
    logs, ses = [], []
    for k in range(calls):
        r = cached_call(width_point, int(batch), int(width), activation, bn_backward=bn_backward,
                        depth=R["depth"], burn=R["burn"], tail=R["tail"], reps=reps,
                        seed=_cell_seed(seed + k, activation, bn_backward, batch, width))
        logs.append(r["log_factor"])
        ses.append(r["log_stderr"])
    w = 1.0 / np.square(ses)
    m = float((w * np.array(logs)).sum() / w.sum())
    se = float(1.0 / math.sqrt(w.sum()))
    return {"factor": math.exp(m), "stderr": math.exp(m) * se, "reps": reps * calls}


#: widths of the test of the derived identity/simplified coefficient: d ≥ B² (the regime of the
#: expansion, d ≫ B²/4), as (width, calls); a call has 64 repetitions below d = 1024, 32 at
#: d = 1024 and 16 at d = 2048
REGIME_WIDTHS = {8: ((64, 1), (128, 1), (256, 1), (512, 1), (1024, 2)),
                 16: ((256, 1), (512, 1), (1024, 2), (2048, 1))}


def identity_simplified_regime(batch) -> dict:
    """a(B) of the identity activation with the frozen backward, fitted (a + b/d) over the widths
    of :data:`REGIME_WIDTHS` (d ≥ B²), with the per-width factors."""
    cells = REGIME_WIDTHS[int(batch)]
    lam = float(finite_batch_factor(int(batch), "identity", bn_backward="simplified"))
    pts = [pooled_point(batch, d, calls=c, reps=64 if d < 1024 else 32 * 1024 // d)
           for d, c in cells]
    widths = [d for d, _ in cells]
    fit = fit_a(widths, [p["factor"] for p in pts], [p["stderr"] for p in pts], lam)
    return {"batch": int(batch), "widths": widths, "lam": lam,
            "factors": [p["factor"] for p in pts], "stderrs": [p["stderr"] for p in pts], **fit}
