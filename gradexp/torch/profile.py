r"""The gradient profile of a PyTorch model at initialisation, beside the theory.

:func:`gradient_profile` re-initialises a model ``reps`` times, runs one forward and backward
pass each time and records, through a tensor hook on the output of every normalization
layer n (forward order), the squared norm :math:`\|g^n\|^2 = \|\partial L/\partial x^n\|^2`
over the batch and all features. The *measured factor* of layer n is the ratio of expected
squared norms of consecutive normalization outputs,

.. math:: \hat\lambda_n = \frac{\overline{\|g^n\|^2}}{\overline{\|g^{n+1}\|^2}}

(means over repetitions; standard error by the delta method for a ratio of means), the
quantity :func:`gradexp.normalizer_factor` (for BatchNorm :func:`gradexp.finite_batch_factor`)
predicts for a chain
:math:`x^n \to \varphi \to` linear :math:`\to` norm :math:`\to x^{n+1}` at infinite width:
the per-layer factor of :math:`\mathbb E\|\partial L/\partial x^n\|^2` (the squared
per-layer rate of :attr:`gradexp.mc.ChainResult.rate`). The factor needs no equal widths:
a normalization layer is invariant to the scale of the weights before it, so the fan-in of
the linear map cancels between the backward pass and the normalization's divisor.

The prediction of layer n uses its own normalisation-set size and the activation that
follows it (:class:`gradexp.torch.sites.NormSite`); layers that are not a link of the chain
(:attr:`gradexp.torch.sites.NormSite.chain`: a residual branch, pooling, the head) get NaN.

References
----------
Yang et al., "A Mean Field Theory of Batch Normalization", ICLR 2019 (the rate and its
batch-size dependence); Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4 (the factor π/(π−1) at
infinite batch); Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Sec. 3.3, eq. 8 (the initial
gradient profile of a plain BN network).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._random import as_seed_sequence
from .._validate import check_int
from ..theory.normalizers import normalizer_factor
from .sites import as_inputs, find_norm_sites

__all__ = ["gradient_profile", "GradientProfile", "predicted_factor", "reinitialise"]

#: the theory's normalizer for each kind of :func:`gradexp.torch.sites.norm_kind`
_KINDS = {"batch": "batch", "group": "group", "layer": "group", "rms": "rms"}


# ============================================================================ the theory
def predicted_factor(kind: str, size, activation="relu", **params) -> float:
    r"""The theory's per-layer factor of :math:`\mathbb E\|g\|^2` for a normalization layer.

    :func:`gradexp.normalizer_factor` (exact at infinite width, full backward, as autograd
    computes it) with ``norm = kind`` (``"batch"``, ``"group"``, ``"rms"``; ``"layer"`` is a
    GroupNorm of one group) at the normalisation-set size: the batch B (B·H·W for convolutional
    BatchNorm), the group size, or the normalized features of LayerNorm and RMSNorm. The
    module's ε (1e-5 against pre-normalization variances of order 0.1–1 at torch's default
    initialisation) and the affine shift β (0 at initialisation) are left at 0.
    ``activation=None`` (a layer that is not a link of the chain) gives NaN.

    Examples
    --------
    >>> import math
    >>> bool(predicted_factor("batch", 10, "identity") == 8 / 7)        # (B − 2)/(B − 3)
    True
    >>> bool(predicted_factor("layer", 10, "relu") == 8 / 7)            # LayerNorm: (G − 2)/(G − 3)
    True
    >>> math.isnan(predicted_factor("batch", 16, None))
    True
    """
    if activation is None:
        return math.nan
    size = check_int(size, "size", lo=1)
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}; got {kind!r}")
    if size < 2:
        return math.nan
    return float(normalizer_factor(_KINDS[kind], size, activation, **params))


# ============================================================================ re-initialisation
def reinitialise(model: nn.Module) -> list[str]:
    """Call ``reset_parameters()`` of every submodule that has one (``_reset_parameters()`` for
    the torch modules that name it so: ``nn.MultiheadAttention``, ``nn.Transformer``); return
    the names of the parameters no such call re-initialises (they keep their values)."""
    covered = set()
    for m in model.modules():
        reset = getattr(m, "reset_parameters", None)
        if not callable(reset) and type(m).__module__.startswith("torch.nn."):
            reset = getattr(m, "_reset_parameters", None)
        if callable(reset):
            reset()
            covered.update(id(p) for p in m.parameters(recurse=False))
    return [n for n, p in model.named_parameters() if id(p) not in covered]


def _torch_seed(ss: np.random.SeedSequence) -> int:
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _default_loss(generator):
    def loss(out):
        if isinstance(out, (tuple, list)):
            out = out[0]
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the model output must be a tensor (or a tuple starting with one), got "
                            f"{type(out).__name__}; pass loss=")
        g = torch.randn(out.shape, generator=generator, dtype=out.dtype, device="cpu").to(out.device)
        return (out * g).sum()
    return loss


# ============================================================================ the result
@dataclass(frozen=True, eq=False)
class GradientProfile:
    r"""Per-layer gradient norms of :func:`gradient_profile` and the theory's prediction.

    Attributes
    ----------
    sites : the normalization layers in forward order (:class:`~gradexp.torch.sites.NormSite`).
    grad_sq : (reps, n) :math:`\|\partial L/\partial x^n\|^2` per repetition and layer.
    prediction : (n,) the theory's factor of each layer (NaN where none; the last layer has no
        factor).
    seed : the :class:`numpy.random.SeedSequence` that reproduces the run (pass it as ``rng``).
    not_reinitialised : names of parameters that no ``reset_parameters`` re-draws (identical in
        every repetition).
    """

    sites: tuple
    grad_sq: np.ndarray
    prediction: np.ndarray
    seed: np.random.SeedSequence
    not_reinitialised: tuple = ()
    notes: tuple = field(default=())

    # ---------------------------------------------------------------- estimates
    @property
    def reps(self) -> int:
        return self.grad_sq.shape[0]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sites]

    def _ratio(self, i: int, j: int) -> tuple[float, float]:
        """(Ē_i/Ē_j, delta-method se) of the squared norms of layers i and j."""
        a, b = self.grad_sq[:, i], self.grad_sq[:, j]
        am, bm = a.mean(), b.mean()
        r = am / bm
        n = a.size
        if n < 2 or not np.isfinite(r):
            return float(r), math.nan
        se = math.sqrt(np.sum((a - r * b) ** 2) / (n * (n - 1))) / bm
        return float(r), float(se)

    @property
    def factor(self) -> np.ndarray:
        """(n,) measured factor of each layer, :math:`\\overline{\\|g^n\\|^2}/\\overline{\\|g^{n+1}\\|^2}`
        (NaN for the last layer)."""
        out = np.full(len(self.sites), np.nan)
        for i in range(len(self.sites) - 1):
            out[i] = self._ratio(i, i + 1)[0]
        return out

    @property
    def stderr(self) -> np.ndarray:
        """(n,) standard errors of :attr:`factor` (delta method over repetitions)."""
        out = np.full(len(self.sites), np.nan)
        for i in range(len(self.sites) - 1):
            out[i] = self._ratio(i, i + 1)[1]
        return out

    @property
    def ratio(self) -> np.ndarray:
        """measured / predicted factor per layer."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.factor / self.prediction

    @property
    def z(self) -> np.ndarray:
        """(measured − predicted)/stderr per layer."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.factor - self.prediction) / self.stderr

    def growth(self, start: int | None = None, stop: int | None = None) -> dict:
        r"""The mean factor per layer from layer ``stop`` back to layer ``start``:

        .. math:: \hat\lambda = \bigl(\overline{\|g^{start}\|^2}/\overline{\|g^{stop}\|^2}\bigr)^{1/(stop-start)},

        with its delta-method standard error, and the geometric mean of the predictions of
        layers start … stop − 1 (NaN if any is missing). Returns
        ``{"mean", "stderr", "n", "prediction", "z", "layers"}``.

        By default (with at least 5 layers) the first and the last factor are left out, the
        two edges of the chain: the first normalization's input is the data, not a previous
        normalization at its fixed point, and the last one's upstream gradient comes from the
        loss, not through a normalization (so it is not centred over the batch).
        """
        n = len(self.sites)
        edge = 1 if n >= 5 else 0
        start = edge if start is None else start
        stop = n - 1 - edge if stop is None else stop
        if not 0 <= start < stop <= n - 1:
            raise ValueError(f"need 0 <= start < stop <= {n - 1}, got start={start}, stop={stop}")
        m = stop - start
        a, b = self.grad_sq[:, start], self.grad_sq[:, stop]
        log_r = math.log(a.mean()) - math.log(b.mean())
        mean = math.exp(log_r / m)
        k = a.size
        if k > 1:
            u = a / a.mean() - b / b.mean()
            se = mean * float(np.sqrt(np.sum(u ** 2) / (k * (k - 1)))) / m
        else:
            se = math.nan
        pred = self.prediction[start:stop]
        pg = float(np.exp(np.mean(np.log(pred)))) if np.all(pred > 0) else math.nan
        z = (mean - pg) / se if se > 0 and np.isfinite(pg) else math.nan
        return {"mean": mean, "stderr": se, "n": k, "prediction": pg, "z": z,
                "layers": (start, stop)}

    # ---------------------------------------------------------------- presentation
    def to_dict(self) -> dict:
        """The table as a dict of numpy arrays (one entry per layer)."""
        s = self.sites
        return {
            "layer": np.array([x.name for x in s]),
            "kind": np.array([x.kind for x in s]),
            "size": np.array([x.size for x in s]),
            "activation": np.array([x.activation or "" for x in s]),
            "grad_norm": np.sqrt(self.grad_sq.mean(axis=0)),
            "factor": self.factor,
            "stderr": self.stderr,
            "prediction": np.asarray(self.prediction, float),
            "ratio": self.ratio,
            "z": self.z,
        }

    def __repr__(self) -> str:
        g = self.growth() if len(self.sites) > 1 else None
        tail = (f", mean factor {g['mean']:.4g} ± {g['stderr']:.2g}" if g else "")
        return f"<GradientProfile: {len(self.sites)} normalization layers, {self.reps} reps{tail}>"

    def __str__(self) -> str:
        d = self.to_dict()
        w = max([5] + [len(x) for x in d["layer"]])
        head = (f"{'layer':<{w}}  {'kind':<5} {'size':>7} {'act':<10} {'|g|':>10} "
                f"{'factor':>8} {'± se':>7} {'theory':>8} {'ratio':>7}")
        lines = [head, "-" * len(head)]

        def f(v, spec):
            return format(v, spec) if np.isfinite(v) else format("-", spec[:spec.index(".")] if "." in spec else spec)

        for i in range(len(self.sites)):
            lines.append(f"{d['layer'][i]:<{w}}  {d['kind'][i]:<5} {d['size'][i]:>7d} "
                         f"{(d['activation'][i] or '?'):<10} {d['grad_norm'][i]:>10.4g} "
                         f"{f(d['factor'][i], '>8.4f')} {f(d['stderr'][i], '>7.4f')} "
                         f"{f(d['prediction'][i], '>8.4f')} {f(d['ratio'][i], '>7.3f')}")
        if len(self.sites) > 1:
            g = self.growth()
            lines.append(f"mean factor per layer over layers {g['layers'][0]}..{g['layers'][1]}: "
                         f"{g['mean']:.4f} ± {g['stderr']:.4f} (theory {g['prediction']:.4f}); "
                         f"{self.reps} re-initialisations")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def plot(self, ax=None):
        """Measured factors (with ±2 standard errors) and the theory's prediction per layer;
        returns the matplotlib Figure (matplotlib is imported here, not at import)."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
        else:
            fig = ax.figure
        d = self.to_dict()
        x = np.arange(len(self.sites))
        ax.errorbar(x, d["factor"], yerr=2 * d["stderr"], fmt="o", ms=3, capsize=2,
                    label="measured (± 2 se)")
        ax.plot(x, d["prediction"], "_", ms=12, mew=2, label="theory")
        ax.axhline(1.0, color="0.6", lw=0.8)
        ax.set_xlabel("normalization layer (forward order)")
        ax.set_ylabel(r"$\overline{\|g^n\|^2} / \overline{\|g^{n+1}\|^2}$")
        ax.legend(frameon=False, fontsize=8)
        return fig


