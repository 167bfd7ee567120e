r"""Counter-based random numbers inside compiled kernels: Philox4x64-10 and a ziggurat.

Philox4x64-10 (Salmon, Moraes, Dror & Shaw 2011) is a keyed bijection of 256-bit counters:
the block :math:`\mathrm{Philox}_k(c) \in (\mathbb Z/2^{64})^4` depends only on the 128-bit
key k and the counter c, so any number of a stream is computed without the ones before it.
Ten rounds, each

.. math::

    (h_0, l_0) = M_0 c_0,\quad (h_1, l_1) = M_1 c_2,\quad
    c \leftarrow (h_1 \oplus c_1 \oplus k_0,\ l_1,\ h_0 \oplus c_3 \oplus k_1,\ l_0),

with 128-bit products split into high and low words, :math:`M_0 = \mathtt{0xD2E7470EE14C6C93}`,
:math:`M_1 = \mathtt{0xCA5A826395121157}`, and the key bumped by the Weyl constants
:math:`(\mathtt{0x9E3779B97F4A7C15}, \mathtt{0xBB67AE8584CAA73B})` between rounds. The kernels
are tested bit for bit against numpy's :class:`numpy.random.Philox` (whose first block for
counter c is :math:`\mathrm{Philox}_k(c + 1)`).

Streams
-------
A stream is named by a key and a 64-bit stream id; its 64-bit word j is lane j mod 4 of the
block at counter :math:`(\lfloor j/4\rfloor, \text{stream}, 0, 0)`:

* key :math:`(k_0, k_1)` = ``SeedSequence.generate_state(2, uint64)`` of the repetition's
  child sequence (``root.spawn(reps)[r]``, :func:`key_from_seed`), so every repetition has
  its own hashed key;
* stream id (:func:`stream_id`) = ``tensor + 2**8 * layer + 2**32 * batch`` with tensor < 256,
  layer < 2**24, batch < 2**32 (the chain's tensors: :data:`INPUT`, :data:`WEIGHT`, ...).

Number j of a stream is a function of (key, stream, j) alone, so fills split into blocks of
counters (``prange``) give the same numbers whatever the thread count or order.

Normal variates
---------------
Normal j of a float64 stream is numpy's 256-strip ziggurat (``random_standard_normal``,
Marsaglia & Tsang 2000) applied to the word sequence :math:`(w_j, s^{(j)}_0, s^{(j)}_1, \dots)`:
word j of the stream first (bits 0-7 the strip, bit 8 the sign, bits 9-60 a 52-bit
abscissa), and, in the ~1% of cases where it is rejected, the words of the fallback stream
at counter :math:`(t, \text{stream}, 1, j)`, t = 0, 1, ... (tag 2 for float32). The float32
path is numpy's 32-bit ziggurat (``random_standard_normal_f``) on 32-bit word j (the low half
of 64-bit word ⌊j/2⌋ for even j, the high half for odd j), half the Philox work per variate.

The ziggurat is exact in distribution given tables whose strips have equal areas: the
abscissae :math:`x_i` are computed with mpmath at 40 digits, with the tail start r solved
so that the top strip closes (:func:`ziggurat_tables`); a float64 variate is a multiple of
:math:`x_i/2^{52}` (float32: :math:`x_i/2^{23}`), the resolution of numpy's own normals. With
the sequential word order (:func:`_seq_normal64`) the kernels reproduce numpy's
``Generator(Philox(...)).standard_normal`` value for value (to the last bits of the tables).

Uniforms: :math:`u_j = \lfloor w_j/2^{11}\rfloor 2^{-53}`; integers in [0, k):
:math:`\lfloor w_j k / 2^{64}\rfloor` (bias below :math:`k/2^{64}`).

References
----------
J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC '11 (Philox, §3.2 and Table 2). G. Marsaglia, W. W. Tsang, "The ziggurat method
for generating random variables", J. Stat. Softw. 5(8), 2000. numpy ``_philox.pyx``,
``distributions.c`` (``random_standard_normal``, ``random_standard_normal_f``).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

from ._jit import kernel

__all__ = [
    "key_from_seed",
    "stream_id",
    "fill_normal",
    "fill_uniform",
    "fill_integers",
    "fill_bernoulli",
    "normal",
    "ziggurat_tables",
    "INPUT",
    "WEIGHT",
    "BIAS",
    "MASK",
    "UPSTREAM",
    "READOUT",
    "LABEL",
    "INPUT_COMMON",
    "INPUT_SCALE",
]

# tensor codes of the stream ids (stream_id(tensor, layer, batch))
INPUT, WEIGHT, BIAS, MASK, UPSTREAM, READOUT, LABEL, INPUT_COMMON, INPUT_SCALE = range(9)

_U = np.uint64
_M0 = _U(0xD2E7470EE14C6C93)
_M1 = _U(0xCA5A826395121157)
_W0 = _U(0x9E3779B97F4A7C15)
_W1 = _U(0xBB67AE8584CAA73B)
_ZERO = _U(0)
_ONE = _U(1)
_TWO = _U(2)
_S8 = _U(8)
_S9 = _U(9)
_S11 = _U(11)
_S32 = _U(32)
_MASK8 = _U(0xFF)
_MASK32 = _U(0xFFFFFFFF)
_MASK52 = _U(0x000FFFFFFFFFFFFF)
_U32_FF = np.uint32(0xFF)
_U32_1 = np.uint32(1)
_U32_8 = np.uint32(8)
_U32_9 = np.uint32(9)
_U32_M23 = np.uint32(0x007FFFFF)
_TAG64 = _U(1)
_TAG32 = _U(2)
_INV53 = 1.0 / 9007199254740992.0  # 2^-53
_INV24 = np.float32(1.0 / 16777216.0)  # 2^-24
_CHUNK = 1 << 14  # normals per parallel task (a multiple of 8)


def _load_tables():
    from . import _ziggurat_tables as T

    def floats(hexes, dt):
        a = np.array([float.fromhex(h) for h in hexes]).astype(dt)
        a.setflags(write=False)
        return a

    ki64 = np.array(T.KI64, np.uint64)
    ki32 = np.array(T.KI32, np.uint32)
    ki64.setflags(write=False)
    ki32.setflags(write=False)
    return (ki64, floats(T.WI64, np.float64), floats(T.FI64, np.float64), ki32,
            floats(T.WI32, np.float32), floats(T.FI32, np.float32), float.fromhex(T.R))


# the ziggurat tables (global constants of the kernels; see ziggurat_tables())
_KI64, _WI64, _FI64, _KI32, _WI32, _FI32, _ZR = _load_tables()


# ============================================================================ 64x64 -> 128
def _mulhilo(a, b):
    """(high, low) 64-bit words of the 128-bit product a·b (pure Python; numba: one ``mul``)."""
    p = int(a) * int(b)
    return _U(p >> 64), _U(p & 0xFFFFFFFFFFFFFFFF)


@intrinsic
def _mulhilo_ir(typingctx, a, b):
    if a != types.uint64 or b != types.uint64:
        return None
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        p = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        lo = builder.trunc(p, ir.IntType(64))
        hi = builder.trunc(builder.lshr(p, ir.Constant(i128, 64)), ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, (hi, lo))

    return sig, codegen


@overload(_mulhilo, jit_options={"cache": True})
def _mulhilo_ov(a, b):
    if a == types.uint64 and b == types.uint64:
        return lambda a, b: _mulhilo_ir(a, b)
    return None


# ============================================================================ Philox4x64-10
@kernel
def _philox(c0, c1, c2, c3, k0, k1):
    """The Philox4x64-10 block of counter (c0, c1, c2, c3) under key (k0, k1) (all uint64)."""
    for rnd in range(10):
        if rnd > 0:
            k0 += _W0
            k1 += _W1
        h0, l0 = _mulhilo(_M0, c0)
        h1, l1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0
    return c0, c1, c2, c3


@kernel
def _add_counter(c0, c1, c2, c3, n):
    """The 256-bit counter c + n (n a uint64), with carries."""
    d0 = c0 + n
    carry = d0 < c0
    d1 = c1 + _U(carry)
    carry = carry and d1 == _ZERO
    d2 = c2 + _U(carry)
    carry = carry and d2 == _ZERO
    d3 = c3 + _U(carry)
    return d0, d1, d2, d3


@kernel
def _seq_word(k0, k1, c0, c1, c2, c3, j):
    """Word j of the sequential stream that starts at counter c: lane j mod 4 of block c + ⌊j/4⌋."""
    d0, d1, d2, d3 = _add_counter(c0, c1, c2, c3, j >> _TWO)
    b = _philox(d0, d1, d2, d3, k0, k1)
    lane = j & _U(3)
    if lane == _ZERO:
        return b[0]
    if lane == _ONE:
        return b[1]
    if lane == _TWO:
        return b[2]
    return b[3]


@kernel
def _seq_word32(k0, k1, c0, c1, c2, c3, j):
    """32-bit word j of the sequential stream at counter c (low half of 64-bit word ⌊j/2⌋ first)."""
    w = _seq_word(k0, k1, c0, c1, c2, c3, j >> _ONE)
    if j & _ONE:
        return np.uint32(w >> _S32)
    return np.uint32(w & _MASK32)


@kernel
def _fill_raw(k0, k1, c0, c1, c2, c3, out):
    """out[j] = word j of the sequential stream at counter c (numpy: ``Philox(counter=c - 1)``)."""
    n = out.shape[0]
    for blk in range((n + 3) // 4):
        d0, d1, d2, d3 = _add_counter(c0, c1, c2, c3, _U(blk))
        b = _philox(d0, d1, d2, d3, k0, k1)
        for lane in range(4):
            j = 4 * blk + lane
            if j < n:
                out[j] = b[lane]


# ============================================================================ ziggurat
@kernel
def _zig64(r0, k0, k1, c0, c1, c2, c3, j):
    """numpy's ``random_standard_normal`` on the words (r, s_j, s_{j+1}, ...), s the sequential
    stream at counter c; returns (variate, index of the first unused s).

    Strip i = bits 0-7 of r, sign = bit 8, abscissa = bits 9-60 times x_i/2^52; accepted at
    once below x_{i-1}, else the wedge test (strips 1-255) or Marsaglia's exponential tail
    sampler (strip 0) on uniforms ⌊s/2^11⌋2^-53; a rejected wedge starts over with a new word.
    """
    r = _U(r0)
    while True:
        idx = np.intp(r & _MASK8)
        r = r >> _S8
        sign = r & _ONE
        rabs = (r >> _ONE) & _MASK52
        x = np.float64(rabs) * _WI64[idx]
        if sign:
            x = -x
        if rabs < _KI64[idx]:
            return x, j
        if idx == 0:
            while True:
                u1 = np.float64(_seq_word(k0, k1, c0, c1, c2, c3, j) >> _S11) * _INV53
                u2 = np.float64(_seq_word(k0, k1, c0, c1, c2, c3, j + _ONE) >> _S11) * _INV53
                j += _TWO
                xx = -(1.0 / _ZR) * math.log1p(-u1)
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> _S8) & _ONE:
                        return -(_ZR + xx), j
                    return _ZR + xx, j
        else:
            u = np.float64(_seq_word(k0, k1, c0, c1, c2, c3, j) >> _S11) * _INV53
            j += _ONE
            if (_FI64[idx - 1] - _FI64[idx]) * u + _FI64[idx] < math.exp(-0.5 * x * x):
                return x, j
        r = _seq_word(k0, k1, c0, c1, c2, c3, j)
        j += _ONE


@kernel
def _zig32(r0, k0, k1, c0, c1, c2, c3, j):
    """numpy's ``random_standard_normal_f`` on the 32-bit words (r, s_j, s_{j+1}, ...), s the
    sequential 32-bit stream at counter c; returns (float32 variate, first unused index).
    Strip = bits 0-7, sign = bit 8, abscissa = bits 9-31 times x_i/2^23, float32 arithmetic as
    in numpy (the wedge compared with exp(-x²/2) in float64)."""
    zr32 = np.float32(_ZR)
    inv32 = np.float32(1.0 / _ZR)
    r = np.uint32(r0)
    while True:
        idx = np.intp(r & _U32_FF)
        sign = (r >> _U32_8) & _U32_1
        rabs = (r >> _U32_9) & _U32_M23
        x = np.float32(rabs) * _WI32[idx]
        if sign:
            x = -x
        if rabs < _KI32[idx]:
            return x, j
        if idx == 0:
            while True:
                u1 = np.float32(_seq_word32(k0, k1, c0, c1, c2, c3, j) >> _U32_8) * _INV24
                u2 = np.float32(_seq_word32(k0, k1, c0, c1, c2, c3, j + _ONE) >> _U32_8) * _INV24
                j += _TWO
                xx = -inv32 * np.float32(math.log1p(-u1))
                yy = -np.float32(math.log1p(-u2))
                if yy + yy > xx * xx:
                    if (rabs >> _U32_8) & _U32_1:
                        return -(zr32 + xx), j
                    return zr32 + xx, j
        else:
            u = np.float32(_seq_word32(k0, k1, c0, c1, c2, c3, j) >> _U32_8) * _INV24
            j += _ONE
            y = (_FI32[idx - 1] - _FI32[idx]) * u + _FI32[idx]
            if np.float64(y) < math.exp(-0.5 * np.float64(x) * np.float64(x)):
                return x, j
        r = _seq_word32(k0, k1, c0, c1, c2, c3, j)
        j += _ONE


@kernel
def _normal64_at(w0, j, k0, k1, stream):
    """Float64 normal j of a stream whose word j is w: the ziggurat's fast path inline, the
    rare rejection continued on the fallback stream (t, stream, 1, j)."""
    w = _U(w0)
    idx = np.intp(w & _MASK8)
    rabs = (w >> _S9) & _MASK52
    if rabs < _KI64[idx]:
        x = np.float64(rabs) * _WI64[idx]
        return -x if (w >> _S8) & _ONE else x
    return _zig64(w, k0, k1, _ZERO, stream, _TAG64, j, _ZERO)[0]


@kernel
def _normal32_at(w0, j, k0, k1, stream):
    """Float32 normal j of a stream whose 32-bit word j is w (fallback (t, stream, 2, j))."""
    w = np.uint32(w0)
    idx = np.intp(w & _U32_FF)
    rabs = (w >> _U32_9) & _U32_M23
    if rabs < _KI32[idx]:
        x = np.float32(rabs) * _WI32[idx]
        return -x if (w >> _U32_8) & _U32_1 else x
    return _zig32(w, k0, k1, _ZERO, stream, _TAG32, j, _ZERO)[0]


@kernel
def _fill_normal64_range(k0, k1, stream, out, lo, hi, scale, shift):
    """out[j - lo] = shift + scale·z_j for the float64 normals j = lo..hi-1 of the stream."""
    blk = lo // 4
    j = lo
    while j < hi:
        w0, w1, w2, w3 = _philox(_U(blk), stream, _ZERO, _ZERO, k0, k1)
        j0 = 4 * blk
        if j == j0 and j0 + 4 <= hi:  # a whole block
            out[j - lo] = shift + scale * _normal64_at(w0, _U(j), k0, k1, stream)
            out[j + 1 - lo] = shift + scale * _normal64_at(w1, _U(j + 1), k0, k1, stream)
            out[j + 2 - lo] = shift + scale * _normal64_at(w2, _U(j + 2), k0, k1, stream)
            out[j + 3 - lo] = shift + scale * _normal64_at(w3, _U(j + 3), k0, k1, stream)
            j += 4
        else:
            while j < min(j0 + 4, hi):
                lane = j - j0
                w = w0 if lane == 0 else (w1 if lane == 1 else (w2 if lane == 2 else w3))
                out[j - lo] = shift + scale * _normal64_at(w, _U(j), k0, k1, stream)
                j += 1
        blk += 1


@kernel
def _fill_normal32_range(k0, k1, stream, out, lo, hi, scale, shift):
    """out[j - lo] = float32(shift + scale·z_j) for the float32 normals j = lo..hi-1 (8 per
    Philox block: normal j is the low (even j) or high (odd j) half of word ⌊j/2⌋)."""
    blk = lo // 8
    j = lo
    while j < hi:
        w0, w1, w2, w3 = _philox(_U(blk), stream, _ZERO, _ZERO, k0, k1)
        j0 = 8 * blk
        if j == j0 and j0 + 8 <= hi:  # a whole block
            z = _normal32_at(np.uint32(w0 & _MASK32), _U(j0), k0, k1, stream)
            out[j0 - lo] = np.float32(shift + scale * np.float64(z))
            z = _normal32_at(np.uint32(w0 >> _S32), _U(j0 + 1), k0, k1, stream)
            out[j0 + 1 - lo] = np.float32(shift + scale * np.float64(z))
            z = _normal32_at(np.uint32(w1 & _MASK32), _U(j0 + 2), k0, k1, stream)
            out[j0 + 2 - lo] = np.float32(shift + scale * np.float64(z))
            z = _normal32_at(np.uint32(w1 >> _S32), _U(j0 + 3), k0, k1, stream)
            out[j0 + 3 - lo] = np.float32(shift + scale * np.float64(z))
            z = _normal32_at(np.uint32(w2 & _MASK32), _U(j0 + 4), k0, k1, stream)
            out[j0 + 4 - lo] = np.float32(shift + scale * np.float64(z))
            z = _normal32_at(np.uint32(w2 >> _S32), _U(j0 + 5), k0, k1, stream)
            out[j0 + 5 - lo] = np.float32(shift + scale * np.float64(z))
            z = _normal32_at(np.uint32(w3 & _MASK32), _U(j0 + 6), k0, k1, stream)
            out[j0 + 6 - lo] = np.float32(shift + scale * np.float64(z))
            z = _normal32_at(np.uint32(w3 >> _S32), _U(j0 + 7), k0, k1, stream)
            out[j0 + 7 - lo] = np.float32(shift + scale * np.float64(z))
            j += 8
        else:
            while j < min(j0 + 8, hi):
                lane = (j - j0) // 2
                w = w0 if lane == 0 else (w1 if lane == 1 else (w2 if lane == 2 else w3))
                v = np.uint32(w >> _S32) if (j - j0) & 1 else np.uint32(w & _MASK32)
                z = _normal32_at(v, _U(j), k0, k1, stream)
                out[j - lo] = np.float32(shift + scale * np.float64(z))
                j += 1
        blk += 1


@kernel
def _fill_segments64(k0, k1, out, offsets, streams, scales, shifts):
    """Fill the segments out[offsets[s]:offsets[s+1]] with shift_s + scale_s·N(0, 1) of stream
    streams[s] (normal j of the stream goes to out[offsets[s] + j]); serial, float64."""
    for s in range(streams.shape[0]):
        a = offsets[s]
        b = offsets[s + 1]
        _fill_normal64_range(k0, k1, streams[s], out[a:b], 0, b - a, scales[s], shifts[s])


@kernel
def _fill_segments32(k0, k1, out, offsets, streams, scales, shifts):
    """:func:`_fill_segments64` for float32 ``out``."""
    for s in range(streams.shape[0]):
        a = offsets[s]
        b = offsets[s + 1]
        _fill_normal32_range(k0, k1, streams[s], out[a:b], 0, b - a, scales[s], shifts[s])


@kernel
def _chunks(offsets):
    """First chunk index of every segment (and the total) for chunks of :data:`_CHUNK`."""
    ns = offsets.shape[0] - 1
    first = np.empty(ns + 1, np.int64)
    first[0] = 0
    for s in range(ns):
        first[s + 1] = first[s] + (offsets[s + 1] - offsets[s] + _CHUNK - 1) // _CHUNK
    return first


@kernel(parallel=True)
def _pfill_segments64(k0, k1, out, offsets, streams, scales, shifts):
    """:func:`_fill_segments64` with the segments cut into chunks of :data:`_CHUNK` normals
    spread over numba's threads (same numbers: each normal depends on its index only)."""
    first = _chunks(offsets)
    for t in prange(first[-1]):
        s = np.searchsorted(first, t, side="right") - 1
        a = offsets[s]
        lo = (t - first[s]) * _CHUNK
        hi = min(lo + _CHUNK, offsets[s + 1] - a)
        _fill_normal64_range(k0, k1, streams[s], out[a + lo:a + hi], lo, hi, scales[s],
                             shifts[s])


