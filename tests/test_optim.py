"""Schedules and layer-wise rules of gradexp.optim."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradexp import optim as o


# ------------------------------------------------------------------------------ schedules
def test_constant_and_values():
    s = o.Constant(0.3)
    assert s(5) == 0.3
    np.testing.assert_array_equal(s.values(4), [0.3] * 4)
    with pytest.raises(ValueError):
        o.Constant(float("nan"))
    with pytest.raises(ValueError):
        s(-1)


def test_warmup_cosine_ends_and_midpoint():
    s = o.WarmupCosine(peak=2.0, total_steps=110, warmup_steps=10, final=0.5)
    assert s(0) == 0.0
    assert s(5) == pytest.approx(1.0, rel=1e-15)
    assert s(10) == pytest.approx(2.0, rel=1e-15)
    assert s(60) == pytest.approx(0.5 + 1.5 * 0.5, rel=1e-14)  # half-way: cos(π/2) = 0
    assert s(110) == pytest.approx(0.5, rel=1e-15)
    assert s(500) == pytest.approx(0.5, rel=1e-15)
    # no warm-up: plain cosine starts at the peak
    assert o.WarmupCosine(1.0, 100)(0) == 1.0


def test_warmup_cosine_tvlars_printed_lacks_pi_and_scale():
    s = o.WarmupCosine(peak=4.0, total_steps=100, warmup_steps=10, form="tvlars_printed")
    assert s(10) == pytest.approx(4.0)
    assert s(11) == pytest.approx(0.5 * (1 + math.cos(1 / 90)), rel=1e-14)  # jump 4 -> ~1
    assert s(100) == pytest.approx(0.5 * (1 + math.cos(1.0)), rel=1e-14)  # 0.770, not 0
    with pytest.raises(ValueError):
        o.WarmupCosine(1.0, 10, 20)
    with pytest.raises(ValueError):
        o.WarmupCosine(1.0, 10, 2, form="bogus")


def _torch_onecycle(step, max_lr, total, pct, div, final_div):
    """OneCycleLR's two-phase cosine schedule, written out from the PyTorch source."""
    initial = max_lr / div
    min_lr = initial / final_div
    up_end = float(pct * total) - 1
    down_end = float(total) - 1

    def cos(a, b, p):
        return b + (a - b) / 2.0 * (math.cos(math.pi * p) + 1)

    if step <= up_end:
        return cos(initial, max_lr, step / up_end)
    return cos(max_lr, min_lr, (step - up_end) / (down_end - up_end))


@pytest.mark.parametrize("pct,div,final_div", [(0.3, 25.0, 1e4), (0.1, 10.0, 1000.0)])
def test_onecycle_matches_torch_formula(pct, div, final_div):
    s = o.OneCycle(0.8, 200, pct_start=pct, div_factor=div, final_div_factor=final_div)
    ks = np.arange(200)
    ref = [_torch_onecycle(k, 0.8, 200, pct, div, final_div) for k in ks]
    np.testing.assert_allclose(s(ks), ref, rtol=1e-13)
    assert s(199) == pytest.approx(0.8 / div / final_div)
    mom = s.momentum()
    assert mom(0) == pytest.approx(0.95)
    assert mom(pct * 200 - 1) == pytest.approx(0.85)


def test_polynomial_and_step():
    p = o.PolynomialDecay(1.0, 100, power=2.0)
    assert p(0) == 1.0 and p(50) == pytest.approx(0.25) and p(100) == 0.0 and p(150) == 0.0
    w = o.PolynomialDecay(1.0, 100, warmup_steps=10)
    assert w(0) == pytest.approx(0.1 * (1 - 0.0) ** 2)
    s = o.StepDecay(1.0, (10, 20), gamma=0.1)
    np.testing.assert_allclose(s(np.array([0, 9, 10, 19, 20, 30])),
                               [1, 1, 0.1, 0.1, 0.01, 0.01], rtol=1e-15)