# ============================================================================ the measurement
def gradient_profile(model, inputs, *, loss=None, reps: int = 8, rng=None, init=None) -> GradientProfile:
    r"""Per-layer gradient norms of ``model`` at initialisation, beside the theory.

    For each of ``reps`` repetitions the model is re-initialised (``reset_parameters()`` of
    every submodule, or ``init(model)``, under a torch seed drawn from the repetition's child
    of ``rng``: :func:`gradexp._random.spawn_seeds`), run in training mode on ``inputs`` and
    differentiated; a hook on the output :math:`x^n` of every normalization layer records
    :math:`\|\partial L/\partial x^n\|^2` (float64 sum over batch and features). The table
    (:class:`GradientProfile`) gives per layer the measured factor
    :math:`\overline{\|g^n\|^2}/\overline{\|g^{n+1}\|^2}` ± its standard error, the prediction
    of :func:`predicted_factor` and their ratio.

    The model's parameters, buffers, ``requires_grad`` flags and mode are restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
    inputs : tensor or tuple of tensors
        Passed as ``model(*inputs)``.
    loss : callable, optional
        ``loss(output)`` returns a scalar tensor. Default: :math:`L = \langle G, y\rangle` with G a standard Gaussian tensor of the output's
        shape drawn per repetition (a Gaussian upstream gradient, the chain's default; labels
        play no role).
    reps : int
        Re-initialisations, at least 2 (standard errors come from their spread).
    rng : None, int, SeedSequence or Generator
        The randomness (SPEC 7).
    init : callable, optional
        ``init(model)`` re-initialises the model in place (called under the repetition's
        torch seed) instead of ``reset_parameters()``.

    Returns
    -------
    GradientProfile

    References
    ----------
    Yang et al., ICLR 2019 (gradient independence, the rate); Paik & Choi [paik-choi-v2],
    Thm 2.2, eq. 4; :func:`gradexp.normalizer_factor`.

    Examples
    --------
    >>> torch.manual_seed(0) is not None
    True
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(),
    ...                           torch.nn.Linear(32, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(),
    ...                           torch.nn.Linear(32, 1))
    >>> prof = gradient_profile(net, torch.randn(16, 8), reps=4, rng=0)
    >>> from gradexp import finite_batch_factor
    >>> bool(prof.prediction[0] == finite_batch_factor(16, "relu"))
    True
    >>> prof.factor.shape, [s.chain for s in prof.sites]     # the last BN feeds the head
    ((2,), [True, False])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    inputs = as_inputs(inputs)
    reps = check_int(reps, "reps", lo=2)
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be callable (output -> scalar tensor), got {type(loss).__name__}")
    if init is not None and not callable(init):
        raise TypeError(f"init must be callable (model -> None), got {type(init).__name__}")
    ss = as_seed_sequence(rng)
    children = ss.spawn(reps)

    saved = copy.deepcopy(model.state_dict())
    flags = [(p, p.requires_grad) for p in model.parameters()]
    was_training = model.training
    try:
        sites = find_norm_sites(model, inputs)
        if not sites:
            raise ValueError("model has no normalization layer (BatchNorm, GroupNorm, InstanceNorm, "
                             "LayerNorm or RMSNorm) reached by a forward pass on inputs")
        float_inputs = all(t.is_floating_point() for t in inputs)
        if float_inputs:
            # gradients w.r.t. activations only: the inputs carry the graph, weights need none
            for p, _ in flags:
                p.requires_grad_(False)
        model.train()
        grad_sq = np.full((reps, len(sites)), np.nan)
        untouched: list[str] = []
        for r, child in enumerate(children):
            s_init, s_loss = child.spawn(2)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(_torch_seed(s_init))
                if init is None:
                    untouched = reinitialise(model)
                else:
                    init(model)
            gen = torch.Generator().manual_seed(_torch_seed(s_loss))
            grad_sq[r] = _one_pass(model, inputs, sites, loss or _default_loss(gen), float_inputs)
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.load_state_dict(saved)
        model.train(was_training)
    pred = np.array([predicted_factor(s.kind, s.size, s.activation, **s.activation_params)
                     if s.chain else np.nan for s in sites])
    notes = _notes(sites, untouched if init is None else [])
    return GradientProfile(sites=tuple(sites), grad_sq=grad_sq, prediction=pred, seed=ss,
                           not_reinitialised=tuple(untouched), notes=tuple(notes))


def _one_pass(model, inputs, sites, loss_fn, float_inputs) -> np.ndarray:
    norms = {}
    order: list[int] = []
    kinds = {s.kind for s in sites}
    counter = {"k": 0}

    def hook(module, args, output):
        if not isinstance(output, torch.Tensor):
            return
        k = counter["k"]
        counter["k"] += 1
        order.append(k)
        if output.requires_grad:
            output.register_hook(lambda g, k=k: norms.__setitem__(k, float(g.double().pow(2).sum())))

    from .sites import norm_kind  # the same classification as find_norm_sites

    handles = [m.register_forward_hook(hook) for _, m in model.named_modules()
               if norm_kind(m) in kinds]
    try:
        xs = tuple(t.detach().clone().requires_grad_(True) if float_inputs else t for t in inputs)
        out = model(*xs)
        value = loss_fn(out)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise TypeError("loss must return a scalar tensor")
        value.backward()
    finally:
        for h in handles:
            h.remove()
    if counter["k"] != len(sites):
        raise RuntimeError(f"the forward pass called {counter['k']} normalization layers, the probe "
                           f"pass {len(sites)}: the model's control flow depends on its weights")
    return np.array([norms.get(k, 0.0) for k in range(len(sites))])


def _notes(sites, untouched) -> list[str]:
    notes = []
    conv = [s for s in sites if s.kind == "batch" and s.spatial > 1]
    if conv:
        notes.append(f"{len(conv)} BatchNorm layer(s) normalise over B*H*W positions; neighbouring "
                     "positions are correlated, so the effective batch is smaller than the size used "
                     "by the prediction")
    missing = [s.name for s in sites[:-1] if not s.chain]
    if missing:
        notes.append(f"no prediction for {len(missing)} layer(s) that are not a chain link norm -> "
                     "activation -> linear -> norm (a residual branch, pooling, the head): "
                     f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")
    if untouched:
        notes.append(f"{len(untouched)} parameter(s) without reset_parameters() keep their values in every "
                     f"repetition: {', '.join(untouched[:4])}{' ...' if len(untouched) > 4 else ''}")
    return notes