@kernel(parallel=True)
def _pfill_segments32(k0, k1, out, offsets, streams, scales, shifts):
    """:func:`_pfill_segments64` for float32 ``out``."""
    first = _chunks(offsets)
    for t in prange(first[-1]):
        s = np.searchsorted(first, t, side="right") - 1
        a = offsets[s]
        lo = (t - first[s]) * _CHUNK
        hi = min(lo + _CHUNK, offsets[s + 1] - a)
        _fill_normal32_range(k0, k1, streams[s], out[a + lo:a + hi], lo, hi, scales[s],
                             shifts[s])


@kernel
def _fill_uniform(k0, k1, stream, out):
    """out[j] = ⌊w_j / 2^11⌋ 2^-53 ∈ [0, 1), w_j word j of the stream (float64)."""
    n = out.shape[0]
    for blk in range((n + 3) // 4):
        w = _philox(_U(blk), stream, _ZERO, _ZERO, k0, k1)
        for lane in range(4):
            j = 4 * blk + lane
            if j < n:
                out[j] = np.float64(w[lane] >> _S11) * _INV53


@kernel
def _fill_integers(k0, k1, stream, k, out):
    """out[j] = ⌊w_j k / 2^64⌋ ∈ [0, k) (int64), w_j word j of the stream."""
    n = out.shape[0]
    ku = _U(k)
    for blk in range((n + 3) // 4):
        w = _philox(_U(blk), stream, _ZERO, _ZERO, k0, k1)
        for lane in range(4):
            j = 4 * blk + lane
            if j < n:
                hi, _ = _mulhilo(w[lane], ku)
                out[j] = np.int64(hi)


@kernel
def _fill_bernoulli(k0, k1, stream, p, out):
    """out[j] = 1 if u_j < p else 0 (any float dtype), u_j the uniforms of the stream."""
    n = out.shape[0]
    for blk in range((n + 3) // 4):
        w = _philox(_U(blk), stream, _ZERO, _ZERO, k0, k1)
        for lane in range(4):
            j = 4 * blk + lane
            if j < n:
                out[j] = 1.0 if np.float64(w[lane] >> _S11) * _INV53 < p else 0.0


@kernel
def _seq_normal64(k0, k1, c0, c1, c2, c3, out):
    """numpy's ``standard_normal`` (float64) on the sequential stream at counter c, the ziggurat
    consuming the words in order, rejected ones included: ``Generator(Philox(key=k,
    counter=c - 1)).standard_normal(n)`` up to the last bits of the tables."""
    j = _ZERO
    for i in range(out.shape[0]):
        r = _seq_word(k0, k1, c0, c1, c2, c3, j)
        out[i], j = _zig64(r, k0, k1, c0, c1, c2, c3, j + _ONE)


@kernel
def _seq_normal32(k0, k1, c0, c1, c2, c3, out):
    """numpy's ``standard_normal(dtype=float32)`` on the sequential 32-bit stream at counter c."""
    j = _ZERO
    for i in range(out.shape[0]):
        r = _seq_word32(k0, k1, c0, c1, c2, c3, j)
        out[i], j = _zig32(r, k0, k1, c0, c1, c2, c3, j + _ONE)


# ============================================================================ tables
def _compute_ziggurat_tables(n: int = 256, dps: int = 40):
    r"""The ziggurat of the unnormalised density :math:`f(x) = e^{-x^2/2}`, in mpmath.

    n strips of equal area v: strip 0 is the base, the rectangle :math:`[0, r] \times
    [0, f(r)]` plus the tail, :math:`v = r f(r) + \sqrt{\pi/2}\,\mathrm{erfc}(r/\sqrt2)`;
    strip i ≥ 1 is :math:`[0, x_i] \times [f(x_i), f(x_{i-1})]` with :math:`x_{n-1} = r`,
    :math:`f(x_{i-1}) = f(x_i) + v/x_i` and :math:`x_0 = 0`. The tail start r is the root of
    the closure condition :math:`f(x_1) + v/x_1 = 1` (the top strip has area v too).

    Returns (r, v, [x_1, ..., x_{n-1}]) as mpmath numbers.
    """
    import mpmath as mp

    with mp.workdps(dps):
        def f(x):
            return mp.exp(-x * x / 2)

        def abscissae(r):
            v = r * f(r) + mp.sqrt(mp.pi / 2) * mp.erfc(r / mp.sqrt(2))
            x = [mp.mpf(0)] * n
            x[n - 1] = r
            for i in range(n - 1, 1, -1):
                x[i - 1] = mp.sqrt(-2 * mp.log(f(x[i]) + v / x[i]))
            return x, v

        def closure(r):
            x, v = abscissae(r)
            return f(x[1]) + v / x[1] - 1

        r = mp.findroot(closure, mp.mpf("3.6541528853610088"))
        x, v = abscissae(r)
        return +r, +v, [+t for t in x[1:]]


def _table_arrays(r, v, x, bits):
    """(ki, wi, fi) of the 64-bit (``bits`` = 52) or 32-bit (23) ziggurat, from mpmath values:
    wi[i] = x_i/2^bits (wi[0] = v/f(r)/2^bits), ki[i] = ⌊2^bits x_{i-1}/x_i⌋ (ki[0] =
    ⌊2^bits r f(r)/v⌋, ki[1] = 0), fi[i] = f(x_i) (fi[0] = 1)."""
    import mpmath as mp

    n = len(x) + 1
    ftype, ktype = (np.float64, np.uint64) if bits == 52 else (np.float32, np.uint32)
    scale = mp.mpf(2) ** bits
    with mp.workdps(40):
        fr = mp.exp(-r * r / 2)
        xs = [v / fr] + list(x)  # x_0 of the base strip: its rectangle-equivalent width
        wi = np.array([float(t / scale) for t in xs]).astype(ftype)
        ki = np.zeros(n, ktype)
        ki[0] = int(mp.floor(scale * r / xs[0]))
        for i in range(2, n):
            ki[i] = int(mp.floor(scale * xs[i - 1] / xs[i]))
        fi = np.array([1.0] + [float(mp.exp(-t * t / 2)) for t in x]).astype(ftype)
    return ki, wi, fi


def ziggurat_tables(dtype=np.float64):
    """(ki, wi, fi, r) of the float64 or float32 ziggurat (read-only arrays).

    Stored in :mod:`gradexp.mc._ziggurat_tables`, generated from
    :func:`_compute_ziggurat_tables` by ``python -m gradexp.mc._philox`` (the tests regenerate
    them and compare bit for bit).
    """
    if np.dtype(dtype) == np.float64:
        return _KI64, _WI64, _FI64, _ZR
    if np.dtype(dtype) == np.float32:
        return _KI32, _WI32, _FI32, _ZR
    raise ValueError(f"dtype must be float64 or float32, got {np.dtype(dtype)}")


def _tables_source() -> str:
    """The text of :mod:`gradexp.mc._ziggurat_tables` (recomputed with mpmath)."""
    r, v, x = _compute_ziggurat_tables()
    k64, w64, f64 = _table_arrays(r, v, x, 52)
    k32, w32, f32 = _table_arrays(r, v, x, 23)

    def block(name, items, per):
        rows = [", ".join(items[i:i + per]) for i in range(0, len(items), per)]
        return f"{name} = (\n" + "".join(f"    {row},\n" for row in rows) + ")\n"

    return (
        '"""Ziggurat tables of the standard normal (256 strips). Generated by\n'
        "``python -m gradexp.mc._philox`` from gradexp.mc._philox._compute_ziggurat_tables\n"
        '(mpmath, 40 digits): do not edit."""\n\n'
        f'R = "{float(r).hex()}"  # tail start r = {_mp_str(r)}\n\n'
        + block("KI64", [str(int(k)) for k in k64], 4)
        + block("WI64", [f'"{float(t).hex()}"' for t in w64], 3)
        + block("FI64", [f'"{float(t).hex()}"' for t in f64], 3)
        + block("KI32", [str(int(k)) for k in k32], 6)
        + block("WI32", [f'"{float(t).hex()}"' for t in w32], 3)
        + block("FI32", [f'"{float(t).hex()}"' for t in f32], 3)
    )


def _mp_str(x) -> str:
    import mpmath as mp

    return mp.nstr(x, 30)


# ============================================================================ Python API
def key_from_seed(seed) -> tuple[int, int]:
    """The Philox key (k0, k1) of a :class:`numpy.random.SeedSequence` (or anything
    :func:`gradexp._random.as_seed_sequence` accepts): its first two 64-bit state words."""
    from .._random import as_seed_sequence

    ss = seed if isinstance(seed, np.random.SeedSequence) else as_seed_sequence(seed, name="seed")
    k = ss.generate_state(2, np.uint64)
    return int(k[0]), int(k[1])


def stream_id(tensor: int, layer: int = 0, batch: int = 0) -> int:
    """The 64-bit stream id ``tensor + 2**8 layer + 2**32 batch`` (counter word 1)."""
    for name, val, top in (("tensor", tensor, 1 << 8), ("layer", layer, 1 << 24),
                           ("batch", batch, 1 << 32)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(val).__name__}")
        if not 0 <= val < top:
            raise ValueError(f"{name} must lie in [0, {top}), got {val}")
    return int(tensor) + (int(layer) << 8) + (int(batch) << 32)


#: held while a ``prange`` fill runs: numba's workqueue threading layer aborts the process on
#: concurrent parallel launches, so a second thread that finds it taken fills serially
#: instead (the same numbers)
_PARALLEL_LOCK = threading.Lock()


def _fill_prepared(k0, k1, out, offsets, streams, scales, shifts, parallel=False):
    """:func:`fill_normal` on checked arguments (uint64 key words, int64 offsets, uint64
    streams, float64 scales and shifts): the kernel call and nothing else."""
    if out.dtype == np.float64:
        serial, par = _fill_segments64, _pfill_segments64
    else:
        serial, par = _fill_segments32, _pfill_segments32
    if parallel and _PARALLEL_LOCK.acquire(blocking=False):
        try:
            par(k0, k1, out, offsets, streams, scales, shifts)
        finally:
            _PARALLEL_LOCK.release()
    else:
        serial(k0, k1, out, offsets, streams, scales, shifts)


def _key_words(key):
    if len(key) != 2:
        raise ValueError(f"key must be a pair of 64-bit words, got {key!r}")
    return _U(key[0]), _U(key[1])


def fill_normal(key, streams, out, *, offsets=None, scales=1.0, shifts=0.0,
                parallel=False) -> np.ndarray:
    """Fill ``out`` (1-D float64 or float32, C-contiguous) with Gaussian variates in place.

    With ``offsets`` (length len(streams) + 1), segment s = out[offsets[s]:offsets[s+1]]
    receives ``shifts[s] + scales[s] * z`` with z the first normals of stream ``streams[s]``;
    without, ``streams`` is one stream id for the whole of ``out``. ``parallel=True`` spreads
    chunks of counters over numba's threads (same numbers); while another thread runs a
    parallel fill, the call fills serially (numba's workqueue layer is not re-entrant).
    """
    if not isinstance(out, np.ndarray) or out.ndim != 1 or not out.flags.c_contiguous:
        raise TypeError("out must be a 1-D C-contiguous numpy array")
    if out.dtype not in (np.float64, np.float32):
        raise TypeError(f"out must be float64 or float32, got {out.dtype}")
    st = np.atleast_1d(np.asarray(streams, dtype=np.uint64))
    if offsets is None:
        if st.size != 1:
            raise ValueError("several streams need offsets")
        off = np.array([0, out.size], np.int64)
    else:
        off = np.asarray(offsets, dtype=np.int64)
        if off.shape != (st.size + 1,) or off[0] < 0 or off[-1] > out.size or np.any(np.diff(off) < 0):
            raise ValueError("offsets must be non-decreasing, of length len(streams) + 1, "
                             "within out")
    sc = np.broadcast_to(np.asarray(scales, dtype=np.float64), st.shape).copy()
    sh = np.broadcast_to(np.asarray(shifts, dtype=np.float64), st.shape).copy()
    k0, k1 = _key_words(key)
    _fill_prepared(k0, k1, out, off, st, sc, sh, parallel)
    return out


def normal(key, stream, n, dtype=np.float64, *, parallel=False) -> np.ndarray:
    """The first ``n`` standard normal variates of a stream (see :func:`fill_normal`)."""
    return fill_normal(key, stream, np.empty(int(n), dtype), parallel=parallel)


def fill_uniform(key, stream, out) -> np.ndarray:
    """Fill the 1-D float64 array ``out`` with the uniforms [0, 1) of a stream."""
    k0, k1 = _key_words(key)
    _fill_uniform(k0, k1, _U(stream), out)
    return out


def fill_bernoulli(key, stream, p, out) -> np.ndarray:
    """Fill the 1-D float array ``out`` with 1 (probability ``p``) or 0 from a stream."""
    k0, k1 = _key_words(key)
    _fill_bernoulli(k0, k1, _U(stream), float(p), out)
    return out


def fill_integers(key, stream, k, out) -> np.ndarray:
    """Fill the 1-D int64 array ``out`` with integers in [0, k) from a stream."""
    k0, k1 = _key_words(key)
    _fill_integers(k0, k1, _U(stream), int(k), out)
    return out


if __name__ == "__main__":  # regenerate the tables module
    import pathlib

    path = pathlib.Path(__file__).with_name("_ziggurat_tables.py")
    path.write_text(_tables_source())
    print(f"wrote {path}")
