"""Tests of the counter-based generator (gradexp/mc/_philox.py).

Bit for bit against numpy's ``Philox`` (raw words, many keys and counters, carries), the
ziggurat against numpy's ``standard_normal`` on the same words, the tables against their
mpmath recipe; kernels against ``.py_func``, parallel against serial, any split of the
counters against one fill; then the distribution (moments, tails, Kolmogorov-Smirnov) and
the independence of neighbouring streams, with tolerances from standard errors.
"""

from __future__ import annotations

import math
import pathlib

import numba
import numpy as np
import pytest
from scipy import special, stats

from gradexp.mc import _philox as P

U = np.uint64
M64 = (1 << 64) - 1
rng_keys = np.random.default_rng(20261129)
KEYS = [(0, 0), (M64, M64), (0x123456789ABCDEF0, 0xFEDCBA9876543210)] + [
    tuple(int(v) for v in rng_keys.integers(0, 2**64, 2, dtype=np.uint64)) for _ in range(5)]
COUNTERS = [0, 1, M64, M64 - 2, (1 << 128) - 3, (1 << 192) - 1, (1 << 256) - 2,
            int(rng_keys.integers(0, 2**63)) << 70]


def words(c: int) -> list[int]:
    """A 256-bit integer as 4 little-endian 64-bit words."""
    return [(c >> (64 * i)) & M64 for i in range(4)]


def numpy_philox(key, counter):
    """numpy's Philox whose first block is Philox_key(counter) (numpy starts at counter + 1)."""
    c = (counter - 1) % (1 << 256)
    return np.random.Philox(key=np.array(key, np.uint64), counter=np.array(words(c), np.uint64))


def ukey(key):
    return U(key[0]), U(key[1])


_HELPERS = ("_philox", "_add_counter", "_seq_word", "_seq_word32", "_zig64", "_zig32",
            "_normal64_at", "_normal32_at")


@pytest.fixture
def pure_python(monkeypatch):
    """Run the kernels' Python bodies all the way down (helpers replaced by their .py_func,
    the 128-bit products by exact Python integers), wrapping uint64 arithmetic."""
    for name in _HELPERS:
        monkeypatch.setattr(P, name, getattr(P, name).py_func)
    with np.errstate(over="ignore"):
        yield


# ============================================================================ Philox bits
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("counter", COUNTERS)
def test_raw_words_match_numpy_philox(key, counter):
    """Sequential words from counter c, across 256-bit carries, equal numpy's random_raw."""
    n = 37  # not a multiple of 4
    out = np.empty(n, np.uint64)
    P._fill_raw(*ukey(key), *[U(w) for w in words(counter)], out)
    np.testing.assert_array_equal(out, numpy_philox(key, counter).random_raw(n))


def test_philox_py_func_matches_compiled_and_numpy():
    """The round function in pure Python (exact integer products) against the compiled one
    (the 128-bit multiply intrinsic) and numpy."""
    for key in KEYS[:4]:
        for counter in COUNTERS[:5]:
            c = [U(w) for w in words(counter)]
            with np.errstate(over="ignore"):
                py = P._philox.py_func(*c, *ukey(key))
            jit = P._philox(*c, *ukey(key))
            ref = numpy_philox(key, counter).random_raw(4)
            assert [int(v) for v in py] == [int(v) for v in jit] == [int(v) for v in ref]


def test_mulhilo_against_python_integers():
    r = np.random.default_rng(3)
    pairs = [(M64, M64), (0, M64), (1, 1 << 63)] + [
        tuple(int(v) for v in r.integers(0, 2**64, 2, dtype=np.uint64)) for _ in range(50)]
    kern = numba.njit(lambda a, b: P._mulhilo(a, b))
    for a, b in pairs:
        hi, lo = kern(U(a), U(b))
        assert (int(hi) << 64) + int(lo) == a * b
        assert P._mulhilo(U(a), U(b)) == (U((a * b) >> 64), U((a * b) & M64))


def test_add_counter_carries():
    for c, n in [(M64, 1), ((1 << 192) - 1, 5), ((1 << 256) - 1, 1), (12345, M64)]:
        got = P._add_counter(*[U(w) for w in words(c)], U(n))
        assert [int(v) for v in got] == words((c + n) % (1 << 256))


