"""GroupNorm, RMSNorm, LayerNorm as one group, the shift added after any normaliser, and ε
(issue 22, item 2): exact backward (central differences, an independent numpy reference),
frozen statistics, validation, and factors derived by hand for identity activations."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from gradexp.activations import get_activation
from gradexp.mc.chain import InfiniteGrowthWarning, sample_chain, simulate_chain

FD_STEP = 1e-5
FD_RTOL = 1e-7


def _fd_errors(ch, *, freeze=False, n_inputs=6, n_weights=3, rng=0):
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


# eps > 0 wherever a group can be all zero (ReLU: every input of a sample dead)
NORM_CASES = [
    ("group", 3, "tanh", dict(shift=0.4, eps=1e-4)),
    ("group", 2, "relu", dict(eps=1e-2, residual=2)),
    ("group", 6, "gelu", dict(shift=-0.7, eps=1e-3, upstream="cross_entropy")),
    ("rms", 3, "silu", dict(shift=0.5)),
    ("rms", 2, "relu", dict(eps=1e-2, bias_std=0.5)),
    ("rms", None, "elu", dict(residual=1, upstream="mse")),
    ("batch", None, "relu", dict(shift=0.8)),
    ("batch-nocenter", None, "tanh", dict(shift=-0.3, eps=1e-3, residual=2)),
    ("layer", None, "gelu", dict(shift=1.1)),
]


def _kw(norm, G, extra):
    return dict(norm=norm, **({} if G is None else {"group_size": G}), **extra)


@pytest.mark.parametrize("norm,G,act,extra", NORM_CASES)
def test_full_backward_matches_central_differences(norm, G, act, extra):
    ch = sample_chain(3, 6, 5, rng=13, activation=act, **_kw(norm, G, extra))
    assert _fd_errors(ch) < FD_RTOL


@pytest.mark.parametrize("norm,G,act,extra", NORM_CASES)
def test_frozen_backward_is_derivative_of_frozen_forward(norm, G, act, extra):
    ch = sample_chain(3, 6, 5, rng=14, activation=act, bn_backward="simplified",
                      **_kw(norm, G, extra))
    assert _fd_errors(ch, freeze=True) < FD_RTOL


def test_frozen_backward_differs_from_true_derivative_for_group_norms():
    for norm in ("group", "rms"):
        ch = sample_chain(2, 6, 5, rng=15, norm=norm, group_size=3, activation="tanh", eps=1e-4,
                          bn_backward="simplified")
        assert _fd_errors(ch) > 1e-3


def _reference(ch, G, *, center, shift, eps, full, act):
    """Plain-numpy forward and backward of a group-normalised SampledChain (no skip, no bias,
    Gaussian upstream gradient), written independently of the kernels."""
    xs = [ch.inputs.astype(float).copy()]
    hs, xhats, sds = [], [], []
    for w in ch.weights:
        h = act.value(xs[-1])
        z = h @ w
        B, d = z.shape
        zg = z.reshape(B, d // G, G)
        mu = zg.mean(axis=2, keepdims=True) if center else 0.0
        sd = np.sqrt(((zg - mu) ** 2).mean(axis=2, keepdims=True) + eps)
        xh = (zg - mu) / sd
        hs.append(h)
        xhats.append(xh)
        sds.append(sd)
        xs.append(xh.reshape(B, d) + shift)
    g = ch.upstream.astype(float).copy()
    grads, dws = [g], []
    for n in range(len(ch.weights) - 1, -1, -1):
        B, d = g.shape
        gg = g.reshape(B, d // G, G)
        xh, sd = xhats[n], sds[n]
        if full:
            t1 = gg.mean(axis=2, keepdims=True) if center else 0.0
            gz = (gg - t1 - xh * (gg * xh).mean(axis=2, keepdims=True)) / sd
        else:
            gz = gg / sd
        gz = gz.reshape(B, d)
        dws.append(hs[n].T @ gz)
        g = (gz @ ch.weights[n].T) * act.deriv(xs[n])
        grads.append(g)
    return xs, grads[::-1], dws[::-1]


@pytest.mark.parametrize("norm,G", [("group", 4), ("group", 12), ("rms", 3), ("rms", 12)])
@pytest.mark.parametrize("full", [True, False])
def test_kernels_match_an_independent_numpy_reference(norm, G, full):
    act = get_activation("tanh")
    kw = dict(norm=norm, group_size=G, shift=0.25, eps=1e-3, activation="tanh",
              bn_backward="full" if full else "simplified")
    ch = sample_chain(4, 12, 7, rng=16, **kw)
    ch.run()
    xs, grads, dws = _reference(ch, G, center=norm == "group", shift=0.25, eps=1e-3, full=full,
                                act=act)
    for n in range(1, 5):
        np.testing.assert_allclose(ch.activations(n), xs[n], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ch.grad, grads[0], rtol=1e-11, atol=1e-13)
    for n in range(4):
        np.testing.assert_allclose(ch.weight_grads[n], dws[n], rtol=1e-11, atol=1e-13)
    mu, sig = ch.statistics
    assert mu[0].shape == sig[0].shape == (7, 12 // G)
    if norm == "rms":
        assert not np.any(mu[0])


def test_one_group_of_the_whole_width_is_layer_norm():
    """group_size=None (or the width) is LayerNorm: the same numbers bit for bit."""
    kw = dict(activation="gelu", shift=0.3, eps=1e-4, residual=2, reps=3, rng=17)
    ref = simulate_chain(6, 10, 6, norm="layer", **kw)
    for G in (None, 10):
        other = simulate_chain(6, 10, 6, norm="group", group_size=G, **kw)
        np.testing.assert_array_equal(other.grad_norms, ref.grad_norms)
        np.testing.assert_array_equal(other.act_kurtosis, ref.act_kurtosis)


def test_normalised_groups_have_the_defining_moments():
    """Forward: every group of x̂ = x − shift has mean 0 and variance 1 (group) or mean square
    1 (rms) over its G units (eps = 0)."""
    for norm in ("group", "rms"):
        ch = sample_chain(3, 12, 5, rng=18, norm=norm, group_size=4, shift=0.6, activation="tanh")
        ch.run()
        xh = (ch.activations(2) - 0.6).reshape(5, 3, 4)
        if norm == "group":
            np.testing.assert_allclose(xh.mean(axis=2), 0.0, atol=1e-14)
            np.testing.assert_allclose(xh.var(axis=2), 1.0, rtol=1e-13)
        else:
            np.testing.assert_allclose((xh ** 2).mean(axis=2), 1.0, rtol=1e-13)


def test_small_groups_warn_only_without_eps():
    with pytest.warns(InfiniteGrowthWarning, match="group size 3"):
        simulate_chain(2, 6, 4, norm="group", group_size=3, reps=2, rng=0)
    with pytest.warns(InfiniteGrowthWarning, match="group size 2"):
        simulate_chain(2, 6, 4, norm="rms", group_size=2, reps=2, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate_chain(2, 6, 4, norm="rms", group_size=3, reps=2, rng=0)
        simulate_chain(2, 6, 4, norm="group", group_size=3, eps=1e-3, reps=2, rng=0)
        simulate_chain(2, 6, 4, norm="group", group_size=3, eps=1e-3, reps=2, rng=0)


def test_group_size_must_divide_every_width():
    with pytest.raises(ValueError, match="group_size=4 and width 6"):
        simulate_chain(2, [8, 8, 6], 4, norm="group", group_size=4)
    simulate_chain(2, [5, 8, 12], 4, norm="group", group_size=4, reps=2, rng=0)  # d_0 is free


def _factor(norm, G, d, reps, depth=24, B=4):
    """Mean over layers 3..depth-2 and repetitions of ||g^n||²/||g^{n+1}||², and its standard
    error over repetitions (an unbiased estimate of the per-layer factor: no Jensen gap)."""
    r = simulate_chain(depth, d, B, norm=norm, group_size=G, activation="identity", reps=reps,
                       rng=d + G, corr_features=0, weight_grads=False)
    lg = r.log_grad_norms[:, 3:depth - 2]
    ratio = np.exp(2 * (lg[:, :-1] - lg[:, 1:])).mean(axis=1)
    return ratio.mean(), ratio.std(ddof=1) / math.sqrt(reps)


@pytest.mark.slow
@pytest.mark.parametrize("norm,G", [("group", 8), ("group", 16), ("rms", 8), ("rms", 16)])
def test_identity_factor_matches_the_hand_derivation(norm, G):
    r"""Identity activation, i.i.d. Gaussian weights, upstream gradient independent of the
    input. Per group, :math:`g_z = (I - P)\,g/\hat\sigma` where P projects on span{1, x̂}
    (centred) or span{x̂} (rms), and :math:`\hat\sigma^2 = \sigma_z^2\chi^2_k/G` with
    k = G − 1 (centred) or G, independent of the direction; the weights multiply the squared
    norm by :math:`\sigma_z^2` on average. Hence, as width → ∞ at fixed G,
    :math:`E\|g^n\|^2/\|g^{n+1}\|^2 = \frac{G - p}{G}\cdot\frac{G}{k - 2}`:
    (G − 2)/(G − 3) for GroupNorm (the BatchNorm value (B − 2)/(B − 3) of a linear network,
    per sample) and (G − 1)/(G − 2) for RMSNorm. Widths 256 and 1024 extrapolated linearly
    in 1/width; agreement within 4 standard errors (G ≥ 8: the ratio has a finite variance)."""
    (a, sa), (b, sb) = _factor(norm, G, 256, 32), _factor(norm, G, 1024, 8)
    ext, se = (4 * b - a) / 3, math.hypot(4 * sb, sa) / 3
    pred = (G - 2) / (G - 3) if norm == "group" else (G - 1) / (G - 2)
    assert abs(ext - pred) < 4 * se, (ext, se, pred)
    assert se < 0.05 * (pred - 1)  # the test can tell the factor from 1
