"""gradexp.torch.ELRMonitor: its numbers against a manual computation over SGD and AdamW steps,
and its model against gradexp.elr."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from gradexp import elr  # noqa: E402
from gradexp.optim import Optimizer  # noqa: E402
from gradexp.torch import ELRMonitor  # noqa: E402
from gradexp.torch.models import bn_mlp  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(n=64, d=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g)


def _train(make_opt, steps=5, scheduler=None, seed=0):
    """Train with the monitor and, beside it, record the same quantities by hand."""
    torch.manual_seed(seed)
    net = bn_mlp(depth=4, width=16, d_in=6, classes=3)
    opt = make_opt(net)
    sched = scheduler(opt) if scheduler else None
    mon = ELRMonitor(net, opt)
    x, y = _data()
    weights = [p for p in net.parameters() if p.ndim >= 2]
    manual = {k: [] for k in ("w2", "g2", "u2", "lr", "dot")}
    for k in range(steps):
        xb, yb = x[8 * k: 8 * k + 16], y[8 * k: 8 * k + 16]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xb), yb)
        loss.backward()
        before = [w.detach().double().clone() for w in weights]
        grads = [w.grad.detach().double().clone() for w in weights]
        lr_now = opt.param_groups[0]["lr"]
        opt.step()
        mon(loss)
        manual["w2"].append([float((b ** 2).sum()) for b in before])
        manual["g2"].append([float((g ** 2).sum()) for g in grads])
        manual["dot"].append([float((g * b).sum()) for g, b in zip(grads, before)])
        manual["u2"].append([float(((w.detach().double() - b) ** 2).sum()) for w, b in zip(weights, before)])
        manual["lr"].append([lr_now] * len(weights))
        if sched:
            sched.step()
    return mon, {k: np.array(v) for k, v in manual.items()}


@pytest.mark.parametrize("make_opt", [
    lambda net: torch.optim.SGD(net.parameters(), lr=0.05),
    lambda net: torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3),
    lambda net: torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.05),
], ids=["sgd", "momentum", "adamw"])
def test_monitor_equals_manual_computation(make_opt):
    mon, m = _train(make_opt)
    assert mon.steps == 5 and mon.names == ["0.weight", "3.weight", "6.weight", "9.weight", "12.weight"]
    np.testing.assert_allclose(mon.weight_sq, m["w2"], rtol=1e-12)
    np.testing.assert_allclose(mon.grad_sq, m["g2"], rtol=1e-12)
    np.testing.assert_allclose(mon.update_sq, m["u2"], rtol=1e-12)
    np.testing.assert_array_equal(mon.lr, m["lr"])
    np.testing.assert_allclose(mon.elr, np.sqrt(m["g2"] / m["w2"]), rtol=1e-12)
    np.testing.assert_allclose(mon.lr_over_weight_sq, m["lr"] / m["w2"], rtol=1e-12)
    np.testing.assert_allclose(mon.relative_update, np.sqrt(m["u2"] / m["w2"]), rtol=1e-12)
    np.testing.assert_allclose(mon.cos_gw, m["dot"] / np.sqrt(m["g2"] * m["w2"]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mon.spread("elr"), np.std(np.sqrt(m["g2"] / m["w2"]), axis=1), rtol=1e-12)
    e = np.sqrt(m["g2"] / m["w2"])
    np.testing.assert_allclose(mon.spread("elr", log=True), np.log(e.max(1) / e.min(1)), rtol=1e-12)
    assert len(mon.loss) == 5
    d = mon.to_dict()
    assert d["elr"].shape == (5, 5) and list(d["names"]) == mon.names


def test_scale_invariant_layers_and_pythagoras():
    """Hidden weights feed BN: their gradient is orthogonal to them (eq. 2), so under plain SGD
    ||W_{k+1}||^2 = ||W_k||^2 + ||dW_k||^2; the head is not scale invariant."""
    mon, _ = _train(lambda net: torch.optim.SGD(net.parameters(), lr=0.05), steps=4)
    cos = mon.cos_gw
    assert np.abs(cos[:, :4]).max() < 1e-4
    assert np.abs(cos[:, 4]).min() > 1e-3
    w = mon.weight_sq
    np.testing.assert_allclose(w[1:, :4], w[:-1, :4] + mon.update_sq[:-1, :4], rtol=1e-5)


def test_scheduler_rates_are_recorded():
    mon, m = _train(lambda net: torch.optim.SGD(net.parameters(), lr=0.1),
                    scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5))
    np.testing.assert_allclose(mon.lr[:, 0], 0.1 * 0.5 ** np.arange(5))


def test_fit_is_the_elr_model():
    mon, _ = _train(lambda net: torch.optim.SGD(net.parameters(), lr=0.05), steps=4)
    c = np.sqrt(mon.grad_sq[0] * mon.weight_sq[0])
    # plain SGD: eq. 4 iterated by gradexp.elr.discrete_weight_sq (an independent route)
    s = elr.discrete_weight_sq(c, 0.05, 4, w0_sq=mon.weight_sq[0])
    np.testing.assert_allclose(mon.predicted("weight_sq"), s[:4], rtol=1e-12)
    np.testing.assert_allclose(mon.predicted("elr"), c / s[:4], rtol=1e-12)
    np.testing.assert_allclose(mon.predicted("relative_update"), 0.05 * c / s[:4], rtol=1e-12)
    # momentum: the fit is gradexp.elr.simulate with the torch optimizer's settings
    mon, _ = _train(lambda net: torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3))
    opt = mon.model_optimizer()
    assert opt == Optimizer(momentum=0.9, weight_decay=1e-3)
    c = np.sqrt(mon.grad_sq[0] * mon.weight_sq[0])
    tr = elr.simulate(c, 0.05, 5, w0_sq=mon.weight_sq[0], optimizer=opt)
    np.testing.assert_allclose(mon.predicted("weight_sq"), tr.weight_sq[:5], rtol=1e-10)
    np.testing.assert_allclose(mon.predicted("elr"), tr.elr[:5], rtol=1e-10)


def test_fit_refuses_adam_and_bad_input():
    mon, _ = _train(lambda net: torch.optim.AdamW(net.parameters(), lr=1e-3), steps=2)
    with pytest.raises(ValueError, match="SGD-type"):
        mon.fit()
    net = bn_mlp(depth=2, width=8, d_in=3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model"):
        ELRMonitor(opt, opt)
    with pytest.raises(TypeError, match="optimizer"):
        ELRMonitor(net, net)
    with pytest.raises(ValueError, match="params"):
        ELRMonitor(net, opt, params=["nope"])
    mon = ELRMonitor(net, opt, params=["0.weight"])
    with pytest.raises(ValueError, match="nothing recorded"):
        mon.fit()
    with pytest.raises(RuntimeError, match="no gradient"):
        mon()
    with pytest.raises(ValueError, match="quantity"):
        mon.series("bogus")


def test_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mon, _ = _train(lambda net: torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9))
    fig = mon.plot(layers=slice(1, 4))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 6  # 3 measured, 3 modelled
    plt.close(fig)
    mon, _ = _train(lambda net: torch.optim.AdamW(net.parameters(), lr=1e-3), steps=2)
    fig = mon.plot()
    assert len(fig.axes[0].lines) == 5  # no model for AdamW
    plt.close(fig)