@pytest.mark.parametrize("stream", [1, 7, P.stream_id(P.WEIGHT, 49, 3)])
def test_stream_words_are_numpy_philox_blocks(stream):
    """Word j of stream s is lane j mod 4 of the block at counter (j // 4, s, 0, 0): checked
    through the uniforms (53 high bits) and the integers (high word of w·k)."""
    key = KEYS[2]
    n = 103
    raw = numpy_philox(key, stream << 64).random_raw(n)
    u = P.fill_uniform(key, stream, np.empty(n))
    np.testing.assert_array_equal(u, (raw >> U(11)).astype(np.float64) * 2.0**-53)
    k = 10
    ints = P.fill_integers(key, stream, k, np.empty(n, np.int64))
    np.testing.assert_array_equal(ints, [(int(w) * k) >> 64 for w in raw])


# ============================================================================ ziggurat
@pytest.mark.parametrize("key,counter", [(KEYS[2], 6), (KEYS[4], M64), (KEYS[0], 1 << 130)])
def test_sequential_float32_normals_equal_numpy_bit_for_bit(key, counter):
    """Words taken in order (rejections included): numpy's standard_normal(dtype=float32)."""
    n = 300_000  # ~90 draws in the tail strip, ~3000 wedge tests
    out = np.empty(n, np.float32)
    P._seq_normal32(*ukey(key), *[U(w) for w in words(counter)], out)
    ref = np.random.Generator(numpy_philox(key, counter)).standard_normal(n, dtype=np.float32)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("key,counter", [(KEYS[2], 6), (KEYS[4], M64), (KEYS[0], 1 << 130)])
def test_sequential_float64_normals_equal_numpy(key, counter):
    """The same in float64: numpy's tables are a float64 recurrence, ours are mpmath-rounded,
    so values agree to the tables' difference (measured 8e-15 relative), and a single word
    consumed differently (a rejection mishandled) would misalign everything after it."""
    n = 300_000
    out = np.empty(n)
    P._seq_normal64(*ukey(key), *[U(w) for w in words(counter)], out)
    ref = np.random.Generator(numpy_philox(key, counter)).standard_normal(n)
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=0)
    ki, wi, fi, r = P.ziggurat_tables()
    assert np.sum(np.abs(out) > r) > 20  # the tail sampler was exercised


def test_tables_are_their_mpmath_recipe():
    """The stored tables equal a fresh mpmath computation bit for bit."""
    path = pathlib.Path(P.__file__).with_name("_ziggurat_tables.py")
    assert path.read_text() == P._tables_source()


def test_ziggurat_strips_have_equal_area():
    """Every strip of the mpmath ziggurat has area v, the top one closes, and r is Marsaglia
    & Tsang's published tail start 3.6541528853610088."""
    import mpmath as mp

    r, v, x = P._compute_ziggurat_tables()
    with mp.workdps(40):
        f = [mp.exp(-t * t / 2) for t in x]
        areas = [x[0] * (1 - f[0])] + [x[i] * (f[i - 1] - f[i]) for i in range(1, len(x))]
        assert max(abs(a / v - 1) for a in areas) < mp.mpf(10) ** -30
        assert abs(r * mp.exp(-r * r / 2) + mp.sqrt(mp.pi / 2) * mp.erfc(r / mp.sqrt(2)) - v) < 1e-35
    assert abs(float(r) - 3.6541528853610088) < 1e-15
    ki, wi, fi, zr = P.ziggurat_tables()
    assert zr == float(r) and ki[1] == 0 and fi[0] == 1.0
    # immediate acceptance (abscissa (ki[i] - 1) wi[i] at most, computed as the kernel does)
    # never reaches past x_{i-1}, the width of the strip above (r for the base strip)
    top = (ki - U(1)).astype(np.float64) * wi
    assert np.all(top[2:] <= wi[1:-1] * 2.0**52) and top[0] <= r
    ki32, wi32, _, _ = P.ziggurat_tables(np.float32)
    top32 = (ki32 - np.uint32(1)).astype(np.float32) * wi32
    assert np.all(top32[2:] <= wi32[1:-1] * np.float32(2.0**23)) and top32[0] <= np.float32(r)


