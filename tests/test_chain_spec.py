"""The chain specification, bad input, BLAS threads and memory guards (issue 14, mc parts)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from gradexp._threads import blas_threads
from gradexp.mc import _chain_kernels as K
from gradexp.mc import _layout as L
from gradexp.mc._estimate import Estimate, estimate, estimate_over_reps
from gradexp.mc.chain import (
    CHAIN_OPTIONS,
    ChainSpec,
    InfiniteGrowthWarning,
    sample_chain,
    simulate_chain,
    single_layer_ratio,
)


# ============================================================================ specification
def test_spec_is_frozen_validated_once_and_round_trips():
    spec = ChainSpec(4, 8, 6, activation="gelu", activation_params={}, dtype="float32")
    assert spec.width == (8,) * 5 and spec.dtype == np.dtype(np.float32)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.batch = 7
    assert ChainSpec(**spec.to_dict()) == spec
    assert hash(spec) == hash(ChainSpec(**spec.to_dict()))
    assert spec.replace(batch=7).batch == 7
    with pytest.raises(ValueError, match="batch"):
        spec.replace(batch=1)
    # the option list is the dataclass's, in one place
    assert CHAIN_OPTIONS[0] == "activation" and "classes" in CHAIN_OPTIONS and "n_classes" not in CHAIN_OPTIONS


def test_spec_and_keywords_give_the_same_run():
    kw = dict(activation="tanh", residual=2, upstream="mse", classes=3, bias_std=0.2)
    spec = ChainSpec(4, 8, 6, **kw)
    a = simulate_chain(spec, reps=3, rng=2)
    b = simulate_chain(4, 8, 6, reps=3, rng=2, **kw)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)
    assert a.spec == spec and a.params["classes"] == 3 and a.params["reps"] == 3
    ch = sample_chain(spec, rng=2)
    ch.run()
    np.testing.assert_allclose(ch.result().grad_norms[0], a.grad_norms[0], rtol=1e-14)
    with pytest.raises(TypeError, match="ChainSpec"):
        simulate_chain(spec, 8, 6)
    with pytest.raises(TypeError, match="ChainSpec"):
        simulate_chain(spec, activation="relu")
    with pytest.raises(TypeError, match="depth, width and batch"):
        simulate_chain(4, 8)


def test_one_name_per_option():
    """``classes`` is the only name: the old ``n_classes`` is an unknown option now."""
    with pytest.raises(TypeError, match="unknown chain options.*n_classes"):
        simulate_chain(2, 6, 6, upstream="cross_entropy", n_classes=4)
    with pytest.raises(TypeError, match="unknown chain options"):
        simulate_chain(2, 6, 6, widht=5)


def test_packed_parameters_carry_every_option():
    spec = ChainSpec(3, [6, 5, 6, 7], 4, norm="batch-nocenter", bn_backward="simplified", eps=0.25,
                     residual=2, residual_scale=0.5, activation="leaky_relu",
                     activation_params={"slope": 0.3}, bias_std=0.1, upstream="logistic")
    lay = L._Layout(spec)
    IP, FP = L._pack(spec, lay, frozen=True, start=1, backward=False, keep_dw=True)
    assert IP.shape == (K.N_IP,) and FP.shape == (K.N_FP,)
    assert (IP[K.I_DEPTH], IP[K.I_BATCH], IP[K.I_NORM], IP[K.I_CENTER], IP[K.I_FULL]) == (3, 4, K.NORM_BATCH, 0, 0)
    assert (IP[K.I_FROZEN], IP[K.I_START], IP[K.I_BACKWARD], IP[K.I_KEEP_DW]) == (1, 1, 0, 1)
    assert (IP[K.I_HAS_BIAS], IP[K.I_LOSS], IP[K.I_ACT]) == (1, K.LOSS_LOGISTIC, spec.act.code)
    assert (FP[K.P_EPS], FP[K.P_SCALE], FP[K.P_ACT_PARAM]) == (0.25, 0.5, 0.3)
    np.testing.assert_array_equal(lay.table[K.L_DIMS, :4], [6, 5, 6, 7])
    np.testing.assert_array_equal(lay.table[K.L_SKIP, :3], [-1, 0, -1])  # x^0 joins after layer 1


# ============================================================================ bad input
@pytest.mark.parametrize("batch,norm,backward", [(2, "batch", "simplified"), (3, "batch", "full"),
                                                 (2, "batch-nocenter", "full")])
def test_small_batches_warn_that_growth_is_infinite(batch, norm, backward):
    with pytest.warns(InfiniteGrowthWarning, match="infinite"):
        res = simulate_chain(2, 6, batch, norm=norm, reps=2, rng=0, bn_backward=backward)
    assert np.isfinite(res.grad_norms).all()  # still a legal sample
    assert issubclass(InfiniteGrowthWarning, RuntimeWarning)


@pytest.mark.parametrize("batch,norm,width", [(4, "batch", 6), (3, "batch-nocenter", 6), (2, "none", 6),
                                              (2, "layer", 4), (2, "batch", 6)])
def test_no_warning_where_growth_is_finite(batch, norm, width):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate_chain(2, width, batch, norm=norm, reps=2, rng=0)


def test_layer_norm_on_narrow_layers_warns():
    with pytest.warns(InfiniteGrowthWarning, match="width 3"):
        simulate_chain(2, 3, 8, norm="layer", reps=2, rng=0)


def test_rng_of_wrong_type_names_the_argument():
    """One seed argument (``rng``) and one validator: the message names ``rng``; the old
    ``seed=`` alias is gone (an unknown keyword)."""
    from gradexp.mc.matrices import bartlett_factor, depth_scan, product_singular_values

    with pytest.raises(TypeError, match="rng must be None, an int"):
        product_singular_values(2, 3, rng="x")
    with pytest.raises(TypeError, match="rng"):
        depth_scan([1], 3, rng=1.5)
    with pytest.raises(TypeError, match="rng"):
        bartlett_factor(3, "x")
    with pytest.raises(TypeError, match="rng"):
        simulate_chain(2, 4, 4, rng="x")
    for call in (lambda: product_singular_values(2, 3, seed=1), lambda: depth_scan([1], 3, seed=1),
                 lambda: sample_chain(2, 4, 4, seed=1)):
        with pytest.raises(TypeError, match="seed"):
            call()
    with pytest.raises(TypeError, match="unknown chain options.*seed"):
        simulate_chain(2, 4, 4, seed=1)


# ============================================================================ BLAS threads
def _blas_counts():
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_small_chains_run_their_kernels_with_single_threaded_blas(monkeypatch):
    """The guard is observed from inside the kernel call, starting from 2 BLAS threads, so a
    missing or ineffective guard fails (skipped if this BLAS cannot be set to 2 threads)."""
    import scipy.linalg.cython_blas  # noqa: F401  the BLAS numba's np.dot calls

    seen = []
    original = K._run_chains

    def spy(*args):
        seen.append(_blas_counts())
        return original(*args)

    monkeypatch.setattr(K, "_run_chains", spy)
    with blas_threads(2):
        if not _blas_counts() or any(c != 2 for c in _blas_counts()):
            pytest.skip("BLAS cannot be set to 2 threads here, the guard is not observable")
        simulate_chain(3, 8, 8, reps=1, rng=0, engine="wide")  # wide: one chain, small work
        simulate_chain(3, 8, 8, reps=3, rng=0, engine="compiled", threads=2)
        ch = sample_chain(3, 8, 8, rng=0)
        ch.run()
        assert _blas_counts() == [2] * len(_blas_counts())  # restored on exit
    assert len(seen) == 1 + 3 + 1
    assert all(counts and all(c == 1 for c in counts) for counts in seen)


def test_large_chains_keep_threaded_blas():
    import scipy.linalg.cython_blas  # noqa: F401

    big = L._Layout(ChainSpec(1, 2048, 8))  # 8 * 2048^2 = 2^25 multiply-adds >= the threshold
    small = L._Layout(ChainSpec(1, 64, 8))
    with blas_threads(2):
        if any(c != 2 for c in _blas_counts()):
            pytest.skip("BLAS cannot be set to 2 threads here")
        with L._blas_limit(big):
            assert all(c == 2 for c in _blas_counts())
        with L._blas_limit(small):
            assert all(c == 1 for c in _blas_counts())


def test_blas_threads_validates_and_none_is_a_no_op():
    before = _blas_counts()
    with blas_threads(None):
        assert _blas_counts() == before
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n must be"):
            with blas_threads(bad):
                pass


# ============================================================================ estimates
def test_estimate_forms():
    x = np.arange(10.0)
    e = estimate(x)
    assert e == Estimate(4.5, float(x.std(ddof=1) / math.sqrt(10)), 10)
    with pytest.raises(TypeError):
        estimate(x, axis=0)  # the dead axis= argument is gone
    with pytest.raises(ValueError, match="at least 2"):
        estimate([1.0])
    s = np.arange(12.0).reshape(4, 3)
    er = estimate_over_reps(s)
    np.testing.assert_allclose(er.mean, s.mean(0))
    np.testing.assert_allclose(er.stderr, s.std(0, ddof=1) / 2)
    assert er.n == 4
    np.testing.assert_allclose(er.z_score(s.mean(0)), 0.0)
    assert np.isnan(estimate_over_reps(s[:1]).stderr).all()
    assert e.z_score(4.5) == 0.0 and Estimate(1.0, 0.0, 3).z_score(0.0) == math.inf
    assert "±" in f"{e}"


def test_chain_result_estimate_per_layer():
    res = simulate_chain(3, 8, 8, reps=5, rng=4)
    est = res.estimate("grad_norms")
    np.testing.assert_allclose(est.mean, res.grad_norms.mean(0))
    np.testing.assert_allclose(est.stderr, res.grad_norms.std(0, ddof=1) / math.sqrt(5))
    with pytest.raises(ValueError, match="name"):
        res.estimate("loss")
    with pytest.raises(ValueError, match="name"):
        res.estimate("rate")


def test_layer_ratio_networks_estimate():
    r = single_layer_ratio(8, 16, reps=4, batches=3, rng=5)
    net = r.networks
    np.testing.assert_array_equal(net.mean, r.network_means)
    np.testing.assert_array_equal(net.stderr, r.network_stderrs)
    assert net.n == 3 and single_layer_ratio(8, 16, reps=2, rng=5).networks is None


def test_spec_pickles_for_worker_processes():
    import pickle

    spec = ChainSpec(3, np.array([8, 6, 6, 4]), 6, activation="leaky_relu", activation_params={"slope": 0.2},
                     dtype="float32", stats="gram", weights="orthogonal", norm="batch-nocenter")
    back = pickle.loads(pickle.dumps(spec))
    assert back == spec and back.act.param == 0.2 and back.width == (8, 6, 6, 4)


def test_activation_domain_is_the_theory_domain():
    """One activation domain for theory and Monte Carlo (issue 25): leaky ReLU with slope 5 is
    refused by activation_factor, so the chain must refuse it too, naming ``slope``."""
    import gradexp

    with pytest.raises(ValueError, match="slope"):
        gradexp.activation_factor("leaky_relu", 0.0, 1.0, slope=5.0)
    with pytest.raises(ValueError, match="slope"):
        ChainSpec(2, 4, 4, activation="leaky_relu", activation_params={"slope": 5.0})
