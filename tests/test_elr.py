"""The effective-learning-rate model (gradexp.elr)."""

from __future__ import annotations

import doctest
import math

import mpmath as mp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import gradexp
from gradexp import elr
from gradexp import optim as o


def test_public_api_and_doctests():
    assert gradexp.elr.simulate is elr.simulate
    assert set(elr.__all__) <= set(dir(elr))
    for mod in (elr, o):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0


# ------------------------------------------------------------------------------ profiles
def test_plain_profile_conventions():
    a = gradexp.YANG_RATE
    np.testing.assert_allclose(elr.plain_profile(4), a ** np.array([4, 3, 2, 1]), rtol=1e-15)
    np.testing.assert_allclose(elr.plain_profile(4, convention="squared"),
                               a ** (np.array([4, 3, 2, 1]) / 2), rtol=1e-15)
    with pytest.raises(ValueError):
        elr.plain_profile(0)
    with pytest.raises(ValueError):
        elr.plain_profile(3, convention="bogus")


def test_residual_profile_by_hand_and_limits():
    a = 1.5
    # L = 6, s = 2: layers 6..1; l = 2 (< L - s = 4, even) averages, l = 4 does not (4 !< 4)
    g = {6: a}
    g[5] = a * g[6]
    g[4] = a * g[5]
    g[3] = a * g[4]
    g[2] = 0.5 * (a * g[3] + g[4])
    g[1] = a * g[2]
    np.testing.assert_allclose(elr.residual_profile(6, 2, rate=a), [g[i] for i in range(1, 7)])
    np.testing.assert_allclose(elr.residual_profile(10, 11), elr.plain_profile(10), rtol=1e-15)
    # asymptotic per-layer growth deep inside the network
    p = elr.residual_profile(400, 2)
    growth = (p[10] / p[210]) ** (1 / 200)
    assert growth == pytest.approx(elr.residual_rate(2), rel=1e-12)
    assert elr.residual_rate(2) < gradexp.YANG_RATE
    with pytest.raises(ValueError):
        elr.residual_profile(5, 0)


# --------------------------------------------------------------------------- closed forms
def test_continuous_against_solve_ivp():
    c, lam, w0 = 3.0, 0.05, 2.0
    sol = solve_ivp(lambda t, y: lam * c * c / y, (0, 40), [w0], rtol=1e-12, atol=1e-14,
                    dense_output=True, method="DOP853")
    ts = np.linspace(0, 40, 17)
    np.testing.assert_allclose(elr.continuous_weight_sq(c, lam, ts, w0_sq=w0), sol.sol(ts)[0],
                               rtol=1e-10)


def test_continuous_ends_and_vectorisation():
    assert elr.continuous_weight_sq(2.0, 0.1, 0.0, w0_sq=2.0) == 2.0  # t = 0: k0 = w0_sq^2
    ts = np.array([0.0, 1.0, 10.0])
    vec = elr.continuous_weight_sq(2.0, 0.1, ts)
    loop = [elr.continuous_weight_sq(2.0, 0.1, t) for t in ts]
    np.testing.assert_array_equal(vec, loop)
    # t -> infinity: sigma^2 ~ sqrt(2 lam c^2 t)
    t = 1e12
    assert elr.continuous_weight_sq(2.0, 0.1, t) / math.sqrt(2 * 0.1 * 4 * t) == pytest.approx(
        1.0, rel=1e-10)
    with pytest.raises(ValueError):
        elr.continuous_weight_sq(1.0, 0.1, -1.0)
    with pytest.raises(ValueError):
        elr.continuous_weight_sq(1.0, 0.0, 1.0)


def test_discrete_converges_to_continuous_like_lambda_squared():
    """Eq. 4 is the explicit Euler step of d(sigma^2)/d(tau) = c^2/sigma^2 with step lam^2
    (tau = lam * t = lam^2 k): at fixed tau the discrete model tends to eq. 7 with error
    O(lam^2), first order in the step lam^2."""
    c, tau = 2.0, 5.0
    errs = []
    for lam in [0.08, 0.04, 0.02, 0.01]:
        k = round(tau / lam ** 2)
        s = elr.discrete_weight_sq(c, lam, k)[-1]
        errs.append(abs(s / elr.continuous_weight_sq(c, lam, k * lam) - 1))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    np.testing.assert_allclose(ratios, 4.0, rtol=0.02)
    assert errs[-1] < 1e-4