def test_as_schedule_and_schedule_values():
    assert isinstance(o.as_schedule(0.1), o.Constant)
    a = o.as_schedule([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a.values(5), [1, 2, 3, 3, 3])
    f = o.as_schedule(lambda k: 0.1 * (k + 1))
    np.testing.assert_allclose(f.values(3), [0.1, 0.2, 0.3])
    v = o.schedule_values(np.array([[1.0, 2.0], [3.0, 4.0]]), 2, (2,))
    assert v.shape == (2, 2)
    with pytest.raises(ValueError):
        o.schedule_values(np.ones((2, 3)), 2, (2,))


# --------------------------------------------------------------------------- TVLARS phi
# mpmath at 40 digits: phi(t) = 1/(alpha + exp(lam (t - d_e))) + gamma_min
@pytest.mark.parametrize("t,lam,d_e,alpha,gmin", [
    (0.0, 1e-4, 10.0, 1.0, 0.0), (50.0, 1e-2, 10.0, 1.0, 0.001),
    (1e4, 1e-3, 500.0, 0.5, 0.01), (3e5, 5e-3, 0.0, 2.0, 0.0),
])
def test_tvlars_phi_against_mpmath(t, lam, d_e, alpha, gmin):
    with mp.workdps(40):
        ref = 1 / (mp.mpf(alpha) + mp.exp(mp.mpf(lam) * (mp.mpf(t) - d_e))) + mp.mpf(gmin)
        dref = mp.diff(lambda x: 1 / (mp.mpf(alpha) + mp.exp(mp.mpf(lam) * (x - d_e))), mp.mpf(t))
    assert o.tvlars_phi(t, lam=lam, d_e=d_e, alpha=alpha, gamma_min=gmin) == pytest.approx(
        float(ref), rel=1e-14)
    assert o.tvlars_phi_derivative(t, lam=lam, d_e=d_e, alpha=alpha) == pytest.approx(
        float(dref), rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(lam=st.floats(1e-6, 1.0), d_e=st.floats(0, 1000), alpha=st.floats(0.01, 10),
       gmin=st.floats(0, 1))
def test_tvlars_phi_decreasing_and_within_corrected_bounds(lam, d_e, alpha, gmin):
    t = np.linspace(0, 50 / lam + d_e, 400)
    phi = o.tvlars_phi(t, lam=lam, d_e=d_e, alpha=alpha, gamma_min=gmin)
    assert np.all(np.diff(phi) <= 1e-15)
    lo, hi = o.tvlars_phi_bounds(lam=lam, d_e=d_e, alpha=alpha, gamma_min=gmin)
    assert phi[0] == pytest.approx(hi, rel=1e-14)
    assert np.all(phi >= lo) and np.all(phi <= hi * (1 + 1e-14))


def test_tvlars_bound_as_printed_is_exceeded_by_gamma_min():
    _, hi = o.tvlars_phi_bounds(lam=1e-3, d_e=10, gamma_min=0.05, as_printed=True)
    assert o.tvlars_phi(0.0, lam=1e-3, d_e=10, gamma_min=0.05) == pytest.approx(hi + 0.05)
    with pytest.raises(ValueError):
        o.tvlars_phi_bounds(lam=1e-3, d_e=10, alpha=-0.5)
    with pytest.raises(ValueError):
        o.tvlars_phi(float("nan"), lam=1e-3, d_e=0)
    # alpha < -1: a pole at t* = d_e + ln(-alpha)/lam > 0
    t_star = 10 + math.log(2.0) / 1e-3
    assert abs(o.tvlars_phi(t_star + 1e-6, lam=1e-3, d_e=10, alpha=-2.0)) > 1e5


# ---------------------------------------------------------------------- rules on norms
def test_lars_forms():
    assert o.lars_ratio(2.0, 1.0, eta=0.01) == pytest.approx(0.02)
    assert o.lars_ratio(2.0, 1.0, eta=0.01, weight_decay=0.5, eps=1e-3) == pytest.approx(
        0.02 / (1.0 + 1.0 + 1e-3))
    joint = o.lars_ratio(2.0, 1.0, eta=0.01, weight_decay=0.5, decay_form="joint")
    assert joint == pytest.approx(0.02 / math.sqrt(1 + 1))
    assert o.lars_ratio(0.0, 1.0) == 1.0  # fallback
    assert o.lars_ratio(0.0, 1.0, zero_norm="formula") == 0.0
    assert np.isnan(o.lars_ratio(0.0, 0.0, zero_norm="formula"))
    with pytest.raises(ValueError):
        o.lars_ratio(1.0, 1.0, decay_form="bogus")


def test_lars_trust_clip():
    r = o.LARS(eta=1.0, clip=1.0)
    assert r.step_size(0.5, 4.0, 1.0, g_norm=1.0) == pytest.approx(0.5)
    assert r.step_size(0.5, 0.5, 1.0, g_norm=1.0) == pytest.approx(0.25)


def test_lars_joint_norm_on_arrays_is_exact():
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(50), rng.standard_normal(50)
    beta = 0.3
    ref = np.linalg.norm(g + beta * w)
    got = o.decayed_norm(np.linalg.norm(g), np.linalg.norm(w), beta, gw_dot=g @ w, form="joint")
    assert got == pytest.approx(ref, rel=1e-14)


def test_lamb_lambc_clars_agc():
    assert o.lamb_trust_ratio(3.0, 2.0) == pytest.approx(1.5)
    assert o.lamb_trust_ratio(30.0, 2.0, w_clamp=(0.0, 10.0)) == pytest.approx(5.0)
    assert o.lamb_trust_ratio(3.0, 0.0) == 1.0
    assert o.lambc_trust_ratio(3.0, 2.0) == 1.0
    assert o.lambc_trust_ratio(1.0, 2.0) == pytest.approx(0.5)
    assert o.clars_ratio(2.0, 4.0, eta=0.1) == pytest.approx(0.05)
    assert o.agc_factor(1.0, 1.0) == pytest.approx(0.01)
    assert o.agc_factor(1.0, 0.001) == 1.0
    assert o.agc_factor(0.0, 1.0) == pytest.approx(0.01 * 1e-3)  # weight floor
    assert o.agc_factor(0.0, 1.0, eps_mode="table1") == 0.0
    assert o.agc_factor(1.0, 0.0) == 1.0
    with pytest.raises(ValueError):
        o.agc_factor(1.0, 1.0, eps_mode="bogus")


def test_lalc_step_size_and_zero_norms():
    # 1/(eta r^2 + eps) with r = |m|/|w| = 0.1: 1/(1e3*0.01 + 1) = 1/11
    assert o.lalc_step_size(1.0, 1.0, 0.1) == pytest.approx(1 / 11)
    assert o.lalc_step_size(0.01, 1.0, 0.1) == pytest.approx(0.01)
    assert o.lalc_step_size(0.5, 0.0, 1.0) == 0.5  # listing: fall back to lr
    assert o.lalc_step_size(0.5, 0.0, 1.0, zero_norm="formula") == 0.0  # Algorithm 1: frozen
    assert o.lalc_step_size(5.0, 1.0, 0.0, zero_norm="formula") == pytest.approx(1.0)  # 1/eps
    assert np.isnan(o.lalc_step_size(0.5, 0.0, 0.0, zero_norm="formula"))
    with pytest.raises(ValueError):
        o.lalc_step_size(0.5, 1.0, 1.0, zero_norm="bogus")


def test_lalc_mean_square_ratio_equals_norm_ratio():
    rng = np.random.default_rng(1)
    for shape in [(7,), (3, 5), (2, 3, 4)]:
        w, m = rng.standard_normal(shape), rng.standard_normal(shape)
        listing = 1 / ((m ** 2).mean() / (w ** 2).mean() * 1e3 + 1.0)
        ours = o.lalc_step_size(10.0, np.linalg.norm(w), np.linalg.norm(m))
        assert ours == pytest.approx(listing, rel=1e-13)


def test_elr_constraint_factor():
    w, g = 2.0, 0.5
    f = o.elr_constraint_factor(w, g, e_goal=0.01)
    assert f * g / w == pytest.approx(0.01 * 0.25 / (0.25 + 1e-5))


# ------------------------------------------------------------------------------ optimizer
def _torch_sgd(ws, gs, lr, mu, dampening=0.0, nesterov=False, wd=0.0):
    """torch.optim.SGD written out."""
    w = ws.copy()
    buf = None
    for g in gs:
        d = g + wd * w
        if mu:
            buf = d.copy() if buf is None else mu * buf + (1 - dampening) * d
            d = d + mu * buf if nesterov else buf
        w = w - lr * d
    return w


@pytest.mark.parametrize("mu,damp,nest,wd", [(0.0, 0.0, False, 0.0), (0.9, 0.0, False, 0.0),
                                             (0.9, 0.1, False, 1e-3), (0.8, 0.0, True, 1e-2)])
def test_heavy_ball_matches_torch_sgd(mu, damp, nest, wd):
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((3, 6))
    gs = rng.standard_normal((5, 3, 6))
    opt = o.Optimizer(momentum=mu, dampening=damp, nesterov=nest, weight_decay=wd)
    w, st_ = w0, opt.init_state(w0)
    for g in gs:
        w, st_, _ = opt.step(w, g, st_, lr=0.1)
    np.testing.assert_allclose(w, _torch_sgd(w0, gs, 0.1, mu, damp, nest, wd), rtol=1e-13)


def test_first_step_policies():
    w0 = np.ones((1, 4))
    g = np.full((1, 4), 0.5)
    res = {}
    for fs in ("copy", "zero", "listing_000"):
        opt = o.Optimizer(momentum=0.9, first_step=fs)
        w, _, _ = opt.step(w0, g, opt.init_state(w0), lr=1.0)
        res[fs] = (w0 - w)[0, 0] / 0.5
    assert res == pytest.approx({"copy": 1.0, "zero": 1.0, "listing_000": 1.9})


def test_step_does_not_modify_inputs():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 5, 5))
    g = rng.standard_normal((4, 5, 5))
    for rule in [o.SGD(), o.LARS(), o.LAMB(), o.AGC(), o.LALC(), o.ELRConstraint(), o.TVLARS()]:
        opt = o.Optimizer(rule=rule, momentum=0.9 if rule.apply_to == "update" else 0.5,
                          weight_decay=1e-3, rescale_max_norm=True)
        wc, gc = w.copy(), g.copy()
        st1 = opt.init_state()
        w1, st2, _ = opt.step(opt.prepare(w, param_ndim=2), g, st1, lr=0.1, param_ndim=2)
        buf = st2.buffer.copy()
        opt.step(w1, g, st2, lr=0.1, param_ndim=2)
        np.testing.assert_array_equal(w, wc)
        np.testing.assert_array_equal(g, gc)
        np.testing.assert_array_equal(st2.buffer, buf)