def test_zig_py_func_matches_compiled(pure_python):
    """The ziggurat in Python (tables, branches) against the compiled kernels, on words that
    hit the fast path, the wedge and the tail."""
    key = ukey(KEYS[3])
    c = [U(0), U(5), U(1), U(0)]
    raw = numpy_philox(KEYS[3], 9).random_raw(3000)
    compiled = {64: P._zig64, 32: P._zig32}
    wedge_or_tail = 0
    for w in raw:
        for bits, r in ((64, w), (32, np.uint32(int(w) & 0xFFFFFFFF))):
            py = getattr(P, f"_zig{bits}")(r, *key, *c, U(0))  # the patched Python body
            jit = compiled[bits](r, *key, *c, U(0))
            assert py[0] == jit[0] and int(py[1]) == int(jit[1])
            wedge_or_tail += int(py[1]) > 0
    assert wedge_or_tail > 10


# ============================================================================ streams and fills
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fill_py_func_matches_compiled(dtype, monkeypatch):
    key = KEYS[5]
    full = P.normal(key, 11, 300, dtype)
    fill = P._fill_normal64_range if dtype == np.float64 else P._fill_normal32_range
    for name in _HELPERS:
        monkeypatch.setattr(P, name, getattr(P, name).py_func)
    part = np.empty(290, dtype)
    with np.errstate(over="ignore"):
        fill.py_func(*ukey(key), U(11), part, 5, 295, 1.0, 0.0)
    np.testing.assert_array_equal(part, full[5:295])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_any_split_of_the_counters_gives_the_same_numbers(dtype):
    key = KEYS[5]
    full = P.normal(key, 11, 5003, dtype)
    r = np.random.default_rng(1)
    fill = P._fill_normal64_range if dtype == np.float64 else P._fill_normal32_range
    for _ in range(20):
        lo, hi = sorted(int(v) for v in r.integers(0, 5004, 2))
        part = np.empty(hi - lo, dtype)
        fill(*ukey(key), U(11), part, lo, hi, 1.0, 0.0)
        np.testing.assert_array_equal(part, full[lo:hi])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parallel_equals_serial_whatever_the_threads(dtype):
    key = KEYS[6]
    offsets = np.array([0, 3, 3, 70_001, 70_100, 200_000])
    streams = [P.stream_id(P.WEIGHT, n) for n in range(5)]
    scales = [1.0, 2.0, 0.5, 3.0, 1.0]
    shifts = [0.0, 1.0, -1.0, 0.0, 2.0]
    serial = P.fill_normal(key, streams, np.empty(200_000, dtype), offsets=offsets,
                           scales=scales, shifts=shifts)
    old = numba.get_num_threads()
    try:
        for nt in sorted({1, old}):
            numba.set_num_threads(nt)
            par = P.fill_normal(key, streams, np.empty(200_000, dtype), offsets=offsets,
                                scales=scales, shifts=shifts, parallel=True)
            np.testing.assert_array_equal(par, serial)
    finally:
        numba.set_num_threads(old)
    # segment s is shift + scale * (the first normals of its stream)
    for s in range(5):
        a, b = offsets[s], offsets[s + 1]
        z = P.normal(key, streams[s], b - a, dtype).astype(np.float64)
        np.testing.assert_array_equal(serial[a:b], (shifts[s] + scales[s] * z).astype(dtype))


