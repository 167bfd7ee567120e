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
