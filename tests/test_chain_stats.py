"""Orthogonal weights, BatchNorm without centring and the per-layer representation statistics
(issue 11, items 3-5, chain side). Monte-Carlo tolerances come from standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from chain_oracle import draw as numpy_draw

from gradexp.mc import _chain_stats as S
from gradexp.mc import _layout as L
from gradexp.mc._draws import _haar_columns
from gradexp.mc.chain import ChainSpec, sample_chain, simulate_chain


# ============================================================================ orthogonal weights
@pytest.mark.parametrize("widths", [[8, 8, 8], [9, 5, 12, 12]])
@pytest.mark.parametrize("init", ["he", 0.7])
def test_orthogonal_weights_are_orthogonal(widths, init):
    depth = len(widths) - 1
    ch = sample_chain(depth, widths, 6, weights="orthogonal", init=init, rng=3)
    g2 = 2.0 if init == "he" else init ** 2
    for w in ch.weights:
        d_in, d_out = w.shape
        c2 = g2 * max(d_in, d_out) / d_in  # entry variance g^2/d_in, as for Gaussian weights
        gram = w.T @ w if d_in >= d_out else w @ w.T
        np.testing.assert_allclose(gram, c2 * np.eye(min(d_in, d_out)), rtol=0, atol=1e-13 * c2)
    gauss = sample_chain(depth, widths, 6, init=init, rng=3)
    w = gauss.weights[0]
    assert np.abs(w.T @ w - np.diag(np.diag(w.T @ w))).max() > 0.1  # Gaussian ones are not


def test_orthogonal_weights_are_haar():
    """For Haar Q in O(d): E tr Q = 0 and E (tr Q)^2 = 1 (Diaconis & Shahshahani). A QR
    without the sign fix has E tr Q > 0, so this fails without it (checked below)."""
    rng = np.random.default_rng(5)
    d, n = 6, 4000
    a = rng.standard_normal((n, d, d))
    tr = np.array([np.trace(_haar_columns(m)) for m in a])
    m1, se1 = tr.mean(), tr.std(ddof=1) / math.sqrt(n)
    m2, se2 = (tr ** 2).mean(), (tr ** 2).std(ddof=1) / math.sqrt(n)
    assert abs(m1) < 5 * se1 and abs(m2 - 1.0) < 5 * se2
    raw = np.array([np.trace(np.linalg.qr(m)[0]) for m in a])  # no sign fix: not Haar
    assert abs(raw.mean()) > 5 * raw.std(ddof=1) / math.sqrt(n)


def test_orthogonal_entry_variance_matches_gaussian():
    """Same entry variance g^2/d_in: without normalisation both give the same E||x^1||^2."""
    kw = dict(norm="none", activation="identity", reps=400, rng=8, weight_grads=False, corr_features=0)
    o = simulate_chain(1, [16, 40], 8, weights="orthogonal", **kw).estimate("act_var")
    g = simulate_chain(1, [16, 40], 8, **kw).estimate("act_var")
    diff = o.mean[1] - g.mean[1]
    assert abs(diff) < 5 * math.hypot(o.stderr[1], g.stderr[1])
    # He gain: E of the biased batch variance of x^1 = x^0 W is 2 (B - 1)/B
    assert abs(o.mean[1] - 2.0 * 7 / 8) < 5 * o.stderr[1]


def test_gaussian_draws_unchanged_and_orthogonal_from_the_same_draws():
    a = sample_chain(2, 6, 5, rng=4)
    b = sample_chain(2, 6, 5, rng=4, weights="orthogonal")
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.upstream, b.upstream)
    w = a.weights[0] / math.sqrt(2 / 6)  # standard Gaussian draws
    q = _haar_columns(w) * math.sqrt(6) * math.sqrt(2 / 6)
    np.testing.assert_allclose(b.weights[0], q, rtol=1e-13)


# ============================================================================ BN without centring
def test_nocenter_batch_norm_forward():
    ch = sample_chain(3, 7, 9, norm="batch-nocenter", rng=2)
    ch.run()
    for n in range(1, 4):
        x = ch.activations(n)
        np.testing.assert_allclose((x * x).mean(0), 1.0, rtol=1e-12)  # unit second moment
        assert np.abs(x.mean(0)).max() > 1e-3  # the mean is not removed
    mu, sig = ch.statistics
    assert all(np.all(m == 0) for m in mu)


def test_population_statistics_without_centring_equal_a_huge_batch():
    """single_layer_ratio(bn_stats="population") with norm="batch-nocenter": the statistics
    E[z_j^2] = E[h^2] sum_i W_ij^2 of an infinite batch, against one batch of 20000."""
    spec = ChainSpec(1, (6, 4), 20000, norm="batch-nocenter", bn_backward="simplified",
                     input_mean=0.4, corr_features=0)
    lay = L._Layout(spec)
    buf = L._Buffers(spec, lay, 1)
    numpy_draw(np.random.default_rng(1), spec, lay, buf, 0)
    L._run(spec, lay, buf, 1)
    emp = buf.SIG[0, :4].copy()
    S._population_stats(spec, lay, buf, 0, S._activation_moments(spec.act, 0.4, 1.0))
    # relative sampling error of a root mean square over 20000 samples: ~ 1/sqrt(2*20000)
    np.testing.assert_allclose(emp, buf.SIG[0, :4], rtol=5 * math.sqrt(2 / 20000))


# ============================================================================ Gram statistics
def _numpy_gram(x):
    G = x @ x.T
    B = G.shape[0]
    s = np.sqrt(np.diag(G))
    iu = np.triu_indices(B, 1)
    cos = np.abs(G / np.outer(s, s))[iu].mean()
    lam = np.linalg.eigvalsh(G)
    sign, logdet = np.linalg.slogdet(G)
    gap = math.log(np.trace(G) / B) - logdet / B
    return cos, np.trace(G) / lam[-1], gap


def test_gram_statistics_match_numpy_definitions():
    res = simulate_chain(3, 10, 6, norm="batch-nocenter", stats="gram", reps=2, rng=6)
    ch = sample_chain(3, 10, 6, norm="batch-nocenter", stats="gram", rng=6)
    ch.run()
    for n in range(4):
        cos, sr, gap = _numpy_gram(ch.activations(n))
        assert res.gram_cos[0, n] == pytest.approx(cos, rel=1e-12)
        assert res.stable_rank[0, n] == pytest.approx(sr, rel=1e-12)
        assert res.isometry_gap[0, n] == pytest.approx(gap, rel=1e-9)
    np.testing.assert_array_equal(ch.result().isometry_gap[0], res.isometry_gap[0])


def test_isometry_gap_is_zero_for_orthonormal_rows():
    B, d = 5, 9
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((d, B)))
    x = 3.0 * q.T  # orthogonal rows of equal norm: G = 9 I
    spec = ChainSpec(1, d, B, stats="gram")
    lay = L._Layout(spec)
    flat = np.zeros(lay.n_x)
    flat[:B * d] = x.ravel()
    flat[B * d:] = np.random.default_rng(1).standard_normal(B * d)
    st = S._gram_stats(spec, lay, flat)
    assert abs(st[S.G_ISOMETRY_GAP, 0]) < 1e-13
    assert st[S.G_STABLE_RANK, 0] == pytest.approx(B, rel=1e-13)
    assert st[S.G_COS, 0] < 1e-14
    assert st[S.G_ISOMETRY_GAP, 1] > 0.05  # a random batch is not an isometry
    x2 = x.copy()
    x2[1] = x2[0]  # two equal samples: singular Gram, collapsed pair
    flat[:B * d] = x2.ravel()
    st2 = S._gram_stats(spec, lay, flat)
    assert st2[S.G_ISOMETRY_GAP, 0] == math.inf
    assert st2[S.G_COS, 0] == pytest.approx(1 / math.comb(B, 2), rel=1e-12)


def test_centred_batch_norm_gram_is_singular():
    """Centred BN outputs sum to zero over the batch: rank <= B - 1, infinite isometry gap."""
    res = simulate_chain(2, 16, 6, stats="gram", reps=2, rng=1)
    assert np.all(res.isometry_gap[:, 1:] == np.inf)
    assert np.all(np.isfinite(res.stable_rank)) and np.all(res.stable_rank[:, 1:] <= 5 + 1e-9)


def test_stats_off_by_default_and_engines_agree():
    off = simulate_chain(3, 8, 6, reps=2, rng=2)
    assert np.isnan(off.gram_cos).all() and np.isnan(off.isometry_gap).all()
    kw = dict(norm="batch-nocenter", stats=("gram",), reps=4, rng=2)
    a = simulate_chain(3, 8, 6, engine="wide", **kw)
    b = simulate_chain(3, 8, 6, engine="compiled", threads=2, **kw)
    for name in ("gram_cos", "stable_rank", "isometry_gap", "kurtosis"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.grad_norms, simulate_chain(3, 8, 6, norm="batch-nocenter", reps=4,
                                                               rng=2).grad_norms)


def test_bn_keeps_representations_apart_while_no_norm_collapses_them():
    """Daneshmand et al. (2020, 2021): with ReLU and no normalisation the samples' directions
    collapse with depth (mean |cos| -> 1); BatchNorm keeps them apart. Compared at depth 30
    with standard errors over 16 networks."""
    kw = dict(stats="gram", reps=16, rng=9, weight_grads=False, corr_features=0)
    none = simulate_chain(30, 32, 8, norm="none", **kw).estimate("gram_cos")
    bn = simulate_chain(30, 32, 8, norm="batch-nocenter", **kw).estimate("gram_cos")
    assert none.mean[-1] > 0.9 and none.mean[-1] - none.mean[0] > 5 * math.hypot(none.stderr[-1], none.stderr[0])
    assert none.mean[-1] - bn.mean[-1] > 5 * math.hypot(none.stderr[-1], bn.stderr[-1])


# ============================================================================ kurtosis
def test_kurtosis_of_gaussian_input_is_zero_within_standard_errors():
    """Layer 0 is i.i.d. Gaussian: the bias-corrected G2 has mean 0 exactly; the biased g2
    has mean -6/(B+1) (so the correction is tested, not only the noise)."""
    B = 16
    res = simulate_chain(1, 32, B, reps=300, rng=12, weight_grads=False, corr_features=0)
    k = res.estimate("kurtosis")
    raw = res.estimate("act_kurtosis")
    assert abs(k.z_score(0.0)[0]) < 5
    assert abs(raw.z_score(-6 / (B + 1))[0]) < 5
    assert 6 / (B + 1) > 10 * k.stderr[0]  # the test can tell G2 from g2
    np.testing.assert_allclose(res.kurtosis, (B - 1) / ((B - 2) * (B - 3)) * ((B + 1) * res.act_kurtosis + 6))
    assert np.isnan(simulate_chain(1, 8, 3, reps=2, rng=0, norm="none").kurtosis).all()  # B < 4


def test_kurtosis_equals_scipys_unbiased_estimator_on_non_gaussian_input():
    """An independent route: scipy.stats.kurtosis(bias=False) per feature, averaged, on
    uniform inputs (excess kurtosis -1.2), and the Gaussian-unbiased G2 is clearly negative."""
    from scipy.stats import kurtosis

    ch = sample_chain(1, 64, 40, norm="none", rng=4)
    ch.inputs[:] = np.random.default_rng(0).uniform(-1, 1, ch.inputs.shape)
    ch.run()
    k = ch.result().kurtosis[0, 0]
    ref = kurtosis(ch.inputs, axis=0, fisher=True, bias=False)
    assert k == pytest.approx(ref.mean(), rel=1e-11)
    assert k < -5 * ref.std(ddof=1) / math.sqrt(ref.size)  # far from the Gaussian 0
