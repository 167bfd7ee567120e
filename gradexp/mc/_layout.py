"""Memory layout of a chain: flat per-chain buffers, their offsets, and the packed kernel options.

:class:`_Layout` computes where every layer's block lives in the flat buffers (and their
size in bytes, before anything is allocated), :func:`_pack` packs a :class:`~gradexp.mc.spec.ChainSpec`
into the kernel's integer and float parameter vectors, :class:`_Buffers` allocates the arrays of
``n`` chains once, and :func:`_run` calls the compiled entry point on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._threads import blas_threads
from . import _chain_kernels as K

if TYPE_CHECKING:  # the spec imports this module (chain_bytes validates its size)
    from .spec import ChainSpec

#: below this many multiply-adds per matmul (batch·width²) one chain's BLAS calls run
#: single-threaded: OpenBLAS's threads only pay off for large products, and on a busy machine
#: their spin-waiting makes medium products (~128³) tens of times slower
BLAS_THREADS_MIN_WORK = 1 << 24


class _Layout:
    """Offsets of every layer's block in the flat per-chain buffers, packed for the kernel."""

    def __init__(self, spec: ChainSpec):
        d = np.asarray(spec.widths, dtype=np.int64)
        B = spec.batch
        N = spec.depth
        self.d = d
        self.B = B
        self.N = N
        self.x_off = np.concatenate([[0], np.cumsum(B * d)]).astype(np.int64)
        self.w_off = np.concatenate([[0], np.cumsum(d[:-1] * d[1:])]).astype(np.int64)
        self.b_off = np.concatenate([[0], np.cumsum(d[1:])]).astype(np.int64)
        # normalisation statistics of layer n: one per feature (batch norms), one per sample
        # and group (layer, group, rms), none (no norm)
        if spec.norm_code == K.NORM_GROUP:
            self.groups = np.array([spec.group_size_at(n) for n in range(N)], dtype=np.int64)
            ns = B * (d[1:] // self.groups)
        else:
            self.groups = np.zeros(N, dtype=np.int64)
            ns = d[1:] if spec.norm_code == K.NORM_BATCH else np.ones(N, dtype=np.int64)
        self.s_off = np.concatenate([[0], np.cumsum(ns)]).astype(np.int64)
        self.skip_src = np.asarray(spec.skip_src, dtype=np.int64)
        self.has_add = np.zeros(N, dtype=np.int64)
        for src in spec.skip_src:
            if src >= 0:
                self.has_add[src] = 1
        self.table = np.zeros((K.N_LAY, N + 2), dtype=np.int64)
        for row, v in ((K.L_DIMS, d), (K.L_X_OFF, self.x_off), (K.L_W_OFF, self.w_off),
                       (K.L_B_OFF, self.b_off), (K.L_S_OFF, self.s_off), (K.L_SKIP, self.skip_src),
                       (K.L_HAS_ADD, self.has_add), (K.L_GROUP, self.groups)):
            self.table[row, :v.size] = v
        self.dmax = int(d.max())
        self.vlen = max(B, self.dmax, spec.classes)
        self.n_x = int(self.x_off[-1])
        self.n_h = int(self.x_off[N])
        self.n_w = int(self.w_off[-1])
        self.n_b = int(self.b_off[-1]) if spec.has_bias else 1
        self.n_m = self.n_h if spec.has_mask else 1
        self.n_s = int(self.s_off[-1])
        self.up_shape = (B, int(d[N])) if spec.loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE) else (1, 1)
        if spec.loss == K.LOSS_CROSS_ENTROPY:
            self.ro_shape = (int(d[N]), spec.classes)
        elif spec.loss == K.LOSS_LOGISTIC:
            self.ro_shape = (int(d[N]), 1)
        else:
            self.ro_shape = (1, 1)
        self.lab_len = B if spec.loss in (K.LOSS_CROSS_ENTROPY, K.LOSS_LOGISTIC) else 1
        self.kcorr = min(spec.corr_features, self.dmax)

    def dw_len(self, spec: ChainSpec, keep_dw: bool) -> int:
        if keep_dw:
            return self.n_w
        return int(max(self.d[:-1] * self.d[1:])) if spec.weight_grads else 1

    def chain_bytes(self, spec: ChainSpec, keep_dw: bool = False) -> int:
        """Bytes of one chain (:func:`chain_bytes` of the spec)."""
        from .spec import _spec_bytes

        return _spec_bytes(spec, spec.width, keep_dw=keep_dw)


