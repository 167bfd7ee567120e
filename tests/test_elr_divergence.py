"""The ELR model at its extremes (issue 25, items 2 and 5): memory is estimated before
anything is allocated, and divergent regimes end in one warning in words, never in numpy
RuntimeWarnings or a bare MemoryError."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradexp import _memory, elr
from gradexp import optim as o


def _run(fn, *args, **kw):
    """Call fn and return (result, every warning raised, whatever its category)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    return out, caught


def _one_divergence_warning(caught, *words):
    assert [w.category for w in caught] == [elr.ELRDivergenceWarning], [str(w.message) for w in caught]
    msg = str(caught[0].message)
    for word in words:
        assert word in msg, msg
    return msg


# ------------------------------------------------------------------------- memory
@pytest.mark.parametrize("call", [
    lambda: elr.simulate([1.0], 0.1, 10**12),
    lambda: elr.simulate([1.0, 2.0], 0.1, 10**12, momentum=0.9),
    lambda: elr.discrete_weight_sq(1.0, 0.1, 10**12),
    lambda: elr.momentum_state(1.0, 0.1, 10**12, 0.9),
    lambda: elr.momentum_weight_sq(1.0, 0.1, 10**12, 0.9),
    lambda: o.schedule_values(o.WarmupCosine(1.0, 100), 10**12),
    lambda: o.Constant(0.1).values(10**12),
])
def test_impossible_trajectory_is_one_value_error_naming_steps(call):
    """10¹² steps need ≥ 16 TB: refused before allocating, whatever the machine."""
    with pytest.raises(ValueError, match=r"=1000000000000.*needs about .*available"):
        call()


def test_memory_estimate_against_the_available_memory(monkeypatch):
    """The refusal follows the estimate 8 × arrays × (steps + 1) × layers × configurations."""
    est = _memory.check_trajectory_memory("x", steps=999, layers=4, configs=2, arrays=7.0)
    assert est == 8 * 7 * 1000 * 4 * 2
    monkeypatch.setattr(_memory, "available_memory", lambda: int(est) - 1)
    with pytest.raises(ValueError, match="layers"):
        _memory.check_trajectory_memory("x", steps=999, layers=4, configs=2, arrays=7.0)
    # simulate consults it before allocating: c of shape (2, 4), 999 steps, the sgd engine
    with pytest.raises(ValueError, match=r"simulate\(steps=999, c of shape \(2, 4\)"):
        elr.simulate(np.ones((2, 4)), 0.1, 999)
    elr.simulate(np.ones((2, 4)), 0.1, 998)  # one step fewer fits
    monkeypatch.setattr(_memory, "available_memory", lambda: None)  # unknown: no refusal
    _memory.check_trajectory_memory("x", steps=10**15, layers=1)


def test_available_memory_reads_meminfo():
    avail = _memory.available_memory()
    assert avail is None or avail > 0


# ---------------------------------------------------------------------- divergence
def test_overflowing_learning_rate_warns_once_in_words():
    """lr = 1e200 returned NaN with numpy RuntimeWarnings; now one warning naming the step."""
    tr, caught = _run(elr.simulate, [1.0, 10.0], 1e200, 5)
    _one_divergence_warning(caught, "overflowed", "step 1", "1e+200")
    assert np.isfinite(tr.weight_sq[0]).all() and not np.isfinite(tr.weight_sq[1:]).all()
    _, caught = _run(lambda: (tr.elr, tr.spread, tr.mean, tr.relative_update, tr.direction_elr))
    assert caught == []  # the properties of a diverged trajectory raise no numpy warning


@pytest.mark.parametrize("rule", [o.LARS(eta=0.02), o.LALC(), o.TVLARS(eta=0.05, lam=0.05)])
def test_overflow_with_a_rule_warns_once(rule):
    tr, caught = _run(elr.simulate, [1.0, 10.0], 1e300, 50, rule=rule, momentum=0.9)
    if np.isfinite(tr.weight_sq).all():  # LALC caps the step at 1/eps: no overflow, no warning
        assert caught == []
    else:
        _one_divergence_warning(caught, "overflowed")


def test_lr_times_weight_decay_above_two_warns_once():
    """lr·β = 3 > 2 overflowed to inf with only numpy RuntimeWarnings."""
    tr, caught = _run(elr.simulate, [1.0, 10.0], 3.0, 1000, weight_decay=1.0)
    msg = _one_divergence_warning(caught, "lr * weight_decay reaches 3", "stability limit 2",
                                  "overflowed")
    k = int(msg.split("overflowed float64 at step ")[1].split(" ")[0])
    assert np.isfinite(tr.weight_sq[:k]).all() and not np.isfinite(tr.weight_sq[k]).all()
    # the direct route says the same, once
    s, caught = _run(elr.discrete_weight_sq, 1.0, 3.0, 1000, weight_decay=1.0)
    _one_divergence_warning(caught, "discrete_weight_sq", "stability limit 2")
    np.testing.assert_array_equal(np.isfinite(s), np.isfinite(tr.weight_sq[:, 0]))


