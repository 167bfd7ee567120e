"""One sampled network of a chain, with its buffers exposed: :func:`sample_chain`, :class:`SampledChain`."""

from __future__ import annotations

import numpy as np

from .._random import as_seed_sequence, spawn_seeds
from . import _chain_kernels as K
from ._chain_stats import (
    N_GRAM,
    ChainResult,
    _exponents,
    _gram_stats,
    _result,
    _unscale,
    _weight_norms_sq,
)
from ._draws import _Drawer
from ._layout import _blas_limit, _Buffers, _Layout, _run, _views, _what, _what_args
from ._memory import check_memory
from .spec import ChainSpec, _as_spec, _probe_spec, _spec_bytes

__all__ = ["SampledChain", "sample_chain"]


def _ldexp(a: np.ndarray, e) -> np.ndarray:
    """A copy of ``a`` times 2^e, exact (+-inf past the dtype's range, without a warning)."""
    with np.errstate(over="ignore"):
        return np.ldexp(a, e).astype(a.dtype, copy=False)


class SampledChain:
    """One sampled network with its buffers, for derivative checks and custom experiments.

    Created by :func:`sample_chain`. ``inputs``, ``weights[n]``, ``biases[n]`` and
    ``activations(n)`` are views into the buffers: edit them and call :meth:`run` again.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2 and Cor. 2.5 of the earlier version [paik-choi-v1] (second derivatives);
    Salmon et al., SC 2011 (Philox).
    """

    def __init__(self, spec: ChainSpec, seed):
        self._spec = spec
        self._lay = _Layout(spec)
        self.seed = as_seed_sequence(seed)
        check_memory(self._lay.chain_bytes(spec, keep_dw=True), _what(spec, 1))
        self._buf = _Buffers(spec, self._lay, 1, keep_dw=True)
        draw = _Drawer(spec, self._lay)
        draw(draw.start(self.seed), self._buf, 0, parallel=True)
        lay = self._lay
        self.weights = _views(self._buf.W[0], lay.w_off,
                              [(int(lay.d[n]), int(lay.d[n + 1])) for n in range(lay.N)])
        self.biases = ([self._buf.Bv[0, lay.b_off[n]:lay.b_off[n + 1]] for n in range(lay.N)]
                       if spec.has_bias else None)
        self.grad = None
        self.weight_grads = None

    @property
    def spec(self) -> ChainSpec:
        return self._spec

    @property
    def depth(self) -> int:
        return self._lay.N

    @property
    def inputs(self) -> np.ndarray:
        return self.activations(0)

    def activations(self, n: int) -> np.ndarray:
        """View of :math:`x^n` (batch × d_n), valid after :meth:`run` for n ≥ 1."""
        lay = self._lay
        return self._buf.X[0, lay.x_off[n]:lay.x_off[n + 1]].reshape(lay.B, int(lay.d[n]))

    @property
    def masks(self) -> list[np.ndarray] | None:
        """Dropout masks m^n (batch × d_n, 0/1) of layers 0..N-1, or None."""
        if not self._spec.has_mask:
            return None
        lay = self._lay
        return _views(self._buf.M[0], lay.x_off, [(lay.B, int(lay.d[n])) for n in range(lay.N)])

    @property
    def upstream(self) -> np.ndarray:
        """The Gaussian upstream gradient G (``"gaussian"``) or the targets Y (``"mse"``)."""
        return self._buf.UP[0]

    @property
    def output_weights(self) -> np.ndarray:
        """The read-out of the ``cross_entropy``/``logistic`` losses (d_N × k)."""
        return self._buf.RO[0]

    @property
    def labels(self) -> np.ndarray:
        return self._buf.LAB[0]

    @property
    def statistics(self) -> tuple[list, list]:
        """(μ̂, σ̂) of each normalisation layer (lists of arrays; per feature for the batch
        norms, shape (batch, groups) for the layer, group and rms norms; μ̂ = 0 without
        centring)."""
        lay = self._lay
        out = []
        for arr in (self._buf.MU[0], self._buf.SIG[0]):
            parts = [arr[lay.s_off[n]:lay.s_off[n + 1]] for n in range(lay.N)]
            if self._spec.norm_code == K.NORM_GROUP:
                parts = [p.reshape(lay.B, -1) for p in parts]
            out.append(parts)
        return out[0], out[1]

    def run(self, *, freeze: bool = False, start: int = 0, backward: bool = True,
            keep_weight_grads: bool = True) -> float:
        """Forward from :math:`x^{start}` and (optionally) backward down to it; returns L.

        ``freeze=True`` reuses the normalisation statistics of the previous run (the forward
        pass whose derivative the simplified backward is). After a backward pass,
        ``grad`` is :math:`\\partial L/\\partial x^{start}` and ``weight_grads[n]`` is
        :math:`\\partial L/\\partial W^n` for n ≥ start (``keep_weight_grads=False`` skips
        storing and copying them; their norms are still in :meth:`result`).
        """
        lay = self._lay
        if not 0 <= start < lay.N:
            raise ValueError(f"start must lie in [0, {lay.N - 1}], got {start}")
        keep = backward and keep_weight_grads
        with _blas_limit(lay):
            _run(self._spec, lay, self._buf, 1, frozen=freeze, start=start, backward=backward,
                 keep_dw=keep)
        if backward:  # the kernel's vectors are 2^-e times the gradients: scale back (exact)
            ds = int(lay.d[start])
            e = _exponents(self._buf.OUT[0, K.F_LOG2_SCALE, start])
            self.grad = _ldexp(self._buf.G1[0, :lay.B * ds].reshape(lay.B, ds), e)
        if keep:
            dws = _views(self._buf.DW[0], lay.w_off,
                         [(int(lay.d[n]), int(lay.d[n + 1])) for n in range(lay.N)])
            ew = _exponents(self._buf.WOUT[0, K.W_LOG2_SCALE])
            self.weight_grads = {n: _ldexp(dws[n], ew[n]) for n in range(start, lay.N)}
        return float(self._buf.LOSS[0])

    def logistic_terms(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Per-sample :math:`l'(s_b)`, :math:`l''(s_b)` of the logistic loss at the single
        read-out :math:`s_b = x^N_b \cdot r` (``upstream="logistic"``), after :meth:`run`."""
        s = self.activations(self.depth) @ self.output_weights[:, 0]
        t = 2.0 * self.labels - 1.0
        sig = 1.0 / (1.0 + np.exp(t * s))  # σ(−t s)
        return -t * sig, sig * (1.0 - sig)

    def diagonal_second_derivatives(self, layers, per_layer, rng, *, freeze, h=1e-5):
        r"""Central differences of the exact gradient: :math:`\partial^2 L/\partial (x^n_{bi})^2`
        at ``per_layer`` random coordinates (b, i) of each layer n (Paik & Choi Lemma 2.9, Fig. 4).

        ``rng`` is a :class:`numpy.random.Generator` (used as the caller's stream; an int or
        SeedSequence seeds a fresh one). Returns rows ``(n, b, i, g, h_bi)`` with the gradient
        g at that coordinate. The network is left as it was (a final run from each layer
        restores the buffers).
        """
        from .._random import as_generator

        rng = as_generator(rng)
        rows = []
        for n in layers:
            self.run(start=n, freeze=freeze)
            x = self.activations(n)
            for _ in range(per_layer):
                b, i = int(rng.integers(x.shape[0])), int(rng.integers(x.shape[1]))
                g0 = float(self.grad[b, i])
                old = x[b, i]
                x[b, i] = old + h
                self.run(start=n, freeze=freeze)
                gp = float(self.grad[b, i])
                x[b, i] = old - h
                self.run(start=n, freeze=freeze)
                gm = float(self.grad[b, i])
                x[b, i] = old
                rows.append((n, b, i, g0, (gp - gm) / (2 * h)))
            self.run(start=n, freeze=freeze)
        return rows

    def gram_statistics(self) -> np.ndarray:
        """(3, N+1) mean ``|cos|``, stable rank and isometry gap of the batch Gram matrix of every
        layer of the last run (definitions in :class:`~gradexp.mc.chain.ChainResult`)."""
        return _gram_stats(self._spec, self._lay, self._buf.X[0])

    def result(self) -> ChainResult:
        """The statistics of the last run as a one-repetition :class:`~gradexp.mc.chain.ChainResult`."""
        b = self._buf
        gram = self.gram_statistics()[None] if "gram" in self._spec.stats else \
            np.full((1, N_GRAM, self._lay.N + 1), np.nan)
        OUT, WOUT = b.OUT[:1].copy(), b.WOUT[:1].copy()
        _unscale(OUT, WOUT)
        return _result(OUT, WOUT, _weight_norms_sq(self._lay, b.W[:1]), b.LOSS[:1],
                       gram, self.seed, {}, self._spec, self._lay.B)


def sample_chain(depth, width=None, batch=None, *, rng=None, **options) -> SampledChain:
    """Draw one network of :func:`~gradexp.mc.chain.simulate_chain` (same options, same seeds:
    ``sample_chain(..., rng=s)`` is repetition 0 of ``simulate_chain(..., rng=s)``).

    ``depth`` may be a :class:`~gradexp.mc.chain.ChainSpec` (then no width, batch or options); ``rng`` as in
    :func:`~gradexp.mc.chain.simulate_chain`.

    References
    ----------
    Paik & Choi [paik-choi-v2], Thm 2.2, eq. 4; Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019; Salmon et al., SC 2011 (Philox).
    """
    check_memory(*_sample_chain_bytes(depth, width, batch, **options))
    spec = _as_spec("sample_chain", depth, width, batch, options)
    return SampledChain(spec, spawn_seeds(rng, 1)[0])


def _sample_chain_bytes(depth, width=None, batch=None, *, rng=None, **options):
    """(bytes, what) of ``sample_chain(...)`` and a :meth:`SampledChain.run`: one chain with
    every weight gradient kept, and the copies ``run`` returns (weight gradients, gradient)."""
    spec = _probe_spec(depth, width, batch, options, "sample_chain")
    if isinstance(depth, ChainSpec):
        depth, width = spec.depth, spec.width
    if np.ndim(width) == 0:
        n_w, dmax = int(depth) * int(width) ** 2, int(width)
    else:
        n_w, dmax = sum(a * b for a, b in zip(width[:-1], width[1:])), max(width)
    copies = spec.dtype.itemsize * (n_w + spec.batch * dmax)
    return (_spec_bytes(spec, width, depth=depth, keep_dw=True) + copies,
            _what_args(depth, width, spec.batch, 1))
