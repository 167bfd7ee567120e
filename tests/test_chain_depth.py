"""Any depth: the backward pass carries the gradient as 2^e·g̃ and renormalises g̃ by powers of
two, so rates and log norms are finite at every depth (issue 25, item 1), and exactly the
numbers of the unscaled recursion wherever that one stays in range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradexp.mc import _chain_kernels as K
from gradexp.mc import _layout as L
from gradexp.mc._chain_stats import _unscale
from gradexp.mc._draws import _Drawer
from gradexp.mc.chain import ChainSpec, sample_chain, simulate_chain

# width 12, batch 8: fast, and no numerical collapse of the batch (at width 8 two samples of a
# BN + ReLU chain can become identical after ~8000 layers, and then the gradient is exactly 0)
W, B = 12, 8


def _block_rate(log_norms, edge=5, block=200):
    """Mean log growth per layer over the middle of long chains, with the standard error of
    block means (increments of successive layers are nearly uncorrelated; blocks absorb it)."""
    inc = log_norms[:, edge:-edge - 1] - log_norms[:, edge + 1:-edge]
    n = inc.shape[1] // block
    blocks = inc[:, :n * block].reshape(inc.shape[0], n, block).mean(axis=2).ravel()
    return blocks.mean(), blocks.std(ddof=1) / math.sqrt(blocks.size)


@pytest.fixture(scope="module")
def short_rate():
    """The per-layer log rate from many short chains (depth 300, layers 20..290, past the
    first layers' transient), its error."""
    res = simulate_chain(300, W, B, reps=150, rng=11, corr_features=0, weight_grads=False)
    lr = res.log_rates(20, 290)
    return lr.mean(), lr.std(ddof=1) / math.sqrt(lr.size)


@pytest.mark.parametrize("depth", [10 ** 4, pytest.param(10 ** 5, marks=pytest.mark.slow)])
def test_deep_chains_have_finite_log_norms_and_the_short_chain_rate(depth, short_rate):
    """Depth 1e4 and 1e5 (where the unscaled norms passed 1e308 after ~1,500 layers): every log
    norm is finite, the rate is finite, and the per-layer log rate agrees with that of short
    chains within 5 combined standard errors."""
    res = simulate_chain(depth, W, B, reps=2, rng=3, corr_features=0, weight_grads=False)
    assert np.isfinite(res.log_grad_norms).all()
    assert math.isfinite(res.rate) and res.rate > 1
    assert np.isinf(res.grad_norms[:, 0]).all()  # the true norm is beyond float64 ...
    assert res.log_grad_norms[0, 0] > 1000  # ... and its log is known
    m, se = _block_rate(res.log_grad_norms)
    m0, se0 = short_rate
    assert abs(m - m0) < 5 * math.hypot(se, se0), (m, se, m0, se0)
    # the whole-chain rate is the same number up to end effects of order 1/depth
    assert abs(math.log(res.rate) - m) < 10 / depth + 5 * se


def test_float32_chains_are_finite_at_depth_1e4():
    res = simulate_chain(10 ** 4, W, B, reps=2, rng=4, dtype=np.float32, corr_features=0,
                         weight_grads=False)
    assert np.isfinite(res.log_grad_norms).all() and math.isfinite(res.rate)


def _run_with_thresholds(spec, rng, hi, lo):
    lay = L._Layout(spec)
    buf = L._Buffers(spec, lay, 1)
    draw = _Drawer(spec, lay)
    draw(draw.start(np.random.SeedSequence(rng)), buf, 0)
    IP, FP = L._pack(spec, lay)
    FP[K.P_SQ_HI], FP[K.P_SQ_LO] = hi, lo
    K._run_chains(IP, FP, lay.table, *buf.arrays(1))
    OUT, WOUT = buf.OUT[0].copy(), buf.WOUT[0].copy()
    _unscale(OUT, WOUT)
    return OUT, WOUT


@pytest.mark.parametrize("kw", [dict(), dict(residual=1, residual_scale=1.0, activation="tanh"),
                                dict(residual=3, norm="group", group_size=4, shift=0.3),
                                dict(dtype=np.float32, norm="rms", activation="gelu")])
def test_renormalisation_is_exact(kw):
    """Renormalising every layer (thresholds 1 ± 1e-9: the gradient is rescaled at every
    layer, by powers of two) gives bit for bit the gradient statistics of the run that never rescales
    (depth 300: the norms stay within float range); skip gradients waiting across a rescale
    included."""
    spec = ChainSpec(300, W, B, **kw)
    never = _run_with_thresholds(spec, 5, np.inf, 0.0)
    always = _run_with_thresholds(spec, 5, 1 + 1e-9, 1 - 1e-9)
    assert always[0][K.F_LOG2_SCALE, 0] != 0  # it did rescale
    for f in (K.F_GRAD_SQ, K.F_GRAD_VAR, K.F_VAR_PRODUCT, K.F_ACT_GRAD_CORR):
        np.testing.assert_array_equal(always[0][f], never[0][f])
    # log||g|| = log||2^-e g|| + e log 2: the same number to the rounding of the two logs
    # and the sum, a few ulp of the larger term
    a, b = always[0][K.F_LOG_GRAD_NORM], never[0][K.F_LOG_GRAD_NORM]
    e_ln2 = np.abs(always[0][K.F_LOG2_SCALE]) * math.log(2)
    assert (np.abs(a - b) <= 4 * np.finfo(float).eps * (np.abs(b) + e_ln2)).all()
    for f in (K.W_GRAD_SQ, K.W_GRAD_DOT):
        np.testing.assert_array_equal(always[1][f], never[1][f])


def test_sampled_chain_returns_true_gradients_after_rescaling():
    """SampledChain.grad and weight_grads are the true gradients (the kernel's vectors scaled
    back): at depth 1500 the norms (~e^380) are far past the renormalisation threshold but
    inside float64, and they match the result's log norms."""
    ch = sample_chain(1500, W, B, rng=6, corr_features=0)
    ch.run()
    res = ch.result()
    assert ch._buf.OUT[0, K.F_LOG2_SCALE, 0] > 0  # rescaled on the way
    assert np.isfinite(ch.grad).all()
    assert _log_norm(ch.grad) == pytest.approx(res.log_grad_norms[0, 0], rel=1e-13)
    assert res.log_grad_norms[0, 0] > 200
    assert _log_norm(ch.weight_grads[0]) == pytest.approx(math.log(res.weight_grad_norms[0, 0]),
                                                          rel=1e-13)


def _log_norm(a):
    """log of the Frobenius norm without overflow (norms past sqrt(1e308))."""
    m = np.abs(a).max()
    return math.log(m) + math.log(np.linalg.norm(a / m))


@pytest.mark.parametrize("kw,match", [(dict(), "variance [0-9.]+e-2"), (dict(init=2.0), r"variance [0-9.]+e\+2")])
def test_unnormalised_chains_leaving_the_float_range_are_refused(kw, match):
    """norm='none' runs in linear scale: He-initialised ReLU at width 12 drifts to 1e-300 by
    layer ~3000, gain 2 explodes; one ValueError names depth, norm and the layer instead of a
    silent zero gradient or NaN. A bounded activation (tanh) runs at the same depth."""
    with pytest.raises(ValueError, match=f"depth=10000 with norm='none'.*layer \\d+ \\({match}"):
        simulate_chain(10 ** 4, W, B, reps=2, rng=1, norm="none", corr_features=0,
                       weight_grads=False, **kw)
    res = simulate_chain(10 ** 4, W, B, reps=2, rng=1, norm="none", activation="tanh",
                         corr_features=0, weight_grads=False)
    assert np.isfinite(res.log_grad_norms).all()
