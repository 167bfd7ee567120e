"""Test oracle: the numpy draw engine of the chain simulator (moved out of the package).

``gradexp.mc`` draws every chain from counter-based Philox streams in compiled code
(:mod:`gradexp.mc._draws`). This module draws the same tensors, in a fixed order, from an SFC64
generator per repetition in numpy: different, equally distributed numbers. Tests run chains
with it (:func:`simulate_numpy`) to check the Philox engine in distribution and to build
networks independently of the package's draws.
"""

from __future__ import annotations

import math

import numpy as np

from gradexp.mc import _chain_kernels as K
from gradexp.mc import chain as C
from gradexp.mc._draws import _orthogonalize
from gradexp.mc._layout import _Buffers, _Layout
from gradexp.mc.spec import ChainSpec


def stream(ss: np.random.SeedSequence) -> np.random.Generator:
    """The generator of one repetition: SFC64 seeded by its child SeedSequence.

    SFC64 is one of numpy's recommended bit generators; it draws Gaussian variates ~25%
    faster than PCG64, and drawing the networks is a large share of small-chain runs.
    """
    return np.random.Generator(np.random.SFC64(ss))


def draw(rng: np.random.Generator, spec: ChainSpec, lay: _Layout, buf: _Buffers, i: int, *,
         data_only: bool = False) -> None:
    """Draw chain ``i`` of ``buf`` from ``rng``: input, weights, biases, masks, upstream.

    The order of the draws is fixed, so a seed gives the same network every time.
    ``data_only`` redraws only what belongs to the batch (inputs,
    dropout masks, upstream gradient or labels) and keeps the network's parameters.
    Orthogonal weights are computed from the same Gaussian draws.
    """
    dt = spec.dtype
    B, d0 = lay.B, int(lay.d[0])
    x0 = buf.X[i, :B * d0].reshape(B, d0)
    if spec.input_corr == "bt":  # Paik & Choi Thm 2.8: x = b t, b ~ N(0,1) per sample, t fixed
        if data_only:
            raise ValueError("fresh batches for the same network are not available with "
                             "input_corr='bt' (t belongs to the network)")
        b = rng.standard_normal(B, dtype=dt)
        t = rng.standard_normal(d0, dtype=dt)
        np.multiply(b[:, None], t[None, :], out=x0)
    else:
        rng.standard_normal(out=x0, dtype=dt)
        rho = spec.input_corr
        if rho > 0:  # equicorrelated: x = sqrt(rho) c_b + sqrt(1 - rho) e_bi
            c = rng.standard_normal(B, dtype=dt)
            x0 *= dt.type(math.sqrt(1.0 - rho))
            x0 += dt.type(math.sqrt(rho)) * c[:, None]
    x0 *= dt.type(spec.input_std)
    x0 += dt.type(spec.input_mean)
    if not data_only:
        w = buf.W[i]
        rng.standard_normal(out=w, dtype=dt)
        if spec.weights == "orthogonal":
            for n in range(lay.N):
                _orthogonalize(w[lay.w_off[n]:lay.w_off[n + 1]], int(lay.d[n]), int(lay.d[n + 1]))
        if spec.weight_mean != 0.0:
            w += dt.type(spec.weight_mean)
        if len(set(spec.gains)) == 1:  # equal widths: one pass
            w *= dt.type(spec.gains[0])
        else:
            for n in range(lay.N):
                w[lay.w_off[n]:lay.w_off[n + 1]] *= dt.type(spec.gains[n])
        if spec.has_bias:
            rng.standard_normal(out=buf.Bv[i], dtype=dt)
            buf.Bv[i] *= dt.type(spec.bias_std)
    if spec.has_mask:
        buf.M[i] = rng.random(lay.n_m, dtype=dt) < spec.act.param
    if spec.loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE):
        rng.standard_normal(out=buf.UP[i], dtype=dt)
    else:
        if not data_only:
            rng.standard_normal(out=buf.RO[i], dtype=dt)
            buf.RO[i] *= dt.type(1.0 / math.sqrt(lay.d[-1]))
        k = spec.classes if spec.loss == K.LOSS_CROSS_ENTROPY else 2
        buf.LAB[i] = rng.integers(0, k, lay.lab_len)



class NumpyDrawer:
    """The interface of ``gradexp.mc._draws._Drawer`` on numpy draws (:func:`draw`)."""

    def __init__(self, spec: ChainSpec, lay: _Layout):
        self.spec, self.lay = spec, lay

    def start(self, ss: np.random.SeedSequence) -> np.random.Generator:
        return stream(ss)

    def __call__(self, rng, buf: _Buffers, i: int, *, batch: int = 0, parallel: bool = False):
        draw(rng, self.spec, self.lay, buf, i, data_only=batch > 0)


def simulate_numpy(spec: ChainSpec, reps: int, rng, **kwargs):
    """``gradexp.mc.chain._simulate`` with the numpy draws: a :class:`ChainResult`."""
    out = C._simulate(spec, reps, rng, draw=NumpyDrawer(spec, _Layout(spec)), **kwargs)
    return C._result(*out, {}, spec, spec.batch)


__all__ = ["draw", "stream", "NumpyDrawer", "simulate_numpy"]