def test_elr_ratio_and_gradient_ratio_ends():
    cl, ck, lam, k0 = 50.0, 2.0, 0.01, 4.0
    assert elr.elr_ratio_sq(cl, ck, lam, 0.0, k0=k0) == pytest.approx((cl / ck) ** 2)
    assert elr.elr_ratio_sq(cl, ck, lam, 1e15, k0=k0) == pytest.approx(1.0, rel=1e-10)
    assert elr.gradient_ratio_sq(cl, ck, lam, 0.0, k0=k0) == pytest.approx((cl / ck) ** 2)
    assert elr.gradient_ratio_sq(cl, ck, lam, 1e18, k0=k0) == pytest.approx(
        elr.gradient_ratio_sq_limit(cl, ck), rel=1e-6)
    # eq. 10 against the continuous model itself
    t = 3.7
    El = elr.continuous_elr(cl, lam, t, w0_sq=2.0)
    Ek = elr.continuous_elr(ck, lam, t, w0_sq=2.0)
    assert (El / Ek) ** 2 == pytest.approx(elr.elr_ratio_sq(cl, ck, lam, t, k0=4.0), rel=1e-13)


def test_stability_bounds_against_mpmath():
    # mpmath: 2*sqrt(2) * (pi/(pi-1))^(-L/2) at 30 digits
    with mp.workdps(30):
        a = mp.sqrt(mp.pi / (mp.pi - 1))
        ref50 = float(2 * mp.sqrt(2) * a ** -50)
        ref100 = float(2 * mp.sqrt(2) * a ** -100)
    assert elr.stability_bound_at_init(50) == pytest.approx(ref50, rel=1e-13)
    assert elr.stability_bound_at_init(100) == pytest.approx(ref100, rel=1e-13)
    assert ref50 == pytest.approx(1.9553e-4, rel=1e-4)
    assert elr.stability_bound(4.0, 2.0) == pytest.approx(math.sqrt(2) / 2)
    # eq. 24 at the bound: |1 - lam^2 c^2 / sigma^4| = 1 exactly
    lam = elr.stability_bound(7.0, 3.0)
    assert abs(1 - lam ** 2 * 49 / 9) == pytest.approx(1.0)


def test_he_weight_sq():
    rng = np.random.default_rng(0)
    n = 64
    W = rng.standard_normal((2000, n, n)) * math.sqrt(2 / n)
    sq = (W ** 2).sum(axis=(1, 2))
    z = (sq.mean() - elr.he_weight_sq(n, n)) / (sq.std(ddof=1) / math.sqrt(sq.size))
    assert abs(z) < 5
    assert elr.he_weight_sq(n, n) == 2 * n


# ----------------------------------------------------------------------------- simulate
def test_simulate_is_eq4_for_plain_sgd():
    c = elr.plain_profile(12)
    lrs = np.linspace(0.01, 0.3, 25)
    tr = elr.simulate(c, lrs, 25, w0_sq=1.5, engine="rotating")
    ref = elr.discrete_weight_sq(c, lrs, 25, w0_sq=1.5)
    np.testing.assert_allclose(tr.weight_sq, ref, rtol=1e-13)
    np.testing.assert_allclose(tr.elr, c / ref, rtol=1e-13)
    np.testing.assert_allclose(tr.relative_update, lrs[:, None] * tr.elr[:-1], rtol=1e-12)
    np.testing.assert_allclose(tr.spread, np.std(c / ref, axis=-1), rtol=1e-12)


def test_auto_engine_equals_rotating_for_plain_sgd():
    c = np.tile(elr.plain_profile(9), (3, 1))
    lrs = np.array([1e-3, 0.1, 2.0])[:, None] * np.linspace(0.5, 1.0, 12)
    a = elr.simulate(c, lrs, 12, w0_sq=2.0)
    b = elr.simulate(c, lrs, 12, w0_sq=2.0, engine="rotating")
    for f in ("weight_sq", "grad_sq", "direction_sq", "update_sq", "step_size", "lr"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-12, err_msg=f)


