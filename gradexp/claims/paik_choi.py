"""Claims of Paik & Choi decided by closed forms (``paik-choi-v2`` later version, ``paik-choi-v1`` earlier).

Each claim quotes one sentence (or formula line) of the paper. Monte-Carlo evidence on sampled BN
chains lives in :mod:`gradexp.claims.paik_choi_mc`, the experiments in
:mod:`gradexp.experiments.paik_choi`. Deterministic checks express each hypothesis' discrepancy in
units of the check's numerical tolerance (``TOL``).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

from ..experiments import paik_choi as ex
from ..theory.explosion import (
    activation_factor,
    explosion_factor,
)
from ..theory.finite_size import finite_batch_factor
from ..theory.relu import relu_moments
from ._common import memo_call
from ._ledger import (
    FAILS,
    HOLDS,
    HOLDS_LOOSELY,
    Falsify,
    Hypothesis,
    Verdict,
    claim,
)
from ._references import mp_activation_factor, mp_explosion_factor, mp_relu_moments

V1, V2 = "paik-choi-v1", "paik-choi-v2"
V_RELU = ex.V_RELU
C0 = math.pi / (math.pi - 1)
TOL = 1e-12  # relative tolerance of the deterministic checks


def _max_rel_err(values, refs) -> float:
    return max(float(abs((mp.mpf(v) - r) / r)) for v, r in zip(values, refs))


def _det(name, value, discrepancy, tol=TOL):
    """A hypothesis of a deterministic check: discrepancy in units of the tolerance."""
    return Hypothesis(name, float(value), float(discrepancy) / tol)


# --------------------------------------------------------------------------- Prop 2.1
@claim("pc-prop-2.1", paper=V2, where="Prop. 2.1, eqs. 1-2",
       quote="Let X = ReLU(Y) = max(Y, 0), where $Y \\sim N(\\mu, \\sigma^2)$. Then, we have:",
       formalisation="eqs. 1-2 as printed (1 - phi(-mu/sigma) = Phi(mu/sigma)) equal the integrals of "
                     "y and y^2 against the N(mu, sigma^2) density over y > 0 (sympy, symbolic mu, sigma)",
       falsify=Falsify("competitor", {"density_norm": "sqrt(2 pi sigma)"},
                       "the density normalisation 1/sqrt(2 pi sigma) printed in Appendix A.1, eq. 8"))
def _prop_2_1(fast: bool, density_norm: str = "sqrt(2 pi) sigma") -> Verdict:
    from scipy.special import ndtr

    d1, d2, ok, r1, r2 = memo_call(_prop_2_1_sympy, density_norm)
    # the printed form evaluated literally in double: 1 - Phi(-z) cancels for z << 0
    lit = {}
    for z in (-8.0, -10.0):
        with np.errstate(all="ignore"):
            p = 1 - ndtr(-z)
            e = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
            m = z * p + e
            v = (1 + z * z) * p + z * e - m * m
        mm, _vv = mp_relu_moments(z, 1.0)
        lit[z] = (abs(m / float(mm) - 1), v)
    # gradexp's evaluation against the literal formula in mpmath (implementation accuracy, not graded)
    zs = np.linspace(-35, 35, 29 if fast else 141)
    mean, var = relu_moments(zs * 1.3, 1.3)
    refs = [mp_relu_moments(m, 1.3) for m in zs * 1.3]
    err = max(_max_rel_err(mean, [r[0] for r in refs]), _max_rel_err(var, [r[1] for r in refs]))
    ev = {"sympy_mean_residual": d1, "sympy_var_residual": d2, "density_norm": density_norm,
          "rel_residual_at_mu0.3_sigma2": [r1, r2],
          "literal_double_rel_err_mean_at_z=-8": lit[-8.0][0], "literal_double_var_at_z=-10": lit[-10.0][1],
          "gradexp_max_rel_err_vs_mpmath": err}
    hyps = (_det("paper: eqs. 1-2", 0.0, max(r1, r2)),)
    note = ("Exact (sympy). The printed 1 - phi(-mu/sigma) evaluated literally in double precision cancels for "
            f"mu/sigma << 0: relative error {lit[-8.0][0]:.2g} in the mean at z = -8 and a variance of "
            f"{lit[-10.0][1]:.2g} at z = -10; gradexp evaluates Phi(z) directly (error {err:.1e}).")
    if not ok:
        note = f"With density normalisation {density_norm} the moments differ (relative residuals {r1:.3g}, {r2:.3g})."
    return Verdict(HOLDS if ok else FAILS, ev, note, hyps)


def _prop_2_1_sympy(density_norm: str) -> tuple[str, str, bool, float, float]:
    """Eqs. 1-2 against sympy's integrals of y and y^2 over the N(mu, sigma^2) density (normalised
    by ``density_norm``) on y > 0: the simplified residuals as strings, whether both are 0, and
    their relative values at (mu, sigma) = (0.3, 2). A second of sympy, kept in the result store."""
    import sympy as sp

    y, mu = sp.symbols("y mu", real=True)
    s = sp.Symbol("sigma", positive=True)
    norm = sp.sqrt(2 * sp.pi) * s if density_norm == "sqrt(2 pi) sigma" else sp.sqrt(2 * sp.pi * s)
    dens = sp.exp(-(y - mu) ** 2 / (2 * s**2)) / norm
    Phi = (1 + sp.erf(mu / (s * sp.sqrt(2)))) / 2
    phi = sp.exp(-mu**2 / (2 * s**2)) / sp.sqrt(2 * sp.pi)
    m1 = sp.integrate(y * dens, (y, 0, sp.oo))
    m2 = sp.integrate(y**2 * dens, (y, 0, sp.oo))
    d1 = sp.simplify((m1 - (mu * Phi + s * phi)).rewrite(sp.erf))
    d2 = sp.simplify((m2 - ((s**2 + mu**2) * Phi + mu * s * phi)).rewrite(sp.erf))
    # the residuals at one point (mu, sigma) = (0.3, 2), relative
    pt = {mu: sp.Rational(3, 10), s: 2}
    r1 = abs(float((d1 / (mu * Phi + s * phi)).subs(pt)))
    r2 = abs(float((d2 / ((s**2 + mu**2) * Phi + mu * s * phi)).subs(pt)))
    return str(d1), str(d2), bool(d1 == 0 and d2 == 0), r1, r2


# --------------------------------------------------------------------------- Thm 2.2
def _R(mu, sigma, definition):
    return mu / (math.sqrt(2) * sigma) if definition == "corrected" else mu / math.sqrt(2 * sigma)


@claim("pc-thm-2.2-R", paper=V2, where="Thm 2.2, after eq. 4",
       quote="$R := \\frac{\\mu^n}{\\sqrt{2\\sigma^n}}$",
       formalisation="C at R equals Phi(mu/sigma) / Var ReLU(Z + mu/sigma) (eq. 20's line, mpmath) at "
                     "mu = 1.3, sigma = 0.45",
       falsify=Falsify("competitor", {"definition": "corrected"}, "R = mu / (sqrt(2) sigma), the definition eq. 20 uses"))
def _thm_2_2_R(fast: bool, definition: str = "printed") -> Verdict:
    mu, sigma = 1.3, 0.45
    _, v = mp_relu_moments(mu / sigma, 1.0)
    c_z = float(mp.ncdf(mu / sigma) / v)
    dev_p = abs(float(mp_explosion_factor(_R(mu, sigma, definition))) / c_z - 1)
    dev_c = abs(float(mp_explosion_factor(_R(mu, sigma, "corrected"))) / c_z - 1)
    hyps = (_det(f"paper: R = mu/sqrt(2 sigma) ({definition})", _R(mu, sigma, definition), dev_p),
            _det("competitor: R = mu/(sqrt2 sigma)", _R(mu, sigma, "corrected"), dev_c))
    ok = dev_p < TOL
    return Verdict(HOLDS if ok else FAILS,
                   {"mu": mu, "sigma": sigma, "C_eq20": c_z, "rel_dev_printed": dev_p, "rel_dev_corrected": dev_c},
                   "" if ok else f"R = mu / (sqrt(2) sigma): the printed sqrt(2 sigma) puts C off by {dev_p:.3g} "
                   f"relatively at mu = {mu}, sigma = {sigma} (the corrected R: {dev_c:.1g}).", hyps)


def _sympy_ratio_is_C() -> bool:
    """The weights cancel: for a symbolic 2 x 3 W, symbolic gamma, upstream variances s and
    Var ReLU v, the ratio of eqs. 15 and 18 is sigma^2 p / v (= C(R)) identically."""
    import sympy as sp

    W = sp.Matrix(2, 3, sp.symbols("w0:6", nonzero=True, real=True))
    g = sp.symbols("g0:3", positive=True)
    s = sp.symbols("s0:3", positive=True)
    sig, p, v = sp.symbols("sigma p v", positive=True)
    sig2 = [v * sum(W[i, j] ** 2 for i in range(2)) for j in range(3)]
    var_g = [p * sum(s[j] * g[j] ** 2 * W[i, j] ** 2 / sig2[j] for j in range(3)) for i in range(2)]
    ratio = sum(sig**2 * vg for vg in var_g) / sum(g[j] ** 2 * s[j] for j in range(3))
    return sp.simplify(ratio - sig**2 * p / v) == 0


@claim("pc-thm-2.2", paper=V2, where="Thm 2.2, eq. 3",
       quote="$$C(R) \\leq \\mathbb{E}_{w} \\left[\\frac{\\sum_{i} \\operatorname{Var}_{x}(x_{i}^{n}) "
             "\\operatorname{Var}_{g}(g_{i}^{n})}{\\sum_{j} \\operatorname{Var}_{x}(x_{j}^{n+1}) "
             "\\operatorname{Var}_{g}(g_{j}^{n+1})} \\right]$$",
       formalisation="with R = mu/(sqrt2 sigma) (pc-thm-2.2-R), infinite batch, simplified BN backward "
                     "(Appendix A.2): the ratio for every W against C(R) in mpmath; the cancellation of W "
                     "proved by sympy; the sampled layers are pc-mc-thm-2.2",
       falsify=Falsify("competitor", {"R_definition": "printed"},
                       "C at the printed R = mu/sqrt(2 sigma) (sigma = 0.8): above the ratio for R > 0"))
def _thm_2_2(fast: bool, R_definition: str = "corrected") -> Verdict:
    rng = np.random.default_rng(20261121)
    cancels = memo_call(_sympy_ratio_is_C)
    worst_below, worst_abs = 0.0, 0.0
    sigma = 0.8
    Rs = (-3.0, -0.5, 0.0, 0.7, 2.5)
    for R in Rs:
        mu = math.sqrt(2) * R * sigma
        _, vr = relu_moments(mu, sigma)
        bound = float(mp_explosion_factor(_R(mu, sigma, R_definition)))
        for d_in, d_out in ((7, 5), (64, 200)):
            W = rng.normal(0.3, 1.1, size=(d_in, d_out))  # any W, even non-centred
            r = ex.layer_ratio_given_W(W, sigma**2, float(mp.ncdf(mu / sigma)), vr, rng.uniform(0.1, 3.0, d_out),
                               rng.uniform(0.5, 2.0, d_out))
            worst_below = max(worst_below, bound / r - 1)
            worst_abs = max(worst_abs, abs(r / bound - 1))
    # outside the theorem's assumption: unequal input variances sigma_i ~ U(0.3, 3)
    W = rng.standard_normal((64, 64))
    sig_i = rng.uniform(0.3, 3.0, 64)
    r0 = ex.layer_ratio_given_W(W, sig_i**2, 0.5, V_RELU * sig_i**2, np.ones(64), np.ones(64))
    mus = 0.5 * sig_i.mean() * np.ones(64)
    mv = np.array([float(mp_relu_moments(m, s)[1]) for m, s in zip(mus, sig_i)])
    pp = np.array([float(mp.ncdf(m / s)) for m, s in zip(mus, sig_i)])
    r1 = ex.layer_ratio_given_W(W, sig_i**2, pp, mv, np.ones(64), np.ones(64))
    ok = cancels and worst_below < TOL
    ev = {"sympy_ratio_equals_C_for_symbolic_W": bool(cancels), "R_definition": R_definition,
          "max_(bound/ratio - 1)": float(worst_below), "max_|ratio/C - 1|": float(worst_abs), "R_grid": list(Rs),
          "unequal_input_variances_mu0_ratio/C(0) - 1": float(r0 / C0 - 1),
          "unequal_variances_mu_ne_0_ratio": float(r1)}
    hyps = (_det(f"paper: C(R) <= ratio (R {R_definition})", 0.0, max(worst_below, 0.0)),)
    note = ("An equality, not only a bound: with the statistics of an infinite batch and the simplified "
            "backward the weights cancel (sympy), so the ratio is C(R) for every W "
            f"(max deviation {worst_abs:.1e}); Jensen's step is not needed. With unequal input variances "
            f"and mu = 0 it is still C(0) (deviation {r0 / C0 - 1:.1e}).")
    if not ok:
        note = f"The bound exceeds the ratio by up to {worst_below:.3g} relatively (R {R_definition})."
    return Verdict(HOLDS if ok else FAILS, ev, note, hyps)


def _eq4(R, erfc):
    e = mp.exp(-R * R) / mp.sqrt(mp.pi)
    E = erfc(-R)
    den = (1 + 2 * R * R) * E + 2 * R * e - (R * E + e) ** 2
    return E / den if den != 0 else mp.inf


def _printed_erfc(x):
    return 2 / mp.pi * mp.quad(lambda t: mp.npdf(t), [x, mp.inf])


def _eq4_quadrature_error(erfc_form: str) -> float:
    """Largest relative error of eq. 4 (with erfc as ``erfc_form``) against C(R) from mpmath
    quadratures of the ReLU moments, R = -4, -1, 0, 0.6, 3 (30 digits). Kept in the result store."""
    erfc = mp.erfc if erfc_form == "erfc" else _printed_erfc
    worst = 0.0
    with mp.workdps(30):
        for R in ("-4", "-1", "0", "0.6", "3"):
            R = mp.mpf(R)
            z = mp.sqrt(2) * R
            m1 = mp.quad(lambda x, z=z: x * mp.npdf(x - z), [0, mp.inf])
            m2 = mp.quad(lambda x, z=z: x * x * mp.npdf(x - z), [0, mp.inf])
            ref = mp.ncdf(z) / (m2 - m1**2)
            worst = max(worst, float(abs(_eq4(R, erfc) / ref - 1)))
    return worst


@claim("pc-thm-2.2-accuracy", paper=V2, where="Thm 2.2, eq. 4",
       quote="$$C(R) = \\frac{\\operatorname{erfc}(-R)}{(1+2R^2)\\operatorname{erfc}(-R) + 2R\\frac{e^{-R^2}}"
             "{\\sqrt{\\pi}} - (R\\operatorname{erfc}(-R) + \\frac{e^{-R^2}}{\\sqrt{\\pi}})^2}$$",
       formalisation="eq. 4 as printed equals Phi(z)/Var ReLU(Z + z), z = sqrt2 R, with Var by mpmath "
                     "quadrature (exact arithmetic), and can be evaluated as printed in double precision on "
                     "R in [-40, 40] (holds loosely where it cannot)",
       falsify=Falsify("competitor", {"erfc_form": "printed integral"},
                       "eq. 4 with erfc as the printed integral (2/pi) int phi (Thm 2.2's text)"))
def _thm_2_2_accuracy(fast: bool, erfc_form: str = "erfc") -> Verdict:
    from scipy.special import erfc as sp_erfc

    worst = memo_call(_eq4_quadrature_error, erfc_form)
    # eq. 4 as printed, in double precision: accurate down to some R, then 0 or NaN
    literal_err, breaks = [], None
    grid = np.arange(-20.0, -40.001, -0.25)
    for R in grid:
        with np.errstate(all="ignore"):
            E, e = sp_erfc(-R), math.exp(-R * R) / math.sqrt(math.pi)
            v = float(E / ((1 + 2 * R * R) * E + 2 * R * e - (R * E + e) ** 2))
        if not (math.isfinite(v) and v > 0):
            breaks = float(R)
            break
        literal_err.append(abs(v / float(mp_explosion_factor(R)) - 1))
    last_ok = float(grid[len(literal_err) - 1])
    n = 40 if fast else 400
    Rs = np.concatenate([-np.logspace(-3, 4, n), [0.0], np.logspace(-3, 4, n)])
    gx_err = _max_rel_err(explosion_factor(Rs), [mp_explosion_factor(R) for R in Rs])
    exact = worst < 1e-20
    status = (HOLDS if breaks is None else HOLDS_LOOSELY) if exact else FAILS
    ev = {"erfc_form": erfc_form, "max_rel_err_vs_quadrature": worst,
          "double_literal_max_rel_err_down_to_last_ok": float(max(literal_err)),
          "double_literal_last_finite_R": last_ok, "double_literal_first_R_giving_0_or_nan": breaks,
          "gradexp_max_rel_err_on_[-1e4,1e4]": gx_err}
    hyps = (_det("paper: eq. 4 (exact arithmetic)", 0.0, worst, 1e-20),)
    if not exact:
        return Verdict(FAILS, ev, f"With erfc as {erfc_form} eq. 4 is off by {worst:.3g} relatively.", hyps)
    return Verdict(status, ev,
                   f"Exact (against quadrature: {worst:.1e}), but evaluated as printed in double precision it "
                   f"returns 0 or NaN from R = {breaks:g} (relative error up to {max(literal_err):.1e} down to "
                   f"R = {last_ok:g}): erfc(-R) underflows in the cancellation. gradexp's evaluation is accurate "
                   f"to {gx_err:.1e} on [-1e4, 1e4].", hyps)


@claim("pc-a2-erfc-definition", paper=V2, where="Thm 2.2 text; Appendix A.2 after eq. 20",
       quote="$\\operatorname{erfc}(x) = \\frac{2}{\\pi} \\int_x^\\infty \\frac{1}{\\sqrt{2\\pi}} e^{-x^2/2}",
       formalisation="the printed integral (2/pi) int_x^inf phi(t) dt equals mpmath's erfc(x) at x = -1.5, 0, 0.7, 2",
       falsify=Falsify("competitor", {"form": "2/sqrt(pi) int e^-t^2"},
                       "the standard definition (2/sqrt(pi)) int_x^inf e^{-t^2} dt"))
def _erfc_definition(fast: bool, form: str = "printed") -> Verdict:
    xs = (-1.5, 0.0, 0.7, 2.0)
    with mp.workdps(30):
        f = _printed_erfc if form == "printed" else (lambda x: 2 / mp.sqrt(mp.pi) * mp.quad(lambda t: mp.exp(-t * t), [x, mp.inf]))
        err = max(float(abs(f(x) / mp.erfc(x) - 1)) for x in xs)
    ok = err < 1e-20
    return Verdict(HOLDS if ok else FAILS, {"x": list(xs), "form": form, "max_rel_err": err},
                   "" if ok else f"The printed integral is not erfc (off by up to {err:.3g} relatively on the grid); "
                   "erfc(x) = (2/sqrt(pi)) int_x^inf e^{-t^2} dt (the appendix's 2 - 2 phi(x sqrt2) is right, "
                   "pc-a2-erfc-phi).", (_det(f"paper: {form}", 0.0, err, 1e-20),))


@claim("pc-a2-erfc-phi", paper=V2, where="Appendix A.2, after eq. 20",
       quote="= 2 - 2\\phi(x\\sqrt{2})$ is a complementary error function.",
       formalisation="2 - 2 Phi(x sqrt2) equals mpmath's erfc(x) at x = -1.5, 0, 0.7, 2",
       falsify=Falsify("competitor", {"scale": "1"}, "2 - 2 Phi(x), the form without the sqrt2 scaling"))
def _erfc_phi(fast: bool, scale: str = "sqrt2") -> Verdict:
    xs = ("-1.5", "0", "0.7", "2")
    with mp.workdps(30):
        k = mp.sqrt(2) if scale == "sqrt2" else mp.mpf(1)
        err = max(float(abs((2 - 2 * mp.ncdf(mp.mpf(x) * k)) / mp.erfc(mp.mpf(x)) - 1)) for x in xs)
    ok = err < 1e-20
    return Verdict(HOLDS if ok else FAILS, {"x": list(xs), "scale": scale, "max_rel_err": err},
                   "" if ok else f"Off by up to {err:.3g} relatively.", (_det("paper: 2 - 2 phi(x sqrt2)", 0.0, err, 1e-20),))


# --------------------------------------------------------------------------- Cor 2.3
@claim("pc-cor-2.3", paper=V2, where="Cor. 2.3",
       quote="C(R) strictly decreased with $\\lim_{R\\to-\\infty} C(R) = \\infty$ (blocked), $C(0) = \\pi/(\\pi - 1)$ "
             "(zero-centered), and $\\lim_{R\\to\\infty} C(R) = 1$ (pseudo-linear).",
       falsify=Falsify("competitor", {"paper_C0": math.pi / (math.pi + 1)},
                       "pi/(pi+1), the value Thm 2.8 gives at R = 0 for perfectly correlated inputs"))
def _cor_2_3(fast: bool, paper_C0: float = C0) -> Verdict:
    R = np.linspace(-60, 4.5, 2001 if fast else 20001)  # beyond R ~ 5, C - 1 < 1e-16 in double
    decreasing = bool(np.all(np.diff(explosion_factor(R)) < 0))
    with mp.workdps(80):
        signs = [int(mp.sign(mp.diff(mp_explosion_factor, mp.mpf(r)))) for r in (-30, -3, 0, 3, 8)]
    c0_mp = float(mp_explosion_factor(0))
    lims = (float(mp_explosion_factor(-1e4)), float(mp_explosion_factor(60)))
    asym = float(explosion_factor(-1e3) - 1e6)
    dev = abs(c0_mp / paper_C0 - 1)
    ok = decreasing and all(s < 0 for s in signs) and dev < TOL and lims[0] > 1e7 and abs(lims[1] - 1) < 1e-15
    return Verdict(HOLDS if ok else FAILS,
                   {"strictly_decreasing_on_grid": decreasing, "derivative_signs_mpmath": signs,
                    "C(0)_mpmath": c0_mp, "paper_C0": paper_C0, "C(-1e4)": lims[0], "C(60)": lims[1],
                    "C(-1e3) - 1e6": asym},
                   f"Growth for R -> -inf is only quadratic: C(R) = R^2 + 5/2 - 3/R^2 + O(R^-4) "
                   f"(C(-1e3) - 1e6 = {asym:.4g})." if ok else f"C(0) = {c0_mp:.6g}, not {paper_C0:.6g}.",
                   (_det("paper: C(0) = pi/(pi-1)", paper_C0, c0_mp / paper_C0 - 1),
                    _det("competitor: pi/(pi+1)", math.pi / (math.pi + 1), c0_mp / (math.pi / (math.pi + 1)) - 1)))


def _denominator_derivative():
    import sympy as sp

    R = sp.Symbol("R", real=True)
    F = sp.erfc(-R)
    e = sp.exp(-R**2) / sp.sqrt(sp.pi)
    D = (1 + 2 * R**2) * F + 2 * R * e - (R * F + e) ** 2
    return sp, R, F, e, sp.diff(D, R)


def _cor_2_3_sympy(form: str, r0: float) -> tuple[str, bool, bool, float, float, float]:
    """The derivative of eq. 4's denominator against the ``form`` of eq. 21's last line (sympy): the
    residual, whether it is 0, whether the line before is right, the relative residual at R = -1/2,
    and the printed and corrected forms at ``r0``. Kept in the result store."""
    sp, R, F, e, dD = _denominator_derivative()
    target = 2 * (2 - F) * (F + e) if form == "printed" else 2 * (2 - F) * (R * F + e)
    resid = sp.simplify(dD - target)
    middle = sp.simplify(dD - (4 * R * F + e * (4 - 2 * F) - 2 * R * F**2)) == 0
    r = float(abs((dD - target) / dD).subs(R, sp.Rational(-1, 2)).evalf())
    printed = float((2 * (2 - F) * (F + e)).subs(R, r0).evalf())
    corrected = float((2 * (2 - F) * (R * F + e)).subs(R, r0).evalf())
    return str(resid), bool(resid == 0), bool(middle), r, printed, corrected


@claim("pc-cor-2.3-proof", paper=V2, where="Appendix A.3, eq. 21 (last line)",
       quote="&= 2(2 - \\operatorname{erfc}(-R)) (\\operatorname{erfc}(-R) + \\frac{e^{-R^2}}{\\sqrt{\\pi}}) \\end{aligned}$$",
       formalisation="the derivative of eq. 4's denominator in R (sympy)",
       falsify=Falsify("competitor", {"form": "2(2 - erfc(-R))(R erfc(-R) + e^{-R^2}/sqrt(pi))"},
                       "the factorisation with the R that the printed line drops"))
def _cor_2_3_proof(fast: bool, form: str = "printed") -> Verdict:
    r0 = -1.3  # an independent route: mpmath's numerical derivative of the denominator at R = r0
    resid, ok, middle, r, printed, corrected = memo_call(_cor_2_3_sympy, form, r0)
    with mp.workdps(30):
        def den(x):
            f, g = mp.erfc(-x), mp.exp(-x**2) / mp.sqrt(mp.pi)
            return (1 + 2 * x**2) * f + 2 * x * g - (x * f + g) ** 2
        num = float(mp.diff(den, mp.mpf(r0)))
    return Verdict(HOLDS if ok else FAILS,
                   {"form": form, "sympy_residual": resid, "rel_residual_at_R=-0.5": r,
                    "previous_line_(4R erfc + e(4 - 2 erfc) - 2R erfc^2)_correct": bool(middle),
                    "R0": r0, "numerical_derivative_mpmath_at_R0": num, "printed_form_at_R0": printed,
                    "corrected_form_at_R0": corrected},
                   "" if ok else "The line before it is right; the factorisation drops an R: the derivative is "
                   f"2(2 - erfc(-R))(R erfc(-R) + e^(-R^2)/sqrt(pi)) (at R = {r0}: numerical derivative {num:.5g}, "
                   f"printed form {printed:.5g}, corrected form {corrected:.5g}; printed form off by {r:.3g} "
                   "relatively at R = -1/2). Still strictly positive, as the proof needs; the L'Hopital quotient of "
                   "eq. 22 built on the printed form does not diverge (pc-cor-2.3-limit).",
                   (_det(f"paper: {form}", 0.0, r),))


@claim("pc-cor-2.3-limit", paper=V2, where="Appendix A.3, after eq. 22",
       quote="since $2 - \\operatorname{erfc}(-R) \\to 0+$ and $\\operatorname{erfc}(-R)/e^{-R^2} \\to 0.$",
       formalisation="the limits at R -> -inf (sympy), and C(R) -> inf by the asymptotic series",
       falsify=Falsify("competitor", {"paper_limit": 2}, "2 - erfc(-R) -> 2, the limit sympy finds"))
def _cor_2_3_limit(fast: bool, paper_limit: int = 0) -> Verdict:
    sp, R, F, _e, _ = _denominator_derivative()
    lim = sp.limit(2 - F, R, -sp.oo)
    lim2 = sp.limit(F / sp.exp(-R**2), R, -sp.oo)
    numeric = float(explosion_factor(-1e3) - (1e6 + 2.5 - 3e-6))
    Rs = (-5, -20, -100, -1000)
    with mp.workdps(40):
        def q(x, corrected):  # eq. 22's last quotient, with sqrt(pi) e^{R^2} erfc(-R) = sqrt(pi) erfcx(-R)
            x = mp.mpf(x)
            t = mp.sqrt(mp.pi) * mp.erfc(-x) * mp.exp(x**2)
            return float(1 / ((2 - mp.erfc(-x)) * ((x * t if corrected else t) + 1)))
        printed_q = [q(x, False) for x in Rs]
        corrected_q = [q(x, True) for x in Rs]
    ok = lim == paper_limit and lim2 == 0
    pq = ", ".join(f"{v:.4g}" for v in printed_q)
    cq = ", ".join(f"{v:.4g}" for v in corrected_q)
    return Verdict(HOLDS if ok else FAILS,
                   {"limit_2-erfc(-R)": str(lim), "limit_erfc(-R)/e^(-R^2)": str(lim2), "paper_limit": paper_limit,
                    "R": list(Rs), "printed_quotient_1/((2-erfc)(sqrt(pi) e^{R^2} erfc + 1))": printed_q,
                    "corrected_quotient_1/((2-erfc)(R sqrt(pi) e^{R^2} erfc + 1))": corrected_q,
                    "C(-1000) - (R^2 + 5/2 - 3/R^2)": numeric},
                   "" if ok else f"2 - erfc(-R) -> {lim}, not 0+ (erfc(-R) -> 0; the second limit, "
                   f"erfc(-R)/e^(-R^2) -> {lim2}, is right). With the printed eq. 21 the quotient of eq. 22 then "
                   f"tends to 1/2, not infinity ({pq} at R = {', '.join(map(str, Rs))}). The two slips cancel: "
                   "with the derivative that eq. 21 should read, 2(2 - erfc(-R))(R erfc(-R) + e^(-R^2)/sqrt(pi)) "
                   "(pc-cor-2.3-proof), the quotient is 1/((2 - erfc(-R))(R sqrt(pi) e^(R^2) erfc(-R) + 1)) ~ R^2 "
                   f"({cq}), and the conclusion C -> inf stands: C(R) = R^2 + 5/2 - 3/R^2 + O(R^-4) "
                   f"(C(-1000) minus the series: {numeric:.2g}; pc-cor-2.3).",
                   (Hypothesis(f"paper: limit {paper_limit}", float(paper_limit), 0.0 if ok else math.inf),))


@claim("pc-001-sec2.1-blocked", paper=V1, where="Sec. 2.1",
       quote="Such a layer does not generate gradient explosion (Philipp et al., 2017), although it does not "
             "function as a valid layer contributing to the effective depth either.",
       formalisation="a ReLU layer with |mu/sigma| = 3 ('disabled', outputs of one sign): the ratio C(R) of "
                     "Thm 2.2 (eq. 4 in mpmath) against 1 (no explosion), for mu/sigma = +3 and -3",
       falsify=Falsify("competitor", {"paper_factor": "C(R)"},
                       "C(R) of the later version's Cor. 2.3 (blocked: C -> inf) in the paper's place"))
def _blocked(fast: bool, paper_factor="1") -> Verdict:
    c_lin = float(mp_explosion_factor(3 / math.sqrt(2)))
    c_blk = float(mp_explosion_factor(-3 / math.sqrt(2)))
    p = 1.0 if paper_factor == "1" else c_blk
    tol = 0.01  # "does not generate explosion": within 1% of 1
    hyps = (Hypothesis("paper: factor 1 (no explosion)", p, (c_blk - p) / tol),
            Hypothesis("competitor: C(-3/sqrt2), blocked", c_blk, 0.0))
    ok = abs(c_blk / p - 1) < tol
    return Verdict(HOLDS if ok else FAILS,
                   {"C(+3/sqrt2)_pseudo_linear": c_lin, "C(-3/sqrt2)_blocked": c_blk, "tolerance": tol},
                   f"Holds for the pseudo-linear side (mu/sigma = +3: C = {c_lin:.4f}) but not for a blocked layer: "
                   f"at mu/sigma = -3 the ratio is C = {c_blk:.4g} and it diverges as R -> -inf (Cor. 2.3 of the "
                   "later version, 'blocked'); replacing the activation by the constant 0 is not the limit."
                   if not ok else "", hyps)


# --------------------------------------------------------------------------- Yang's rate
@claim("pc-yang-rate", paper=V2, where="Remark 2.5",
       quote="Our results align with those of (Yang et al., 2019), which calculated the explosion rate to be "
             "$\\sqrt{\\pi/(\\pi - 1)}$ under the assumption of infinite width, and zero-centered i.i.d. normal "
             "activations and parameters.",
       formalisation="sqrt(C(0)) of eq. 4 (mpmath) against Yang et al.'s sqrt(pi/(pi-1)) (the paper) and against "
                     "C(0) itself (the competitor: the paper's 'explosion rate' C(R) read as the rate, no square "
                     "root); Yang et al.'s rate at a finite batch B, sqrt(lambda(B)) (finite_batch_factor), is "
                     "reported: sqrt(pi/(pi-1)) is its large-batch limit, which the sentence leaves out",
       falsify=Falsify("competitor", {"yang_rate": C0},
                       "C(0) = pi/(pi-1) itself, the squared-norm reading of the rate (no square root)"))
def _yang(fast: bool, yang_rate: float = float(mp.sqrt(mp.pi / (mp.pi - 1)))) -> Verdict:
    with mp.workdps(40):
        rate = float(mp.sqrt(mp_explosion_factor(0)))
    dev = rate / yang_rate - 1
    dev_c = rate / C0 - 1
    batches = (8, 128)  # Fig. 1 states no batch; 128 is the base batch of Appendix B
    finite = {B: math.sqrt(float(finite_batch_factor(B))) for B in batches}
    ok = abs(dev) < TOL
    fb = ", ".join(f"{v:.4f} at B = {B}" for B, v in finite.items())
    return Verdict(HOLDS_LOOSELY if ok else FAILS,
                   {"sqrt_C0_mpmath": rate, "yang_rate": yang_rate, "rel_dev": dev, "C0_competitor": C0,
                    "rel_dev_competitor": dev_c, "yang_finite_batch_rate_sqrt(lambda(B))": {str(B): v for B, v in finite.items()}},
                   f"sqrt(C(0)) = {rate:.6f} equals sqrt(pi/(pi-1)) (C(R) is a ratio of variances, the norm grows by its "
                   f"square root; C(0) = {C0:.4f} itself, the squared-norm reading, is {dev_c:.3g} off relatively). "
                   "Loosely: Yang et al.'s rate depends on the batch, sqrt(lambda(B)) = "
                   f"{fb}; sqrt(pi/(pi-1)) is its large-batch limit, an assumption the sentence leaves out."
                   if ok else f"sqrt(C(0)) = {rate:.6g}, not {yang_rate:.6g}.",
                   (_det("paper: Yang's rate", yang_rate, dev), _det("competitor: C(0), no square root", C0, dev_c)))


@claim("pc-001-yang-rate", paper=V1, where="Sec. 2, after Thm 2.2",
       quote="If the width of the network and the size of activation remains similar, the gradient is expected "
             "to increase exponentially at the rate of $\\sqrt{\\pi/(\\pi-1)} \\sim 1.21$ .",
       formalisation="sqrt(pi/(pi-1)) rounds to the printed 1.21 (two decimals); the rate itself is pc-yang-rate",
       falsify=Falsify("smallest-effect", {"printed": 1.22}, "the next value at the printed precision"))
def _yang_001(fast: bool, printed: float = 1.21) -> Verdict:
    rate = math.sqrt(C0)
    ok = abs(rate - printed) <= 0.005
    return Verdict(HOLDS if ok else FAILS, {"sqrt(pi/(pi-1))": rate, "printed": printed, "half_unit": 0.005},
                   f"sqrt(pi/(pi-1)) = {rate:.4f}" + (" rounds to " if ok else " does not round to ") + f"{printed}.",
                   (Hypothesis("paper: 1.21", printed, (rate - printed) / 0.005),))


@claim("pc-001-thm-2.2", paper=V1, where="Thm 2.2, eq. 3",
       quote="$$E \\left[ \\frac{\\sum_i \\text{Var}(x_i^n) \\text{Var}(g_i^n)}{\\sum_j \\text{Var}(x_j^{n+1}) "
             "\\text{Var}(g_j^{n+1})} \\right] \\geq \\frac{\\pi}{\\pi - 1} \\quad (3)$$",
       formalisation="zero-centred inputs, infinite batch, simplified backward: the ratio for random W, with and "
                     "without identical pre-normalisation variances, against pi/(pi-1) (Var ReLU in mpmath)",
       falsify=Falsify("competitor", {"printed": math.pi / (math.pi + 2)},
                       "pi/(pi+2), the earlier version's perfectly correlated value"))
def _thm_2_2_earlier(fast: bool, printed: float = C0) -> Verdict:
    rng = np.random.default_rng(3)
    v = float(mp_relu_moments(0, 1)[1])
    W = rng.standard_normal((50, 80))
    r = ex.layer_ratio_given_W(W, 1.0, 0.5, v, np.ones(80), np.ones(80))
    W_eq = W / np.sqrt((W**2).sum(axis=0))[None, :]  # identical pre-normalisation variances
    r_eq = ex.layer_ratio_given_W(W_eq, 1.0, 0.5, v, np.ones(80), np.ones(80))
    dev = max(abs(r / printed - 1), abs(r_eq / printed - 1))
    ok = dev < TOL
    return Verdict(HOLDS if ok else FAILS, {"ratio_random_W": r, "ratio_identical_variances": r_eq, "printed": printed},
                   "Equality for every W in the infinite-batch limit, not only for identical variances." if ok else
                   f"The ratio is {r:.6g}: the bound {printed:.6g} is not attained.",
                   (_det("paper: pi/(pi-1) with equality", printed, r / printed - 1),))


@claim("pc-001-cor-2.3", paper=V1, where="Cor. 2.3, eq. 4",
       quote="At the limit where ReLU becomes pseudo-linear, we have:",
       formalisation="mu > 0, sigma/mu -> 0: C(R) (eq. 4 in mpmath) at R = 1, 3, 10, 30, 1000 is >= 1 and tends to 1",
       falsify=Falsify("competitor", {"printed_limit": C0},
                       "pi/(pi-1): pseudo-linearity does not change the zero-centred ratio"))
def _cor_2_3_earlier(fast: bool, printed_limit: float = 1.0) -> Verdict:
    Rs = [1.0, 3.0, 10.0, 30.0, 1e3]
    c = [float(mp_explosion_factor(R)) for R in Rs]
    ok = all(x >= printed_limit for x in c) and abs(c[-1] - printed_limit) < TOL
    return Verdict(HOLDS if ok else FAILS, {"R": Rs, "C(R)_mpmath": c, "printed_limit": printed_limit},
                   "C(R) -> 1 from above as R -> +inf. For mu < 0 the same limit sigma/mu -> 0 gives +inf "
                   "(pc-001-sec2.1-blocked)." if ok else f"C tends to 1, not {printed_limit:.4g}.",
                   (_det(f"paper: limit {printed_limit:.4g}", printed_limit, c[-1] - printed_limit),))


@claim("pc-lemma-2.9-algebra", paper=V2, where="Lemma 2.9, eq. 7; Appendix A.6, eq. 34",
       quote="$$\\frac{\\operatorname{Var}(h_i^n)}{\\operatorname{Var}(h_i^m)} = \\left(\\frac{\\operatorname{Var}(g_i^n)}"
             "{\\operatorname{Var}(g_i^m)}\\right)^2 \\tag{7}$$",
       formalisation="h = k g^2 (eq. 33) with zero-mean Gaussian g: Var(h) = 2 k^2 Var(g)^2 (sympy), so the ratio is "
                     "the squared gradient-variance ratio; eq. 33 itself on networks is pc-mc-lemma-2.9",
       falsify=Falsify("competitor", {"power": 1}, "curvature proportional to the gradient variance (exponent 1)"))
def _lemma_2_9(fast: bool, power: int = 2) -> Verdict:
    var_h1, ok, rel = memo_call(_lemma_2_9_sympy, power)
    return Verdict(HOLDS if ok else FAILS, {"Var(h)": var_h1, "power": power, "residual_at_ratio_4": rel},
                   "Var(g^2) = 2 Var(g)^2 for zero-mean Gaussian g." if ok else f"Off by {rel:.3g} at a variance ratio of 4.",
                   (_det(f"paper: exponent {power}", power, rel),))


def _lemma_2_9_sympy(power: int) -> tuple[str, bool, float]:
    """Var(h), h = k x^2, x ~ N(0, s^2) (sympy): its form at s1, whether Var(h(s1))/Var(h(s2)) is
    (s1^2/s2^2)^power identically, and the residual at s1/s2 = 2. Kept in the result store."""
    import sympy as sp

    x = sp.Symbol("x", real=True)
    s1, s2, k = sp.symbols("s1 s2 k", positive=True)

    def var_h(s):
        dens = sp.exp(-x**2 / (2 * s**2)) / (sp.sqrt(2 * sp.pi) * s)
        return sp.simplify(sp.integrate((k * x**2) ** 2 * dens, (x, -sp.oo, sp.oo))
                           - sp.integrate(k * x**2 * dens, (x, -sp.oo, sp.oo)) ** 2)

    diff = sp.simplify(var_h(s1) / var_h(s2) - (s1**2 / s2**2) ** power)
    return str(var_h(s1)), bool(diff == 0), float(abs(diff).subs({s1: 2, s2: 1}))


@claim("pc-001-relu-variance", paper=V1, where="Sec. 2, after Thm 2.2",
       quote="The theorem can be roughly explained by the fact that the ReLU activation function reduces the variance "
             "by approximately $(\\pi-1)/2\\pi$ instead of $1/2$ under the zero-centered assumption.",
       formalisation="Var ReLU(Z), Z ~ N(0, 1), by mpmath quadrature, against (pi-1)/(2 pi) (paper) and 1/2 (He et al.'s "
                     "random blocking, competitor)",
       falsify=Falsify("competitor", {"paper_value": 0.5}, "1/2, the variance of random blocking (dropout, Fig. 2 (b))"))
def _relu_variance(fast: bool, paper_value: float = (math.pi - 1) / (2 * math.pi)) -> Verdict:
    with mp.workdps(30):
        m1 = mp.quad(lambda x: x * mp.npdf(x), [0, mp.inf])
        v = float(mp.quad(lambda x: x * x * mp.npdf(x), [0, mp.inf]) - m1**2)
    dev = v / paper_value - 1
    ok = abs(dev) < TOL
    return Verdict(HOLDS if ok else FAILS, {"Var_ReLU(Z)_quadrature": v, "paper_value": paper_value, "half": 0.5},
                   f"Var ReLU(Z) = {v:.6f} = (pi-1)/(2 pi) exactly, below the 1/2 of random blocking: BN divides by it "
                   "while the gradient is only halved, hence pi/(pi-1)." if ok else f"Var ReLU(Z) = {v:.6f}, not {paper_value:g}.",
                   (_det(f"paper: {paper_value:.6g}", paper_value, dev), _det("competitor: 1/2", 0.5, v / 0.5 - 1)))


# --------------------------------------------------------------------------- Figure 1 (closed form)
_SMOOTHER = ("leaky_relu", "elu", "gelu", "silu")


@claim("pc-fig1-activations", paper=V2, where="Sec. 1, Fig. 1 (right)",
       quote="Smoother variants of ReLU (Maas et al., 2013; Clevert et al., 2015; Ramachandran et al., 2017; Hendrycks "
             "& Gimpel, 2016) exhibit lower explosion rates due to their flatter behavior near the origin.",
       formalisation="single BN layer, Gaussian inputs N(0, 1), infinite batch: each smoother variant's factor "
                     "Var(x) E[phi'(x)^2] / Var(phi(x)) (mpmath quadrature) is below ReLU's pi/(pi-1); the deep "
                     "chains are pc-mc-fig1-chains",
       falsify=Falsify("competitor", {"leaky_slope": 0.0},
                       "leaky ReLU with slope 0 (no smoothing): it must not come out below ReLU"))
def _fig1(fast: bool, leaky_slope: float = 0.01) -> Verdict:
    ref = {n: float(mp_activation_factor(n)) for n in ("relu", "elu", "gelu", "silu", "softplus", "tanh")}
    ref["leaky_relu"] = float(activation_factor("leaky_relu", 0.0, 1.0, slope=leaky_slope)) if leaky_slope != 0.01 \
        else float(mp_activation_factor("leaky_relu"))
    gx = {n: float(activation_factor(n, 0.0, 1.0, **({"slope": 0.01} if n == "leaky_relu" else {}))) for n in ref}
    err = max(abs(gx[n] / float(mp_activation_factor(n)) - 1) for n in ref)
    below = {n: ref[n] < ref["relu"] * (1 - TOL) for n in _SMOOTHER}
    ok = all(below.values())
    hyps = tuple(_det(f"paper: {n} below ReLU", ref["relu"], (ref[n] - ref["relu"]) / ref["relu"]) for n in _SMOOTHER)
    return Verdict(HOLDS if ok else FAILS,
                   {"factor_mpmath": ref, "leaky_slope": leaky_slope, "max_rel_err_gradexp_vs_mpmath": err, "below_relu": below},
                   "Single-layer factors at mu = 0, sigma = 1: " + ", ".join(f"{n} {ref[n]:.4f}" for n in ("relu",) + _SMOOTHER)
                   + ". Smoothness alone is not the whole story: leaky ReLU is as kinked as ReLU and lower because it "
                   "blocks less." if ok else "Not every smoother variant is below ReLU: " + str(below), hyps)


@claim("pc-fig1-dropout", paper=V2, where="Sec. 1, Fig. 1 (right)",
       quote="It is worth noting that gradient explosion does not occur with DropOut (Srivastava et al., 2014), "
             "which can be regarded as a ReLU that randomly blocks signals.",
       formalisation="single BN layer, Gaussian inputs N(mu, 1), infinite batch: dropout's factor (keep 0.5) is 1 at "
                     "mu = 0 and <= 1 otherwise (closed form sigma^2/(sigma^2 + (1-p) mu^2), checked against gradexp); "
                     "the chains are pc-mc-fig1-dropout",
       falsify=Falsify("competitor", {"paper_factor": C0},
                       "dropout as 'a ReLU that blocks' exploding like ReLU, pi/(pi-1)"))
def _fig1_dropout(fast: bool, paper_factor: float = 1.0) -> Verdict:
    mus = (0.0, 0.5, 1.0)
    gx = [float(activation_factor("dropout", m, 1.0, keep_prob=0.5)) for m in mus]
    closed = [1.0 / (1.0 + 0.5 * m * m) for m in mus]
    dev = abs(gx[0] / paper_factor - 1)
    ok = dev < TOL and max(abs(a / b - 1) for a, b in zip(gx, closed)) < TOL and all(v <= 1 + TOL for v in gx)
    return Verdict(HOLDS if ok else FAILS, {"mu": list(mus), "factor": gx, "closed_form": closed, "paper_factor": paper_factor},
                   "E[phi'^2] = 1/p = Var(phi)/Var(x) at mu = 0: no explosion; with a mean the factor drops below 1."
                   if ok else f"Dropout's factor is {gx[0]:.4g}, not {paper_factor:.4g}.",
                   (_det(f"paper: factor {paper_factor:.4g}", paper_factor, dev), _det("competitor: pi/(pi-1)", C0, gx[0] / C0 - 1)))