def test_lr_in_momentum_equivalent_for_constant_lr():
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal((3, 8))
    gs = rng.standard_normal((6, 3, 8))
    outs = []
    for inside in (False, True):
        opt = o.Optimizer(rule=o.LARS(eta=0.1), momentum=0.9, lr_in_momentum=inside)
        w, s = w0, opt.init_state(w0)
        for g in gs:
            w, s, _ = opt.step(w, g, s, lr=0.3)
        outs.append(w)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-13)


def test_rules_scale_as_documented():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 10))
    g = rng.standard_normal((3, 10))
    wn, gn = np.linalg.norm(w, axis=-1), np.linalg.norm(g, axis=-1)
    cases = {
        o.SGD(): np.full(3, 0.2),
        o.LARS(eta=0.01): 0.2 * 0.01 * wn / gn,
        o.LAMB(): 0.2 * wn / gn,
        o.LAMBC(clip=0.5): 0.2 * np.minimum(wn / gn, 0.5),
        o.CLARS(eta=0.01): 0.2 * 0.01 * wn / gn,
        o.LALC(): np.minimum(0.2, 1 / (1e3 * gn ** 2 / wn ** 2 + 1.0)),
        o.ELRConstraint(e_goal=0.02): 0.2 * 0.02 / (gn / wn + 1e-5),
        o.TVLARS(eta=0.01, lam=0.0, d_e=0.0): 0.2 * 0.5 * 0.01 * wn / gn,
    }
    for rule, eta in cases.items():
        opt = o.Optimizer(rule=rule)
        w1, _, info = opt.step(w, g, opt.init_state(w), lr=0.2)
        np.testing.assert_allclose(info["step_size"], eta, rtol=1e-12, err_msg=rule.name)
        np.testing.assert_allclose(w - w1, eta[:, None] * g, rtol=1e-12, atol=1e-15)


