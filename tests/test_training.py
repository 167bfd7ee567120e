"""Direct simulations of the ELR model: vectors and the trained ToyNet (exact backward)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradexp
from gradexp import elr
from gradexp import optim as o
from gradexp.mc import training as T


# --------------------------------------------------------------------------- vectors
def test_vectors_plain_sgd_is_eq4_exactly():
    c = elr.plain_profile(6)
    run = T.simulate_vectors(c, 0.2, 10, dim=50, reps=3, rng=1)
    model = elr.simulate(c, 0.2, 10)
    np.testing.assert_allclose(run.weight_sq, np.broadcast_to(model.weight_sq, run.weight_sq.shape),
                               rtol=1e-13)


def test_vectors_momentum_error_shrinks_like_inverse_sqrt_dim():
    c = elr.plain_profile(6)
    model = elr.simulate(c, 0.05, 15, momentum=0.9)
    rms = []
    dims = (50, 200, 800)
    for i, d in enumerate(dims):
        run = T.simulate_vectors(c, 0.05, 15, dim=d, momentum=0.9, reps=40, rng=100 + i)
        rel = run.weight_sq[:, -1] / model.weight_sq[-1] - 1
        rms.append(np.sqrt(np.mean(rel ** 2)))
    slope = np.polyfit(np.log(dims), np.log(rms), 1)[0]
    assert -0.7 < slope < -0.3


def test_vectors_reproducible_and_validated():
    c = [1.0, 2.0]
    a = T.simulate_vectors(c, 0.1, 3, dim=8, rng=5)
    b = T.simulate_vectors(c, 0.1, 3, dim=8, rng=5)
    np.testing.assert_array_equal(a.weight_sq, b.weight_sq)
    with pytest.raises(ValueError):
        T.simulate_vectors(c, 0.1, 3, dim=1)
    with pytest.raises(ValueError):
        T.simulate_vectors([[1.0]], 0.1, 3, dim=4)


# ----------------------------------------------------------------------------- ToyNet
def _loss(net, x, y):
    return T.toynet_loss_and_grads(net, x, y)[0]


@pytest.mark.parametrize("bn_eps", [0.0, 1e-3])
def test_backward_against_central_differences(bn_eps):
    net = T.init_toynet(4, 6, classes=3, bn_eps=bn_eps, rng=0)
    x, y = T.make_synthetic_data(10, 6, classes=3, rng=1)
    _, dW, dH, _ = T.toynet_loss_and_grads(net, x, y)
    rng = np.random.default_rng(2)
    h = 1e-6
    for _ in range(12):
        ell, i, j = rng.integers(4), rng.integers(6), rng.integers(6)
        Wp, Wm = net.weights.copy(), net.weights.copy()
        Wp[ell, i, j] += h
        Wm[ell, i, j] -= h
        fd = (_loss(net.with_weights(Wp), x, y) - _loss(net.with_weights(Wm), x, y)) / (2 * h)
        assert fd == pytest.approx(dW[ell, i, j], rel=1e-5, abs=1e-9)
    for _ in range(4):
        i, j = rng.integers(3), rng.integers(6)
        Hp, Hm = net.head.copy(), net.head.copy()
        Hp[i, j] += h
        Hm[i, j] -= h
        fd = (_loss(net.with_weights(net.weights, Hp), x, y)
              - _loss(net.with_weights(net.weights, Hm), x, y)) / (2 * h)
        assert fd == pytest.approx(dH[i, j], rel=1e-5, abs=1e-9)


def test_directional_derivative_whole_gradient():
    """<dW, V> equals the central difference along a random direction V (all layers at once)."""
    net = T.init_toynet(6, 8, rng=3)
    x, y = T.make_synthetic_data(16, 8, rng=4)
    _, dW, _, _ = T.toynet_loss_and_grads(net, x, y)
    V = np.random.default_rng(5).standard_normal(net.weights.shape)
    h = 1e-6
    fd = (_loss(net.with_weights(net.weights + h * V), x, y)
          - _loss(net.with_weights(net.weights - h * V), x, y)) / (2 * h)
    assert fd == pytest.approx(np.sum(dW * V), rel=1e-6)


def test_scale_invariance_and_orthogonality():
    net = T.init_toynet(5, 12, rng=6)
    x, y = T.make_synthetic_data(20, 12, rng=7)
    _, dW, _, _ = T.toynet_loss_and_grads(net, x, y)
    dots = np.abs((dW * net.weights).sum(axis=(1, 2)))
    norms = np.sqrt((dW ** 2).sum(axis=(1, 2)) * (net.weights ** 2).sum(axis=(1, 2)))
    assert np.all(dots / norms < 1e-12)
    out = T.toynet_forward(net, x)
    scaled = net.with_weights(net.weights * np.array([3.0, 0.5, 7.0, 1.0, 2.0])[:, None, None])
    np.testing.assert_allclose(T.toynet_forward(scaled, x), out, rtol=1e-10, atol=1e-12)


def test_per_sample_norms_bound_the_minibatch_norm():
    net = T.init_toynet(4, 10, rng=8)
    x, y = T.make_synthetic_data(32, 10, rng=9)
    _, dW, _, info = T.toynet_loss_and_grads(net, x, y, per_sample=True)
    gn = np.sqrt((dW ** 2).sum(axis=(1, 2)))
    # dW = sum_b delta_b x_b^T, so ||dW|| <= sum_b ||delta_b|| ||x_b|| = B * mean
    assert np.all(gn <= 32 * info["per_sample_norm"] * (1 + 1e-12))


def test_training_obeys_pythagoras_and_is_reproducible():
    run = T.train_toynet(8, 16, 0.3, 6, batch=32, rng=10)
    again = T.train_toynet(8, 16, 0.3, 6, batch=32, rng=10)
    np.testing.assert_array_equal(run.weight_sq, again.weight_sq)
    pred = run.weight_sq[:-1] + 0.3 ** 2 * run.grad_sq[:-1]
    np.testing.assert_allclose(run.weight_sq[1:], pred, rtol=1e-12)
    np.testing.assert_allclose(run.update_sq, 0.3 ** 2 * run.grad_sq[:-1], rtol=1e-12)
    assert np.max(np.abs(run.cos_gw)) < 1e-12
    assert run.elr.shape == (7, 8) and np.all(np.isfinite(run.loss))


def test_training_with_rules_and_rescale():
    opt = o.Optimizer(rule=o.ELRConstraint(e_goal=0.05), rescale_max_norm=True)
    run = T.train_toynet(6, 12, 1.0, 5, batch=24, optimizer=opt, rng=11)
    assert np.allclose(run.weight_sq.max(axis=1), 1.0)
    rel = np.sqrt(run.update_sq / run.weight_sq[:-1])
    E = run.elr[:-1]
    np.testing.assert_allclose(rel, 0.05 * E / (E + 1e-5), rtol=1e-10)
    for rule in (o.LARS(eta=0.01), o.AGC(), o.CLARS(eta=0.01), o.LALC()):
        r = T.train_toynet(4, 8, 0.5, 3, batch=16, optimizer=o.Optimizer(rule=rule, momentum=0.0),
                           rng=12)
        assert np.all(np.isfinite(r.weight_sq))


def test_model_fit_reproduces_step_zero_and_scores():
    runs = [T.train_toynet(10, 16, 0.01, 5, batch=32, rng=s) for s in (20, 21)]
    m = T.fit_discrete_model(runs[0])
    np.testing.assert_allclose(m.weight_sq[0], runs[0].weight_sq[0, 1:])
    np.testing.assert_allclose(m.elr[0], runs[0].elr[0, 1:], rtol=1e-12)
    cmp = T.compare_with_model(runs)
    assert cmp["log_err"][0] == pytest.approx(0.0, abs=1e-12)
    assert cmp["reps"] == 2 and cmp["log_err"].shape == (6,)


def test_gradient_norm_grows_at_yang_rate_per_layer():
    """At initialization ||dW_l|| (the norm, not its square) grows by ~sqrt(pi/(pi-1)) per layer."""
    res = T.gradient_growth_rate(20, 64, 128, reps=8, rng=13)
    norm = res["norm"]
    # finite width/batch shift the rate by < 1% (measured: 1.199-1.219 for n, B in 64..1024)
    assert abs(norm.mean / gradexp.YANG_RATE - 1) < 0.01 + 5 * norm.stderr
    assert abs(norm.mean - math.sqrt(gradexp.YANG_RATE)) > 20 * norm.stderr  # not eq. 8's
    assert abs(res["squared"].mean - math.pi / (math.pi - 1)) < 0.03


def test_noise_floor_and_blas_threads():
    est = T.minibatch_noise_floor(10, 16, 32, reps=3, rng=14)
    assert est.mean > 0 and est.n == 3
    assert T.minibatch_noise_floor(10, 16, 32, reps=3, rng=14) == est  # reproducible
    for old in ("n_pairs", "seed"):  # one name each: the old aliases are gone
        with pytest.raises(TypeError, match=old):
            T.minibatch_noise_floor(10, 16, 32, **{old: 3})
    from threadpoolctl import threadpool_info

    with T.single_thread_blas():
        inside = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
    assert inside and all(n == 1 for n in inside)


# ------------------------------------------------------------ issue 14: rng, names
def test_same_seed_sequence_twice_gives_the_same_run():
    ss = np.random.SeedSequence(2024)
    a = T.train_toynet(6, 8, 0.1, 4, batch=16, rng=ss)
    b = T.train_toynet(6, 8, 0.1, 4, batch=16, rng=ss)
    np.testing.assert_array_equal(a.weight_sq, b.weight_sq)
    np.testing.assert_array_equal(a.loss, b.loss)
    d = T.train_toynet(6, 8, 0.1, 4, batch=16, rng=np.random.SeedSequence(2025))
    assert not np.array_equal(a.loss, d.loss)
    g = np.random.default_rng(3)
    e, f = (T.train_toynet(6, 8, 0.1, 2, batch=16, rng=g) for _ in range(2))
    assert not np.array_equal(e.loss, f.loss)  # a Generator is a stream: two calls differ
    with pytest.raises(TypeError, match="seed"):
        T.train_toynet(6, 8, 0.1, 2, seed=1)
    with pytest.raises(TypeError):
        T.train_toynet(6, 8, 0.1, 2, rng="x")


def test_arms_share_networks_data_and_batches():
    out = T.train_toynet_arms(5, 8, {"low": 1e-3, "high": 1.0}, 3, reps=3, rng=9, batch=16)
    for i in range(3):
        lo, hi = out["low"][i], out["high"][i]
        np.testing.assert_array_equal(lo.weight_sq[0], hi.weight_sq[0])
        np.testing.assert_array_equal(lo.grad_sq[0], hi.grad_sq[0])  # same first batch
        assert not np.array_equal(lo.weight_sq[1], hi.weight_sq[1])
    assert not np.array_equal(out["low"][0].weight_sq[0], out["low"][1].weight_sq[0])
    # the same as calling train_toynet with the spawned child seeds
    kids = np.random.SeedSequence(9).spawn(3)
    one = T.train_toynet(5, 8, 1.0, 3, batch=16, rng=kids[2])
    np.testing.assert_array_equal(one.weight_sq, out["high"][2].weight_sq)
    arms = T.train_toynet_arms(4, 6, {"m": {"lr": 0.1, "weight_decay": 0.1}}, 1, reps=1, rng=1,
                               batch=8)
    assert arms["m"][0].lr[0] == 0.1


def test_vectors_reps_and_weight_decay_is_exact():
    c = np.array([0.5, 4.0])
    a = T.simulate_vectors(c, 0.2, 12, dim=30, reps=2, rng=4, weight_decay=0.3)
    b = T.simulate_vectors(c, 0.2, 12, dim=30, reps=2, rng=4, weight_decay=0.3)
    np.testing.assert_array_equal(a.weight_sq, b.weight_sq)
    model = elr.simulate(c, 0.2, 12, weight_decay=0.3)
    np.testing.assert_allclose(a.weight_sq, np.broadcast_to(model.weight_sq, a.weight_sq.shape),
                               rtol=1e-12)
    res = T.gradient_growth_rate(12, 16, 32, reps=2, rng=1, skip=(2, 2))
    assert res["norm"].n == 2
    assert T.gradient_growth_rate(12, 16, 32, reps=2, rng=1, skip=(2, 2))["norm"] == res["norm"]
    for f, old in ((T.gradient_growth_rate, "n_nets"), (T.simulate_vectors, "n_rep")):
        with pytest.raises(TypeError, match=old):
            f(12, 16, 32, **{old: 2}) if f is T.gradient_growth_rate else f(c, 0.2, 3, dim=4, n_rep=2)


def test_toynet_weight_decay_is_the_model_step_exactly():
    lam, beta = 0.3, 0.2
    run = T.train_toynet(6, 12, lam, 5, batch=24, weight_decay=beta, rng=5)
    pred = (1 - lam * beta) ** 2 * run.weight_sq[:-1] + lam ** 2 * run.grad_sq[:-1]
    np.testing.assert_allclose(run.weight_sq[1:], pred, rtol=1e-12)
    np.testing.assert_allclose(run.update_sq, lam ** 2 * (run.grad_sq[:-1] + beta ** 2
                                                          * run.weight_sq[:-1]), rtol=1e-12)
    with pytest.raises(ValueError, match="weight_decay"):
        T.train_toynet(4, 6, 0.1, 2, weight_decay=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        T.train_toynet(4, 6, 0.1, 2, weight_decay=float("nan"))
    with pytest.raises(ValueError, match="lr"):
        T.train_toynet(4, 6, -0.1, 2)
    with pytest.raises(ValueError, match="steps"):
        T.train_toynet(4, 6, 0.1, -1)
    with pytest.raises(ValueError, match="weight_decay"):
        T.train_toynet(4, 6, 0.1, 2, optimizer=o.Optimizer(), weight_decay=0.1)


def test_toynet_momentum_state_and_state_schedule():
    opt = o.Optimizer(momentum=0.9)
    run = T.train_toynet(5, 8, 0.05, 4, batch=16, optimizer=opt, rng=6)
    assert np.all(run.buffer_sq[0] == 0) and np.all(run.buffer_sq[1:] > 0)
    # after the first step the buffer is the first gradient and W1 = W0 - lam g0:
    # <W1, b0> = -lam ||g0||^2 (g0 orthogonal to W0), ||b0||^2 = ||g0||^2
    np.testing.assert_allclose(run.buffer_sq[1], run.grad_sq[0], rtol=1e-12)
    np.testing.assert_allclose(run.weight_buffer_dot[1], -0.05 * run.grad_sq[0], rtol=1e-9)
    warm = T.train_toynet(8, 16, o.EqualizingWarmup(1.0), 6, batch=32, rng=7)
    E = warm.elr
    np.testing.assert_allclose(warm.lr, np.minimum(1.0, 1 / np.sqrt(E.max(1) * E.min(1)))[:-1],
                               rtol=1e-12)
