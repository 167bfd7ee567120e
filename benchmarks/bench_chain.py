"""Benchmark of the chain simulator (gradexp.mc.chain) against references measured in the same run.

Run by hand: ``python benchmarks/bench_chain.py [repeats]`` (best of ``repeats``, default 3).

1. Wide chains (depth 50, width 1024, batch 1024, forward + backward with weight gradients):
   achieved GFLOP/s (6·batch·width² flops per layer) as a fraction of numpy's BLAS matmul rate
   on the same shapes (the roofline), and the time against an equivalent PyTorch CPU loop and a
   plain-numpy loop, float64 and float32. Timed twice: the pass alone on a drawn network, and
   end to end including drawing the network (what ``simulate_chain`` costs).
2. Many small chains (depth 50, width 64, batch 64, 256 independent chains): gradexp's compiled
   engine (one chain per thread) against a PyTorch loop (default threads and one thread) and a
   plain-numpy loop over chains, end to end (drawing the networks included: ~55M Gaussian
   variates, which bound every implementation) and the pass alone on networks drawn beforehand.

Every implementation computes the same quantities: the per-layer norms of the gradients with
respect to the BatchNorm outputs and of the weight gradients, from a Gaussian upstream gradient.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from gradexp.mc import chain as C

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def best(fn, repeats=REPEATS):
    fn()  # warm-up (compilation, page faults, thread pools)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


# ----------------------------------------------------------------------------- references
def numpy_chain(x, ws, G):
    """Plain numpy: forward and exact backward of a BN-ReLU chain; per-layer norms."""
    xs, hs, sig = [x], [], []
    for w in ws:
        h = np.maximum(xs[-1], 0)
        z = h @ w
        mu, sd = z.mean(0), np.sqrt(z.var(0))
        xs.append((z - mu) / sd)
        hs.append(h)
        sig.append(sd)
    g = G
    gn, wn = [np.linalg.norm(g)], []
    for n in range(len(ws) - 1, -1, -1):
        xh = xs[n + 1]
        gz = (g - g.mean(0) - xh * (g * xh).mean(0)) / sig[n]
        wn.append(np.linalg.norm(hs[n].T @ gz))
        g = (gz @ ws[n].T) * (xs[n] > 0)
        gn.append(np.linalg.norm(g))
    return gn, wn


def torch_chain(torch, x, ws, G):
    """PyTorch autograd: the same chain; per-layer norms of activation and weight gradients."""
    xs = [x.requires_grad_(True)]
    for w in ws:
        z = torch.relu(xs[-1]) @ w
        y = torch.nn.functional.batch_norm(z, None, None, training=True, eps=1e-30)
        y.retain_grad()
        xs.append(y)
    (G * xs[-1]).sum().backward()
    gn = [float(v.grad.norm()) for v in xs]
    wn = [float(w.grad.norm()) for w in ws]
    return gn, wn


def draw_numpy(rng, depth, d, B, dtype):
    x = rng.standard_normal((B, d), dtype=dtype)
    ws = [rng.standard_normal((d, d), dtype=dtype) * dtype(math.sqrt(2 / d)) for _ in range(depth)]
    G = rng.standard_normal((B, d), dtype=dtype)
    return x, ws, G


def draw_torch(torch, gen, depth, d, B, tdtype):
    x = torch.randn(B, d, generator=gen, dtype=tdtype)
    ws = [(torch.randn(d, d, generator=gen, dtype=tdtype) * math.sqrt(2 / d)).requires_grad_(True)
          for _ in range(depth)]
    G = torch.randn(B, d, generator=gen, dtype=tdtype)
    return x, ws, G


# ----------------------------------------------------------------------------- wide chains
def wide(torch, dtype, depth=50, d=1024, B=1024):
    flops = 6.0 * B * d * d * depth
    print(f"\n== wide chain: depth {depth}, width {d}, batch {B}, {np.dtype(dtype).name} "
          f"({flops / 1e9:.0f} GFLOP per forward + backward)")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((B, d), dtype=dtype)
    w = rng.standard_normal((d, d), dtype=dtype)
    out = np.empty((B, d), dtype=dtype)
    outw = np.empty((d, d), dtype=dtype)
    t_mm = min(best(lambda: np.matmul(a, w, out=out)), best(lambda: np.matmul(a, w.T, out=out)))
    t_mmT = best(lambda: np.matmul(a.T, a, out=outw))
    roof = 2.0 * B * d * d / max(t_mm, t_mmT)
    print(f"numpy BLAS matmul rate (roofline): {roof / 1e9:.1f} GFLOP/s")
    # gradexp: the pass alone on a drawn network, and end to end
    net = C.sample_chain(depth, d, B, seed=1, dtype=dtype, corr_features=0)
    t_pass = best(lambda: net.run(keep_weight_grads=False))
    t_e2e = best(lambda: C.simulate_chain(depth, d, B, seed=1, dtype=dtype, corr_features=0,
                                          engine="wide"), repeats=max(1, REPEATS - 1))
    print(f"gradexp pass:       {t_pass:7.2f} s  {flops / t_pass / 1e9:6.1f} GFLOP/s  "
          f"= {flops / t_pass / roof:.2f} of roofline")
    print(f"gradexp end to end: {t_e2e:7.2f} s  {flops / t_e2e / 1e9:6.1f} GFLOP/s  "
          f"= {flops / t_e2e / roof:.2f} of roofline (includes drawing {depth * d * d / 1e6:.0f}M weights)")
    x, ws, G = draw_numpy(rng, depth, d, B, dtype)
    t_np = best(lambda: numpy_chain(x, ws, G), repeats=max(1, REPEATS - 1))
    print(f"numpy loop pass:    {t_np:7.2f} s  -> gradexp pass is {t_np / t_pass:.2f}x faster")
    res = {"roofline_fraction_pass": flops / t_pass / roof, "roofline_fraction_e2e": flops / t_e2e / roof,
           "speedup_vs_numpy": t_np / t_pass}
    if torch is not None:
        tdt = torch.float64 if dtype == np.float64 else torch.float32
        gen = torch.Generator().manual_seed(0)
        tx, tws, tG = draw_torch(torch, gen, depth, d, B, tdt)

        def tpass():
            for w in tws:
                w.grad = None
            torch_chain(torch, tx.detach().clone(), tws, tG)

        t_t = best(tpass, repeats=max(1, REPEATS - 1))

        def te2e():
            g2 = torch.Generator().manual_seed(1)
            torch_chain(torch, *draw_torch(torch, g2, depth, d, B, tdt))

        t_te = best(te2e, repeats=max(1, REPEATS - 1))
        print(f"torch loop pass:    {t_t:7.2f} s  -> gradexp/torch time ratio {t_pass / t_t:.2f}")
        print(f"torch end to end:   {t_te:7.2f} s  -> gradexp/torch time ratio {t_e2e / t_te:.2f}")
        res.update(torch_time_ratio_pass=t_pass / t_t, torch_time_ratio_e2e=t_e2e / t_te)
    return res


# ----------------------------------------------------------------------------- many small chains
class _Part:
    """Chains a:b of a gradexp buffer set (views), for running halves on two threads."""

    def __init__(self, buf, a, b):
        for k, v in vars(buf).items():
            setattr(self, k, v[a:b])


def many(torch, dtype, depth=50, d=64, B=64, n=256):
    from concurrent.futures import ThreadPoolExecutor

    print(f"\n== {n} small chains: depth {depth}, width {d}, batch {B}, {np.dtype(dtype).name}")
    threads = C._n_threads()
    t_g = best(lambda: C.simulate_chain(depth, d, B, reps=n, seed=2, dtype=dtype, corr_features=0,
                                        engine="compiled"))
    # the pass alone: networks drawn beforehand, chains split over the threads
    spec = C._make_spec(depth, d, B, activation="relu", activation_params=None, norm="batch",
                        bn_backward="full", eps=0.0, input_mean=0.0, input_std=1.0, input_corr=0.0,
                        residual=None, residual_scale=1.0, init="he", weight_mean=0.0, bias_std=0.0,
                        upstream="gaussian", n_classes=10, dtype=dtype, weight_grads=True,
                        corr_features=0)
    lay = C._Layout(spec)
    buf = C._Buffers(spec, lay, n)
    for i, s in enumerate(C.resolve_seed(2).spawn(n)):
        C._draw(C._stream(s), spec, lay, buf, i)
    parts = [_Part(buf, k * n // threads, (k + 1) * n // threads) for k in range(threads)]

    def g_pass():
        with C._single_threaded_blas(), ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda p: C._run(spec, lay, p, p.X.shape[0]), parts))

    t_gp = best(g_pass)
    print(f"gradexp, end to end (draws included): {t_g:7.3f} s   pass alone: {t_gp:7.3f} s "
          f"({threads} threads)")
    rng = np.random.default_rng(3)
    nets = [draw_numpy(rng, depth, d, B, dtype) for _ in range(n)]

    def np_loop():
        rng = np.random.default_rng(3)
        for _ in range(n):
            numpy_chain(*draw_numpy(rng, depth, d, B, dtype))

    t_np = best(np_loop, repeats=max(1, REPEATS - 1))
    t_npp = best(lambda: [numpy_chain(*net) for net in nets], repeats=max(1, REPEATS - 1))
    print(f"numpy loop, end to end: {t_np:7.3f} s -> gradexp {t_np / t_g:.1f}x faster;  "
          f"pass alone: {t_npp:7.3f} s -> gradexp {t_npp / t_gp:.1f}x faster")
    res = {"speedup_vs_numpy_e2e": t_np / t_g, "speedup_vs_numpy_pass": t_npp / t_gp}
    if torch is not None:
        tdt = torch.float64 if dtype == np.float64 else torch.float32
        old = torch.get_num_threads()
        for nt in sorted({old, 1}, reverse=True):
            torch.set_num_threads(nt)

            def t_loop():
                gen = torch.Generator().manual_seed(4)
                for _ in range(n):
                    torch_chain(torch, *draw_torch(torch, gen, depth, d, B, tdt))

            gen0 = torch.Generator().manual_seed(5)
            tnets = [draw_torch(torch, gen0, depth, d, B, tdt) for _ in range(n)]

            def t_pass():
                for x, ws, G in tnets:
                    for w in ws:
                        w.grad = None
                    torch_chain(torch, x.detach().clone(), ws, G)

            t_t = best(t_loop, repeats=max(1, REPEATS - 1))
            t_tp = best(t_pass, repeats=max(1, REPEATS - 1))
            print(f"torch loop ({nt} thread{'s' if nt > 1 else ''}), end to end: {t_t:7.3f} s -> "
                  f"gradexp {t_t / t_g:.1f}x faster;  pass alone: {t_tp:7.3f} s -> gradexp "
                  f"{t_tp / t_gp:.1f}x faster")
            res[f"speedup_vs_torch{nt}_e2e"] = t_t / t_g
            res[f"speedup_vs_torch{nt}_pass"] = t_tp / t_gp
        torch.set_num_threads(old)
    return res


def main():
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch not installed: the torch references are skipped")
    import numba

    print(f"numpy {np.__version__}, numba {numba.__version__}, threads {C._n_threads()}"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""))
    # correctness of the references on a small case
    x, ws, G = draw_numpy(np.random.default_rng(5), 4, 16, 12, np.float64)
    net = C.sample_chain(4, 16, 12, seed=0)
    net.inputs[:] = x
    for w, v in zip(net.weights, ws):
        w[:] = v
    net.upstream[:] = G
    net.run()
    gn, _ = numpy_chain(x, ws, G)
    assert np.allclose(net.result().grad_norms[0, ::-1], gn, rtol=1e-10)
    results = {}
    for dtype in (np.float64, np.float32):
        results[f"wide_{np.dtype(dtype).name}"] = wide(torch, dtype)
    for dtype in (np.float64, np.float32):
        results[f"many_{np.dtype(dtype).name}"] = many(torch, dtype)
    print("\nsummary (targets: roofline >= 0.8, time <= 1.2x torch, small chains >= 5x):")
    for k, v in results.items():
        print(f"  {k}: " + ", ".join(f"{a} {b:.2f}" for a, b in v.items()))


if __name__ == "__main__":
    main()
