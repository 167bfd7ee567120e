"""gradexp.torch.gradient_profile: hook norms against autograd, predictions against the theory,
and a BN-ReLU MLP against the finite-batch factor."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from gradexp import finite_batch_factor, normalizer_factor  # noqa: E402
from gradexp.torch import (  # noqa: E402
    GradientProfile,
    find_norm_sites,
    gradient_profile,
    models,  # noqa: E402
)
from gradexp.torch.profile import predicted_factor  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _keep(model):
    """An init that keeps the weights: every repetition is the same network."""


class FunctionalNet(nn.Module):
    """BN outputs consumed by functional activations (invisible to module hooks), a residual
    addition and an in-place ReLU."""

    def __init__(self, d=24):
        super().__init__()
        self.l0, self.l1, self.l2, self.l3 = (nn.Linear(d, d) for _ in range(4))
        self.b0, self.b1, self.b2 = nn.BatchNorm1d(d), nn.BatchNorm1d(d), nn.BatchNorm1d(d)
        self.head = nn.Linear(d, 3)

    def forward(self, x, keep=None):
        x0 = self.b0(self.l0(x))
        keep = keep if keep is not None else []
        keep.append(x0)
        h = F.leaky_relu(x0, 0.2)
        x1 = self.b1(self.l1(h))
        keep.append(x1)
        h = torch.relu(x1)
        x2 = self.b2(self.l2(h))
        keep.append(x2)
        return self.head(torch.tanh(x2 + self.l3(h)))


def _manual_grad_sq(model, x, loss_fn, forward):
    """||dL/dx^n||^2 of every normalization output by torch.autograd.grad on retained outputs."""
    outs = []
    y = forward(model, x, outs)
    grads = torch.autograd.grad(loss_fn(y), outs)
    return np.array([float(g.double().pow(2).sum()) for g in grads])


def _seq_forward(model, x, outs):
    for m in model:
        x = m(x)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            outs.append(x)
            x = x.clone()  # the next in-place activation must not overwrite the retained output
    return x


def test_hook_norms_equal_autograd_sequential_inplace():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(inplace=True),
                        nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU(inplace=True),
                        nn.Linear(32, 32), nn.BatchNorm1d(32), nn.GELU(), nn.Linear(32, 4))
    x = torch.randn(12, 10)

    def loss(y):
        return (y ** 3).sum()

    prof = gradient_profile(net, x, loss=loss, reps=2, init=_keep)
    net.train()
    ref = _manual_grad_sq(net, x, loss, _seq_forward)
    np.testing.assert_allclose(prof.grad_sq[0], ref, rtol=1e-6)
    np.testing.assert_array_equal(prof.grad_sq[0], prof.grad_sq[1])
    assert [s.activation for s in prof.sites] == ["relu", "relu", "gelu"]
    assert [s.chain for s in prof.sites] == [True, True, False]


def test_hook_norms_equal_autograd_functional_and_residual():
    torch.manual_seed(4)
    net = FunctionalNet()
    x = torch.randn(16, 24)

    def loss(y):
        return y.square().sum()

    prof = gradient_profile(net, x, loss=loss, reps=2, init=_keep)
    net.train()

    def forward(model, x, outs):
        return model(x, outs)

    ref = _manual_grad_sq(net, x, loss, forward)
    np.testing.assert_allclose(prof.grad_sq[0], ref, rtol=1e-6)
    sites = prof.sites
    assert [s.activation for s in sites] == ["leaky_relu", "relu", None]
    assert sites[0].activation_params == {"slope": pytest.approx(0.2)}
    assert sites[2].consumer == "add"
    # b0 is a chain link; b1's ReLU output also feeds a residual branch; b2 feeds the addition
    assert [s.chain for s in sites] == [True, False, False]
    assert prof.prediction[0] == finite_batch_factor(16, "leaky_relu", slope=0.2)
    assert math.isnan(prof.prediction[1]) and math.isnan(prof.prediction[2])


def test_conv_sites_sizes_and_predictions():
    net = models.resnet_like(width=4, blocks=(1, 1))
    x = torch.randn(4, 3, 8, 8)
    sites = find_norm_sites(net, x)
    by = {s.name: s for s in sites}
    assert by["bn1"].size == 4 * 8 * 8 and by["bn1"].spatial == 64 and by["bn1"].correlated
    assert by["layers.1.bn1"].size == 4 * 4 * 4  # after the stride-2 block
    assert by["layers.0.bn2"].activation is None and by["layers.0.bn2"].consumer == "add"
    assert by["layers.1.shortcut.1"].kind == "batch"
    # chain links: BN1 -> ReLU -> conv -> BN2 inside a block; the stem's output also feeds the
    # first block's identity shortcut, BN2 and the shortcut's BN feed the addition
    assert [s.name for s in sites if s.chain] == ["layers.0.bn1", "layers.1.bn1"]
    prof = gradient_profile(net, x, reps=2, rng=0)
    for s, p in zip(prof.sites, prof.prediction):
        if not s.chain:
            assert math.isnan(p)
        else:
            assert p == finite_batch_factor(s.size, s.activation)
    assert any("B*H*W" in n for n in prof.notes)


def test_group_layer_rms_sites():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.SiLU(),
                        nn.Conv2d(8, 8, 3, padding=1), nn.InstanceNorm2d(8), nn.ReLU(),
                        nn.Flatten(), nn.Linear(8 * 25, 16), nn.LayerNorm(16), nn.Linear(16, 16),
                        nn.RMSNorm(16), nn.Tanh(), nn.Linear(16, 2))
    sites = find_norm_sites(net, torch.randn(3, 3, 5, 5))
    assert [(s.kind, s.size, s.activation, s.chain) for s in sites] == [
        ("group", 4 * 25, "silu", True), ("group", 25, "relu", True), ("layer", 16, "identity", True),
        ("rms", 16, "tanh", False)]
    prof = gradient_profile(net, torch.randn(3, 3, 5, 5), reps=2, rng=0)
    expected = [normalizer_factor("group", 100, "silu"), normalizer_factor("group", 25, "relu"),
                normalizer_factor("group", 16, "identity"), math.nan]
    np.testing.assert_array_equal(prof.prediction, expected)


def test_predicted_factor_is_the_theory():
    for B in (4, 5, 16, 128, 4096):
        assert predicted_factor("batch", B, "relu") == finite_batch_factor(B, "relu")
        assert predicted_factor("batch", B, "identity") == (B - 2) / (B - 3)
    for G in (4, 16, 768):
        assert predicted_factor("layer", G, "relu") == normalizer_factor("group", G, "relu") == (G - 2) / (G - 3)
        assert predicted_factor("group", G, "gelu") == normalizer_factor("group", G, "gelu")
        assert predicted_factor("rms", G, "tanh") == normalizer_factor("rms", G, "tanh")
    with pytest.raises(ValueError, match="kind"):
        predicted_factor("weight", 8, "relu")
    assert predicted_factor("batch", 3, "relu") == math.inf
    assert predicted_factor("batch", 2, "relu") == 0.0
    assert predicted_factor("batch", 3, "gelu") == math.inf  # E[1/chi^2_2] diverges
    assert math.isnan(predicted_factor("batch", 8, None))
    with pytest.raises(ValueError, match="size"):
        predicted_factor("batch", 0, "relu")


def test_reproducible_and_model_restored():
    torch.manual_seed(0)
    net = models.bn_mlp(depth=4, width=16, d_in=5)
    net.eval()
    net[0].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(8, 5)
    a = gradient_profile(net, x, reps=3, rng=7)
    b = gradient_profile(net, x, reps=3, rng=7)
    c = gradient_profile(net, x, reps=3, rng=8)
    np.testing.assert_array_equal(a.grad_sq, b.grad_sq)
    assert not np.array_equal(a.grad_sq, c.grad_sq)
    assert not np.array_equal(a.grad_sq[0], a.grad_sq[1])  # repetitions are different networks
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not net.training and not net[0].weight.requires_grad and net[3].weight.requires_grad


def test_untouched_parameters_are_reported():
    class WithRaw(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(8))
            self.lin, self.bn, self.out = nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)

        def forward(self, x):
            return self.out(torch.relu(self.bn(self.lin(x)) * self.scale))

    prof = gradient_profile(WithRaw(), torch.randn(6, 4), reps=2, rng=0)
    assert prof.not_reinitialised == ("scale",)
    assert any("scale" in n for n in prof.notes)

    class WithAttention(nn.Module):  # nn.MultiheadAttention names its reset _reset_parameters
        def __init__(self):
            super().__init__()
            self.attn, self.norm = nn.MultiheadAttention(8, 2), nn.LayerNorm(8)

        def forward(self, x):
            return self.attn(*(self.norm(x),) * 3)[0]

    prof = gradient_profile(WithAttention(), torch.randn(5, 3, 8), reps=2, rng=0)
    assert prof.not_reinitialised == ()


def test_bad_arguments():
    net = models.bn_mlp(depth=2, width=8, d_in=3)
    x = torch.randn(4, 3)
    with pytest.raises(TypeError, match="model"):
        gradient_profile("net", x)
    with pytest.raises(ValueError, match="reps"):
        gradient_profile(net, x, reps=1)
    with pytest.raises(TypeError, match="inputs"):
        gradient_profile(net, np.zeros((4, 3)))
    with pytest.raises(TypeError, match="loss"):
        gradient_profile(net, x, loss=3)
    with pytest.raises(ValueError, match="no normalization"):
        gradient_profile(nn.Linear(3, 2), x)
    with pytest.raises(TypeError, match="rng"):
        gradient_profile(net, x, rng="seed")


def test_table_dict_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net = models.bn_mlp(depth=6, width=32, d_in=4)
    prof = gradient_profile(net, torch.randn(8, 4), reps=3, rng=1)
    assert isinstance(prof, GradientProfile)
    d = prof.to_dict()
    assert set(d) == {"layer", "kind", "size", "activation", "grad_norm", "factor", "stderr",
                      "prediction", "ratio", "z"}
    assert all(v.shape == (6,) for v in d.values())
    np.testing.assert_allclose(d["factor"][:-1], prof.grad_sq.mean(0)[:-1] / prof.grad_sq.mean(0)[1:])
    np.testing.assert_allclose(d["ratio"], d["factor"] / d["prediction"])
    text = str(prof)
    assert "factor" in text and "theory" in text and text.count("\n") >= 7
    assert "6 normalization layers" in repr(prof)
    g = prof.growth()
    assert g["layers"] == (1, 4)
    ratio = prof.grad_sq[:, 1].mean() / prof.grad_sq[:, 4].mean()
    assert g["mean"] == pytest.approx(ratio ** (1 / 3), rel=1e-12)
    fig = prof.plot()
    assert fig.axes
    plt.close(fig)


def test_bn_relu_mlp_matches_the_finite_batch_factor():
    """Depth 30, width 1024, batch 16: the mean factor over the interior layers (the first
    and last factor are the chain's edges) is within 3 standard errors of lambda(16); no
    finite-width correction is applied."""
    net = models.bn_mlp(depth=30, width=1024, d_in=64)
    x = torch.randn(16, 64, generator=torch.Generator().manual_seed(0))
    prof = gradient_profile(net, x, reps=8, rng=2024)
    g = prof.growth()
    lam = finite_batch_factor(16, "relu")
    assert g["prediction"] == pytest.approx(lam, rel=1e-14)
    assert abs(g["mean"] - lam) < 3 * g["stderr"], g
    # the infinite-batch factor pi/(pi-1) is far away: the test can tell the two apart
    assert abs(g["mean"] - math.pi / (math.pi - 1)) > 10 * g["stderr"]