@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
def test_simulate_momentum_is_appendix_a2(mu):
    c = elr.residual_profile(20, 3)
    tr = elr.simulate(c, 0.02, 40, momentum=mu)
    w, gh, buf = elr.momentum_weight_sq(c, 0.02, 40, mu)
    np.testing.assert_allclose(tr.weight_sq, w, rtol=1e-12)
    np.testing.assert_allclose(tr.grad_sq, gh, rtol=1e-12)
    np.testing.assert_allclose(tr.direction_sq, buf[:-1], rtol=1e-12)


@pytest.mark.parametrize("rule", [o.SGD(), o.LARS(eta=0.02), o.LAMB(), o.LAMBC(clip=0.5),
                                  o.CLARS(eta=0.05), o.AGC(clipping=0.1), o.LALC(eta=10.0),
                                  o.ELRConstraint(e_goal=0.05), o.TVLARS(eta=0.05, lam=0.05)])
@pytest.mark.parametrize("mu,wd", [(0.0, 0.0), (0.9, 1e-2)])
def test_rotating_engine_equals_full_coordinates(rule, mu, wd):
    c = elr.plain_profile(8)
    opt = o.Optimizer(rule=rule, momentum=mu, weight_decay=wd)
    a = elr.simulate(c, 0.3, 25, optimizer=opt)
    b = elr.simulate(c, 0.3, 25, optimizer=opt, engine="full")
    np.testing.assert_allclose(a.weight_sq, b.weight_sq, rtol=1e-11)
    np.testing.assert_allclose(a.update_sq, b.update_sq, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(a.direction_sq, b.direction_sq, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("form", ["tvlars_printed", "tvlars_nesterov"])
def test_rotating_engine_tvlars_forms_and_rescale(form):
    c = elr.plain_profile(6)
    opt = o.Optimizer(rule=o.TVLARS(eta=0.1, lam=0.1, d_e=3.0), momentum=0.9, form=form,
                      rescale_max_norm=True)
    a = elr.simulate(c, 1.0, 20, optimizer=opt)
    b = elr.simulate(c, 1.0, 20, optimizer=opt, engine="full")
    np.testing.assert_allclose(a.weight_sq, b.weight_sq, rtol=1e-11)
    assert np.allclose(a.weight_sq.max(axis=-1), 1.0)


def test_elr_constraint_equalises_relative_update():
    c = elr.plain_profile(30)
    opt = o.Optimizer(rule=o.ELRConstraint(e_goal=0.01), rescale_max_norm=True)
    tr = elr.simulate(c, 1.0, 10, optimizer=opt)
    E = tr.elr[:-1]
    np.testing.assert_allclose(tr.relative_update, 0.01 * E / (E + 1e-5), rtol=1e-12)


def test_simulate_batched_equals_loop():
    c = elr.plain_profile(10)
    lams = np.array([1e-3, 1e-2, 1e-1])
    tr = elr.simulate(np.tile(c, (3, 1)), lams[:, None] * np.ones(12), 12, momentum=0.8)
    for i, lam in enumerate(lams):
        one = elr.simulate(c, lam, 12, momentum=0.8)
        np.testing.assert_allclose(tr.weight_sq[i], one.weight_sq, rtol=1e-14)


def test_simulate_flip_after_one_large_step():
    c = elr.plain_profile(20)
    small = elr.simulate(c, 1e-4, 1)
    large = elr.simulate(c, 1.0, 1)
    assert np.all(np.diff(small.elr[1]) < 0)  # order kept (input side largest)
    assert np.all(np.diff(large.elr[1][:15]) > 0)  # flipped where lam*c > 1


def test_simulate_validation():
    with pytest.raises(ValueError):
        elr.simulate([1.0, float("nan")], 0.1, 3)
    with pytest.raises(ValueError):
        elr.simulate([1.0, -1.0], 0.1, 3)
    with pytest.raises(ValueError):
        elr.simulate([1.0], 0.1, -1)
    with pytest.raises(ValueError):
        elr.simulate([1.0], 0.1, 3, optimizer=o.Optimizer(), momentum=0.5)
    with pytest.raises(ValueError):
        elr.simulate([1.0], 0.1, 3, engine="bogus")
    tr = elr.simulate(2.0, 0.1, 0)
    assert tr.weight_sq.shape == (1, 1) and tr.steps == 0


# ===================================================== issue 12: beyond the early phase
def _wd_recursion(c, lams, beta, s0):
    """Independent transcription: W <- W - lam (g + beta W) with g orthogonal to W, as
    2-d vectors (Pythagoras done by numpy, not by the formula)."""
    out = [s0]
    w = np.array([math.sqrt(s0), 0.0])
    for lam in lams:
        n = np.linalg.norm(w)
        g = np.array([-w[1], w[0]]) / n * (c / n)  # orthogonal, norm c/||W||
        w = w - lam * (g + beta * w)
        out.append(float(w @ w))
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 1e-3, 0.3])
def test_weight_decay_discrete_against_independent_recursion(beta):
    lams = np.linspace(0.01, 0.4, 30)
    for c, s0 in ((0.7, 1.0), (40.0, 2.0)):
        ref = _wd_recursion(c, lams, beta, s0)
        got = elr.discrete_weight_sq(c, lams, 30, w0_sq=s0, weight_decay=beta)
        np.testing.assert_allclose(got, ref, rtol=1e-12)
        tr = elr.simulate([c], lams, 30, w0_sq=s0, weight_decay=beta)
        np.testing.assert_allclose(tr.weight_sq[:, 0], ref, rtol=1e-12)
        rot = elr.simulate([c], lams, 30, w0_sq=s0, weight_decay=beta, engine="rotating")
        np.testing.assert_allclose(rot.weight_sq[:, 0], ref, rtol=1e-12)