def test_float32_normals_from_half_words():
    """Float32 normal j of a stream uses the low (even j) or high (odd j) half of word j//2."""
    key, stream = KEYS[2], 3
    raw = numpy_philox(key, stream << 64).random_raw(500)
    halves = np.empty(1000, np.uint32)
    halves[0::2] = (raw & U(0xFFFFFFFF)).astype(np.uint32)
    halves[1::2] = (raw >> U(32)).astype(np.uint32)
    z = P.normal(key, stream, 1000, np.float32)
    ki, wi, fi, _ = P.ziggurat_tables(np.float32)
    idx = (halves & 0xFF).astype(int)
    rabs = (halves >> 9) & 0x7FFFFF
    fast = rabs < ki[idx]
    expect = np.where((halves >> 8) & 1, -1, 1) * (rabs.astype(np.float32) * wi[idx])
    np.testing.assert_array_equal(z[fast], expect[fast].astype(np.float32))
    assert fast.mean() > 0.95 and not fast.all()
    for j in np.flatnonzero(~fast):  # the rejections continue on the fallback stream (t, s, 2, j)
        x, _ = P._zig32(halves[j], *ukey(key), U(0), U(stream), U(2), U(j), U(0))
        assert z[j] == x


def test_stream_id_and_key_validation():
    assert P.stream_id(P.WEIGHT, 3, 2) == P.WEIGHT + 3 * 256 + 2 * 2**32
    with pytest.raises(ValueError, match="layer"):
        P.stream_id(P.WEIGHT, 1 << 24)
    with pytest.raises(ValueError, match="tensor"):
        P.stream_id(256)
    with pytest.raises(TypeError, match="batch"):
        P.stream_id(0, 0, 1.5)
    ss = np.random.SeedSequence(5)
    assert P.key_from_seed(ss) == tuple(int(v) for v in ss.generate_state(2, np.uint64))
    assert P.key_from_seed(5) == P.key_from_seed(np.random.SeedSequence(5))
    with pytest.raises(TypeError, match="out"):
        P.fill_normal((1, 2), 0, np.empty((2, 2)))
    with pytest.raises(TypeError, match="out"):
        P.fill_normal((1, 2), 0, np.empty(4, np.int64))
    with pytest.raises(ValueError, match="offsets"):
        P.fill_normal((1, 2), [0, 1], np.empty(4), offsets=[0, 5, 4])
    with pytest.raises(ValueError, match="key"):
        P.fill_normal((1, 2, 3), 0, np.empty(4))


# ============================================================================ distribution
def _moment_z(zk, exact):
    """z-score of the sample mean of z**k against its exact value (SE from the sample)."""
    return (zk.mean() - exact) / (zk.std(ddof=1) / math.sqrt(zk.size))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_moments_within_standard_errors(dtype):
    """E z^k = 0, 1, 0, 3, 0, 15 for k = 1..6 (mean, variance, skewness, kurtosis and the
    6th moment, which weighs the tails), each within 5 standard errors."""
    z = P.normal(P.key_from_seed(1), P.stream_id(P.INPUT), 4_000_000, dtype, parallel=True)
    z = z.astype(np.float64)
    zk = z.copy()
    for k, exact in zip(range(1, 7), (0.0, 1.0, 0.0, 3.0, 0.0, 15.0)):
        if k > 1:
            zk *= z
        assert abs(_moment_z(zk, exact)) < 5, (k, _moment_z(zk, exact))


def test_tail_probabilities_within_standard_errors():
    """P(z > t) for t = 2, r (the ziggurat's tail start), 4, 4.5 against Φ(−t), binomial SE."""
    n = 10_000_000
    z = P.normal(P.key_from_seed(2), 0, n, parallel=True)
    _, _, _, r = P.ziggurat_tables()
    for t in (2.0, r, 4.0, 4.5):
        p = special.ndtr(-t)
        for count in (np.sum(z > t), np.sum(z < -t)):
            assert abs(count - n * p) < 5 * math.sqrt(n * p * (1 - p)), (t, count, n * p)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kolmogorov_smirnov_on_1e7_draws(dtype):
    z = P.normal(P.key_from_seed(3), P.stream_id(P.WEIGHT, 1), 10_000_000, dtype, parallel=True)
    res = stats.kstest(z.astype(np.float64), special.ndtr)
    assert res.pvalue > 1e-3, res


def _corr_z(a, b):
    """Pearson correlation times sqrt(n): N(0, 1) for independent streams."""
    a = a - a.mean()
    b = b - b.mean()
    return float(a @ b / math.sqrt((a @ a) * (b @ b)) * math.sqrt(a.size))


