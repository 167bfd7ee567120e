r"""The random tensors of a chain, drawn in compiled code from counter-based Philox streams.

Repetition r of a run is keyed by the r-th child of the ``rng`` seed sequence
(:func:`gradexp._random.spawn_seeds`, :func:`_philox_key`); every tensor of that repetition is
a Philox4x64-10 stream named by (tensor, layer, batch) (:class:`_PhiloxPlan`,
:mod:`gradexp.mc._philox`), so the numbers do not depend on threads or execution order.
Orthogonal weights are the Haar QR factor of the same Gaussian draws (:func:`_orthogonalize`).

References
----------
Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011
(Philox4x64-10); Mezzadri, "How to generate random matrices from the classical compact groups",
Notices AMS 54 (2007), eq. 5.1 (Haar orthogonal matrices).
"""

from __future__ import annotations

import math

import numpy as np

from . import _chain_kernels as K
from ._layout import _Buffers, _Layout
from .spec import ChainSpec


def _haar_columns(a: np.ndarray) -> np.ndarray:
    """Q of the QR decomposition of a tall Gaussian matrix ``a`` with the signs of diag(R)
    moved into Q: Haar-distributed orthonormal columns (Mezzadri 2007, eq. 5.1)."""
    q, r = np.linalg.qr(a)
    sgn = np.sign(np.diagonal(r))
    sgn[sgn == 0] = 1.0
    return q * sgn


def _orthogonalize(w: np.ndarray, d_in: int, d_out: int) -> None:
    """Replace the Gaussian block ``w`` (flat, d_in × d_out) by √max(d_in, d_out) × a Haar
    matrix with orthonormal columns (d_in ≥ d_out) or rows, in place."""
    a = w.reshape(d_in, d_out).astype(np.float64)
    q = _haar_columns(a) if d_in >= d_out else _haar_columns(a.T).T
    w[:] = (q * math.sqrt(max(d_in, d_out))).ravel()



class _PhiloxPlan:
    r"""The Philox streams of a chain (``gradexp.mc._philox``), prepared once per run.

    Repetition r has the key of its child seed sequence (``gradexp.mc._philox.key_from_seed``);
    within it, tensor T of layer n for batch k is stream ``stream_id(T, n, k)``: the input
    :math:`e` (``INPUT``), its common factor c (``INPUT_COMMON``, ρ > 0) or the b and t of
    ``input_corr="bt"`` (``INPUT_SCALE``, ``INPUT_COMMON``), the weights (``WEIGHT``, layer n:
    :math:`W^n = \sigma_w(\mu_w/\sigma_w + z)`), biases (``BIAS``, layer n), dropout masks
    (``MASK``), the upstream gradient or targets (``UPSTREAM``), the read-out (``READOUT``)
    and labels (``LABEL``). The network's tensors use batch 0; batch k > 0 of
    ``single_layer_ratio(batches=...)`` redraws only the data streams.
    """

    def __init__(self, spec: ChainSpec, lay: _Layout):
        from . import _philox as P

        self.P = P
        N = lay.N
        u64 = np.uint64
        self.w_streams = np.array([P.stream_id(P.WEIGHT, n) for n in range(N)], u64)
        gains = np.asarray(spec.gains, dtype=np.float64)
        if spec.weights == "orthogonal":  # Gaussian draws first, scaled after the QR step
            self.w_scales, self.w_shifts = np.ones(N), np.zeros(N)
        else:
            self.w_scales, self.w_shifts = gains, gains * spec.weight_mean
        self.b_streams = np.array([P.stream_id(P.BIAS, n) for n in range(N)], u64)
        self.b_scales, self.zeros = np.full(N, spec.bias_std), np.zeros(N)

    def fill(self, key, out, stream, scale=1.0, shift=0.0, parallel=False):
        """One stream into the flat array ``out`` (a view), ``shift + scale·z``."""
        self.P._fill_prepared(key[0], key[1], out, np.array([0, out.size], np.int64),
                              np.array([stream], np.uint64), np.array([float(scale)]),
                              np.array([float(shift)]), parallel)


