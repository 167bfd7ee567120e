import math

import numpy as np
import pytest

from gradexp.activations import ACTIVATION_NAMES, get_activation, scalar_deriv, scalar_value

XS = np.array([-30.0, -3.0, -0.7, -1e-3, 1e-3, 0.4, 2.5, 30.0])


@pytest.mark.parametrize("name", [n for n in ACTIVATION_NAMES if n != "dropout"])
def test_vector_and_scalar_agree_and_derivative_is_derivative(name):
    act = get_activation(name)
    v = act.value(XS)
    d = act.deriv(XS)
    for x, vi, di in zip(XS, v, d):
        # GELU at x = -30 (value 1e-197): erfc(-x/sqrt2) and ndtr differ by 1e-13 relative
        assert math.isclose(scalar_value(act.code, act.param, x), vi, rel_tol=1e-12, abs_tol=1e-300)
        assert math.isclose(scalar_deriv(act.code, act.param, x), di, rel_tol=1e-12, abs_tol=1e-300)
        if abs(x) > 1e-2:  # away from kinks: central differences
            h = 1e-6 * max(1.0, abs(x))
            fd = (scalar_value(act.code, act.param, x + h) - scalar_value(act.code, act.param, x - h)) / (2 * h)
            assert abs(fd - di) < 1e-6 * max(1.0, abs(di))


def test_special_cases():
    x = np.linspace(-3, 3, 13)
    assert np.array_equal(get_activation("leaky_relu", slope=0.0).value(x), get_activation("relu").value(x))
    assert np.array_equal(get_activation("leaky_relu", slope=1.0).value(x), x)
    mask = np.array([1.0, 0.0] * 6 + [1.0])
    assert np.array_equal(get_activation("dropout", keep_prob=0.5).value(x, mask), x * mask)


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        get_activation("swish2")
    with pytest.raises(ValueError, match="keep_prob"):
        get_activation("dropout", keep_prob=0.0)
    with pytest.raises(ValueError):
        get_activation("relu", slope=0.1)
    with pytest.raises(ValueError, match="mask"):
        get_activation("dropout").value(1.0)
    with pytest.raises(ValueError, match="alpha"):
        get_activation("elu", alpha=float("nan"))
    with pytest.raises(ValueError, match="slope"):
        get_activation("leaky_relu", slope=float("inf"))
    with pytest.raises(TypeError, match="keep_prob"):
        get_activation("dropout", keep_prob=None)


def test_no_overflow_warnings_in_tails():
    for name in ("silu", "softplus", "elu", "gelu"):
        act = get_activation(name)
        assert np.all(np.isfinite(act.value(np.array([-800.0, 800.0]))))


# --------------------------------------------------------------------------- one parameter domain
@pytest.mark.parametrize("name, bad", [("leaky_relu", 5.0), ("leaky_relu", -1.5), ("elu", -0.1),
                                       ("dropout", 0.0), ("dropout", 1.5)])
def test_parameter_domain_is_one_definition(name, bad):
    """get_activation, Activation(...) and check_activation_param refuse the same values, so the
    theory and the simulators (which both build activations through them) agree."""
    from gradexp.activations import _NAMES, _PARAM_NAME, Activation, check_activation_param

    pname = _PARAM_NAME[_NAMES[name]]
    with pytest.raises(ValueError, match=pname):
        check_activation_param(name, bad)
    with pytest.raises(ValueError, match=pname):
        get_activation(name, **{pname: bad})
    with pytest.raises(ValueError, match=pname):
        Activation(name, _NAMES[name], bad)


def test_parameter_domain_edges_are_accepted():
    from gradexp.activations import check_activation_param

    assert check_activation_param("leaky_relu", -1) == -1.0 and check_activation_param("leaky_relu", 1) == 1.0
    assert check_activation_param("elu", 0) == 0.0 and check_activation_param("dropout", 1) == 1.0
    with pytest.raises(TypeError, match="slope"):
        check_activation_param("leaky_relu", "0.1")
    with pytest.raises(ValueError, match="no parameter"):
        check_activation_param("relu", 0.1)