def test_neighbouring_streams_are_uncorrelated():
    """Correlations between streams that differ in one coordinate (tensor, layer, batch,
    repetition key) and between neighbouring draws of one stream, within 5 SE; also of the
    squares (a dependence that leaves the values uncorrelated would show there)."""
    n = 400_000
    seeds = np.random.SeedSequence(4).spawn(2)
    k0, k1 = P.key_from_seed(seeds[0]), P.key_from_seed(seeds[1])
    base = P.normal(k0, P.stream_id(P.WEIGHT, 5), n)
    others = {
        "next layer": P.normal(k0, P.stream_id(P.WEIGHT, 6), n),
        "next tensor": P.normal(k0, P.stream_id(P.BIAS, 5), n),
        "next batch": P.normal(k0, P.stream_id(P.WEIGHT, 5, 1), n),
        "next repetition": P.normal(k1, P.stream_id(P.WEIGHT, 5), n),
        "lag 1": np.roll(base, 1),
        "lag 4 (next block)": np.roll(base, 4),
    }
    for name, other in others.items():
        for f in (lambda v: v, np.square):
            assert abs(_corr_z(f(base), f(other))) < 5, name
    z32 = P.normal(k0, P.stream_id(P.WEIGHT, 5), n, np.float32).astype(np.float64)
    # float32 neighbours share a 64-bit word: low and high halves must be independent
    assert abs(_corr_z(z32[0::2], z32[1::2])) < 5
    assert abs(_corr_z(z32[0::2] ** 2, z32[1::2] ** 2)) < 5


# ============================================================================ chains on Philox streams
CHAIN_CASES = [
    dict(activation="silu", residual=2, input_mean=0.5),
    dict(activation="dropout", activation_params={"keep_prob": 0.7}, bias_std=0.3,
         input_corr=0.4, upstream="cross_entropy", classes=3, eps=1e-3),
    dict(activation="relu", dtype=np.float32, weights="orthogonal", upstream="logistic"),
    dict(activation="tanh", input_corr="bt", weight_mean=0.5, upstream="mse"),
]


@pytest.mark.parametrize("kw", CHAIN_CASES)
def test_chain_numbers_identical_across_engines_threads_and_fills(kw):
    """The same seed gives the same chains on the wide engine (parallel fills over numba's
    threads, 1 or all of them) and on the threaded engine (serial fills, 1-3 threads)."""
    from gradexp.mc.chain import simulate_chain

    args = (5, 12, 10)
    ref = simulate_chain(*args, reps=5, rng=41, engine="compiled", threads=1, **kw)
    others = [simulate_chain(*args, reps=5, rng=41, engine="compiled", threads=t, **kw)
              for t in (2, 3)]
    old = numba.get_num_threads()
    try:
        for nt in sorted({1, old}):
            numba.set_num_threads(nt)
            others.append(simulate_chain(*args, reps=5, rng=41, engine="wide", **kw))
    finally:
        numba.set_num_threads(old)
    for other in others:
        for name in ("grad_norms", "var_product", "act_kurtosis", "weight_norms", "loss"):
            np.testing.assert_array_equal(getattr(other, name), getattr(ref, name))


def test_chain_tensors_are_the_documented_streams():
    """sample_chain(rng=s) draws tensor T of layer n from stream_id(T, n) under the key of
    the first child of s: W^n = σ_w (μ_w/σ_w + z), x = μ + σ z, G = z."""
    from gradexp.mc.chain import sample_chain

    d, B, N = 6, 5, 3
    ch = sample_chain(N, d, B, rng=9, input_mean=0.3, input_std=2.0, weight_mean=0.2,
                      init="lecun", bias_std=0.5)
    key = P.key_from_seed(np.random.SeedSequence(9).spawn(1)[0])
    g = 1 / math.sqrt(d)
    for n in range(N):
        z = P.normal(key, P.stream_id(P.WEIGHT, n), d * d).reshape(d, d)
        np.testing.assert_array_equal(ch.weights[n], g * z + g * 0.2)
        np.testing.assert_array_equal(ch.biases[n], 0.5 * P.normal(key, P.stream_id(P.BIAS, n), d))
    np.testing.assert_array_equal(ch.inputs, 0.3 + 2.0 * P.normal(key, P.stream_id(P.INPUT), B * d).reshape(B, d))
    np.testing.assert_array_equal(ch.upstream, P.normal(key, P.stream_id(P.UPSTREAM), B * d).reshape(B, d))


