"""Options that are one number refuse arrays, text and complex numbers, naming the option.

A rule's η or a schedule's peak rate broadcast against the per-layer norms would silently give
one rate per layer (or a broadcast error naming nothing); they are refused when the object is built.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradexp import elr, optim
from gradexp._validate import check_clamp, check_scalar

RULE_OPTIONS = [("LARS", "eta"), ("LARS", "eps"), ("LARS", "clip"), ("LAMB", "eps"), ("LAMBC", "clip"),
                ("CLARS", "eta"), ("AGC", "clipping"), ("LALC", "eta"), ("ELRConstraint", "e_goal"),
                ("TVLARS", "eta"), ("TVLARS", "lam"), ("TVLARS", "alpha")]
BAD = [[], [0.5, 2.0], np.array([0.5, 3.0]), np.array([], dtype=float)]


@pytest.mark.parametrize("cls,option", RULE_OPTIONS)
@pytest.mark.parametrize("value", BAD, ids=["[]", "list", "array", "empty-array"])
def test_rule_options_are_one_number(cls, option, value):
    with pytest.raises(TypeError, match=f"{option} must be a single real number"):
        getattr(optim, cls)(**{option: value})


@pytest.mark.parametrize("cls,option", [("LAMBC", "clip"), ("ELRConstraint", "e_goal"), ("LARS", "eta")])
@pytest.mark.parametrize("value", ["1.0", 1j, None, np.nan])
def test_rule_options_refuse_text_complex_and_nan(cls, option, value):
    with pytest.raises((TypeError, ValueError), match=option):
        getattr(optim, cls)(**{option: value})


def test_lalc_and_decay_form_messages_name_their_option():
    with pytest.raises(ValueError, match="apply_to"):
        optim.LALC(apply_to="gradient")
    for cls in (optim.LARS, optim.TVLARS):
        with pytest.raises(TypeError, match="decay_form"):
            cls(decay_form=0)
        with pytest.raises(TypeError, match="decay_form"):
            cls(decay_form=np.array(["sum"]))


@pytest.mark.parametrize("make", [
    lambda v: optim.Constant(v), lambda v: optim.LinearWarmup(v, 3), lambda v: optim.WarmupCosine(v, 10),
    lambda v: optim.OneCycle(1.0, 10, div_factor=v), lambda v: optim.PolynomialDecay(1.0, 10, power=v),
    lambda v: optim.StepDecay(v), lambda v: optim.TVLARSSchedule(1.0, v, 2.0)])
@pytest.mark.parametrize("value", BAD, ids=["[]", "list", "array", "empty-array"])
def test_schedule_floats_are_one_number(make, value):
    with pytest.raises(TypeError, match="must be a single real number"):
        make(value)


@pytest.mark.parametrize("milestones", [0, "12", [1, [2, 3]], [1.5], [-1]])
def test_step_decay_milestones_are_a_sequence_of_steps(milestones):
    with pytest.raises((TypeError, ValueError), match="milestones"):
        optim.StepDecay(1.0, milestones)


def test_accepted_values_still_run():
    """The checks refuse only what is not one number: scalars of every numeric type pass."""
    for v in (0.5, 2, np.float32(2.0), np.int64(3), np.array(0.5)):
        elr.simulate(1.0, 0.1, 3, rule=optim.LARS(eta=v))
        assert optim.schedule_values(optim.Constant(v), 3).shape == (3,)
    assert check_scalar(np.array(2.0), "x") == 2.0
    assert check_clamp((0, np.inf), "w_clamp") == (0, np.inf)
    with pytest.raises(TypeError, match=r"w_clamp\[1\]"):
        check_clamp((0.0, [1.0, 2.0]), "w_clamp")


def test_huge_eta_divergence_is_warned_not_silent():
    """η = 1e300 makes the first step overflow: the ELR model says so (its documented warning,
    after which the values are inf or NaN); no numpy RuntimeWarning escapes."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        elr.simulate(1.0, 0.1, 3, rule=optim.LARS(eta=1e300))
    names = {w.category.__name__ for w in caught}
    assert names == {"ELRDivergenceWarning"}