def _gram_momentum(c, lam, mu, beta, steps, s0):
    """Independent route: explicit vectors in R^(steps+2), each gradient a new axis."""
    D = steps + 2
    w = np.zeros(D)
    w[0] = math.sqrt(s0)
    buf = None
    out = [s0]
    for k in range(steps):
        g = np.zeros(D)
        g[k + 1] = c / np.linalg.norm(w)
        d = g + beta * w
        buf = d if buf is None else mu * buf + d
        w = w - lam * buf
        out.append(float(w @ w))
    return np.array(out)


@pytest.mark.parametrize("mu,beta", [(0.9, 0.0), (0.9, 0.05), (0.5, 0.3), (0.0, 0.2)])
def test_weight_decay_momentum_against_vectors(mu, beta):
    c = np.array([0.5, 3.0, 30.0])
    ref = np.stack([_gram_momentum(ci, 0.07, mu, beta, 40, 1.5) for ci in c], axis=-1)
    w, _, _ = elr.momentum_weight_sq(c, 0.07, 40, mu, w0_sq=1.5, weight_decay=beta)
    np.testing.assert_allclose(w, ref, rtol=1e-12)
    tr = elr.simulate(c, 0.07, 40, w0_sq=1.5, momentum=mu, weight_decay=beta)
    np.testing.assert_allclose(tr.weight_sq, ref, rtol=1e-12)
    st = elr.momentum_state(c, 0.07, 40, mu, w0_sq=1.5, weight_decay=beta)
    np.testing.assert_allclose(st["weight_sq"], ref, rtol=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_continuous_with_weight_decay_is_first_order_in_lr(beta):
    """Ladder lam, lam/2, ...: with Lambda = lam c^2 fixed the ODE is fixed and the discrete
    model is its Euler step plus O(lam^2): observed order -> 1."""
    Lam, T = 2.0, 3.0
    lams = 0.02 / 2.0 ** np.arange(5)
    errs = []
    for lam in lams:
        c = math.sqrt(Lam / lam)
        K = int(round(T / lam))
        s = elr.discrete_weight_sq(c, lam, K, weight_decay=beta)
        sig = elr.continuous_weight_sq(c, lam, np.arange(K + 1) * lam, weight_decay=beta)
        errs.append(np.max(np.abs(s / sig - 1)))
    order = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(order - 1) < 0.05), order