def test_fresh_batches_redraw_only_the_data_streams():
    """single_layer_ratio(batches=k): batch k uses the data streams of batch k and keeps the
    network, so repetition 0 with one batch equals batch 0 of a run with several."""
    from gradexp.mc import chain as C

    one = C.single_layer_ratio(16, 12, reps=3, batches=1, rng=2)
    many = C.single_layer_ratio(16, 12, reps=3, batches=4, rng=2, engine="compiled")
    spec = C.ChainSpec.from_options(1, (16, 16), 12, upstream="gaussian", weight_grads=False,
                                    corr_features=0)
    OUT4 = C._simulate(spec, 3, 2, batches=4)[0]
    OUT1 = C._simulate(spec, 3, 2, batches=1)[0]
    np.testing.assert_array_equal(OUT4[:, 0], OUT1)
    assert not np.array_equal(OUT4[:, 1], OUT4[:, 0])
    np.testing.assert_allclose(many.samples, (OUT4[..., 2, 0] / OUT4[..., 2, 1]).mean(axis=1))
    np.testing.assert_allclose(one.samples, OUT1[..., 2, 0] / OUT1[..., 2, 1])


def test_philox_agrees_with_the_numpy_oracle_in_distribution():
    """The package's Philox draws and the test oracle's numpy draws (tests/chain_oracle.py)
    estimate the same gradient growth rate and Thm 2.2 ratio: differences within 5 combined
    standard errors."""
    from chain_oracle import NumpyDrawer, simulate_numpy

    from gradexp.mc import _chain_kernels as K
    from gradexp.mc import chain as C
    from gradexp.mc._estimate import estimate
    from gradexp.mc._layout import _Layout

    spec = C.ChainSpec(10, 32, 32, corr_features=0, weight_grads=False)
    rates = [C.simulate_chain(spec, reps=48, rng=7).rate_between(),
             simulate_numpy(spec, 48, 7).rate_between()]
    z = (rates[0].mean - rates[1].mean) / math.hypot(rates[0].stderr, rates[1].stderr)
    assert abs(z) < 5, (rates, z)
    one = C.ChainSpec.from_options(1, (32, 32), 32, upstream="gaussian", weight_grads=False,
                                   corr_features=0)
    out = C._simulate(one, 400, 8, draw=NumpyDrawer(one, _Layout(one)))[0]
    ratios = [C.single_layer_ratio(32, 32, reps=400, rng=8).ratio,
              estimate(out[:, K.F_VAR_PRODUCT, 0] / out[:, K.F_VAR_PRODUCT, 1])]
    z = (ratios[0].mean - ratios[1].mean) / math.hypot(ratios[0].stderr, ratios[1].stderr)
    assert abs(z) < 5, (ratios, z)


def test_concurrent_wide_runs_fall_back_to_serial_fills():
    """Two Python threads running one-chain-at-a-time simulations at once: the second finds
    the parallel fill taken and fills serially (numba's workqueue layer cannot run two
    parallel kernels at once); the numbers are those of a lone run."""
    from concurrent.futures import ThreadPoolExecutor

    from gradexp.mc.chain import simulate_chain

    ref = simulate_chain(3, 64, 64, reps=3, rng=5, engine="wide")
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: simulate_chain(3, 64, 64, reps=3, rng=5, engine="wide"),
                             range(8)))
    for r in runs:
        np.testing.assert_array_equal(r.grad_norms, ref.grad_norms)


def test_one_draw_engine():
    """Philox is the only draw engine of the package: no ``rng_engine`` option."""
    from gradexp.mc.chain import CHAIN_OPTIONS, ChainSpec

    assert "rng_engine" not in CHAIN_OPTIONS
    with pytest.raises(TypeError, match="rng_engine"):
        ChainSpec.from_options(2, 4, 4, rng_engine="numpy")