def test_a_schedule_that_enters_the_regime_names_its_first_step():
    lrs = np.r_[np.full(10, 0.5), np.full(5, 2.5), np.full(5, 0.5)]
    _, caught = _run(elr.simulate, [1.0], lrs, 20, weight_decay=1.0)
    _one_divergence_warning(caught, "reaches 2.5", "first at step 10")


@pytest.mark.parametrize("mu,nesterov,dampening", [
    (0.0, False, 0.0), (0.5, False, 0.0), (0.9, False, 0.0), (0.5, True, 0.0), (0.9, True, 0.0),
    (0.5, False, 0.5),
])
def test_stability_limit_is_exact(mu, nesterov, dampening):
    """2 % below the limit the model settles on a fixed point (no warning); 2 % above, ‖W‖²
    grows geometrically (and the warning says so)."""
    limit = elr.weight_decay_stability_limit(mu, nesterov=nesterov, dampening=dampening)
    beta = 0.1
    opt = o.Optimizer(momentum=mu, nesterov=nesterov, dampening=dampening, weight_decay=beta)
    below, caught = _run(elr.simulate, [1.0, 5.0], 0.98 * limit / beta, 3000, optimizer=opt)
    assert caught == []
    s = below.weight_sq
    np.testing.assert_allclose(s[-1], s[-2], rtol=1e-9)
    if not nesterov and dampening == 0.0:  # the fixed point of equilibrium_weight_sq
        np.testing.assert_allclose(s[-1], elr.equilibrium_weight_sq(
            np.array([1.0, 5.0]), 0.98 * limit / beta, beta, momentum=mu), rtol=1e-9)
    above, caught = _run(elr.simulate, [1.0, 5.0], 1.02 * limit / beta, 400, optimizer=opt)
    _one_divergence_warning(caught, f"stability limit {limit:.4g}")
    assert np.all(above.weight_sq[-1] > 1e6 * above.weight_sq[200])


def test_at_the_limit_plain_sgd_has_no_fixed_point():
    """λβ = 2: (1 − λβ)² = 1, so ‖W‖² grows without bound (like √k), with a warning."""
    tr, caught = _run(elr.simulate, [1.0], 2.0, 4000, weight_decay=1.0)
    _one_divergence_warning(caught, "reaches 2")
    s = tr.weight_sq[:, 0]
    assert np.isfinite(s).all() and s[4000] / s[1000] == pytest.approx(2.0, rel=0.01)


def test_momentum_state_warns_and_stable_runs_stay_silent():
    _, caught = _run(elr.momentum_state, 1.0, 4.0, 200, 0.5, weight_decay=1.0)
    _one_divergence_warning(caught, "momentum_state", "stability limit 3")
    for call in (lambda: elr.simulate(elr.plain_profile(20), 0.1, 300, weight_decay=5e-3, momentum=0.9),
                 lambda: elr.momentum_weight_sq(1.0, 0.1, 50, 0.9, weight_decay=0.01),
                 lambda: elr.discrete_weight_sq(1.0, 1.9, 200, weight_decay=1.0)):
        _, caught = _run(call)
        assert caught == []


def test_weight_decay_stability_limit_checks_and_values():
    assert elr.weight_decay_stability_limit() == 2.0
    assert elr.weight_decay_stability_limit(0.9) == pytest.approx(3.8)
    assert elr.weight_decay_stability_limit(0.5, nesterov=True) == pytest.approx(1.5)
    assert elr.weight_decay_stability_limit(0.5, dampening=1.0) == float("inf")
    with pytest.raises(ValueError, match="momentum"):
        elr.weight_decay_stability_limit(1.0)
    with pytest.raises(ValueError, match="dampening"):
        elr.weight_decay_stability_limit(0.5, dampening=1.5)