def test_continuous_with_weight_decay_against_solve_ivp():
    c, lam, beta, w0 = 3.0, 0.05, 0.7, 2.0
    sol = solve_ivp(lambda t, y: lam * c * c / y - 2 * beta * y, (0, 5), [w0], rtol=1e-12,
                    atol=1e-14, dense_output=True)
    t = np.linspace(0, 5, 11)
    np.testing.assert_allclose(elr.continuous_weight_sq(c, lam, t, w0_sq=w0, weight_decay=beta),
                               sol.sol(t)[0], rtol=1e-9)
    # beta -> 0 joins the plain closed form smoothly (expm1 branch)
    np.testing.assert_allclose(elr.continuous_weight_sq(c, lam, t, weight_decay=1e-14),
                               elr.continuous_weight_sq(c, lam, t), rtol=1e-12)


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_equilibrium_is_the_fixed_point_and_attracts(mu):
    c = np.array([2.0, 50.0])
    lam, beta = 0.1, 0.05
    s_eq = elr.equilibrium_weight_sq(c, lam, beta, momentum=mu)
    tr = elr.simulate(c, lam, 6000, momentum=mu, weight_decay=beta)
    np.testing.assert_allclose(tr.weight_sq[-1], s_eq, rtol=1e-10)
    np.testing.assert_allclose(tr.relative_update[-1],
                               elr.equilibrium_relative_update(lam, beta, momentum=mu), rtol=1e-10)
    np.testing.assert_allclose(tr.elr[-1], elr.equilibrium_elr(lam, beta, momentum=mu), rtol=1e-10)
    # mpmath: s* solves the fixed-point equation of the plain map to 30 digits
    if mu == 0.0:
        mp.mp.dps = 40
        s = mp.mpf(1) * c[1] * mp.sqrt(mp.mpf(lam) / (beta * (2 - mp.mpf(lam) * beta)))
        assert float(abs((1 - mp.mpf(lam) * beta) ** 2 * s + mp.mpf(lam) ** 2 * c[1] ** 2 / s - s)) < 1e-25
        assert float(s) == pytest.approx(float(s_eq[1]), rel=1e-14)


def test_equilibrium_steps_bracket_the_simulated_time():
    lam, beta = 0.1, 0.05
    ustar_of = lambda c: elr.equilibrium_weight_sq(c, lam, beta) ** 2  # noqa: E731
    for c, w0 in ((2.0, 1.0), (2.0, 100.0), (0.5, 30.0), (1e3, 1.0), (1e5, 0.1), (50.0, 1.0)):
        lo, hi = elr.equilibrium_steps(c, lam, beta, w0_sq=w0)
        s = elr.discrete_weight_sq(c, lam, 5000, w0_sq=w0, weight_decay=beta)
        d = np.abs(s ** 2 / ustar_of(c) - 1)
        hit = int(np.argmax(d <= 0.01))
        assert lo <= hit <= hi, (c, w0, lo, hit, hi)
    # contraction factor near the fixed point: measured ratio of successive deviations
    s = elr.discrete_weight_sq(3.0, lam, 3000, w0_sq=5.0, weight_decay=beta)
    d = s[300:302] ** 2 / ustar_of(3.0) - 1
    assert 1e-6 < abs(d[0]) < 1e-2  # near the fixed point, far above rounding
    # q(delta) - (2a - 1) = (1 - a)^2 delta / (1 + delta): relative size 1e-4 * delta here
    assert d[1] / d[0] == pytest.approx(float(elr.contraction_factor(lam, beta)), rel=1e-5)


def test_elr_notions_limits_and_rates():
    """Relative update ratio -> 1, lr/||W||^2 ratio -> c_k/c_l; 1/k without weight decay
    (coefficient k0 (c_k^-2 - c_l^-2)/(4 lam^2)), geometric with it."""
    c = np.array([2.0, 20.0])
    lam = 0.05
    tr = elr.simulate(c, lam, 40000)
    k = np.array([10000, 40000])
    ratio_ru = tr.elr[k, 1] / tr.elr[k, 0]
    # s^2/c^2 = k0/c^2 + 2 lam^2 k + (lam^2/2) ln(2 lam^2 c^2 k / k0) + ...: the log term
    # differs between layers by lam^2 ln(c_l/c_k)
    pred = (1.0 * (1 / c[0] ** 2 - 1 / c[1] ** 2) - lam ** 2 * math.log(c[1] / c[0])) / (4 * lam ** 2 * k)
    np.testing.assert_allclose(ratio_ru - 1, pred, rtol=0.01)
    assert ratio_ru[0] - 1 > 3.9 * (ratio_ru[1] - 1)  # ~ 1/k
    lr_over_s = lam / tr.weight_sq[k]
    np.testing.assert_allclose(lr_over_s[-1, 1] / lr_over_s[-1, 0],
                               elr.limit_ratio(c[1], c[0], "lr_over_weight_sq"), rtol=1e-3)
    np.testing.assert_allclose(tr.grad_sq[-1, 1] / tr.grad_sq[-1, 0],
                               elr.limit_ratio(c[1], c[0], "grad_sq"), rtol=1e-3)
    # with weight decay: deviation of the relative-update ratio shrinks by contraction_factor
    wd = elr.simulate(c, lam, 3000, weight_decay=0.1)
    dev = np.abs(wd.elr[:, 1] / wd.elr[:, 0] - 1)
    rate = (dev[1500] / dev[1000]) ** (1 / 500)
    assert rate == pytest.approx(abs(float(elr.contraction_factor(lam, 0.1))), rel=1e-3)
    assert elr.limit_ratio(3.0, 1.0) == 1.0
    with pytest.raises(ValueError):
        elr.limit_ratio(1.0, 1.0, "bogus")