def _draw_philox(key, plan: _PhiloxPlan, spec: ChainSpec, lay: _Layout, buf: _Buffers, i: int, *,
                 batch: int = 0, data_only: bool = False, parallel: bool = False) -> None:
    """Draw chain ``i`` of ``buf`` on the Philox streams of ``_PhiloxPlan`` (``key``: the
    repetition's two uint64 key words): input, weights, biases, masks, upstream gradient or
    read-out and labels. ``data_only`` redraws only what belongs to the batch (inputs, dropout
    masks, upstream gradient or labels) and keeps the network's parameters. ``parallel`` fills
    the large tensors with numba's threads (same numbers)."""
    P = plan.P
    dt = spec.dtype
    B, d0 = lay.B, int(lay.d[0])
    x0 = buf.X[i, :B * d0]
    mu, sd = spec.input_mean, spec.input_std
    if spec.input_corr == "bt":  # Paik & Choi Thm 2.8: x = mu + sd b t
        if data_only:
            raise ValueError("fresh batches for the same network are not available with "
                             "input_corr='bt' (t belongs to the network)")
        b = np.empty(B, dt)
        t = np.empty(d0, dt)
        plan.fill(key, b, P.stream_id(P.INPUT_SCALE), sd)
        plan.fill(key, t, P.stream_id(P.INPUT_COMMON))
        np.multiply(b[:, None], t[None, :], out=x0.reshape(B, d0))
        x0 += dt.type(mu)
    else:
        rho = spec.input_corr
        plan.fill(key, x0, P.stream_id(P.INPUT, 0, batch), sd * math.sqrt(1.0 - rho), mu,
                  parallel)
        if rho > 0:  # equicorrelated: x = mu + sd (sqrt(rho) c_b + sqrt(1 - rho) e_bi)
            c = np.empty(B, dt)
            plan.fill(key, c, P.stream_id(P.INPUT_COMMON, 0, batch), sd * math.sqrt(rho))
            x0.reshape(B, d0)[:] += c[:, None]
    if not data_only:
        w = buf.W[i]
        P._fill_prepared(key[0], key[1], w, lay.w_off, plan.w_streams, plan.w_scales,
                         plan.w_shifts, parallel)
        if spec.weights == "orthogonal":
            for n in range(lay.N):
                seg = w[lay.w_off[n]:lay.w_off[n + 1]]
                _orthogonalize(seg, int(lay.d[n]), int(lay.d[n + 1]))
                seg *= dt.type(spec.gains[n])
        if spec.has_bias:
            P._fill_prepared(key[0], key[1], buf.Bv[i], lay.b_off, plan.b_streams,
                             plan.b_scales, plan.zeros, False)
    if spec.has_mask:
        P._fill_bernoulli(key[0], key[1], np.uint64(P.stream_id(P.MASK, 0, batch)),
                          float(spec.act.param), buf.M[i])
    if spec.loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE):
        plan.fill(key, buf.UP[i].reshape(-1), P.stream_id(P.UPSTREAM, 0, batch), 1.0, 0.0,
                  parallel)
    else:
        if not data_only:
            plan.fill(key, buf.RO[i].reshape(-1), P.stream_id(P.READOUT),
                      1.0 / math.sqrt(lay.d[-1]))
        k = spec.classes if spec.loss == K.LOSS_CROSS_ENTROPY else 2
        P._fill_integers(key[0], key[1], np.uint64(P.stream_id(P.LABEL, 0, batch)), k,
                         buf.LAB[i])


def _philox_key(ss: np.random.SeedSequence):
    """The repetition's Philox key as two uint64 words (``gradexp.mc._philox.key_from_seed``)."""
    from ._philox import key_from_seed

    k0, k1 = key_from_seed(ss)
    return np.uint64(k0), np.uint64(k1)


class _Drawer:
    """Draws chain i of a buffer set: ``start(ss)`` gives repetition ``ss``'s Philox key,
    ``drawer(key, buf, i, batch=k)`` fills chain i's tensors for batch k (k > 0: data only).

    The one draw engine of the package; a test oracle with the same two methods (numpy draws)
    can be passed to ``gradexp.mc.chain._simulate(draw=...)`` to cross-check it.
    """

    def __init__(self, spec: ChainSpec, lay: _Layout):
        self.spec, self.lay = spec, lay
        self.plan = _PhiloxPlan(spec, lay)

    def start(self, ss: np.random.SeedSequence):
        """The repetition's Philox key."""
        return _philox_key(ss)

    def __call__(self, key, buf: _Buffers, i: int, *, batch: int = 0, parallel: bool = False):
        _draw_philox(key, self.plan, self.spec, self.lay, buf, i, batch=batch,
                     data_only=batch > 0, parallel=parallel)
