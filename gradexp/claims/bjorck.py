"""Claims of Bjorck, Gomes & Selman, *Understanding Batch Normalization* (``bjorck-gomes-selman``).

SGD noise (eq. 2), the singular-value law of products of Gaussian matrices (Theorem 1,
Appendix D eqs. 9-10), the growth of the largest singular value and of the condition number
with depth (Sec. 4, Appendix E, Figures 11-12) and linear networks as linear systems
(Appendix C). Each check computes its evidence when run; nothing here stores a verdict.

The mpmath oracles (``mp_fc_*``) evaluate eqs. 9-10 literally at high precision; the tests
of :mod:`gradexp.theory.rmt` use them too.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

from ..theory.rmt import (
    fuss_catalan_cdf,
    fuss_catalan_edge,
    fuss_catalan_moment,
    fuss_catalan_pdf,
    fuss_catalan_ppf,
    fuss_catalan_x,
    ginibre_lyapunov_exponents,
)
from ._common import memo_call as _memo, sig as _sig
from ._ledger import FAILS, HOLDS, HOLDS_LOOSELY, Verdict, claim

PAPER = "bjorck-gomes-selman"
MS = (1, 2, 3, 4, 5, 6)


# --------------------------------------------------------------------------- mpmath oracles
def _mp_edge(M):
    return mp.mpf(M + 1) ** (M + 1) / mp.mpf(M) ** M


def mp_fc_x_phi(phi, M):
    """Eq. 9 literally: x(phi) = sin^{M+1}((M+1)phi) / (sin(phi) sin^M(M phi))."""
    phi = mp.mpf(phi)
    return mp.sin((M + 1) * phi) ** (M + 1) / (mp.sin(phi) * mp.sin(M * phi) ** M)


def mp_fc_x_eps(eps, M):
    """Eq. 9 at phi = pi/(M+1) - eps, written in eps (exact identities, no cancellation)."""
    a = mp.pi / (M + 1)
    return mp.sin((M + 1) * eps) ** (M + 1) / (mp.sin(a - eps) * mp.sin(a + M * eps) ** M)


def mp_fc_solve(x, M, dps=60):
    """(phi, eps) with x(phi) = x and phi + eps = pi/(M+1), by bisection in log space."""
    with mp.workdps(dps):
        x = mp.mpf(x)
        a = mp.pi / (M + 1)
        small = x < _mp_edge(M) / 2
        if small:
            f = lambda t: mp.log(mp_fc_x_eps(mp.exp(t), M) / x)  # increasing
            lo, hi = mp.log(mp.mpf(10) ** -400), mp.log(a)
        else:
            f = lambda t: -mp.log(mp_fc_x_phi(mp.exp(t), M) / x)  # increasing
            lo, hi = mp.log(mp.mpf(10) ** -100), mp.log(a)
        for _ in range(int(3.4 * dps) + 20):  # cannot fail: f is monotone
            mid = (lo + hi) / 2
            if f(mid) > 0:
                hi = mid
            else:
                lo = mid
        u = mp.exp((lo + hi) / 2)
        return (a - u, u) if small else (u, a - u)


def mp_fc_pdf(x, M, dps=60):
    """Eq. 10 literally at x(phi) = x (sin((M+1)phi) = sin((M+1)eps) exactly)."""
    with mp.workdps(dps):
        phi, eps = mp_fc_solve(x, M, dps)
        return mp.sin((M + 1) * eps) * mp.sin(phi) / mp.sin(M * phi) / (mp.pi * mp.mpf(x))


def _mp_g(t, M):
    """rho(x(t)) |dx/dt| by the chain rule: -h(t) d log x/dt (no closed-form CDF used)."""
    h = mp.sin((M + 1) * t) * mp.sin(t) / mp.sin(M * t) / mp.pi
    return -h * ((M + 1) ** 2 * mp.cot((M + 1) * t) - mp.cot(t) - M**2 * mp.cot(M * t))


def _mp_g_eps(e, M):
    a = mp.pi / (M + 1)
    s1, s2, s3 = mp.sin((M + 1) * e), mp.sin(a - e), mp.sin(a + M * e)
    h = s1 * s2 / s3 / mp.pi
    return h * ((M + 1) ** 2 * mp.cot((M + 1) * e) + mp.cot(a - e) - M**2 * mp.cot(a + M * e))


def mp_fc_cdf(x, M, dps=40):
    """F(x) = integral of rho dx along eq. 9, by mpmath quadrature in eps (rescaled to [0, 1])."""
    with mp.workdps(dps):
        _, eps = mp_fc_solve(x, M, dps + 10)
        return eps * mp.quad(lambda u: _mp_g_eps(eps * u, M), [0, 1])


def mp_fc_sf(x, M, dps=40):
    """1 - F(x) by quadrature in phi over [0, phi(x)]."""
    with mp.workdps(dps):
        phi, _ = mp_fc_solve(x, M, dps + 10)
        return phi * mp.quad(lambda u: _mp_g(phi * u, M), [0, 1])


def mp_fc_moment(k, M, dps=30):
    """int x^k rho(x) dx over the parametrisation (eqs. 9-10), by quadrature in phi."""
    with mp.workdps(dps):
        a = mp.pi / (M + 1)
        return mp.quad(lambda t: mp_fc_x_phi(t, M) ** k * _mp_g(t, M), [0, a / 2, a])


def mp_product_singular_values(factors, dps):
    """Singular values (descending, mpf) of W_M ... W_1 computed in mpmath at ``dps`` digits."""
    with mp.workdps(dps):
        P = mp.eye(factors[0].shape[0])
        for W in factors:
            P = mp.matrix(np.asarray(W).tolist()) * P
        return sorted(mp.svd_r(P, compute_uv=False), reverse=True)


# --------------------------------------------------------------------------- shared samples
def _ks(x, M, scale=1.0) -> float:
    """Kolmogorov-Smirnov distance between the empirical law of x and Fuss-Catalan(M)."""
    x = np.sort(np.asarray(x, dtype=float).ravel())
    n = x.size
    F = fuss_catalan_cdf(x, M, scale=scale)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def _ladder(fast: bool) -> tuple[tuple[int, int], ...]:
    """(N, reps) rungs; fast: N <= 200, full: N up to 1000."""
    if fast:
        return ((50, 6), (100, 4), (200, 3))
    return ((125, 6), (250, 4), (500, 3), (1000, 2))


def _fc_samples(fast: bool) -> dict:
    """Squared singular values of products (stable QR method), keyed by (M, N): (reps, N)."""
    from ..mc.matrices import product_singular_values

    ladder = _ladder(fast)
    children = iter(np.random.SeedSequence(20190004).spawn(len(MS) * len(ladder)))
    out = {}
    for M in MS:
        for N, reps in ladder:
            out[(M, N)] = _memo(product_singular_values, M, N, reps=reps, rng=next(children)) ** 2
    return out


def _slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# --------------------------------------------------------------------------- eq. 2: SGD noise
def _sgd_noise_mc(G, batch, n_batches, rng, replace: bool):
    """Monte-Carlo E||mean_B g - mean g||^2 for batches of size ``batch`` (rows of G)."""
    from ..mc._estimate import estimate

    n = G.shape[0]
    gbar = G.mean(axis=0)
    vals = []
    chunk = max(1, 2_000_000 // n)
    done = 0
    while done < n_batches:
        t = min(chunk, n_batches - done)
        if replace:
            counts = rng.multinomial(batch, np.full(n, 1.0 / n), size=t).astype(float)
        else:
            keys = rng.random((t, n))
            thr = np.partition(keys, batch - 1, axis=1)[:, batch - 1:batch]
            counts = (keys <= thr).astype(float)  # a uniformly random subset of size batch
        mean_b = counts @ G / batch
        vals.append(np.sum((mean_b - gbar) ** 2, axis=1))
        done += t
    return estimate(np.concatenate(vals))


@claim("bjorck-eq2-sgd-noise", paper=PAPER, source="Sec. 2.1, eq. 2",
       statement="Sampling a batch B with replacement, E||alpha grad f - alpha grad_SGD||^2 = alpha^2 M/|B| "
                 "with M = E[(grad f_i - grad f)^2].",
       falsify={"pred_scale": 1.1})
def _eq2(fast: bool, pred_scale: float = 1.0) -> Verdict:
    rng = np.random.default_rng(20190002)
    n, d = 256, 20
    A = rng.standard_normal((n, d))
    b = A @ rng.standard_normal(d) + rng.standard_normal(n)
    w = rng.standard_normal(d)
    G = (A @ w - b)[:, None] * A  # per-example gradients of f_i = (a_i.w - b_i)^2 / 2
    Mnoise = float(np.mean(np.sum((G - G.mean(0)) ** 2, axis=1)))  # E_i ||g_i - g||^2, 1/n normalisation
    alpha = 0.1
    T = 10_000 if fast else 100_000
    z_with, z_without_eq2, z_without_fpc, ratios = [], [], [], []
    for B in (1, 8, 64, 128):
        pred = pred_scale * alpha**2 * Mnoise / B
        e = _sgd_noise_mc(G, B, T, rng, replace=True)
        z_with.append(round((alpha**2 * e.mean - pred) / (alpha**2 * e.stderr), 2))
        e2 = _sgd_noise_mc(G, B, T, rng, replace=False)
        fpc = (n - B) / (n - 1)
        z_without_fpc.append(round((alpha**2 * e2.mean - pred * fpc) / (alpha**2 * e2.stderr), 2))
        z_without_eq2.append(round((alpha**2 * e2.mean - pred) / (alpha**2 * e2.stderr), 1))
        ratios.append(round(e.mean * B / Mnoise, 4))
    ok = max(abs(z) for z in z_with) < 5
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"batch_sizes": [1, 8, 64, 128], "n_examples": n, "noise_M": Mnoise,
                  "z_with_replacement_vs_eq2": z_with, "mc_ratio_E_over_M_per_B": ratios,
                  "z_without_replacement_vs_eq2": z_without_eq2,
                  "z_without_replacement_vs_fpc": z_without_fpc, "batches_per_size": T},
        note="Holds exactly for sampling with replacement when M = E_i||grad f_i - grad f||^2 (population "
             "variance, 1/n, a squared norm; not the number of factors M of Theorem 1). Sampling without "
             "replacement multiplies it by (n-|B|)/(n-1).")


# --------------------------------------------------------------------------- Theorem 1 / Appendix D
@claim("bjorck-appD-parametrisation", paper=PAPER, source="Thm 1 eq. 5; Appendix D eqs. 9-10, Fig. 9",
       statement="x(phi) of eq. 9 is strictly decreasing on (0, pi/(M+1)) (one-to-one), and eq. 10 is a "
                 "probability density on (0, (M+1)^{M+1}/M^M).",
       falsify={"ref_scale": 1 + 1e-12})
def _appD(fast: bool, ref_scale: float = 1.0) -> Verdict:
    Ms = (1, 2, 6) if fast else (1, 2, 3, 4, 5, 6, 10)
    norms, mom_err, mono, mp1 = [], 0.0, True, 0.0
    for M in Ms:
        a = math.pi / (M + 1)
        phi = np.linspace(0, a, 2001)
        x = fuss_catalan_x(phi, M)
        mono &= bool(np.all(np.diff(x) < 0))
        norms.append(float(abs(mp_fc_moment(0, M, dps=25) - 1)))
        for k in (1, 2, 3):
            ref = fuss_catalan_moment(k, M, exact=True)
            mom_err = max(mom_err, float(abs(mp_fc_moment(k, M, dps=25) / ref - 1)))
    # M = 1 is Marchenko-Pastur of ratio 1 for x (eigenvalues of X^T X)
    xs = np.linspace(0.01, 3.99, 50)
    mp1 = float(np.max(np.abs(fuss_catalan_pdf(xs, 1) / (ref_scale * np.sqrt((4 - xs) / xs) / (2 * np.pi)) - 1)))
    ok = mono and max(norms) < 1e-20 and mom_err < 1e-20 and mp1 < 1e-13
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"Ms": list(Ms), "x_strictly_decreasing": mono, "max_abs_norm_err_mp": max(norms),
                  "max_rel_moment_err_k123_mp": mom_err, "M1_vs_marchenko_pastur_max_rel": mp1},
        note="The parametrisation and density agree with Haagerup-Moeller/Liu-Wang-Zhang; "
             "the CDF has the closed form F = 1 - (M+1)phi/pi + (M/pi) sin((M+1)phi) sin(phi)/sin(M phi).")


@claim("bjorck-thm1-density", paper=PAPER, source="Thm 1, eq. 5 (Liu, Wang & Zhang)",
       statement="As N -> infinity, the squared singular values of a product of M independent N x N Gaussian "
                 "matrices (entry variance 1/N) follow the density rho of eq. 5 on (0, (M+1)^{M+1}/M^M).",
       falsify={"law_scale": 1.2})
def _thm1_density(fast: bool, law_scale: float = 1.0) -> Verdict:
    samples = _fc_samples(fast)
    Ns = [N for N, _ in _ladder(fast)]
    ks_table, slopes, below_iid = [], [], True
    for M in MS:
        ks = [float(np.mean([_ks(row, M, scale=law_scale) for row in samples[(M, N)]])) for N in Ns]
        ks_table.append([round(k, 5) for k in ks])
        slopes.append(round(_slope(Ns, ks), 3))
        below_iid &= ks[-1] < 0.87 / math.sqrt(Ns[-1])
    # KS distance of eigenvalues converges like log(N)/N (rigidity): faster than i.i.d. samples
    # (slope -1/2, size 0.87/sqrt(N)); a wrong law would leave a KS distance that does not shrink
    ok = all(s < -0.5 for s in slopes) and below_iid
    nks = [round(k[-1] * Ns[-1] / math.log(Ns[-1]), 3) for k in ks_table]
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"Ns": Ns, "Ms": list(MS), "mean_ks_per_product": ks_table,
                  "loglog_slope_ks_vs_N": slopes, "N_ks_over_logN_at_Nmax": nks,
                  "iid_reference_ks_at_Nmax": round(0.87 / math.sqrt(Ns[-1]), 5), "iid_ks_constant": 0.87},
        note="KS distance between the eigenvalues of X^T X and the law shrinks like c log(N)/N (c = "
             + ", ".join(f"{v:.3g}" for v in nks) + f" for M = {', '.join(map(str, MS))}; log-log slopes "
             + ", ".join(f"{v:.3g}" for v in slopes) + "), far below the i.i.d. size 0.87/sqrt(N)."
             if ok else "The KS distance does not shrink faster than for i.i.d. samples: not this law.")


@claim("bjorck-thm1-singular-vs-squared", paper=PAPER, source="Thm 1, eq. 5",
       statement="rho_X(x) of eq. 5 is the expected singular density of X, i.e. the density of its singular values.",
       falsify={"variable": "squared"})
def _thm1_sv(fast: bool, variable: str = "singular") -> Verdict:
    samples = _fc_samples(fast)
    N = _ladder(fast)[-1][0]
    ks_sq = [round(float(np.mean([_ks(r, M) for r in samples[(M, N)]])), 5) for M in MS]
    ks_sv = [round(float(np.mean([_ks(np.sqrt(r), M) for r in samples[(M, N)]])), 4) for M in MS]
    mean_sv = [round(float(np.sqrt(samples[(M, N)]).mean()), 4) for M in MS]
    ok_sv = max(ks_sv if variable == "singular" else ks_sq) < 0.87 / math.sqrt(N)
    return Verdict(
        HOLDS if ok_sv else FAILS,
        evidence={"N": N, "Ms": list(MS), "ks_squared_singular_values": ks_sq, "ks_singular_values": ks_sv,
                  "mean_singular_value": mean_sv, "fc_mean_x": 1.0},
        note="rho is the density of the SQUARED singular values (eigenvalues of X^T X): for M = 1 it is "
             "Marchenko-Pastur on (0, 4), not the quarter-circle law of the singular values on (0, 2). "
             "The singular values have density 2 s rho(s^2) on (0, sqrt((M+1)^{M+1}/M^M)).")


@claim("bjorck-thm1-sigma-scaling", paper=PAPER, source="Thm 1 (hypothesis E X_ijk^2 = sigma_i^2/N)",
       statement="For factors with entry variances sigma_i^2/N the density of eq. 5 holds on (0, (M+1)^{M+1}/M^M), "
                 "independently of the sigma_i.",
       falsify={"law": "scaled"})
def _thm1_sigma(fast: bool, law: str = "as_stated") -> Verdict:
    from ..mc.matrices import product_singular_values

    N = 200 if fast else 500
    sig = (2.0, 1.5)
    scale = float(np.prod(np.square(sig)))
    x = _memo(product_singular_values, 2, N, sigma=sig, reps=3, rng=20190005) ** 2
    ks_stated = float(np.mean([_ks(r, 2) for r in x]))
    ks_scaled = float(np.mean([_ks(r, 2, scale=scale) for r in x]))
    edge_ratio = float(x[:, 0].mean() / fuss_catalan_edge(2))
    ok = (ks_stated if law == "as_stated" else ks_scaled) < 0.87 / math.sqrt(N)
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"N": N, "M": 2, "sigmas": list(sig), "ks_as_stated": round(ks_stated, 4),
                  "ks_with_x_divided_by_prod_sigma2": round(ks_scaled, 5),
                  "max_x_over_stated_edge": round(edge_ratio, 3)},
        note="The law (and its support) is that of x / prod_i sigma_i^2: squared singular values scale by "
             "prod_i sigma_i^2, so eq. 5 as stated holds only for sigma_i = 1.")


@claim("bjorck-thm1-small-x", paper=PAPER, source="Sec. 4, after eq. 5",
       statement="The density blows up as x^{-M/(M+1)} near the origin.",
       falsify={"exponent_shift": 0.05})
def _thm1_small_x(fast: bool, exponent_shift: float = 0.0) -> Verdict:
    """``exponent_shift``: added to the stated exponent (falsify: a wrong power law)."""
    # theory: local exponent of rho and the constant of the power law
    loc, const = [], []
    for M in MS:
        x1, x2 = 1e-60, 1e-59
        loc.append(abs(math.log(fuss_catalan_pdf(x2, M) / fuss_catalan_pdf(x1, M)) / math.log(10.0)
                       + M / (M + 1) + exponent_shift))
        const.append(abs(fuss_catalan_pdf(1e-200, M) * 1e-200 ** (M / (M + 1)) * math.pi / math.sin(math.pi / (M + 1)) - 1))
    # samples: exponent of the empirical CDF between quantiles F = 0.02 and F(t1 10^{M+1})
    samples = _fc_samples(fast)
    N = _ladder(fast)[-1][0]
    alpha_hat, alpha_th, z = [], [], []
    for M in MS:
        t1 = fuss_catalan_ppf(0.02, M)
        t2 = t1 * 10.0 ** (M + 1)
        th = math.log10(fuss_catalan_cdf(t2, M) / fuss_catalan_cdf(t1, M)) / (M + 1)
        pooled = samples[(M, N)].ravel()
        reps = samples[(M, N)]
        f1 = np.array([(r < t1).mean() for r in reps])
        f2 = np.array([(r < t2).mean() for r in reps])
        est = math.log10(f2.mean() / f1.mean()) / (M + 1)
        # delta method over repetitions (each repetition is one independent product)
        n = len(reps)
        g1 = f1 / f1.mean() - f2 / f2.mean()  # d est ~ (df2/f2 - df1/f1)/((M+1) ln 10)
        se = float(np.std(g1, ddof=1) / math.sqrt(n) / ((M + 1) * math.log(10.0))) if n > 1 else float("nan")
        se = max(se, math.sqrt(1.0 / max(1, (pooled < t1).sum())) / ((M + 1) * math.log(10.0)))
        alpha_hat.append(round(est, 4))
        alpha_th.append(round(th, 4))
        z.append(round((est - th) / se, 2))
    ok = max(loc) < 1e-3 and max(const) < 1e-6 and max(abs(v) for v in z) < 5
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"Ms": list(MS), "theory_local_exponent_err_at_1e-60": [float(f"{v:.2g}") for v in loc],
                  "theory_const_rel_err_at_1e-200": [float(f"{v:.2g}") for v in const],
                  "N": N, "cdf_exponent_samples": alpha_hat, "cdf_exponent_law": alpha_th,
                  "cdf_exponent_asymptotic": [round(1 / (M + 1), 4) for M in MS], "z": z},
        note="rho(x) ~ sin(pi/(M+1)) x^{-M/(M+1)} / pi, i.e. F(x) ~ (M+1) sin(pi/(M+1)) x^{1/(M+1)} / pi; "
             "samples reproduce the CDF exponent between the 2% quantile and 10^{M+1} times it.")


@claim("bjorck-thm1-edge", paper=PAPER, source="Sec. 4, after eq. 5",
       statement="The density goes to zero at (M+1)^{M+1}/M^M, which for large M tends to (M+1)e.",
       falsify={"claimed_factor": 1.1})
def _thm1_edge(fast: bool, claimed_factor: float = 1.0) -> Verdict:
    """``claimed_factor``: the edge is claimed to tend to claimed_factor (M+1) e."""
    samples = _fc_samples(fast)
    Ns = [N for N, _ in _ladder(fast)]
    dev, scaled = [], []
    for M in MS:
        e = fuss_catalan_edge(M)
        d = [float(samples[(M, N)][:, 0].mean() / e - 1) for N in Ns]
        dev.append([round(v, 4) for v in d])
        scaled.append([round(v * N ** (2 / 3), 2) for v, N in zip(d, Ns)])
    # the law itself vanishes like a square root at the edge
    sqrt_exp = []
    for M in MS:
        e = fuss_catalan_edge(M)
        sqrt_exp.append(round(math.log(fuss_catalan_pdf(e * (1 - 1e-10), M) / fuss_catalan_pdf(e * (1 - 1e-8), M))
                              / math.log(1e-2), 6))
    ratio = [round((1 + 1 / M) ** M / (claimed_factor * math.e), 4) for M in (1, 2, 5, 10, 100, 1000)]
    # the deviation shrinks along the ladder (at the soft-edge scale N^{-2/3}, with M-dependent constants)
    ok = (all(abs(d[-1]) < abs(d[0]) for d in dev)
          and max(abs(v - 0.5) for v in sqrt_exp) < 1e-3 and abs(ratio[-1] - 1) < 1e-3)
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"Ns": Ns, "Ms": list(MS), "mean_xmax_over_edge_minus_1": dev,
                  "same_times_N^(2/3)": scaled, "edge_exponent_of_rho": sqrt_exp,
                  "edge_over_e(M+1)_for_M_1_2_5_10_100_1000": ratio},
        note="The largest squared singular value approaches the edge at the soft-edge rate N^{-2/3}; "
             "(M+1)^{M+1}/M^M = e(M+1)(1 - 1/(2M) + O(M^-2)), in squared singular values.")


@claim("bjorck-thm1-moments", paper=PAPER, source="Thm 1 (Fuss-Catalan moments)",
       statement="The moments of rho are the Fuss-Catalan numbers binom((M+1)k, k)/(Mk+1), the limits of "
                 "N^-1 E tr (X^T X)^k.",
       falsify={"m1_ref": 1.3})
def _thm1_moments(fast: bool, m1_ref: float = 1.0) -> Verdict:
    from ..mc._estimate import estimate

    samples = _fc_samples(fast)
    # theory: moments of gradexp's density against the Fuss-Catalan numbers, by Gauss-Jacobi
    # quadrature in u with x = edge u^{M+1}: the integrand is smooth in u once the weight
    # (1-u)^{1/2} of the square-root edge is taken out (and x^{-M/(M+1)} dx is regular in u)
    from scipy.special import roots_jacobi

    u, w = roots_jacobi(80, 0.5, 0.0)
    u, w = (u + 1) / 2, w / 2 ** 1.5
    quad_err = 0.0
    for M in MS:
        e = fuss_catalan_edge(M)
        x = e * u ** (M + 1)
        base = fuss_catalan_pdf(x, M) * e * (M + 1) * u**M / np.sqrt(1 - u)
        for k in range(5):
            v = float(np.sum(w * base * x**k))
            quad_err = max(quad_err, abs(v / fuss_catalan_moment(k, M) - 1))
    # samples: k = 1, 2 against their exact finite-N means (no bias, so small N with many
    # independent products gives sharp z-scores), k = 3 against the limit at the largest N
    from ..mc.matrices import product_singular_values

    Ns, reps = ((10, 30), 40) if fast else ((10, 30, 100), 128)
    children = iter(np.random.SeedSequence(20190006).spawn(len(MS) * len(Ns)))
    z1, z2, rel3 = [], [], []
    for M in MS:
        for N in Ns:
            x = _memo(product_singular_values, M, N, reps=reps, rng=next(children)) ** 2
            z1.append(round(estimate(x.mean(axis=1)).z_score(m1_ref), 2))
            z2.append(round(estimate((x**2).mean(axis=1)).z_score(_exact_m2(M, N)), 2))
        N = _ladder(fast)[-1][0]
        rel3.append(round(float((samples[(M, N)] ** 3).mean() / fuss_catalan_moment(3, M) - 1), 4))
    ok = quad_err < 1e-10 and max(map(abs, z1)) < 5 and max(map(abs, z2)) < 5
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"quadrature_rel_err_k0to4": float(f"{quad_err:.2g}"), "Ns": list(Ns), "products_per_N": reps,
                  "z_m1_vs_1": z1,
                  "z_m2_vs_exact_finite_N": z2, "rel_dev_m3_vs_limit_at_ladder_Nmax": rel3},
        note="E N^-1 tr X^T X = 1 and E N^-1 tr (X^T X)^2 = a_M/N with a' = (1+1/N) a + b/N, b' = b + 2a/N, "
             "a_0 = N, b_0 = N^2 (real Gaussian factors): M + 1 + O(1/N).")


def _exact_m2(M: int, N: int) -> float:
    """E N^-1 tr (P^T P)^2 for P a product of M real Gaussian N x N factors, variance 1/N (exact)."""
    a, b = float(N), float(N) ** 2
    for _ in range(M):
        a, b = (1 + 1 / N) * a + b / N, b + 2 * a / N
    return a / N


# --------------------------------------------------------------------------- Sec. 4, Appendix E
def _sigma_max_scan(fast: bool):
    from ..mc.matrices import depth_scan

    N = 200 if fast else 1000
    depths = (1, 2, 4, 8, 16)
    return _memo(depth_scan, depths, N, reps=4 if fast else 3, rng=20190012)


@claim("bjorck-sec4-linear-growth", paper=PAPER, source="Sec. 4, after eq. 5",
       statement="Since the edge tends to (M+1)e, the largest singular value increases linearly with the depth "
                 "for infinitely large matrices.",
       falsify={"claimed_slope": "sqrt"})
def _linear_growth(fast: bool, claimed_slope: str = "linear") -> Verdict:
    """``claimed_slope``: the growth the statement claims, 'linear' (as printed) or 'sqrt'."""
    scan = _sigma_max_scan(fast)
    depths = scan.depths
    smax = scan.sigma_max
    # slope of log sigma_max against log(M+1) per repetition, then mean +- stderr
    per_rep = np.array([_slope(depths + 1, row) for row in smax])
    mean, se = float(per_rep.mean()), float(per_rep.std(ddof=1) / math.sqrt(len(per_rep)))
    th_sqrt = _slope(depths + 1, np.sqrt([fuss_catalan_edge(int(m)) for m in depths]))
    th_lin = _slope(depths + 1, [fuss_catalan_edge(int(m)) for m in depths])
    z_lin = (mean - th_lin) / se
    z_sqrt = (mean - th_sqrt) / se
    # N is finite: the claim is about the limit, so the measured slope must be nearer the claimed one
    holds = abs(z_lin) < abs(z_sqrt) if claimed_slope == "linear" else abs(z_sqrt) < abs(z_lin)
    return Verdict(
        HOLDS if holds else FAILS,
        evidence={"N": scan.N, "depths": depths.tolist(),
                  "mean_sigma_max": [round(v, 3) for v in smax.mean(0)],
                  "sqrt_edge": [round(math.sqrt(fuss_catalan_edge(int(m))), 3) for m in depths],
                  "loglog_slope_sigma_max": round(mean, 3), "slope_stderr": round(se, 4),
                  "slope_if_sqrt_edge": round(th_sqrt, 3), "slope_if_edge_linear": round(th_lin, 3),
                  "z_vs_linear": round(z_lin, 1), "z_vs_sqrt": round(z_sqrt, 1)},
        note="The edge (M+1)^{M+1}/M^M ~ e(M+1) is in squared singular values: the largest singular value tends "
             "to sqrt((M+1)^{M+1}/M^M) ~ sqrt(e(M+1)), growing like the square root of the depth "
             "(a bit slower still at finite N).")


@claim("bjorck-fig12-caption", paper=PAPER, source="Appendix E, Fig. 12 caption",
       statement="The maximum singular value increases with the number of factors, although not at the linear rate "
                 "expected from infinitely large matrices.",
       falsify={"claimed_increasing": False})
def _fig12(fast: bool, claimed_increasing: bool = True) -> Verdict:
    scan = _sigma_max_scan(fast)
    m = scan.estimate("sigma_max")
    increasing = bool(np.all(np.diff(m.mean) > 0))
    depths = scan.depths
    per_rep = np.array([_slope(depths + 1, row) for row in scan.sigma_max])
    slope = float(per_rep.mean())
    ok = increasing == claimed_increasing and slope < 0.75
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"N": scan.N, "depths": depths.tolist(), "mean_sigma_max": [round(v, 3) for v in m.mean],
                  "std_sigma_max": [round(v, 3) for v in m.stderr * np.sqrt(m.n)], "loglog_slope": round(slope, 3)},
        note=f"Observation holds: sigma_max grows like sqrt(M+1) (log-log slope {slope:.3g}). The sub-linear growth is "
             "what infinitely large matrices predict too (the 'linear' expectation mistakes x for a singular value).")


@claim("bjorck-appE-condition", paper=PAPER, source="Sec. 4; Appendix E, Fig. 11",
       statement="The condition number of a product of random Gaussian matrices increases dramatically with the "
                 "number of factors.",
       falsify={"gap_scale": 1.2})
def _condition(fast: bool, gap_scale: float = 1.0) -> Verdict:
    from ..mc.matrices import depth_scan, singular_values_of_product

    N = 100
    depths = np.arange(1, 25)
    reps = 6 if fast else 20
    st = _memo(depth_scan, depths, N, reps=reps, rng=20190011, method="qr-dense")
    di = _memo(depth_scan, depths, N, reps=reps, rng=20190011, method="direct")  # the same matrices
    lk = st.log10_condition * math.log(10.0)
    # lambda_1 - lambda_N = (psi(N/2) - psi(1/2))/2 (Newman), written out here with scipy's digamma
    from scipy.special import digamma

    gap = gap_scale * float((digamma(N / 2) - digamma(0.5)) / 2)
    gx_gap = float(ginibre_lyapunov_exponents(N)[0] - ginibre_lyapunov_exponents(N)[-1])
    a, b = 8, 24  # increments well past the first factors
    inc = (lk[:, b - 1] - lk[:, a - 1]) / (b - a)
    z_rate = float((inc.mean() - gap) / (inc.std(ddof=1) / math.sqrt(reps)))
    err = np.median(np.abs(st.log_sv[..., -1] - di.log_sv[..., -1]), axis=0)
    fail_idx = int(np.argmax(err > 0.01))
    fail_depth = int(depths[fail_idx])
    log10k_at_fail = float(st.estimate("log10_condition").mean[fail_idx])
    # the stable method against an mpmath product (N = 6, 40 factors: kappa ~ 1e27)
    rng = np.random.default_rng(20190013)
    Ws = [rng.standard_normal((6, 6)) / math.sqrt(6) for _ in range(40)]
    ref = np.array([float(v) for v in mp_product_singular_values(Ws, 80)])
    stable = singular_values_of_product(Ws)
    direct = singular_values_of_product(Ws, method="direct")
    e_st = float(np.max(np.abs(stable / ref - 1)))
    e_di = float(np.max(np.abs(direct / ref - 1)))
    gap1000 = float(ginibre_lyapunov_exponents(1000)[0] - ginibre_lyapunov_exponents(1000)[-1])
    ok = abs(z_rate) < 5 and gap > 1 and e_st < 1e-12 and abs(gx_gap / gap - 1) < 1e-12
    dec1000 = gap1000 / math.log(10)
    sat = float(di.estimate("log10_condition").mean[-1])
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"N": N, "mean_log10_kappa_by_depth_1_to_24": [round(v, 2) for v in st.estimate("log10_condition").mean],
                  "growth_nats_per_factor_mc": round(float(inc.mean()), 3), "lyapunov_gap_lambda1_minus_lambdaN": round(gap, 3),
                  "z_rate": round(z_rate, 2), "direct_fails_at_depth": fail_depth,
                  "log10_kappa_where_direct_fails": round(log10k_at_fail, 2),
                  "direct_log10_kappa_saturates_at": round(float(di.estimate("log10_condition").mean[-1]), 2),
                  "N1000_decades_per_factor": round(gap1000 / math.log(10), 3),
                  "mpmath_N6_M40_log10_kappa": round(math.log10(ref[0] / ref[-1]), 1),
                  "N1000_factors_to_direct_failure": round(log10k_at_fail / dec1000, 2),
                  "stable_max_rel_err_vs_mpmath": float(f"{e_st:.2g}"), "direct_max_rel_err_vs_mpmath": float(f"{e_di:.2g}")},
        note="Exponential growth: log kappa ~ M (lambda_1 - lambda_N), lambda_1 - lambda_N = (psi(N/2) - psi(1/2))/2 "
             f"({dec1000:.3g} decades per factor at N = 1000). Direct multiplication in double precision departs from "
             f"the stable method at depth {fail_depth} (log10 kappa {log10k_at_fail:.3g}) and saturates near "
             f"log10 kappa {sat:.3g} at N = {N}; at N = 1000 that is reached after about "
             f"{log10k_at_fail / dec1000:.2g} factors, so Fig. 11 needs a stable method beyond that.")


# --------------------------------------------------------------------------- Appendix C
def _gd_errors(H_apply, e0, alpha, steps):
    """Norms of the GD error e_{k+1} = e_k - alpha H e_k, k = 1..steps (H applied by a callable)."""
    e = e0.copy()
    out = np.empty(steps)
    for k in range(steps):
        e = e - alpha * H_apply(e)
        out[k] = np.linalg.norm(e)
    return out


def _spectral_errors(lam, coef, alpha, steps):
    """Exact GD error norms from the Hessian spectrum: ||e_k||^2 = sum_i (1 - alpha lam_i)^{2k} c_i^2."""
    k = np.arange(1, steps + 1)[:, None]
    return np.sqrt(np.sum((1 - alpha * lam[None, :]) ** (2 * k) * coef[None, :] ** 2, axis=1))


@claim("bjorck-appC-gd-rate", paper=PAPER, source="Sec. 4 and Appendix C, eq. 7",
       statement="The complexity of solving min_x ||Ax - y||^2 by gradient descent is characterized by the condition "
                 "number kappa of A: larger kappa, slower convergence.",
       falsify={"rate_power": 1})
def _appC_rate(fast: bool, rate_power: int = 2) -> Verdict:
    """``rate_power``: the power of kappa in the contraction (kappa^p - 1)/(kappa^p + 1) (2 for GD on ||Ax - y||^2)."""
    rng = np.random.default_rng(20190014)
    n = 40
    kappas = (3.0, 10.0, 30.0)
    worst, iters, curve_err = [], [], 0.0
    for kappa in kappas:
        s = np.geomspace(1.0, 1.0 / kappa, n)
        U, _ = np.linalg.qr(rng.standard_normal((n, n)))
        V, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (U * s) @ V.T
        y = rng.standard_normal(n)
        xstar = np.linalg.solve(A, y)
        alpha = 2.0 / (s[0] ** 2 + s[-1] ** 2)  # best constant step for f = ||Ax - y||^2 / 2
        steps = int(8 * kappa**2)
        errs = _gd_errors(lambda e, A=A: A.T @ (A @ e), -xstar, alpha, steps)
        exact = _spectral_errors(s**2, V.T @ (-xstar), alpha, steps)
        keep = exact > 1e-10 * exact[0]
        curve_err = max(curve_err, float(np.max(np.abs(errs[keep] / exact[keep] - 1))))
        worst.append(float(np.max(np.abs(1 - alpha * s**2))))
        hit = np.flatnonzero(errs < 1e-6 * np.linalg.norm(xstar))
        iters.append(int(hit[0]) + 1 if hit.size else steps)
    pred = [(k**rate_power - 1) / (k**rate_power + 1) for k in kappas]
    rate_err = max(abs(a - b) for a, b in zip(worst, pred))
    expo = _slope(kappas, iters)
    ok = curve_err < 1e-8 and rate_err < 1e-12 and 1.5 < expo < 2.5
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"kappas": list(kappas), "gd_vs_spectral_error_curve_max_rel": float(f"{curve_err:.2g}"),
                  "worst_mode_factor": [round(v, 8) for v in worst], "(k^2-1)/(k^2+1)": [round(v, 8) for v in pred],
                  "iterations_to_1e-6": iters, "loglog_exponent_iterations_vs_kappa": round(expo, 3)},
        note="Holds with the square: with the best constant step the slowest error mode contracts by "
             "(kappa^2-1)/(kappa^2+1) per step, so the iteration count grows like kappa^2 log(1/eps)/2 "
             "(kappa for momentum or conjugate gradients).")


def _appC_setup(rng, n=6, m=15, depth=3, x_kappa=10.0, abar_kappa=None):
    """Abar = A_t...A_2 (random Gaussian product, or prescribed condition number), data x (n x m), y."""
    if abar_kappa is None:
        Abar = np.eye(n)
        for _ in range(depth - 1):
            Abar = (rng.standard_normal((n, n)) / math.sqrt(n)) @ Abar
    else:
        Ua, _ = np.linalg.qr(rng.standard_normal((n, n)))
        Va, _ = np.linalg.qr(rng.standard_normal((n, n)))
        Abar = (Ua * np.geomspace(1.0, 1.0 / abar_kappa, n)) @ Va.T
    Ux, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Vx, _ = np.linalg.qr(rng.standard_normal((m, m)))
    sx = np.geomspace(1.0, 1.0 / x_kappa, n)
    x = (Ux * sx) @ Vx[:, :n].T  # n x m data (features x samples), full row rank
    y = rng.standard_normal((n, m))
    return Abar, x, y


@claim("bjorck-appC-prop1", paper=PAPER, source="Appendix C, Prop. 1, eq. 8",
       statement="With all other matrices fixed and full rank, optimizing one weight matrix of a linear network "
                 "(eq. 6) transforms into independent problems of type min ||A x - y||^2 (eq. 7).",
       falsify={"drop_constant": True})
def _appC_prop1(fast: bool, drop_constant: bool = False) -> Verdict:
    rng = np.random.default_rng(20190015)
    Abar, x, y = _appC_setup(rng)
    n = x.shape[0]
    U, s, Vt = np.linalg.svd(x)  # x = U [Sigma 0] V^T
    V = Vt.T
    yV = y @ V
    ybar, C = yV[:, :n], (0.0 if drop_constant else float(np.sum(yV[:, n:] ** 2)))
    ident = 0.0
    for _ in range(5):
        A1 = rng.standard_normal((n, n))
        lhs = np.sum((Abar @ A1 @ x - y) ** 2)
        rhs = np.sum((Abar @ (A1 @ U * s) - ybar) ** 2) + C
        ident = max(ident, abs(lhs / rhs - 1))
    # minimiser: column-wise least squares of the reduced problem, mapped back, against the full problem
    Abar1 = np.linalg.lstsq(Abar, ybar, rcond=None)[0]
    A1_red = (Abar1 / s) @ U.T
    K = np.kron(x.T, Abar)  # vec(Abar A1 x) = (x^T kron Abar) vec(A1)
    A1_full = np.linalg.lstsq(K, y.T.ravel(), rcond=None)[0].reshape(n, n).T
    minim = float(np.max(np.abs(A1_red - A1_full)) / np.max(np.abs(A1_full)))
    ok = ident < 1e-12 and minim < 1e-8
    return Verdict(
        HOLDS if ok else FAILS,
        evidence={"loss_identity_max_rel_err": float(f"{ident:.2g}"), "minimiser_max_rel_diff": float(f"{minim:.2g}"),
                  "kappa_Abar": round(float(np.linalg.cond(Abar)), 2)},
        note="Exact, with x = U[Sigma 0]V^T, ybar = (yV)_{:, 1:n} and Abar1 = A1 U Sigma (the text mixes V, V^T, V^*); "
             "each column of Abar1 solves an independent problem with matrix Abar = A_t...A_2.")


@claim("bjorck-appC-single-layer-rate", paper=PAPER, source="Sec. 4 with Appendix C",
       statement="Gradient descent on a single weight matrix of a linear network behaves like solving the linear "
                 "system with A = A_t...A_2, so its convergence is set by the condition number of that product.",
       falsify={"x_kappa": 1.0})
def _appC_single(fast: bool, x_kappa: float = 4.0) -> Verdict:
    """``x_kappa``: the condition number of the data (falsify: whitened data, where the statement is exact)."""
    rng = np.random.default_rng(20190016)
    Abar, x, y = _appC_setup(rng, x_kappa=x_kappa, abar_kappa=5.0)
    n = x.shape[0]
    ka, kx = float(np.linalg.cond(Abar)), float(np.linalg.cond(x))
    # f(A1) = ||Abar A1 x - y||_F^2 / 2: Hessian (x x^T) kron (Abar^T Abar) on vec(A1)
    K = np.kron(x.T, Abar)  # vec(Abar A1 x) = K vec(A1)
    H = K.T @ K
    lam, Q = np.linalg.eigh(H)
    a_star = np.linalg.lstsq(K, y.T.ravel(), rcond=None)[0]
    alpha = 2.0 / (lam[-1] + lam[0])
    steps = 4000
    errs = _gd_errors(lambda e: (Abar.T @ (Abar @ e.reshape(n, n, order="F") @ x) @ x.T).ravel(order="F"),
                      -a_star, alpha, steps)
    exact = _spectral_errors(lam, Q.T @ (-a_star), alpha, steps)
    keep = exact > 1e-10 * exact[0]
    curve_err = float(np.max(np.abs(errs[keep] / exact[keep] - 1)))
    worst = float(np.max(np.abs(1 - alpha * lam)))
    k_full, k_a = (ka * kx) ** 2, ka**2
    pred_full, pred_a = (k_full - 1) / (k_full + 1), (k_a - 1) / (k_a + 1)
    hit = np.flatnonzero(errs < 1e-6 * np.linalg.norm(a_star))
    it = int(hit[0]) + 1 if hit.size else steps
    it_a = int(math.ceil(math.log(1e-6) / math.log(pred_a)))
    exact_as_stated = abs(worst - pred_a) < 1e-10
    exact_with_data = abs(worst - pred_full) < 1e-12 and curve_err < 1e-8
    status = HOLDS if exact_as_stated else (HOLDS_LOOSELY if exact_with_data else FAILS)
    return Verdict(
        status,
        evidence={"kappa_Abar": round(ka, 4), "kappa_x": round(kx, 4), "gd_vs_spectral_curve_max_rel": float(f"{curve_err:.2g}"),
                  "worst_mode_factor": round(worst, 8), "predicted_with_kappa_Abar_only": round(pred_a, 8),
                  "predicted_with_kappa_Abar_times_kappa_x": round(pred_full, 8),
                  "iterations_to_1e-6": it, "iterations_if_kappa_Abar_only": it_a},
        note="True only for whitened inputs (kappa(x) = 1): GD on A1 is GD on Abar1 = A1 U Sigma preconditioned by "
             "Sigma^2, so the rate is (K-1)/(K+1) with K = kappa(Abar)^2 kappa(x)^2 (Hessian eigenvalues "
             "s_i(Abar)^2 s_j(x)^2), not kappa(Abar) alone.")


# --------------------------------------------------------------------------- added in issue 10
@claim("bjorck-eq4-conv-gradient", paper=PAPER, source="Sec. 3.3, eqs. 3-4",
       statement="For the convolution of eq. 3, dL/dK(c_o, c_i, i, j) = sum_{b,x,y} dL/dOUTPUT(b, c_o, x, y) "
                 "INPUT(b, c_i, x+i, y+j): the sum over the mini-batch and the spatial positions.",
       falsify={"transpose_offset": True})
def _eq4_conv(fast: bool, transpose_offset: bool = False) -> Verdict:
    """Eq. 3 written out in numpy ('valid' positions), a linear loss L = <G, OUTPUT>, eq. 4 against
    central finite differences (exact for a linear loss up to rounding)."""
    rng = np.random.default_rng(33)
    b, ci, co, H, k = 3, 2, 4, 7, 3
    inp = rng.standard_normal((b, ci, H, H))
    K = rng.standard_normal((co, ci, k, k))
    out_hw = H - k + 1
    G = rng.standard_normal((b, co, out_hw, out_hw))  # dL/dOUTPUT

    def conv(K):
        out = np.zeros((b, co, out_hw, out_hw))
        for i in range(k):
            for j in range(k):
                out += np.einsum("bcxy,oc->boxy", inp[:, :, i:i + out_hw, j:j + out_hw], K[:, :, i, j])
        return out

    def loss(K):
        return float(np.sum(G * conv(K)))

    eq4 = np.zeros_like(K)
    for i in range(k):
        for j in range(k):
            a, c = (j, i) if transpose_offset else (i, j)
            eq4[:, :, i, j] = np.einsum("boxy,bcxy->oc", G, inp[:, :, a:a + out_hw, c:c + out_hw])
    fd = np.zeros_like(K)
    h = 1e-3
    for idx in np.ndindex(K.shape):
        Kp, Km = K.copy(), K.copy()
        Kp[idx] += h
        Km[idx] -= h
        fd[idx] = (loss(Kp) - loss(Km)) / (2 * h)
    err = float(np.max(np.abs(eq4 - fd)) / np.max(np.abs(fd)))
    ok = err < 1e-8
    return Verdict(HOLDS if ok else FAILS,
                   {"max_rel_err_eq4_vs_finite_differences": float(f"{err:.2g}"),
                    "shape (batch, c_in, c_out, H, kernel)": [b, ci, co, H, k]},
                   "the weight gradient is the sum over examples and positions of output-gradient times "
                   "shifted input (to rounding)")


@claim("bjorck-sec21-noise-scaling", paper=PAPER, source="Sec. 2.1 after eq. 2",
       statement="Eq. 2 suggests that the batch size and the learning rate control the noise level of SGD in "
                 "the same way.",
       falsify={"claimed": "alpha^2/B"})
def _noise_scaling(fast: bool, claimed: str = "same way") -> Verdict:
    """Simulated SGD noise E||alpha grad f - alpha grad_SGD||^2 at (alpha, B), (2 alpha, 2 B) and
    (2 alpha, 4 B): 'the same way' (noise a function of alpha/B) predicts ratios 1 and 1/2; eq. 2's
    alpha^2/|B| predicts 2 and 1 (``claimed``)."""
    rng = np.random.default_rng(20190021)
    n, d = 256, 20
    A = rng.standard_normal((n, d))
    bvec = A @ rng.standard_normal(d) + rng.standard_normal(n)
    w = rng.standard_normal(d)
    G = (A @ w - bvec)[:, None] * A
    T = 10_000 if fast else 100_000
    alpha, B = 0.1, 8
    noise = {}
    for a, bb in ((alpha, B), (2 * alpha, 2 * B), (2 * alpha, 4 * B)):
        e = _sgd_noise_mc(G, bb, T, rng, replace=True)
        noise[(a, bb)] = (a**2 * e.mean, a**2 * e.stderr)
    base = noise[(alpha, B)]
    ratios = []
    for key in ((2 * alpha, 2 * B), (2 * alpha, 4 * B)):
        m, s = noise[key]
        r = m / base[0]
        ratios.append((r, r * math.hypot(s / m, base[1] / base[0])))
    pred = {"same way": (1.0, 0.5), "alpha^2/B": (2.0, 1.0)}[claimed]
    z = [(r - p) / se for (r, se), p in zip(ratios, pred)]
    ok = max(abs(v) for v in z) < 5
    return Verdict(HOLDS if ok else HOLDS_LOOSELY,
                   {"noise_ratio_(2a,2B)/(a,B)": _sig(ratios[0][0], 4), "its_se": _sig(ratios[0][1], 2),
                    "noise_ratio_(2a,4B)/(a,B)": _sig(ratios[1][0], 4), "its_se_4B": _sig(ratios[1][1], 2),
                    "predicted_ratios": list(pred), "z": [_sig(v, 3) for v in z], "claimed": claimed},
                   "Both control the noise, but not in the same way: it scales as alpha^2/|B| (doubling alpha and "
                   f"|B| multiplies it by {ratios[0][0]:.3g}, doubling alpha and quadrupling |B| by "
                   f"{ratios[1][0]:.3g}), so a k-fold learning rate matches a k^2-fold smaller batch." if not ok else
                   f"the measured ratios {ratios[0][0]:.3g} and {ratios[1][0]:.3g} follow the claimed scaling")