def test_agc_is_unitwise_on_matrices():
    rng = np.random.default_rng(6)
    W = rng.standard_normal((2, 4, 5))
    G = rng.standard_normal((2, 4, 5)) * 10
    opt = o.Optimizer(rule=o.AGC())
    W1, _, info = opt.step(W, G, opt.init_state(), lr=1.0, param_ndim=2)
    fac = np.minimum(0.01 * np.maximum(np.linalg.norm(W, axis=-1), 1e-3)
                     / np.linalg.norm(G, axis=-1), 1.0)
    np.testing.assert_allclose(info["step_size"], fac, rtol=1e-13)
    np.testing.assert_allclose(W - W1, fac[..., None] * G, rtol=1e-12, atol=1e-15)


def test_tvlars_forms():
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal((2, 6))
    gs = rng.standard_normal((4, 2, 6))
    rule = o.TVLARS(eta=0.1, lam=1e-2, d_e=1.0)
    printed = o.Optimizer(rule=rule, momentum=0.9, form="tvlars_printed")
    plain = o.Optimizer(rule=rule)
    w, s = w0, printed.init_state(w0)
    for g in gs:
        eta = rule.step_size(0.5, np.linalg.norm(w, axis=-1, keepdims=True),
                             np.linalg.norm(g, axis=-1, keepdims=True),
                             g_norm=np.linalg.norm(g, axis=-1, keepdims=True), t=s.step)
        w_ref = w - 1.9 * eta * g  # printed lines 7-8 = SGD with (1 + mu) gamma
        w, s, _ = printed.step(w, g, s, lr=0.5)
        np.testing.assert_allclose(w, w_ref, rtol=1e-13)
    nest = o.Optimizer(rule=rule, momentum=0.9, form="tvlars_nesterov")
    w, s = w0, nest.init_state(w0)
    w_a, s = nest.step(w, gs[0], s, lr=0.5)[:2]
    w_b, _ = nest.step(w_a, gs[1], s, lr=0.5)[:2]
    w_c, _ = nest.step(w_a, gs[1], nest.init_state(w_a), lr=0.5)[:2]
    assert not np.allclose(w_b, w_c)  # memory: depends on the look-ahead of the step before
    _ = plain