# --------------------------------------------------------------------- arguments
@pytest.mark.parametrize("call,name,exc", [
    (lambda: elr.simulate([1.0], 0.1, 3, optimizer="sgd"), "optimizer", TypeError),
    (lambda: elr.simulate([1.0], 0.1, 3, engine="fast"), "engine", ValueError),
    (lambda: elr.simulate([1.0], 0.1, 2.5), "steps", TypeError),
    (lambda: elr.simulate([1.0], 0.1, True), "steps", TypeError),
    (lambda: elr.simulate([1.0], 0.1, 3, rule="lars"), "rule", TypeError),
    (lambda: elr.discrete_weight_sq(1.0, [0.1, 0.2], 3), "lr", ValueError),
    (lambda: elr.plain_profile(True), "depth", TypeError),
    (lambda: elr.plain_profile(2.5), "depth", TypeError),
    (lambda: elr.residual_profile(10, skip=0), "skip", ValueError),
    (lambda: elr.residual_rate(1.5), "skip", TypeError),
    (lambda: elr.recovery_steps_exact(2.0, 0.1, 1.0, max_steps=-1), "max_steps", ValueError),
    (lambda: elr.saturation_orbit([1.0], -1), "steps", ValueError),
])
def test_bad_arguments_name_themselves(call, name, exc):
    with pytest.raises(exc, match=name):
        call()


def test_submodules_are_the_same_objects_under_both_names():
    import importlib

    import gradexp

    for sub in ("model", "discrete", "continuous", "profiles", "stability", "equilibrium",
                "recovery", "divergence"):
        a = importlib.import_module(f"gradexp.theory.elr.{sub}")
        b = importlib.import_module(f"gradexp.elr.{sub}")
        assert a is b, sub
        for name in a.__all__:
            assert getattr(gradexp.elr, name) is getattr(a, name), name
    assert gradexp.elr.simulate is gradexp.theory.elr.model.simulate


# ------------------------------------------------------------ closed forms at the extremes
def test_closed_forms_at_extreme_inputs_give_inf_or_finite_without_numpy_warnings():
    """Inputs far outside the usual range overflowed with numpy RuntimeWarnings (or divided by
    zero for c_k = 0); now the closed forms work in log space and give the float answer."""
    cases = [
        (lambda: elr.continuous_weight_sq(1e200, 0.1, 2.0), np.sqrt(0.4) * 1e200),  # √(2λc²t)
        (lambda: elr.continuous_weight_sq(1.0, 1e308, 2.0), 2e154),  # σ⁴ = 4e308 overflows, σ² not
        (lambda: elr.continuous_weight_sq(1.0, 0.1, 0.0, w0_sq=1e200), 1e200),
        (lambda: elr.continuous_elr(1e200, 0.1, 2.0), 1.0 / np.sqrt(0.4)),
        (lambda: elr.elr_ratio_sq(1e200, 1e-200, 0.1, 3.0), np.inf),  # the true value is ~1.7e400
        (lambda: elr.gradient_ratio_sq(1.0, 2.0, 1e308, 3.0), 0.5),
        (lambda: elr.gradient_ratio_sq_limit(1e300, 1e-300), np.inf),
        (lambda: elr.residual_rate(2, rate=1e200), 1e200 / np.sqrt(2.0)),
        (lambda: elr.residual_rate(10**300), elr.YANG_RATE),  # ((1 + α^s)/2)^(1/s) → α
        (lambda: elr.plain_profile(3, rate=1e200)[0], np.inf),
        (lambda: elr.he_weight_sq(3, 1e308), np.inf),
        (lambda: elr.stability_bound(1e-308, 10.0), np.inf),
        (lambda: elr.one_step_factor(1e308, 1.0, 1.0), np.inf),
        (lambda: elr.equalizing_lr([1e-308, 1e308]), 1.0),
    ]
    for i, (call, ref) in enumerate(cases):
        got, caught = _run(call)
        assert caught == [], (i, [str(w.message) for w in caught])
        assert float(got) == pytest.approx(ref, rel=1e-12), (i, got, ref)


@pytest.mark.parametrize("call,name", [
    (lambda: elr.elr_ratio_sq(1.0, 0.0, 0.1, 1.0), "c_k"),
    (lambda: elr.gradient_ratio_sq(1.0, 0.0, 0.1, 1.0), "c_k"),
    (lambda: elr.gradient_ratio_sq_limit(1.0, 0.0), "c_k"),
    (lambda: elr.elr_ratio_sq(1.0, 2.0, 0.1, -1.0), "t"),
    (lambda: elr.log_spread([1.0, 0.0]), "elr"),
    (lambda: elr.log_spread([]), "elr"),
    (lambda: elr.spread([]), "elr"),
    (lambda: elr.spread([1.0, 2.0], axis=3), "axis"),
    (lambda: elr.equalizing_lr([1.0, 2.0], axis=True), "axis"),
    (lambda: elr.one_step_factor(float("nan"), 1.0, 1.0), "lr"),
    (lambda: elr.residual_rate(2, rate=float("nan")), "rate"),
    (lambda: elr.equilibrium_relative_update(30.0, 0.1), "lr \\* weight_decay"),
    (lambda: elr.contraction_factor(30.0, 0.1), "lr \\* weight_decay"),
])
def test_degenerate_closed_form_inputs_are_refused(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()
