"""Every public parameter of gradexp.optim is checked up front (issue 25, item 5).

Each case was accepted before the check existed (a NaN trajectory, a numpy
UFuncTypeError at the first step, or a silently wrong schedule); now it raises a
ValueError or TypeError whose message names the argument.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradexp import optim as o

NAN = float("nan")
INF = float("inf")

# (constructor, the argument the message must name, exception)
BAD = [
    # the four cases of the issue
    (lambda: o.LARS(eta=NAN), "eta", ValueError),
    (lambda: o.LALC(eta=-1), "eta", ValueError),
    (lambda: o.TVLARS(lam=-1), "lam", ValueError),
    (lambda: o.LARS(clip="x"), "clip", TypeError),
    # every other rule field
    (lambda: o.LARS(eps=-1e-3), "eps", ValueError),
    (lambda: o.LARS(decay_form="both"), "decay_form", ValueError),
    (lambda: o.LARS(ratio_on="weights"), "ratio_on", ValueError),
    (lambda: o.LARS(zero_norm="skip"), "zero_norm", ValueError),
    (lambda: o.LARS(clip=0.0), "clip", ValueError),
    (lambda: o.LARS(apply_to="loss"), "apply_to", ValueError),
    (lambda: o.LAMB(eps=NAN), "eps", ValueError),
    (lambda: o.LAMB(w_clamp=(2.0, 1.0)), "w_clamp", ValueError),
    (lambda: o.LAMB(w_clamp=3.0), "w_clamp", TypeError),
    (lambda: o.LAMBC(clip=-1.0), "clip", ValueError),
    (lambda: o.CLARS(eta=INF), "eta", ValueError),
    (lambda: o.AGC(clipping=0.0), "clipping", ValueError),
    (lambda: o.AGC(eps_mode="floor"), "eps_mode", ValueError),
    (lambda: o.LALC(eps=-1.0), "eps", ValueError),
    (lambda: o.LALC(apply_to="gradient"), "apply_to", ValueError),
    (lambda: o.ELRConstraint(e_goal=0.0), "e_goal", ValueError),
    (lambda: o.ELRConstraint(eps=0.0), "eps", ValueError),
    (lambda: o.TVLARS(eta=NAN), "eta", ValueError),
    (lambda: o.TVLARS(alpha=-2.0), "alpha", ValueError),
    (lambda: o.TVLARS(gamma_min=-0.1), "gamma_min", ValueError),
    (lambda: o.TVLARS(d_e=INF), "d_e", ValueError),
    # schedules
    (lambda: o.Constant(-0.1), "lr", ValueError),
    (lambda: o.Constant("x"), "lr", TypeError),
    (lambda: o.ArraySchedule(()), "rates", ValueError),
    (lambda: o.ArraySchedule((0.1, NAN)), "rates", ValueError),
    (lambda: o.WarmupCosine(peak=NAN, total_steps=10), "peak", ValueError),
    (lambda: o.WarmupCosine(peak=1.0, total_steps=10.5), "total_steps", TypeError),
    (lambda: o.WarmupCosine(peak=1.0, total_steps=10, final=-1.0), "final", ValueError),
    (lambda: o.OneCycle(max_lr=-1.0, total_steps=10), "max_lr", ValueError),
    (lambda: o.OneCycle(max_lr=1.0, total_steps=10, max_momentum=1.0), "max_momentum", ValueError),
    (lambda: o.PolynomialDecay(lr0=INF, total_steps=10), "lr0", ValueError),
    (lambda: o.PolynomialDecay(lr0=1.0, total_steps=10, warmup_steps=11), "warmup_steps", ValueError),
    (lambda: o.StepDecay(lr0=1.0, gamma=0.0), "gamma", ValueError),
    (lambda: o.StepDecay(lr0=1.0, milestones=(5, "a")), "milestones", TypeError),
    (lambda: o.StepDecay(lr0=1.0, milestones=5), "milestones", TypeError),
    (lambda: o.TVLARSSchedule(target_lr=1.0, lam=-1.0, d_e=0.0), "lam", ValueError),
    (lambda: o.LinearWarmup(target=1.0, warmup_steps=2.5), "warmup_steps", TypeError),
    (lambda: o.EqualizingWarmup(target=NAN), "target", ValueError),
    (lambda: o.as_schedule("x"), "lr", TypeError),
    (lambda: o.as_schedule([0.1, -0.1]), "lr", ValueError),
    (lambda: o.schedule_values(0.1, 2.5), "steps", TypeError),
    (lambda: o.Constant(0.1).values(-1), "n", ValueError),
    (lambda: o.as_schedule(lambda k: float("nan"))(0), "lr", ValueError),
    (lambda: o.tvlars_phi_bounds(lam=0.0, d_e=1.0), "lam", ValueError),
    # the optimizer
    (lambda: o.Optimizer(rule="lars"), "rule", TypeError),
    (lambda: o.Optimizer(momentum=1.0), "momentum", ValueError),
    (lambda: o.Optimizer(momentum=NAN), "momentum", ValueError),
    (lambda: o.Optimizer(dampening=-0.5), "dampening", ValueError),
    (lambda: o.Optimizer(weight_decay=NAN), "weight_decay", ValueError),
    (lambda: o.Optimizer(nesterov="yes"), "nesterov", TypeError),
    (lambda: o.Optimizer(lr_in_momentum=1), "lr_in_momentum", TypeError),
    (lambda: o.Optimizer(rescale_max_norm=None), "rescale_max_norm", TypeError),
    (lambda: o.Optimizer(first_step="none"), "first_step", ValueError),
    (lambda: o.Optimizer(form="adam"), "form", ValueError),
    (lambda: o.Optimizer(rule=o.LALC(), form="tvlars_printed"), "form", ValueError),
    # the pure functions on norms
    (lambda: o.lars_ratio(1.0, 1.0, eta=NAN), "eta", ValueError),
    (lambda: o.lalc_step_size(0.1, 1.0, 1.0, eta=-1.0), "eta", ValueError),
    (lambda: o.lalc_step_size(-0.1, 1.0, 1.0), "lr", ValueError),
    (lambda: o.agc_factor(1.0, 1.0, clipping="x"), "clipping", TypeError),
    (lambda: o.decayed_norm(1.0, 1.0, -0.1), "weight_decay", ValueError),
    (lambda: o.decayed_norm(1.0, 1.0, form="product"), "form", ValueError),
    (lambda: o.lambc_trust_ratio(1.0, 1.0, clip=NAN), "clip", ValueError),
    (lambda: o.elr_constraint_factor(1.0, 1.0, eps=0.0), "eps", ValueError),
]


@pytest.mark.parametrize("make,name,exc", BAD, ids=[f"{i}-{c[1]}" for i, c in enumerate(BAD)])
def test_bad_parameter_is_refused_naming_it(make, name, exc):
    with pytest.raises(exc, match=name):
        make()


def test_optimizer_step_checks_its_arguments():
    opt = o.Optimizer(rule=o.LARS(), momentum=0.9)
    w, g = np.ones((3, 4)), np.full((3, 4), 0.1)
    st = opt.init_state()
    with pytest.raises(ValueError, match="lr"):
        opt.step(w, g, st, lr=NAN)
    with pytest.raises(ValueError, match="lr"):
        opt.step(w, g, st, lr=-0.1)
    with pytest.raises(ValueError, match="same shape"):
        opt.step(w, g[:, :3], st, lr=0.1)
    with pytest.raises(ValueError, match="param_ndim"):
        opt.step(w, g, st, lr=0.1, param_ndim=0)
    with pytest.raises(TypeError, match="param_ndim"):
        opt.step(w, g, st, lr=0.1, param_ndim=1.5)
    bad_mu = o.Optimizer(momentum=lambda k: 1.5)
    with pytest.raises(ValueError, match="momentum"):
        bad_mu.step(w, g, bad_mu.init_state(), lr=0.1)


def test_lars_clip_caps_the_ratio_after_validation():
    """clip was accepted as any object and failed at the first step; now a number caps."""
    w, g = np.ones((1, 4)), np.full((1, 4), 1e-6)
    free = o.Optimizer(rule=o.LARS(eta=1.0))
    capped = o.Optimizer(rule=o.LARS(eta=1.0, clip=1.0))
    _, _, a = free.step(w, g, free.init_state(), lr=1.0)
    _, _, b = capped.step(w, g, capped.init_state(), lr=1.0)
    assert float(a["step_size"][0]) == pytest.approx(1e6)
    assert float(b["step_size"][0]) == 1.0


def test_boundary_values_still_accepted():
    """The edges of each domain stay valid: λ = 0 (φ constant), ε = 0, zero weight decay."""
    r = o.TVLARS(lam=0.0)
    assert float(o.tvlars_phi(5.0, lam=r.lam, d_e=r.d_e)) == 0.5
    o.LARS(eps=0.0, clip=None)
    o.LALC(eps=0.0)
    o.Optimizer(weight_decay=0.0, momentum=0.0, dampening=1.0)
    o.Constant(0.0)
    o.StepDecay(1.0, (np.int64(3), 5.0))
    assert o.tvlars_phi(0.0, lam=1.0, d_e=0.0, alpha=-2.0) == -1.0  # the pole's side stays computable


def test_every_public_name_is_reexported_and_each_module_is_small():
    import importlib
    import inspect

    for mod in ("schedules", "tvlars_factor", "ratios", "rules", "optimizer"):
        m = importlib.import_module(f"gradexp.optim.{mod}")
        for name in m.__all__:
            assert getattr(o, name) is getattr(m, name), name
            assert name in o.__all__, name
        assert len(inspect.getsource(m).splitlines()) < 800, mod