def _independent_step(A, B, C, G, lam, mu, beta, first):
    """One optimizer step on explicit 3-d vectors (the Optimizer, not one_step_factor)."""
    L = A.size
    w = np.zeros((L, 3))
    w[:, 0] = np.sqrt(A)
    b = np.zeros((L, 3))
    b[:, 0] = B / np.sqrt(A)
    b[:, 1] = np.sqrt(np.maximum(C - B ** 2 / A, 0.0))
    g = np.zeros((L, 3))
    g[:, 2] = np.sqrt(G)
    opt = o.Optimizer(momentum=mu, weight_decay=beta)
    state = o.OptimizerState(step=0 if first else 1, buffer=None if first else b)
    w2, _, _ = opt.step(w, g, state, lr=lam)
    return np.sum(w2 * w2, axis=-1)


def test_no_critical_lr_without_momentum():
    rng = np.random.default_rng(0)
    for _ in range(50):
        L = int(rng.integers(2, 12))
        A = np.exp(rng.normal(0, 2, L))
        G = np.exp(rng.normal(0, 4, L))
        beta = float(rng.choice([0.0, 0.01, 0.5]))
        assert float(elr.critical_lr(A, G, weight_decay=beta)) == math.inf
        c = np.sqrt(G * A)
        S = float(elr.log_spread(np.sqrt(G / A)))
        for lam in np.logspace(-4, 4, 33):
            A2 = _independent_step(A, 0 * A, 0 * A, G, lam, 0.0, beta, True)
            assert float(elr.log_spread(c / A2)) <= S * (1 + 1e-12) + 1e-12


def test_critical_lr_momentum_narrow_below_widen_above():
    c = elr.plain_profile(20)
    found = 0
    for beta in (0.0, 0.05):
        for lam0 in (1e-3, 1e-2, 0.1):
            st = elr.momentum_state(c, lam0, 12, 0.9, weight_decay=beta)
            for k in range(1, 13):
                A, G = st["weight_sq"][k], st["grad_sq"][k]
                B, C = st["weight_buffer_dot"][k], st["buffer_sq"][k]
                lc = float(elr.critical_lr(A, G, buffer_sq=C, weight_buffer_dot=B, momentum=0.9,
                                           weight_decay=beta))
                S = float(elr.log_spread(c / A))
                if not (0 < lc < math.inf):
                    continue
                found += 1
                below = _independent_step(A, B, C, G, 0.99 * lc, 0.9, beta, False)
                above = _independent_step(A, B, C, G, 1.01 * lc, 0.9, beta, False)
                assert float(elr.log_spread(c / below)) < S
                assert float(elr.log_spread(c / above)) > S
    assert found >= 10