def test_rescale_max_norm():
    opt = o.Optimizer(rule=o.ELRConstraint(), rescale_max_norm=True)
    w = np.array([[3.0, 4.0], [0.0, 1.0]])
    np.testing.assert_allclose(opt.prepare(w), w / 5.0)
    assert o.Optimizer().prepare(w) is w


def test_optimizer_validation():
    with pytest.raises(ValueError):
        o.Optimizer(momentum=1.0)
    with pytest.raises(ValueError):
        o.Optimizer(first_step="bogus")
    with pytest.raises(ValueError):
        o.Optimizer(rule=o.LAMB(), form="tvlars_printed")
    with pytest.raises(ValueError):
        o.Optimizer(rule=o.LAMB(), lr_in_momentum=True)
    with pytest.raises(ValueError):
        o.LALC(apply_to="gradient")
    with pytest.raises(ValueError):
        o.SGD(apply_to="bogus")
    with pytest.raises(TypeError):
        o.Optimizer(rule="sgd")


def test_momentum_schedule_is_used():
    sched = o.OneCycle(1.0, 10).momentum()
    opt = o.Optimizer(momentum=sched)
    assert opt.has_memory and opt.momentum_at(0) == pytest.approx(0.95)


# ------------------------------------------------------------ issue 12 / 14
def test_update_forms_are_separate_functions_and_factorizes_is_gone():
    from gradexp.optim.optimizer import _UPDATE_FORMS

    assert set(_UPDATE_FORMS) == {"heavy_ball", "tvlars_printed", "tvlars_nesterov"}
    assert all(callable(f) for f in _UPDATE_FORMS.values())
    assert not hasattr(o.LALC(), "factorizes") and not hasattr(o.SGD(), "factorizes")


def test_linear_warmup_and_equalizing_warmup():
    s = o.LinearWarmup(0.4, 4)
    np.testing.assert_allclose(s.values(6), [0.1, 0.2, 0.3, 0.4, 0.4, 0.4], rtol=1e-15)
    with pytest.raises(ValueError):
        o.LinearWarmup(0.4, 0)
    w = o.EqualizingWarmup(2.0)
    A = np.array([[1.0, 1.0, 1.0], [1.0, 4.0, 1.0]])
    G = np.array([[1.0, 16.0, 0.25], [1e-6, 1.0, 1e-6]])
    E = np.sqrt(G / A)
    np.testing.assert_allclose(w.rate(0, A, G),
                               np.minimum(2.0, 1 / np.sqrt(E.max(-1) * E.min(-1))), rtol=1e-15)
    assert float(o.EqualizingWarmup(2.0, layers=slice(0, 1)).rate(0, A[0], G[0])) == 1.0
    with pytest.raises(ValueError):
        o.EqualizingWarmup(-1.0)


def test_optimizer_refuses_negative_or_nonfinite_weight_decay():
    for bad in (-1e-3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weight_decay"):
            o.Optimizer(weight_decay=bad)
