"""Tests of the chain simulator (gradexp/mc/chain.py, gradexp/mc/_chain_kernels.py).

Correctness by three independent routes: central finite differences of the loss, a plain
numpy re-implementation written here, and (when installed) torch.autograd. Kernels against
their pure-Python ``.py_func``; engines, thread counts and seeds against each other.
Monte-Carlo checks use tolerances derived from the estimator's standard error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradexp
from gradexp.activations import ACTIVATION_NAMES, get_activation
from gradexp.mc import _chain_kernels as K
from gradexp.mc.chain import (
    ChainResult,
    ChainSpec,
    sample_chain,
    simulate_chain,
    single_layer_ratio,
)

FD_STEP = 1e-5
FD_RTOL = 1e-7  # the target: backward = central differences to 1e-7 relative


# ============================================================================ helpers
def _fd_errors(ch, *, freeze=False, n_inputs=5, n_weights=2, rng=0):
    """max |central difference − backward| over sampled coordinates, relative to max |grad|."""
    ch.run()
    if freeze:
        ch.run(freeze=True)
    g0 = ch.grad.copy()
    dws = {k: v.copy() for k, v in ch.weight_grads.items()}
    scale = max(np.abs(g0).max(), max(np.abs(v).max() for v in dws.values()))
    rng = np.random.default_rng(rng)
    errs = []

    def central(arr, idx):
        old = arr[idx]
        arr[idx] = old + FD_STEP
        lp = ch.run(backward=False, freeze=freeze)
        arr[idx] = old - FD_STEP
        lm = ch.run(backward=False, freeze=freeze)
        arr[idx] = old
        return (lp - lm) / (2 * FD_STEP)

    x0 = ch.inputs
    for _ in range(n_inputs):
        idx = (rng.integers(x0.shape[0]), rng.integers(x0.shape[1]))
        errs.append(abs(central(x0, idx) - g0[idx]))
    for n, w in enumerate(ch.weights):
        for _ in range(n_weights):
            idx = (rng.integers(w.shape[0]), rng.integers(w.shape[1]))
            errs.append(abs(central(w, idx) - dws[n][idx]))
    return max(errs) / scale


_INV_SQRT2 = 1 / math.sqrt(2)


def _reference(ch, *, norm, full, act, residual_scale=_INV_SQRT2, skip_src=None, eps=0.0):
    """Plain-numpy forward and backward of a SampledChain with a Gaussian upstream gradient.

    Written independently of the kernels: returns (xs, grads, weight grads).
    """
    N = ch.depth
    skip_src = skip_src or [-1] * N
    masks = ch.masks
    xs = [ch.inputs.astype(float).copy()]
    hs, xhats, sds = [], [], []
    for n, w in enumerate(ch.weights):
        x = xs[n]
        h = act.value(x, masks[n]) if act.stochastic else act.value(x)
        z = h @ w + (ch.biases[n] if ch.biases is not None else 0.0)
        if norm == "batch":
            mu, sd = z.mean(0), np.sqrt(z.var(0) + eps)
        elif norm == "batch-nocenter":
            mu, sd = 0.0, np.sqrt((z * z).mean(0) + eps)
        elif norm == "layer":
            mu, sd = z.mean(1, keepdims=True), np.sqrt(z.var(1, keepdims=True) + eps)
        else:
            mu, sd = 0.0, 1.0
        xh = (z - mu) / sd
        xn = residual_scale * (xh + xs[skip_src[n]]) if skip_src[n] >= 0 else xh
        hs.append(h)
        xhats.append(xh)
        sds.append(sd)
        xs.append(xn)
    grads = [None] * (N + 1)
    grads[N] = ch.upstream.astype(float).copy()
    pending = {}
    dws = [None] * N
    for n in range(N - 1, -1, -1):
        g = grads[n + 1]
        if skip_src[n] >= 0:
            g = residual_scale * g
            pending[skip_src[n]] = g
        xh, sd = xhats[n], sds[n]
        if norm == "batch" and full:
            gz = (g - g.mean(0) - xh * (g * xh).mean(0)) / sd
        elif norm == "batch-nocenter" and full:  # d(z_b/r)/dz_c = δ_bc/r − z_b z_c/(B r³)
            gz = (g - xh * (g * xh).mean(0)) / sd
        elif norm == "layer" and full:
            gz = (g - g.mean(1, keepdims=True) - xh * (g * xh).mean(1, keepdims=True)) / sd
        else:
            gz = g / sd
        dws[n] = hs[n].T @ gz
        gh = gz @ ch.weights[n].T
        d = act.deriv(xs[n], masks[n]) if act.stochastic else act.deriv(xs[n])
        grads[n] = gh * d + pending.pop(n, 0.0)
    return xs, grads, dws


# ============================================================================ exactness
FD_CASES = [
    (norm, act, extra)
    for norm in ("batch", "batch-nocenter", "layer", "none")
    for act, extra in zip(ACTIVATION_NAMES,
                          [{}, {"residual": 1, "bias_std": 0.5}, {"upstream": "cross_entropy"},
                           {"residual": 2}, {"upstream": "logistic"}, {"bias_std": 1.0},
                           {"upstream": "mse"}, {"residual": 3, "upstream": "cross_entropy"},
                           {"input_corr": 0.5, "eps": 1e-3}])  # eps: a sample may drop every unit
]


@pytest.mark.parametrize("norm,act,extra", FD_CASES)
def test_full_backward_matches_central_differences(norm, act, extra):
    ch = sample_chain(3, 5, 6, rng=3, norm=norm, activation=act, **extra)
    assert _fd_errors(ch) < FD_RTOL


@pytest.mark.parametrize("norm", ["batch", "batch-nocenter", "layer"])
@pytest.mark.parametrize("act", ["relu", "gelu", "dropout"])
def test_simplified_backward_is_derivative_of_frozen_forward(norm, act):
    # eps under LayerNorm: a sample whose units are all dead (all 5 inputs of a row below 0,
    # probability 1/32 per sample) has sigma = 0 there
    ch = sample_chain(3, 5, 6, rng=4, norm=norm, activation=act, bn_backward="simplified",
                      residual=2, eps=1e-3 if norm == "layer" else 0.0)
    assert _fd_errors(ch, freeze=True) < FD_RTOL


def test_simplified_backward_differs_from_true_derivative():
    """The simplified backward is not the derivative of the batch-statistics forward."""
    ch = sample_chain(2, 5, 6, rng=5, bn_backward="simplified")
    assert _fd_errors(ch) > 1e-3


def test_finite_differences_detect_a_wrong_gradient():
    ch = sample_chain(2, 5, 6, rng=6)
    ch.run()
    ch.weights[0][0, 0] += 1e-3  # forward changed after the gradient was taken
    g_before = ch.grad.copy()
    ch.run()
    assert not np.allclose(g_before, ch.grad, rtol=1e-9, atol=0)


@pytest.mark.parametrize("norm,full,extra", [
    ("batch", True, {}),
    ("batch", False, {"residual": 2, "activation": "gelu"}),
    ("batch-nocenter", True, {"activation": "identity", "weights": "orthogonal"}),
    ("batch-nocenter", False, {"activation": "silu", "residual": 2}),
    ("layer", True, {"activation": "tanh", "bias_std": 0.3}),
    ("none", True, {"activation": "dropout", "residual": 1}),
])
def test_matches_numpy_reference(norm, full, extra):
    depth, width, batch = 4, 7, 9
    kw = dict(norm=norm, bn_backward="full" if full else "simplified", **extra)
    ch = sample_chain(depth, width, batch, rng=11, **kw)
    ch.run()
    act = get_activation(kw.get("activation", "relu"))
    s = kw.get("residual")
    skip_src = [-1] * depth
    if s:
        for k in range(1, depth // s + 1):
            skip_src[k * s - 1] = (k - 1) * s
    xs, grads, dws = _reference(ch, norm=norm, full=full, act=act, skip_src=skip_src)
    np.testing.assert_allclose(ch.grad, grads[0], rtol=1e-11, atol=1e-12 * np.abs(grads[0]).max())
    for n in range(depth):
        np.testing.assert_allclose(ch.activations(n + 1), xs[n + 1], rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(ch.weight_grads[n], dws[n], rtol=1e-10,
                                   atol=1e-11 * np.abs(dws[n]).max())
    # per-layer statistics from the reference arrays
    res = ch.result()
    for n in range(depth + 1):
        x, g = xs[n], grads[n]
        assert res.grad_norms[0, n] == pytest.approx(np.linalg.norm(g), rel=1e-11)
        assert res.var_product[0, n] == pytest.approx((x.var(0) * g.var(0)).sum(), rel=1e-10)
        assert res.act_var[0, n] == pytest.approx(x.var(0).mean(), rel=1e-11)
        assert res.grad_var[0, n] == pytest.approx(g.var(0).mean(), rel=1e-10)
        xc = x - x.mean(0)
        kurt = ((xc ** 4).mean(0) / x.var(0) ** 2 - 3).mean()
        assert res.act_kurtosis[0, n] == pytest.approx(kurt, rel=1e-9, abs=1e-12)
        c = np.corrcoef(x.T)
        iu = np.triu_indices(width, 1)
        assert res.act_corr[0, n] == pytest.approx(np.abs(c[iu]).mean(), rel=1e-10)
        cg = [abs(np.corrcoef(x[:, i], g[:, i])[0, 1]) for i in range(width)]
        assert res.act_grad_corr[0, n] == pytest.approx(np.mean(cg), rel=1e-9)
    for n in range(depth):
        assert res.weight_grad_norms[0, n] == pytest.approx(np.linalg.norm(dws[n]), rel=1e-11)
        assert res.weight_norms[0, n] == pytest.approx(np.linalg.norm(ch.weights[n]), rel=1e-13)


@pytest.mark.parametrize("norm", ["batch", "batch-nocenter", "layer", "none"])
def test_matches_torch_autograd(norm):
    torch = pytest.importorskip("torch")
    depth, width, batch = 4, 8, 10
    ch = sample_chain(depth, width, batch, rng=21, norm=norm, activation="gelu",
                      upstream="cross_entropy", residual=2, bias_std=0.2)
    loss = ch.run()
    x = torch.tensor(ch.inputs, dtype=torch.float64, requires_grad=True)
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in ch.weights]
    xs = [x]
    for n in range(depth):
        z = torch.nn.functional.gelu(xs[n]) @ ws[n] + torch.tensor(ch.biases[n])
        if norm == "batch":
            z = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False))
        elif norm == "batch-nocenter":
            z = z / torch.sqrt((z * z).mean(0))
        elif norm == "layer":
            z = torch.nn.functional.layer_norm(z, (width,), eps=0.0)
        if n in (1, 3):  # residual=2: x^2 += x^0, x^4 += x^2
            z = (z + xs[n - 1]) / math.sqrt(2)
        xs.append(z)
    logits = xs[-1] @ torch.tensor(ch.output_weights)
    tl = torch.nn.functional.cross_entropy(logits, torch.tensor(ch.labels), reduction="sum")
    tl.backward()
    assert float(tl.detach()) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(ch.grad, x.grad.numpy(), rtol=0, atol=1e-10 * float(x.grad.abs().max()))
    for n in range(depth):
        ref = ws[n].grad.numpy()
        np.testing.assert_allclose(ch.weight_grads[n], ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_float32_close_to_float64():
    """The same network in both precisions (float32 draws differ, so copy the arrays)."""
    r32 = simulate_chain(6, 16, 16, dtype=np.float32, reps=2, rng=31, activation="gelu")
    ch64 = sample_chain(6, 16, 16, rng=32)
    ch32 = sample_chain(6, 16, 16, rng=32, dtype=np.float32)
    ch32.inputs[:] = ch64.inputs
    for w32, w64 in zip(ch32.weights, ch64.weights):
        w32[:] = w64
    ch32.upstream[:] = ch64.upstream
    ch64.run()
    ch32.run()
    assert ch32.grad.dtype == np.float32
    np.testing.assert_allclose(ch32.grad, ch64.grad, rtol=0, atol=2e-4 * np.abs(ch64.grad).max())
    assert r32.grad_norms.dtype == np.float64 and np.isfinite(r32.grad_norms).all()
    assert r32.params["dtype"] == "float32"


# ============================================================================ kernels
def _kernel_args_forward(norm, center, has_skip, frozen):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 5))
    bias = rng.standard_normal(5)
    n = max(z.shape)
    mu = rng.standard_normal(n)
    sig = rng.uniform(0.5, 2, n)
    G = 5 if norm == K.NORM_GROUP else 0
    return [norm, center, z, bias, True, frozen, mu, sig, np.zeros(n), 1e-3, G, 0.3,
            rng.standard_normal((6, 5)), has_skip, 0.7]


@pytest.mark.parametrize("norm,center", [(K.NORM_BATCH, True), (K.NORM_BATCH, False),
                                         (K.NORM_GROUP, True), (K.NORM_GROUP, False),
                                         (K.NORM_NONE, True)])
@pytest.mark.parametrize("has_skip,frozen", [(False, False), (True, False), (True, True)])
def test_norm_forward_kernel_matches_py_func(norm, center, has_skip, frozen):
    a = _kernel_args_forward(norm, center, has_skip, frozen)
    b = [x.copy() if isinstance(x, np.ndarray) else x for x in a]
    K._norm_forward(*a)
    K._norm_forward.py_func(*b)
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(x, y, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("norm,center", [(K.NORM_BATCH, True), (K.NORM_BATCH, False),
                                         (K.NORM_GROUP, True), (K.NORM_GROUP, False),
                                         (K.NORM_NONE, True)])
@pytest.mark.parametrize("has_skip,full", [(False, True), (True, True), (True, False)])
def test_norm_backward_kernel_matches_py_func(norm, center, has_skip, full):
    rng = np.random.default_rng(2)
    B, d = 6, 5
    args = [norm, center, rng.standard_normal((B, d)), rng.standard_normal((B, d)),
            rng.standard_normal((B, d)), has_skip, 0.7, 0.3, rng.uniform(0.5, 2, max(B, d)), full,
            5 if norm == K.NORM_GROUP else 0, np.zeros((B, d)), np.zeros((B, d)), np.zeros(d),
            np.zeros(d)]
    other = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
    K._norm_backward(*args)
    K._norm_backward.py_func(*other)
    for x, y in zip(args, other):
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(x, y, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_activation_kernels_match_py_func_and_registry(act):
    a = get_activation(act)
    rng = np.random.default_rng(3)
    x = 2 * rng.standard_normal((7, 6))
    mask = (rng.random((7, 6)) < 0.5).astype(float)
    has_mask = a.stochastic
    outs = []
    for fn in (K._act_moments, K._act_moments.py_func):
        h = np.zeros_like(x)
        v = [np.zeros(6) for _ in range(4)]
        fn(x, a.code, a.param, mask, has_mask, h, True, *v)
        outs.append((h, v))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-14, atol=1e-15)
    ref = a.value(x, mask) if has_mask else a.value(x)
    np.testing.assert_allclose(outs[0][0], ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(outs[0][1][0], x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(outs[0][1][1], x.var(0), rtol=1e-13)
    gs = []
    for fn in (K._grad_finish, K._grad_finish.py_func):
        g = rng.standard_normal((7, 6)) if not gs else gs[0][1].copy()
        g0 = g.copy()
        add = np.ones((7, 6))
        v = [np.zeros(6) for _ in range(3)]
        fn(g, x, x.mean(0), True, a.code, a.param, mask, has_mask, add, True, *v)
        gs.append((g, g0, v))
    # both runs start from the same g
    ref = gs[0][1] * (a.deriv(x, mask) if has_mask else a.deriv(x)) + 1.0
    np.testing.assert_allclose(gs[0][0], ref, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gs[1][0], ref, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kind", [K.LOSS_GAUSSIAN, K.LOSS_MSE, K.LOSS_CROSS_ENTROPY,
                                  K.LOSS_LOGISTIC])
def test_loss_kernel_matches_py_func_and_differences(kind):
    rng = np.random.default_rng(4)
    B, d, k = 5, 4, 3
    x = rng.standard_normal((B, d))
    up = rng.standard_normal((B, d))
    ro = rng.standard_normal((d, k if kind == K.LOSS_CROSS_ENTROPY else 1))
    lab = rng.integers(0, k if kind == K.LOSS_CROSS_ENTROPY else 2, B)
    g1, g2 = np.zeros((B, d)), np.zeros((B, d))
    l1 = K._loss_grad(kind, x, up, ro, lab, g1, np.zeros(8))
    l2 = K._loss_grad.py_func(kind, x, up, ro, lab, g2, np.zeros(8))
    assert l1 == pytest.approx(l2, rel=1e-14)
    np.testing.assert_allclose(g1, g2, rtol=1e-14, atol=1e-16)
    for idx in [(0, 0), (3, 2)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += FD_STEP
        xm[idx] -= FD_STEP
        s = np.zeros(8)
        fd = (K._loss_grad(kind, xp, up, ro, lab, np.zeros((B, d)), s)
              - K._loss_grad(kind, xm, up, ro, lab, np.zeros((B, d)), s)) / (2 * FD_STEP)
        assert fd == pytest.approx(g1[idx], rel=1e-8, abs=1e-10)


def test_statistics_kernels_match_py_func():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((9, 6))
    mean, m2 = x.mean(0), x.var(0)
    acc = np.zeros((6, 6))
    assert K._feature_corr(x, mean, m2, 4, acc) == pytest.approx(
        K._feature_corr.py_func(x, mean, m2, 4, acc.copy()), rel=1e-14)
    c = np.corrcoef(x[:, :4].T)
    assert K._feature_corr(x, mean, m2, 4, acc) == pytest.approx(
        np.abs(c[np.triu_indices(4, 1)]).mean(), rel=1e-12)
    assert math.isnan(K._feature_corr(x, mean, m2, 1, acc))
    m3, m4 = ((x - mean) ** 3).mean(0), ((x - mean) ** 4).mean(0)
    o1, o2 = np.zeros((K.N_FIELDS, 2)), np.zeros((K.N_FIELDS, 2))
    K._summarize_forward(mean, m2, m3, m4, 6, o1, 1)
    K._summarize_forward.py_func(mean, m2, m3, m4, 6, o2, 1)
    np.testing.assert_allclose(o1, o2, rtol=1e-14)
    g = rng.standard_normal((9, 6))
    gs1, gs2, gxs = g.sum(0), (g * g).sum(0), ((x - mean) * g).sum(0)
    K._summarize_backward(gs1, gs2, gxs, m2, 9, 6, o1, 0)
    K._summarize_backward.py_func(gs1, gs2, gxs, m2, 9, 6, o2, 0)
    np.testing.assert_allclose(o1, o2, rtol=1e-14)
    assert o1[K.F_VAR_PRODUCT, 0] == pytest.approx((m2 * g.var(0)).sum(), rel=1e-12)
    u, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert K._frob_dot(u, v) == pytest.approx(K._frob_dot.py_func(u, v), rel=1e-14)
    assert K._frob_dot(u, v)[1] == pytest.approx(float((u * v).sum()), rel=1e-13)


def test_whole_chain_kernel_matches_py_func():
    """_chain_one in pure Python (its callees compiled) gives the compiled numbers."""
    from chain_oracle import draw as numpy_draw

    from gradexp.mc import _layout as L

    spec = ChainSpec(3, 4, 5, activation="elu", input_mean=0.3, input_corr=0.2, residual=1,
                     residual_scale=0.8, bias_std=0.1, upstream="cross_entropy", classes=3,
                     corr_features=3)
    lay = L._Layout(spec)
    bufs = []
    for compiled in (True, False):
        buf = L._Buffers(spec, lay, 1)
        numpy_draw(np.random.default_rng(7), spec, lay, buf, 0)
        IP, FP = L._pack(spec, lay)
        arrays = buf.arrays(1)
        if compiled:
            K._run_chains(IP, FP, lay.table, *arrays)
        else:
            buf.LOSS[0] = K._chain_one.py_func(IP, FP, lay.table, *(a[0] for a in arrays[:-1]))
        bufs.append(buf)
    np.testing.assert_allclose(bufs[0].OUT, bufs[1].OUT, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(bufs[0].WOUT, bufs[1].WOUT, rtol=1e-13)
    np.testing.assert_allclose(bufs[0].LOSS, bufs[1].LOSS, rtol=1e-14)


# ============================================================================ engines and seeds
def test_engines_and_thread_counts_give_the_same_numbers():
    kw = dict(activation="silu", residual=2, reps=5, rng=41, input_mean=0.5)
    ref = simulate_chain(6, 12, 10, engine="wide", **kw)
    for other in (simulate_chain(6, 12, 10, engine="compiled", threads=1, **kw),
                  simulate_chain(6, 12, 10, engine="compiled", threads=2, **kw),
                  simulate_chain(6, 12, 10, engine="compiled", threads=3, **kw)):
        for name in ("grad_norms", "var_product", "act_kurtosis", "weight_grad_norms", "loss"):
            np.testing.assert_array_equal(getattr(other, name), getattr(ref, name))


def test_same_seed_same_numbers_and_recorded_seed_reproduces():
    a = simulate_chain(4, 8, 8, reps=3, rng=5)
    b = simulate_chain(4, 8, 8, reps=3, rng=5)
    c = simulate_chain(4, 8, 8, reps=3, rng=6)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)
    assert not np.array_equal(a.grad_norms, c.grad_norms)
    fresh = simulate_chain(4, 8, 8, reps=3)  # OS entropy, recorded
    again = simulate_chain(4, 8, 8, reps=3, rng=fresh.seed)
    np.testing.assert_array_equal(fresh.grad_norms, again.grad_norms)
    # repetitions are independent streams: rep 0 alone equals rep 0 of a longer run
    one = simulate_chain(4, 8, 8, reps=1, rng=5)
    np.testing.assert_array_equal(one.grad_norms[0], a.grad_norms[0])
    # sample_chain(rng=s) is repetition 0 of simulate_chain(rng=s)
    ch = sample_chain(4, 8, 8, rng=5)
    ch.run()
    np.testing.assert_allclose(ch.result().grad_norms[0], a.grad_norms[0], rtol=1e-14)


def test_rng_argument_forms():
    """SPEC 7: rng (the only seed argument); the same SeedSequence object twice gives the same
    numbers and is not advanced; a Generator is a stream (two calls differ)."""
    ss = np.random.SeedSequence(3)
    a = simulate_chain(3, 6, 6, reps=2, rng=ss)
    b = simulate_chain(3, 6, 6, reps=2, rng=ss)
    assert ss.n_children_spawned == 0
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)
    np.testing.assert_array_equal(simulate_chain(3, 6, 6, reps=2, rng=3).grad_norms, a.grad_norms)
    g = np.random.default_rng(0)
    c, d = simulate_chain(3, 6, 6, reps=2, rng=g), simulate_chain(3, 6, 6, reps=2, rng=g)
    assert not np.array_equal(c.grad_norms, d.grad_norms)
    for bad, exc in ((-1, ValueError), (1.5, TypeError), ("x", TypeError), (True, TypeError)):
        with pytest.raises(exc, match="rng"):
            simulate_chain(3, 6, 6, rng=bad)
    with pytest.raises(TypeError, match="rng"):
        single_layer_ratio(8, 8, rng="x")


# ============================================================================ results and API
def test_result_helpers():
    res = simulate_chain(8, 16, 16, reps=6, rng=2)
    assert isinstance(res, ChainResult) and res.depth == 8 and res.reps == 6
    lr = (np.log(res.grad_norms[:, 0]) - np.log(res.grad_norms[:, 8])) / 8
    np.testing.assert_allclose(res.log_rates(), lr, rtol=1e-13)
    est = res.rate_between()
    assert est.mean == pytest.approx(math.exp(lr.mean()), rel=1e-13) == res.rate
    assert est.stderr == pytest.approx(est.mean * lr.std(ddof=1) / math.sqrt(6), rel=1e-12)
    assert res.rate_between(2, 5).n == 6
    r = res.layer_ratio(3)
    vals = res.var_product[:, 3] / res.var_product[:, 4]
    assert r.mean == pytest.approx(vals.mean(), rel=1e-13)
    with pytest.raises(ValueError):
        res.log_rates(5, 5)
    with pytest.raises(ValueError):
        res.layer_ratio(8)
    # BatchNorm outputs have unit batch variance and zero mean exactly
    np.testing.assert_allclose(res.act_var[:, 1:], 1.0, rtol=1e-12)
    assert np.all(res.mean_std_ratio[:, 1:] < 1e-12)
    single = simulate_chain(2, 4, 4, reps=1, rng=0)
    assert math.isnan(single.rate_stderr)


def test_width_changes_and_residual_validation():
    res = simulate_chain(3, [8, 16, 4, 4], 8, reps=2, rng=3)
    assert res.grad_norms.shape == (2, 4)
    with pytest.raises(ValueError, match="equal widths"):
        simulate_chain(2, [8, 16, 4], 8, residual=2)
    with pytest.raises(ValueError, match="depth"):
        simulate_chain(2, [8, 16, 4, 4], 8)


BAD_ARGS = [
    (dict(depth=0), "depth"), (dict(width=0), "width"), (dict(width=1), "width"),
    (dict(batch=1), "batch"), (dict(batch=1, norm="none"), "batch"),
    (dict(weights="uniform"), "weights"), (dict(weights="orthogonal", weight_mean=0.5), "weight_mean"),
    (dict(stats="hessian"), "stats"), (dict(residual_scale=float("nan")), "residual_scale"),
    (dict(input_std=-1.0), "input_std"), (dict(eps=float("nan")), "eps"),
    (dict(norm="groups"), "norm"), (dict(bn_backward="half"), "bn_backward"),
    (dict(norm="group", group_size=3), "group_size"), (dict(norm="rms", group_size=0), "group_size"),
    (dict(norm="batch", group_size=2), "group_size"), (dict(shift=float("nan")), "shift"),
    (dict(shift=float("inf")), "shift"), (dict(norm="none", shift=1.0), "shift"),
    (dict(norm="group", group_size=2, eps=-0.1), "eps"),
    (dict(activation="swish"), "activation"), (dict(input_corr=1.5), "input_corr"),
    (dict(input_corr=float("nan")), "input_corr"), (dict(input_corr="b"), "input_corr"),
    (dict(input_std=0.0), "input_std"), (dict(input_mean=float("nan")), "input_mean"),
    (dict(eps=-1.0), "eps"), (dict(residual=0), "residual"), (dict(residual=9), "residual"),
    (dict(init="xavier"), "init"), (dict(init=-1.0), "init"), (dict(bias_std=-1.0), "bias_std"),
    (dict(upstream="hinge"), "upstream"), (dict(classes=1), "classes"),
    (dict(dtype=np.int32), "dtype"), (dict(reps=0), "reps"), (dict(engine="gpu"), "engine"),
    (dict(activation_params={"keep_prob": 1.5}, activation="dropout"), "keep_prob"),
    (dict(threads=0), "threads"),
]


@pytest.mark.parametrize("kwargs,match", BAD_ARGS)
def test_invalid_arguments_raise(kwargs, match):
    base = dict(depth=2, width=4, batch=4, reps=2, engine="compiled")
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate_chain(base.pop("depth"), base.pop("width"), base.pop("batch"), **base)


def test_single_layer_ratio_validation():
    with pytest.raises(ValueError, match="simplified"):
        single_layer_ratio(8, 8, bn_stats="population")
    with pytest.raises(ValueError, match="i.i.d"):
        single_layer_ratio(8, 8, bn_stats="population", bn_backward="simplified", input_corr=0.5)
    with pytest.raises(ValueError, match="bn_stats"):
        single_layer_ratio(8, 8, bn_stats="running")
    with pytest.raises(ValueError, match="reps"):
        single_layer_ratio(8, 8, reps=1)
    with pytest.raises(TypeError, match="unknown"):
        sample_chain(2, 4, 4, reps=3)
    with pytest.raises(TypeError, match="fixes"):
        single_layer_ratio(8, 8, upstream="mse")


def test_import_of_gradexp_mc_is_lazy():
    import subprocess
    import sys

    code = ("import sys, gradexp, gradexp.mc; assert 'numba' not in sys.modules; "
            "gradexp.mc.simulate_chain; assert 'numba' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ============================================================================ Monte Carlo
@pytest.mark.parametrize("R", [-1.0, 0.0, 1.5])
def test_population_ratio_equals_C_of_R(R):
    """Paik & Choi Thm 2.2: with the statistics of an infinite batch and the simplified
    backward, the per-network ratio is C(R) for every W (only the x, g sampling remains)."""
    r = single_layer_ratio(32, 512, input_mean=math.sqrt(2) * R, bn_backward="simplified",
                           bn_stats="population", reps=24, rng=7)
    assert abs(r.ratio.z_score(gradexp.explosion_factor(R))) < 5
    assert r.ratio.stderr < 0.02 * r.ratio.mean  # the check has power (C(R) moves by far more)


@pytest.mark.parametrize("act,params", [("identity", None), ("dropout", {"keep_prob": 0.3})])
def test_identity_and_dropout_do_not_explode(act, params):
    r = single_layer_ratio(32, 512, activation=act, activation_params=params,
                           bn_backward="simplified", bn_stats="population", reps=24, rng=8)
    assert abs(r.ratio.z_score(1.0)) < 5 and r.ratio.stderr < 0.01


def test_standard_error_shrinks_like_one_over_sqrt_n():
    small = single_layer_ratio(16, 64, reps=16, rng=9)
    large = single_layer_ratio(16, 64, reps=256, rng=10)
    ratio = small.ratio.stderr / large.ratio.stderr
    # sd(stderr ratio) ≈ 4 / sqrt(2 * 16) for near-Gaussian samples: 4 ± 5 × 0.7 is loose,
    # but a wrong 1/n or n-independent stderr (ratio 16 or 1) fails
    assert 1.5 < ratio < 8.0
    assert abs(small.ratio.mean - large.ratio.mean) < 5 * math.hypot(small.ratio.stderr,
                                                                     large.ratio.stderr)


def test_scale_invariance_and_orthogonality_of_bn_weight_gradients():
    """Mehmeti-Göpel & Wand eqs. 1–2: ∇W(γW) = ∇W(W)/γ and ⟨∇W, W⟩ = 0 with BatchNorm."""
    ch = sample_chain(4, 10, 12, rng=12, upstream="cross_entropy")
    ch.run()
    dws = {k: v.copy() for k, v in ch.weight_grads.items()}
    g0 = ch.grad.copy()
    for n in range(4):
        w = ch.weights[n]
        cos = float((dws[n] * w).sum()) / (np.linalg.norm(dws[n]) * np.linalg.norm(w))
        assert abs(cos) < 1e-13
    ch.weights[2][:] *= 3.0
    ch.run()
    np.testing.assert_allclose(ch.weight_grads[2], dws[2] / 3.0, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(ch.grad, g0, rtol=1e-11, atol=1e-14)
    # the simplified backward breaks the orthogonality
    ch2 = sample_chain(4, 10, 12, rng=12, bn_backward="simplified")
    ch2.run()
    w, dw = ch2.weights[1], ch2.weight_grads[1]
    assert abs(float((dw * w).sum())) / (np.linalg.norm(dw) * np.linalg.norm(w)) > 1e-3