def test_equalizing_lr_and_warmup():
    E = np.exp(np.random.default_rng(1).normal(0, 3, 30))
    lam = float(elr.equalizing_lr(E))
    S = float(elr.log_spread(E))
    f = E / (1 + lam ** 2 * E ** 2)
    assert f[np.argmin(E)] == pytest.approx(f[np.argmax(E)], rel=1e-12)
    # S' <= ln cosh(S/2), equal when a layer sits at E = 1/lam
    assert float(elr.log_spread(f)) <= math.log(math.cosh(S / 2)) * (1 + 1e-12)
    E3 = np.r_[E, 1 / lam]
    f3 = E3 / (1 + lam ** 2 * E3 ** 2)
    assert float(elr.log_spread(f3)) == pytest.approx(math.log(math.cosh(S / 2)), rel=1e-12)
    # for a continuum of layers between the extremes no other rate does better
    dense = np.geomspace(E.min(), E.max(), 4001)
    best = float(elr.log_spread(dense / (1 + lam ** 2 * dense ** 2)))
    for x in np.logspace(-2, 2, 41):
        g = dense / (1 + (x * lam) ** 2 * dense ** 2)
        assert float(elr.log_spread(g)) >= best * (1 - 1e-6)
    # the warm-up in the model: S_{k+1} = ln cosh(S_k/2) while below the target
    c = elr.plain_profile(55)  # odd: the middle layer sits at 1/lam, so equality
    tr = elr.simulate(c, o.EqualizingWarmup(1e3), 4)
    S = elr.log_spread(tr.elr)
    assert S[1] == pytest.approx(math.log(math.cosh(S[0] / 2)), rel=1e-9)
    assert np.all(S[1:] <= np.log(np.cosh(S[:-1] / 2)) * (1 + 1e-9))
    assert S[4] < 1e-3 * S[0]
    c = elr.plain_profile(56)
    # then the rate doubles until the target
    tr = elr.simulate(c, o.EqualizingWarmup(0.5), 30)
    assert tr.lr[-1] == 0.5 and np.all(np.diff(tr.lr) >= -1e-15)
    # batched, and the same as the rotating engine
    rot = elr.simulate(c, o.EqualizingWarmup(0.5), 30, engine="rotating")
    np.testing.assert_allclose(rot.weight_sq, tr.weight_sq, rtol=1e-12)
    with pytest.raises(TypeError):
        o.schedule_values(o.EqualizingWarmup(1.0), 3)


def test_recovery_steps_against_iteration():
    for c, lam in ((20.0, 0.5), (100.0, 0.3), (50.0, 1.0), (5.0, 0.1)):
        exact = elr.recovery_steps_exact(c, lam, 1.2, max_steps=10 ** 5)
        est = float(elr.recovery_steps(c, lam, 1.2))
        assert abs(est - exact) <= 3, (c, lam, est, exact)
    # saturated layers: ~ lam^2 c^2 / (4 rtol s0^2)
    big = float(elr.recovery_steps(1e4, 0.1, 1.2))
    assert big == pytest.approx(0.1 ** 2 * 1e8 / 0.04, rel=0.02)
    assert float(elr.recovery_steps(1.2, 0.1, 1.2)) == 0.0
    v1 = 0.5 + 2 + 1 / 0.5
    v2 = v1 + 2 + 1 / v1
    np.testing.assert_allclose(elr.saturation_orbit([0.5], 3), [v2 + 2 + 1 / v2], rtol=1e-15)
    np.testing.assert_allclose(elr.saturation_orbit(np.full(6, 0.5), 3), np.full(6, v2 + 2 + 1 / v2),
                               rtol=1e-15)


def test_issue12_bad_input():
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weight_decay"):
            elr.simulate([1.0], 0.1, 3, weight_decay=bad)
        with pytest.raises(ValueError, match="lr"):
            elr.simulate([1.0], bad, 3)
        with pytest.raises(ValueError, match="weight_decay"):
            elr.discrete_weight_sq(1.0, 0.1, 3, weight_decay=bad)
        with pytest.raises(ValueError, match="lr"):
            elr.equilibrium_weight_sq(1.0, bad, 0.1)
    with pytest.raises(ValueError, match="lr"):
        elr.simulate([1.0], [0.1, -0.1, 0.1], 3)
    with pytest.raises(ValueError, match="c"):
        elr.simulate([], 0.1, 3)
    with pytest.raises(ValueError, match="steps"):
        elr.simulate([1.0], 0.1, -1)
    with pytest.raises(ValueError, match="steps"):
        elr.discrete_weight_sq(1.0, 0.1, -2)
    with pytest.raises(ValueError, match="weight_decay"):
        elr.equilibrium_weight_sq(1.0, 0.1, 0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        elr.simulate([1.0], 0.1, 3, optimizer=o.Optimizer(), weight_decay=0.1)
    with pytest.raises(ValueError, match="weight_sq"):
        elr.critical_lr([], [])