def chain_bytes(depth, width, batch, *, itemsize=8, norm="batch", group_size=None, has_bias=False,
                has_mask=False, loss=K.LOSS_GAUSSIAN, classes=10, corr_features=32,
                weight_grads=True, keep_dw=False) -> int:
    """Bytes of one chain, computed from the sizes without allocating anything: the buffers of
    :class:`_Buffers` (n = 1; every layer's activations, weights and statistics), the layout
    table and the per-layer tuples of the spec. ``width`` is an int or the N + 1 widths.

    The one formula behind every memory check of the chain (:class:`~gradexp.mc.spec.ChainSpec`,
    :func:`~gradexp.mc.chain.simulate_chain`, :func:`gradexp.mc.estimate_bytes`).
    """
    N, B = int(depth), int(batch)
    if np.ndim(width) == 0:  # one width (an int, or an integral float such as 1e300)
        d = int(width)
        sum_d, sum_h, sum_out, sum_w, dmax, d_last = (N + 1) * d, N * d, N * d, N * d * d, d, d
        max_w = d * d
        outs = None
    else:
        w = [int(v) for v in width]
        sum_d, sum_h, sum_out = sum(w), sum(w[:-1]), sum(w[1:])
        prods = [a * b for a, b in zip(w[:-1], w[1:])]
        sum_w, max_w, dmax, d_last = sum(prods), max(prods), max(w), w[-1]
        outs = w[1:]
    if norm in ("layer", "group", "rms"):  # one statistic per sample and group
        if outs is None:
            n_s = N * B * (d // (group_size or d))
        else:
            n_s = sum(B * (o // (group_size or o)) for o in outs)
    elif norm in ("batch", "batch-nocenter"):
        n_s = sum_out
    else:
        n_s = N
    n_w = sum_w
    n_dt = (B * sum_d + B * sum_h + n_w + (sum_out if has_bias else 1) + (B * sum_h if has_mask else 1)
            + (B * d_last if loss in (K.LOSS_GAUSSIAN, K.LOSS_MSE) else 1)
            + (d_last * classes if loss == K.LOSS_CROSS_ENTROPY else d_last) + 4 * B * dmax
            + (n_w if keep_dw else (max_w if weight_grads else 1)))
    k = max(min(int(corr_features), dmax), 1)
    n_f64 = (2 * n_s + K.N_VEC * max(B, dmax, classes) + 2 * (N + 1) * dmax + k * k
             + (K.N_FIELDS + K.N_WFIELDS) * (N + 1) + 1)
    per_layer = 8 * (K.N_LAY + 8) * (N + 2) + 48 * (N + 1)  # layout arrays, spec tuples
    total = int(itemsize * n_dt + 8 * n_f64 + 8 * B + per_layer)
    if total > _MAX_BYTES:  # beyond a double: no memory message could format it, nothing could hold it
        raise ValueError(f"depth={N}, width={_short(width)}, batch={_short(B)} need more than 1.8e308 "
                         "bytes (the largest double): reduce them")
    return total


#: the largest byte count a memory check formats (the largest double)
_MAX_BYTES = int(np.finfo(float).max)


def _short(width) -> str:
    """``width`` (or a batch) for a message: a number (``1e+300`` past 20 digits), or a tuple of them."""
    if np.ndim(width) == 0:
        v = int(width)
        return str(v) if abs(v) < 10**20 else f"{float(v):.3g}"
    w = [_short(v) for v in width]
    return f"({', '.join(w)})" if len(w) <= 4 else f"({w[0]}, ..., {w[-1]}) ({len(w)} widths)"


def _pack(spec: ChainSpec, lay: _Layout, *, frozen=False, start=0, backward=True, keep_dw=False):
    """The kernel's parameter vectors (IP int64, FP float64; indices ``K.I_*``, ``K.P_*``)."""
    IP = np.zeros(K.N_IP, dtype=np.int64)
    IP[K.I_DEPTH] = lay.N
    IP[K.I_BATCH] = lay.B
    IP[K.I_NORM] = spec.norm_code
    IP[K.I_CENTER] = spec.center
    IP[K.I_FULL] = spec.full
    IP[K.I_FROZEN] = bool(frozen)
    IP[K.I_ACT] = int(spec.act.code)
    IP[K.I_HAS_BIAS] = spec.has_bias
    IP[K.I_HAS_MASK] = spec.has_mask
    IP[K.I_LOSS] = spec.loss
    IP[K.I_WEIGHT_GRADS] = spec.weight_grads or keep_dw
    IP[K.I_KEEP_DW] = bool(keep_dw)
    IP[K.I_KCORR] = lay.kcorr
    IP[K.I_START] = int(start)
    IP[K.I_BACKWARD] = bool(backward)
    FP = np.zeros(K.N_FP)
    FP[K.P_EPS] = spec.eps
    FP[K.P_SCALE] = spec.residual_scale
    FP[K.P_ACT_PARAM] = float(spec.act.param)
    FP[K.P_SHIFT] = spec.shift
    # the backward vector is renormalised (by a power of two) when its squared norm leaves
    # [2^-t, 2^t]: far inside the dtype's range, so no product of a layer overflows
    t = 100.0 if spec.dtype == np.float64 else 40.0
    FP[K.P_SQ_HI] = 2.0 ** t
    FP[K.P_SQ_LO] = 2.0 ** -t
    return IP, FP


class _Buffers:
    """All arrays of ``n`` chains (leading axis), allocated once."""

    def __init__(self, spec: ChainSpec, lay: _Layout, n: int, keep_dw: bool = False):
        dt = spec.dtype
        N = lay.N
        self.X = np.empty((n, lay.n_x), dt)
        self.H = np.empty((n, lay.n_h), dt)
        self.W = np.empty((n, lay.n_w), dt)
        self.Bv = np.zeros((n, lay.n_b), dt)
        self.M = np.ones((n, lay.n_m), dt)
        self.MU = np.zeros((n, lay.n_s))
        self.SIG = np.ones((n, lay.n_s))
        self.UP = np.zeros((n, *lay.up_shape), dt)
        self.RO = np.zeros((n, *lay.ro_shape), dt)
        self.LAB = np.zeros((n, lay.lab_len), np.int64)
        self.G1 = np.empty((n, lay.B * lay.dmax), dt)
        self.G2 = np.empty((n, lay.B * lay.dmax), dt)
        self.GZ = np.empty((n, lay.B * lay.dmax), dt)
        self.DW = np.empty((n, lay.dw_len(spec, keep_dw)), dt)
        self.SACC = np.zeros((n, lay.B * lay.dmax), dt)
        self.VEC = np.zeros((n, K.N_VEC, lay.vlen))
        self.XMEAN = np.zeros((n, N + 1, lay.dmax))
        self.XM2 = np.zeros((n, N + 1, lay.dmax))
        self.CORR = np.zeros((n, max(lay.kcorr, 1), max(lay.kcorr, 1)))
        self.OUT = np.full((n, K.N_FIELDS, N + 1), np.nan)
        self.WOUT = np.full((n, K.N_WFIELDS, N), np.nan)
        self.LOSS = np.zeros(n)

    def arrays(self, n: int) -> tuple:
        """The buffers of the first ``n`` chains in the kernel's argument order."""
        return (self.X[:n], self.H[:n], self.W[:n], self.Bv[:n], self.M[:n], self.MU[:n],
                self.SIG[:n], self.UP[:n], self.RO[:n], self.LAB[:n], self.G1[:n], self.G2[:n],
                self.GZ[:n], self.DW[:n], self.SACC[:n], self.VEC[:n], self.XMEAN[:n],
                self.XM2[:n], self.CORR[:n], self.OUT[:n], self.WOUT[:n], self.LOSS[:n])



def _views(flat, offsets, shapes):
    return [flat[offsets[n]:offsets[n] + r * c].reshape(r, c) for n, (r, c) in enumerate(shapes)]


def _blas_limit(lay: _Layout):
    """``blas_threads(1)`` for chains too small for threaded BLAS, a no-op otherwise."""
    return blas_threads(1 if lay.B * lay.dmax ** 2 < BLAS_THREADS_MIN_WORK else None)


def _run(spec: ChainSpec, lay: _Layout, buf: _Buffers, n: int, *, frozen=False, start=0,
         backward=True, keep_dw=False) -> None:
    """Run the first ``n`` chains of ``buf`` in order (compiled; BLAS threads as set by the
    caller)."""
    IP, FP = _pack(spec, lay, frozen=frozen, start=start, backward=backward, keep_dw=keep_dw)
    K._run_chains(IP, FP, lay.table, *buf.arrays(n))



def _what_args(depth, width, batch, reps) -> str:
    """``"depth=.., width=.., batch=.., reps=.."``: the arguments a memory error names."""
    if not isinstance(width, (int, np.integer)):
        width = width[0] if len(set(width)) == 1 else list(width)
    return f"depth={depth}, width={width}, batch={batch}, reps={reps}"


def _what(spec: ChainSpec, reps: int) -> str:
    return _what_args(spec.depth, spec.width, spec.batch, reps)

