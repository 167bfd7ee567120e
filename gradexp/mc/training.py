r"""Direct simulations that test the effective-learning-rate model (:mod:`gradexp.elr`).

Two levels of realism:

:func:`simulate_vectors`
    High-dimensional weight vectors whose gradients are random directions orthogonal to the
    current weights with norm c/‖W‖ (the model's assumptions, but with real vectors: earlier
    gradients are only *approximately* orthogonal, to O(1/√dim)). Driven by the same
    :class:`gradexp.optim.Optimizer` as the model.
:func:`train_toynet`
    A deep BatchNorm + ReLU MLP (Mehmeti-Göpel & Wand's ToyNet idea: constant width, He
    initialization, BN without learnable parameters) trained on synthetic data with exact
    forward and backward passes in numpy (BLAS matmuls), recording per-layer ‖W‖, ‖∇W‖ and
    E = ‖∇W‖/‖W‖; :func:`fit_discrete_model` fits eq. 4 to the step-0 norms and
    :func:`compare_with_model` scores its predictions.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from .._random import as_generator, as_seed_sequence, spawn_seeds
from .._threads import blas_threads
from .._validate import check_int, check_positive, check_real
from ..optim import SGD, Optimizer, StateSchedule, schedule_values
from ._estimate import Estimate, estimate
from ._memory import check_memory

__all__ = [
    "simulate_vectors", "VectorRun", "ToyNet", "ToyNetRun", "init_toynet", "toynet_loss_and_grads",
    "make_synthetic_data", "train_toynet", "train_toynet_arms", "fit_discrete_model",
    "compare_with_model", "gradient_growth_rate", "minibatch_noise_floor", "single_thread_blas",
    "toynet_forward",
]

def _check_lrs(lrs) -> np.ndarray:
    a = np.asarray(lrs, float)
    if not np.isfinite(a).all():
        raise ValueError("lr must be finite")
    if (a < 0).any():
        raise ValueError(f"lr must be >= 0, got {a[a < 0].ravel()[0]!r}")
    return a


def _check_steps(steps) -> int:
    if isinstance(steps, (bool, np.bool_)):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    return check_int(steps, "steps", lo=0)


# ===================================================================== vector simulation
@dataclass(frozen=True)
class VectorRun:
    """Trajectories of :func:`simulate_vectors`: arrays ``(n_rep, steps + 1, L)``.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eqs. 2–4; Appendix A.2.
    """

    weight_sq: np.ndarray
    grad_sq: np.ndarray

    @property
    def elr(self) -> np.ndarray:
        return np.sqrt(self.grad_sq / self.weight_sq)


# ======================================================================== memory estimates
def _toynet_bytes(depth: int, width: int, batch: int, classes: int, copies: int = 2) -> int:
    """Bytes of a ToyNet's ``copies`` weight-sized arrays (W, ∇W, optimizer state, ...), its
    forward/backward caches (~6 batch × width arrays per layer) and head."""
    return 8 * (copies * depth * width * width + 6 * depth * batch * width
                + 2 * classes * width + 4 * batch * classes)


def _simulate_vectors_bytes(c, lr, steps, *, dim, reps=16, **_):
    """(bytes, what) of ``simulate_vectors``: ~5 (reps, L, dim) arrays and 2 (reps, steps + 1, L)."""
    L = np.size(c)
    dim, steps, reps = check_int(dim, "dim", 2), _check_steps(steps), check_int(reps, "reps", lo=1)
    return (8 * (5 * reps * L * dim + 2 * reps * (steps + 1) * L + 2 * steps),
            f"simulate_vectors(steps={steps}, dim={dim}, reps={reps}, {L} layers)")


def _init_toynet_bytes(depth, width, *, classes=10, **_):
    """(bytes, what) of ``init_toynet``."""
    depth, width = check_int(depth, "depth", lo=1), check_int(width, "width", lo=2)
    classes = check_int(classes, "classes", lo=2)
    return (8 * 2 * (depth * width * width + classes * width),
            f"init_toynet(depth={depth}, width={width}, classes={classes})")


def _make_synthetic_data_bytes(n, width, *, classes=10, **_):
    """(bytes, what) of ``make_synthetic_data``: inputs, logits and labels."""
    n, width = check_int(n, "n", lo=1), check_int(width, "width", lo=1)
    classes = check_int(classes, "classes", lo=2)
    return (8 * (n * width + 2 * n * classes + width * classes + n),
            f"make_synthetic_data(n={n}, width={width}, classes={classes})")


def _train_toynet_bytes(depth, width, lr, steps, *, batch=128, classes=10, n_data=None, **_):
    """(bytes, what) of ``train_toynet``: the net (4 weight-sized arrays), the data
    (``n_data`` = batch·(steps + 1) by default) and 8 (steps + 1, depth) histories."""
    depth, width = check_int(depth, "depth", lo=1), check_int(width, "width", lo=2)
    steps, batch = _check_steps(steps), check_int(batch, "batch", lo=1)
    classes = check_int(classes, "classes", lo=2)
    n = check_int(n_data, "n_data", lo=1) if n_data else batch * max(steps + 1, 1)
    return (_toynet_bytes(depth, width, batch, classes, copies=4)
            + _make_synthetic_data_bytes(n, width, classes=classes)[0] + 8 * n
            + 8 * (8 * (steps + 1) * depth + 2 * steps),
            f"train_toynet(depth={depth}, width={width}, steps={steps}, batch={batch}, n_data={n})")


def _train_toynet_arms_bytes(depth, width, arms, steps, *, reps=1, **kwargs):
    """(bytes, what) of ``train_toynet_arms``: one training run at a time, every arm's
    histories kept."""
    reps = check_int(reps, "reps", lo=1)
    kw = {k: v for k, v in kwargs.items() if k in ("batch", "classes", "n_data")}
    one, what = _train_toynet_bytes(depth, width, None, steps, **kw)
    hist = 8 * 8 * (_check_steps(steps) + 1) * check_int(depth, "depth", lo=1)
    return one + len(arms) * reps * hist, f"{what[:-1]}, {len(arms)} arms, reps={reps})"


def _gradient_growth_rate_bytes(depth, width, batch, *, reps=8, classes=10, **_):
    """(bytes, what) of ``gradient_growth_rate`` (one network at a time)."""
    depth, width = check_int(depth, "depth", lo=1), check_int(width, "width", lo=2)
    batch, classes = check_int(batch, "batch", lo=1), check_int(classes, "classes", lo=2)
    reps = check_int(reps, "reps", lo=1)
    return (_toynet_bytes(depth, width, batch, classes) + 8 * (batch * (width + 1) + reps),
            f"gradient_growth_rate(depth={depth}, width={width}, batch={batch}, reps={reps})")


def _minibatch_noise_floor_bytes(depth, width, batch, *, reps=4, classes=10, **_):
    """(bytes, what) of ``minibatch_noise_floor`` (one network, two batches at a time)."""
    nbytes, what = _gradient_growth_rate_bytes(depth, width, batch, reps=reps, classes=classes)
    return nbytes + 8 * batch * (width + 1), what.replace("gradient_growth_rate", "minibatch_noise_floor")


def simulate_vectors(c, lr, steps, *, dim, w0_sq=1.0, momentum=0.0, weight_decay=0.0, rule=None,
                     optimizer=None, reps=16, rng=None) -> VectorRun:
    r"""The ELR model's assumptions realised with vectors in :math:`\mathbb R^{\rm dim}`.

    Each of ``reps`` replicas and L layers starts from a uniformly random direction with
    ‖W(0)‖² = ``w0_sq``. At step k the gradient is a standard Gaussian vector projected
    orthogonally to W(k) (eq. 2) and rescaled to norm :math:`c_\ell/\|W(k)\|` (eq. 27); the
    optimizer (same object as for :func:`gradexp.elr.simulate`) then updates W. For plain SGD
    this reproduces eq. 4 exactly (Pythagoras), with coupled weight decay β its generalisation
    s' = (1−λβ)²s + λ²c²/s; with momentum the model additionally assumes the gradients
    mutually orthogonal, which random directions satisfy up to O(1/√dim).

    ``reps`` replicas (default 16), randomness from ``rng`` (SPEC 7).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eqs. 2–4; Appendix A.2.
    """
    c = check_positive(c, "c")
    c = np.atleast_1d(c)
    if c.ndim != 1:
        raise ValueError("c must be one profile (1-d)")
    dim = int(dim)
    if dim < 2:
        raise ValueError(f"dim must be >= 2, got {dim}")
    n_rep = check_int(reps, "reps", lo=1)
    check_memory(*_simulate_vectors_bytes(c, lr, steps, dim=dim, reps=n_rep))
    steps = _check_steps(steps)
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    if optimizer is None:
        optimizer = Optimizer(rule=SGD() if rule is None else rule, momentum=momentum,
                              weight_decay=beta)
    elif beta:
        raise ValueError("pass either optimizer or weight_decay, not both")
    rng = as_generator(rng)
    L = c.size
    lrs = _check_lrs(schedule_values(lr, steps))
    w = rng.standard_normal((n_rep, L, dim))
    w *= np.sqrt(check_positive(w0_sq, "w0_sq")) / np.linalg.norm(w, axis=-1, keepdims=True)
    state = optimizer.init_state(w)
    ws = np.empty((n_rep, steps + 1, L))
    for k in range(steps + 1):
        w = optimizer.prepare(w)
        s = np.sum(w * w, axis=-1)
        ws[:, k] = s
        if k == steps:
            break
        g = rng.standard_normal((n_rep, L, dim))
        g -= (np.sum(g * w, axis=-1) / s)[..., None] * w
        g *= (c / np.sqrt(s))[..., None] / np.linalg.norm(g, axis=-1, keepdims=True)
        w, state, _ = optimizer.step(w, g, state, lr=lrs[k])
    return VectorRun(weight_sq=ws, grad_sq=c[None, None, :] ** 2 / ws)


# ======================================================================== BLAS threads
@contextlib.contextmanager
def single_thread_blas():
    """Run the BLAS libraries single-threaded inside the block (restored afterwards):
    :func:`gradexp._threads.blas_threads` with one thread.

    The ToyNet's matrices are small (batch × width², width ≲ 256): on a loaded machine BLAS
    worker threads spin and make such products many times slower than one thread.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 (the ToyNet, whose small matrices this serves).
    """
    with blas_threads(1):
        yield


# ================================================================================ ToyNet
@dataclass(frozen=True)
class ToyNet:
    r"""A BatchNorm + ReLU MLP of constant width (Mehmeti-Göpel & Wand's ToyNet idea).

    .. math:: x_0 = \text{input},\quad h_\ell = x_{\ell-1}W_\ell^\top,\quad
              x_\ell = \mathrm{ReLU}(\mathrm{BN}(h_\ell)),\ \ell = 1..L,\quad
              \text{logits} = x_L H^\top,

    BN with batch statistics and no learnable parameters (the paper's choice), variance
    ``bn_eps`` added inside the square root (default 0, so every hidden layer is exactly
    scale invariant and ⟨∇W_ℓ, W_ℓ⟩ = 0). ``weights`` has shape ``(L, n, n)``, ``head``
    ``(classes, n)``; He initialization.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 (ToyNet); Figure 10.
    """

    weights: np.ndarray
    head: np.ndarray
    bn_eps: float = 0.0

    @property
    def depth(self) -> int:
        return self.weights.shape[0]

    @property
    def width(self) -> int:
        return self.weights.shape[1]

    def with_weights(self, weights, head=None) -> ToyNet:
        return ToyNet(np.asarray(weights, float), self.head if head is None else head, self.bn_eps)


def init_toynet(depth, width, *, classes=10, bn_eps=0.0, rng=None) -> ToyNet:
    """He-initialised ToyNet: W_ℓ ~ N(0, 2/n), head ~ N(0, 1/n) (``rng``: SPEC 7).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1; He et al. (2015) initialisation.
    """
    check_memory(*_init_toynet_bytes(depth, width, classes=classes))
    depth = check_int(depth, "depth", lo=1)
    width = check_int(width, "width", lo=2)
    classes = check_int(classes, "classes", lo=2)
    rng = as_generator(rng)
    W = rng.standard_normal((depth, width, width)) * np.sqrt(2.0 / width)
    H = rng.standard_normal((int(classes), width)) / np.sqrt(width)
    return ToyNet(W, H, float(bn_eps))


def _bn(h, eps):
    mu = h.mean(axis=0)
    c = h - mu
    sig = np.sqrt((c * c).mean(axis=0) + eps)
    return c / sig, sig


def toynet_forward(net: ToyNet, x) -> np.ndarray:
    """Logits of a batch ``x`` (B × n), batch statistics.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 (ToyNet); Ioffe & Szegedy (2015), batch statistics.
    """
    a = np.asarray(x, float)
    for W in net.weights:
        z, _ = _bn(a @ W.T, net.bn_eps)
        a = np.maximum(z, 0.0)
    return a @ net.head.T


def toynet_loss_and_grads(net: ToyNet, x, y, *, per_sample=False):
    r"""Mean softmax cross-entropy and its exact gradients.

    The BatchNorm backward differentiates through the batch statistics:
    :math:`\partial L/\partial h = \hat\sigma^{-1}\bigl(g - \bar g - z\,\overline{g z}\bigr)`
    (exact also with ``bn_eps > 0``). Returns ``(loss, dW, dH, info)`` with ``dW`` of shape
    ``(L, n, n)``; ``info["per_sample_norm"]`` (if ``per_sample``) is the mean over the batch
    of the norms of the per-sample terms :math:`\delta_b x_b^\top` whose sum is dW_ℓ (CLARS).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 (ToyNet); Ioffe & Szegedy (2015), BN backward
    through the batch statistics.
    """
    x = np.asarray(x, float)
    y = np.asarray(y)
    B = x.shape[0]
    acts, zs, sigs = [x], [], []
    a = x
    for W in net.weights:
        z, sig = _bn(a @ W.T, net.bn_eps)
        zs.append(z)
        sigs.append(sig)
        a = np.maximum(z, 0.0)
        acts.append(a)
    logits = a @ net.head.T
    m = logits.max(axis=1, keepdims=True)
    ex = np.exp(logits - m)
    lse = np.log(ex.sum(axis=1, keepdims=True)) + m
    loss = float(np.mean(lse[:, 0] - logits[np.arange(B), y]))
    p = ex / ex.sum(axis=1, keepdims=True)
    dlog = p
    dlog[np.arange(B), y] -= 1.0
    dlog /= B
    dH = dlog.T @ a
    da = dlog @ net.head
    dW = np.empty_like(net.weights)
    psn = np.empty(net.depth) if per_sample else None
    for ell in range(net.depth - 1, -1, -1):
        z = zs[ell]
        g = da * (z > 0)
        dh = (g - g.mean(axis=0) - z * (g * z).mean(axis=0)) / sigs[ell]
        dW[ell] = dh.T @ acts[ell]
        if per_sample:
            psn[ell] = float(np.mean(np.linalg.norm(dh, axis=1) * np.linalg.norm(acts[ell], axis=1)))
        if ell:
            da = dh @ net.weights[ell]
    info = {"per_sample_norm": psn}
    return loss, dW, dH, info


def make_synthetic_data(n, width, *, classes=10, rng=None):
    """Gaussian inputs N(0, I) with labels of a random linear teacher (argmax of x T)
    (``rng``: SPEC 7).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 (ToyNet check).
    """
    check_memory(*_make_synthetic_data_bytes(n, width, classes=classes))
    rng = as_generator(rng)
    x = rng.standard_normal((int(n), int(width)))
    T = rng.standard_normal((int(width), int(classes)))
    return x, np.argmax(x @ T, axis=1)


@dataclass(frozen=True)
class ToyNetRun:
    """Per-step, per-layer measurements of :func:`train_toynet` (arrays ``(steps + 1, L)``).

    ``weight_sq[k]``/``grad_sq[k]``: ‖W_ℓ‖² and ‖∇W_ℓ‖² at the weights used at step k (after
    the optional max-norm rescaling); ``update_sq[k]`` (k < steps) ‖ΔW_ℓ‖²; ``loss[k]``;
    ``cos_gw[k]``: ⟨∇W, W⟩/(‖∇W‖‖W‖) (0 for scale-invariant layers); ``lr`` the rates used.
    ``buffer_sq[k]`` and ``weight_buffer_dot[k]``: ‖b‖² and ⟨W, b⟩ of the momentum buffer
    *before* step k (0 at k = 0 and without momentum), the state
    :func:`gradexp.elr.critical_lr` reads.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.4 (E = ‖∇W‖/‖W‖); Appendix B.1.
    """

    weight_sq: np.ndarray
    grad_sq: np.ndarray
    update_sq: np.ndarray
    loss: np.ndarray
    cos_gw: np.ndarray
    lr: np.ndarray
    buffer_sq: np.ndarray = None
    weight_buffer_dot: np.ndarray = None

    @property
    def elr(self) -> np.ndarray:
        return np.sqrt(self.grad_sq / self.weight_sq)

    @property
    def relative_update(self) -> np.ndarray:
        """‖ΔW_k‖/‖W_k‖, k = 0..steps−1."""
        return np.sqrt(self.update_sq / self.weight_sq[:-1])


def train_toynet(depth, width, lr, steps, *, batch=128, classes=10, n_data=None, optimizer=None,
                 weight_decay=0.0, train_head=True, bn_eps=0.0, rng=None) -> ToyNetRun:
    """Train a He-initialised :class:`ToyNet` on synthetic data for ``steps`` minibatch steps.

    The hidden layers are updated by ``optimizer`` (default plain SGD; any
    :class:`gradexp.optim.Optimizer`, unit-wise rules act on the rows of each W_ℓ;
    ``weight_decay=β`` is a shortcut for ``Optimizer(weight_decay=β)``, coupled L2:
    W ← W − λ(∇W + βW)); the head, which is not scale invariant, by plain SGD without weight
    decay at the same rate (or not at all with ``train_head=False``). Minibatches of ``batch``
    samples are drawn without replacement from ``n_data`` (default ``batch * steps``, i.e.
    fresh samples every step) synthetic points. ``lr`` may be a
    :class:`gradexp.optim.StateSchedule` (e.g. :class:`gradexp.optim.EqualizingWarmup`),
    evaluated on the measured norms every step.

    Randomness (SPEC 7): ``rng`` (None, int, SeedSequence or Generator)
    is split into three streams (network, data, minibatch order). The same int or
    SeedSequence gives the same network, data and minibatches, whatever the learning rate or
    optimizer: pass the same ``rng`` to two arms to train the *same* networks on the same
    batches (see :func:`train_toynet_arms`). BLAS runs single-threaded inside.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1 (ToyNet).
    """
    depth = check_int(depth, "depth", lo=1)
    width = check_int(width, "width", lo=2)
    steps = _check_steps(steps)
    batch = check_int(batch, "batch", lo=1)
    classes = check_int(classes, "classes", lo=2)
    beta = check_real(weight_decay, "weight_decay", lo=0.0)
    if optimizer is None:
        optimizer = Optimizer(weight_decay=beta)
    elif beta:
        raise ValueError("pass either optimizer or weight_decay, not both")
    check_memory(*_train_toynet_bytes(depth, width, lr, steps, batch=batch, classes=classes,
                                      n_data=n_data))
    ss = as_seed_sequence(rng)
    with single_thread_blas():
        return _train_toynet(depth, width, lr, steps, batch=batch, classes=classes,
                             n_data=n_data, optimizer=optimizer, train_head=train_head,
                             bn_eps=bn_eps, ss=ss)


def _train_toynet(depth, width, lr, steps, *, batch, classes, n_data, optimizer, train_head,
                  bn_eps, ss) -> ToyNetRun:
    s_net, s_data, s_batch = ss.spawn(3)
    net = init_toynet(depth, width, classes=classes, bn_eps=bn_eps, rng=s_net)
    n_data = int(n_data or batch * max(steps + 1, 1))
    X, Y = make_synthetic_data(n_data, width, classes=classes, rng=s_data)
    order = np.random.default_rng(s_batch).permutation(n_data)
    adaptive = isinstance(lr, StateSchedule)
    lrs = np.empty(steps) if adaptive else _check_lrs(schedule_values(lr, steps))
    L = net.depth
    ws = np.empty((steps + 1, L))
    gs = np.empty_like(ws)
    cos = np.empty_like(ws)
    bs = np.zeros_like(ws)
    bw = np.zeros_like(ws)
    us = np.empty((steps, L))
    loss = np.empty(steps + 1)
    state = optimizer.init_state(net.weights)
    W, H = net.weights, net.head
    need_ps = type(optimizer.rule).__name__ == "CLARS"
    for k in range(steps + 1):
        W = optimizer.prepare(W, param_ndim=2)
        idx = order[(np.arange(batch) + k * batch) % n_data]
        cur = net.with_weights(W, H)
        loss[k], dW, dH, info = toynet_loss_and_grads(cur, X[idx], Y[idx], per_sample=need_ps)
        wn = np.sqrt((W ** 2).sum(axis=(1, 2)))
        gn = np.sqrt((dW ** 2).sum(axis=(1, 2)))
        ws[k], gs[k] = wn ** 2, gn ** 2
        cos[k] = (dW * W).sum(axis=(1, 2)) / np.maximum(wn * gn, 1e-300)
        if state.buffer is not None:
            bs[k] = (state.buffer ** 2).sum(axis=(1, 2))
            bw[k] = (state.buffer * W).sum(axis=(1, 2))
        if k == steps:
            break
        if adaptive:
            lrs[k] = float(_check_lrs(lr.rate(k, ws[k], gs[k])))
        W, state, step_info = optimizer.step(W, dW, state, lr=lrs[k], param_ndim=2,
                                             per_sample_norm=info["per_sample_norm"])
        us[k] = np.asarray(step_info["update_norm"]) ** 2
        if train_head:
            H = H - lrs[k] * dH
    return ToyNetRun(weight_sq=ws, grad_sq=gs, update_sq=us, loss=loss, cos_gw=cos, lr=lrs,
                     buffer_sq=bs, weight_buffer_dot=bw)


def train_toynet_arms(depth, width, arms, steps, *, reps=1, rng=None, **kwargs) -> dict:
    """Train the *same* ``reps`` networks under several arms (learning rates or schedules).

    ``arms`` is a mapping ``name -> lr`` (or ``name -> dict`` of :func:`train_toynet` keyword
    arguments, which may contain ``lr``, ``optimizer``, ``weight_decay``). Repetition i of
    every arm uses the same child of ``rng`` (:func:`gradexp._random.spawn_seeds`), hence the
    same initial network, data and minibatch order: differences between arms are caused by
    the arms alone. Returns ``{name: [ToyNetRun] * reps}``. Remaining ``kwargs`` go to every
    call.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1; Figure 10 (low and high learning rate).

    Examples
    --------
    >>> out = train_toynet_arms(3, 4, {"low": 1e-3, "high": 1.0}, 1, reps=2, rng=0, batch=8)
    >>> bool(np.array_equal(out["low"][1].weight_sq[0], out["high"][1].weight_sq[0]))
    True
    """
    reps = check_int(reps, "reps", lo=1)
    check_memory(*_train_toynet_arms_bytes(depth, width, arms, steps, reps=reps, **kwargs))
    children = spawn_seeds(rng, reps)
    out = {}
    for name, arm in dict(arms).items():
        kw = dict(kwargs)
        if isinstance(arm, dict):
            kw.update(arm)
            lr = kw.pop("lr")
        else:
            lr = arm
        out[name] = [train_toynet(depth, width, lr, steps, rng=ch, **kw) for ch in children]
    return out


def fit_discrete_model(run: ToyNetRun, *, layers=None, optimizer=None):
    """The ELR model fitted to a run's step-0 norms: c_ℓ = ‖∇W_ℓ(0)‖‖W_ℓ(0)‖, ‖W_ℓ(0)‖², same
    rates (and optimizer) as the run. ``layers`` selects layers (default: all but the first,
    whose input is not normalised, as the paper excludes it). Returns an ELRTrajectory.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix A.2, eqs. 27–32; Appendix B.1.
    """
    from ..theory.elr import simulate

    sel = slice(1, None) if layers is None else layers
    c = np.sqrt(run.grad_sq[0, sel] * run.weight_sq[0, sel])
    return simulate(c, run.lr, run.lr.size, w0_sq=run.weight_sq[0, sel], optimizer=optimizer)


def compare_with_model(runs, *, layers=None, optimizer=None) -> dict:
    """Score the discrete model against trained ToyNets, one fit per run.

    Returns per-step arrays (mean over runs, with standard errors):
    ``log_err``: mean over layers of ``|log(E_model/E_measured)|``; ``weight_log_err``: the same for
    ‖W‖²; ``flip_measured``/``flip_model``: Spearman correlation of E at step 0 and step 1
    (negative = the layers' order flipped); and the per-run arrays themselves. ``reps`` is the
    number of runs.

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.1, eq. 4; Appendix B.1; Figure 10.
    """
    from scipy.stats import spearmanr

    runs = [runs] if isinstance(runs, ToyNetRun) else list(runs)
    sel = slice(1, None) if layers is None else layers
    le, we, fm, fp = [], [], [], []
    for r in runs:
        m = fit_discrete_model(r, layers=sel, optimizer=optimizer)
        E_meas = r.elr[:, sel]
        le.append(np.mean(np.abs(np.log(m.elr / E_meas)), axis=-1))
        we.append(np.mean(np.abs(np.log(m.weight_sq / r.weight_sq[:, sel])), axis=-1))
        fm.append(spearmanr(E_meas[0], E_meas[1])[0])
        fp.append(spearmanr(m.elr[0], m.elr[1])[0])
    le, we = np.array(le), np.array(we)
    n = len(runs)
    se = (lambda a: a.std(axis=0, ddof=1) / np.sqrt(n)) if n > 1 else (lambda a: np.zeros(a.shape[1:]))
    return {"log_err": le.mean(axis=0), "log_err_se": se(le), "weight_log_err": we.mean(axis=0),
            "weight_log_err_se": se(we), "flip_measured": float(np.mean(fm)),
            "flip_model": float(np.mean(fp)), "per_run_log_err": le, "reps": n}


def gradient_growth_rate(depth, width, batch, *, reps=8, skip=(2, 3), classes=10,
                         rng=None) -> dict:
    r"""Per-layer growth of ‖∇W_ℓ‖ at initialization, towards the input, in the ToyNet.

    For each of ``reps`` independent networks (fresh data) the slope of
    log‖∇W_ℓ‖ against ℓ is fitted by least squares over the layers ℓ = skip[0]+1 .. L−skip[1]
    (away from the raw input and the loss); ``rate = exp(−slope)`` per net. Returns Estimates
    of the rate of the norm and of the squared norm (rate²) over nets, to compare with
    √(π/(π−1)) = 1.211 (norm) and π/(π−1) = 1.467 (squared norm).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 8; Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Yang et al.,
    "A Mean Field Theory of Batch Normalization", ICLR 2019.
    """
    n_nets = check_int(reps, "reps", lo=1)
    check_memory(*_gradient_growth_rate_bytes(depth, width, batch, reps=n_nets, classes=classes))
    ss = as_seed_sequence(rng)
    lo, hi = int(skip[0]), int(depth) - int(skip[1])
    if hi - lo < 3:
        raise ValueError("depth too small for the requested skip")
    ell = np.arange(lo, hi)
    with single_thread_blas():
        rates = _growth_rates(ss, n_nets, depth, width, batch, classes, lo, hi, ell)
    rates = np.array(rates)
    return {"norm": estimate(rates), "squared": estimate(rates ** 2), "rates": rates}


def _growth_rates(ss, n_nets, depth, width, batch, classes, lo, hi, ell):
    rates = []
    for s in ss.spawn(n_nets):
        a, b = s.spawn(2)
        net = init_toynet(depth, width, classes=classes, rng=a)
        x, y = make_synthetic_data(batch, width, classes=classes, rng=b)
        _, dW, _, _ = toynet_loss_and_grads(net, x, y)
        lg = np.log(np.sqrt((dW ** 2).sum(axis=(1, 2))))
        slope = np.polyfit(ell, lg[lo:hi], 1)[0]
        rates.append(np.exp(-slope))
    return rates


def minibatch_noise_floor(depth, width, batch, *, reps=4, classes=10, rng=None) -> Estimate:
    """Mean over layers (all but the first) of ``|log(‖∇W_ℓ‖_a/‖∇W_ℓ‖_b)|`` for two independent
    minibatches at the same initial weights: the part of the model's ELR error that no
    deterministic model of the norms can remove (one estimate per network; ``reps`` networks).

    References
    ----------
    Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix B.1; Bjorck, Gomes & Selman [bjorck-gomes-selman], Sec. 2.1, eq. 2
    (SGD noise).
    """
    n_pairs = check_int(reps, "reps", lo=1)
    check_memory(*_minibatch_noise_floor_bytes(depth, width, batch, reps=n_pairs, classes=classes))
    ss = as_seed_sequence(rng)
    vals = []
    with single_thread_blas():
        for s in ss.spawn(n_pairs):
            a, b, c = s.spawn(3)
            net = init_toynet(depth, width, classes=classes, rng=a)
            lg = []
            for sd in (b, c):
                x, y = make_synthetic_data(batch, width, classes=classes, rng=sd)
                dW = toynet_loss_and_grads(net, x, y)[1]
                lg.append(0.5 * np.log((dW ** 2).sum(axis=(1, 2))))
            vals.append(float(np.mean(np.abs(lg[0] - lg[1])[1:])))
    return estimate(vals)
