"""Benchmark of the chain simulator (gradexp.mc.chain) against references measured in the same run.

Run by hand: ``python benchmarks/bench_chain.py [repeats] [sections]`` (best of ``repeats``,
default 3; ``sections`` a comma-separated subset of ``guard,wide,many,norms``, default all). Every
table also prints the spread of the rounds (slowest/fastest) of the end-to-end timings.
On a busy machine ``BENCH_DTYPES=float64`` and ``BENCH_TORCH_THREADS=1`` shorten the run.

gradexp end to end includes drawing the networks from counter-based Philox streams in
compiled code (every core draws).

1. Wide chains (depth 50, width 1024, batch 1024, forward + backward with weight gradients):
   achieved GFLOP/s (6·batch·width² flops per layer) as a fraction of numpy's BLAS matmul rate
   on the same shapes (the roofline), and the time against an equivalent PyTorch CPU loop and a
   plain-numpy loop, float64 and float32. Timed twice: the pass alone on a drawn network, and
   end to end including drawing the network (what ``simulate_chain`` costs).
2. Many small chains (depth 50, width 64, batch 64, 256 independent chains): gradexp's compiled
   engine (one chain per thread) against a PyTorch loop (default threads and one thread) and a
   plain-numpy loop over chains, end to end (drawing the networks included: ~55M Gaussian
   variates, which bound every implementation) and the pass alone on networks drawn beforehand.

3. Normalisers (depth 50, width 256, batch 64): BatchNorm, LayerNorm, GroupNorm (G = 16),
   RMSNorm (G = 16 and whole width), GroupNorm with shift and eps, the compiled pass alone and
   end to end; time ratios to BatchNorm.

Every implementation computes the same quantities: the per-layer norms of the gradients with
respect to the BatchNorm outputs and of the weight gradients, from a Gaussian upstream gradient.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from gradexp._random import spawn_seeds
from gradexp._threads import blas_threads
from gradexp.mc import _layout as L
from gradexp.mc import chain as C
from gradexp.mc._draws import _Drawer

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SECTIONS = sys.argv[2].split(",") if len(sys.argv) > 2 else ["guard", "wide", "many", "norms"]
#: BENCH_DTYPES=float64 restricts the wide and many sections to one dtype
DTYPES = [np.dtype(t).type for t in os.environ.get("BENCH_DTYPES", "float64,float32").split(",")]
#: slowest/fastest round of every timed function of the last best_of call
SPREAD: dict[str, float] = {}


def best(fn, repeats=REPEATS):
    return best_of({"f": fn}, repeats)["f"]


def best_of(fns, repeats=REPEATS):
    """Best-of-``repeats`` time of each function, the functions interleaved in every round (in
    a rotated order), so that load from other processes hits every implementation alike."""
    for fn in fns.values():
        fn()  # warm-up (compilation, page faults, thread pools)
    times = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        # rotate the order every round: a run right after a big pass (BLAS threads still
        # spinning, fresh pages) is slower, and no function should always come second
        for k in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t)
    SPREAD.clear()
    SPREAD.update({k: max(v) / min(v) for k, v in times.items()})
    return {k: min(v) for k, v in times.items()}


def spread(*names):
    return "rounds max/min: " + ", ".join(f"{k} {SPREAD[k]:.2f}" for k in names if k in SPREAD)


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
    net = C.sample_chain(depth, d, B, rng=1, dtype=dtype, corr_features=0)
    x, ws, G = draw_numpy(rng, depth, d, B, dtype)
    fns = {
        "mm": lambda: np.matmul(a, w, out=out),
        "mmT": lambda: np.matmul(a.T, a, out=outw),
        "gradexp_pass": lambda: net.run(keep_weight_grads=False),
        "gradexp_e2e": lambda: C.simulate_chain(depth, d, B, rng=1, dtype=dtype, corr_features=0,
                                                engine="wide"),
        "numpy_pass": lambda: numpy_chain(x, ws, G),
    }
    if torch is not None:
        tdt = torch.float64 if dtype == np.float64 else torch.float32
        tx, tws, tG = draw_torch(torch, torch.Generator().manual_seed(0), depth, d, B, tdt)

        def tpass():
            for tw in tws:
                tw.grad = None
            torch_chain(torch, tx.detach().clone(), tws, tG)

        def te2e():
            torch_chain(torch, *draw_torch(torch, torch.Generator().manual_seed(1), depth, d, B, tdt))

        fns.update(torch_pass=tpass, torch_e2e=te2e)
    t = best_of(fns)
    roof = 2.0 * B * d * d / max(t["mm"], t["mmT"])
    print(f"numpy BLAS matmul rate (roofline): {roof / 1e9:.1f} GFLOP/s")
    t_pass, t_e2e, t_np = t["gradexp_pass"], t["gradexp_e2e"], t["numpy_pass"]
    print(f"gradexp pass:       {t_pass:7.2f} s  {flops / t_pass / 1e9:6.1f} GFLOP/s  "
          f"= {flops / t_pass / roof:.2f} of roofline")
    print(f"gradexp end to end: {t_e2e:7.2f} s  {flops / t_e2e / 1e9:6.1f} GFLOP/s  "
          f"= {flops / t_e2e / roof:.2f} of roofline (philox; includes drawing "
          f"{depth * d * d / 1e6:.0f}M weights)")
    print(f"numpy loop pass:    {t_np:7.2f} s  -> gradexp pass is {t_np / t_pass:.2f}x faster")
    print("  " + spread("mm", "gradexp_pass", "gradexp_e2e", "numpy_pass",
                        "torch_e2e"))
    res = {"roofline_fraction_pass": flops / t_pass / roof, "roofline_fraction_e2e": flops / t_e2e / roof,
           "speedup_vs_numpy": t_np / t_pass}
    if torch is not None:
        t_t, t_te = t["torch_pass"], t["torch_e2e"]
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

    def arrays(self, n):
        return L._Buffers.arrays(self, n)


def many(torch, dtype, depth=50, d=64, B=64, n=256):
    from concurrent.futures import ThreadPoolExecutor

    print(f"\n== {n} small chains: depth {depth}, width {d}, batch {B}, {np.dtype(dtype).name}")
    threads = C._n_threads()
    spec = C.ChainSpec(depth, d, B, residual_scale=1.0, dtype=dtype, corr_features=0)
    lay = L._Layout(spec)
    buf = L._Buffers(spec, lay, n)
    draw = _Drawer(spec, lay)
    for i, s in enumerate(spawn_seeds(2, n)):
        draw(draw.start(s), buf, i)
    parts = [_Part(buf, k * n // threads, (k + 1) * n // threads) for k in range(threads)]

    def g_pass():  # the pass alone: networks drawn beforehand, chains split over the threads
        with blas_threads(1), ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda p: L._run(spec, lay, p, p.X.shape[0]), parts))

    nets = [draw_numpy(np.random.default_rng(3), depth, d, B, dtype) for _ in range(n)]

    def np_loop():
        rng = np.random.default_rng(3)
        for _ in range(n):
            numpy_chain(*draw_numpy(rng, depth, d, B, dtype))

    fns = {"gradexp_e2e": lambda: C.simulate_chain(depth, d, B, reps=n, rng=2, dtype=dtype,
                                                   corr_features=0, engine="compiled"),
           "gradexp_pass": g_pass, "numpy_e2e": np_loop,
           "numpy_pass": lambda: [numpy_chain(*net) for net in nets]}
    if torch is not None:
        tdt = torch.float64 if dtype == np.float64 else torch.float32
        tnets = [draw_torch(torch, torch.Generator().manual_seed(5 + i), depth, d, B, tdt)
                 for i in range(n)]
        old = torch.get_num_threads()
        # BENCH_TORCH_THREADS=1: only the one-thread torch reference (saves time on a busy machine)
        only = os.environ.get("BENCH_TORCH_THREADS")
        for nt in ([int(only)] if only else sorted({old, 1}, reverse=True)):
            def t_loop(nt=nt):
                torch.set_num_threads(nt)
                gen = torch.Generator().manual_seed(4)
                for _ in range(n):
                    torch_chain(torch, *draw_torch(torch, gen, depth, d, B, tdt))
                torch.set_num_threads(old)

            def t_pass(nt=nt):
                torch.set_num_threads(nt)
                for x, ws, G in tnets:
                    for w in ws:
                        w.grad = None
                    torch_chain(torch, x.detach().clone(), ws, G)
                torch.set_num_threads(old)

            fns[f"torch{nt}_e2e"] = t_loop
            fns[f"torch{nt}_pass"] = t_pass
    t = best_of(fns)
    t_g, t_gp = t["gradexp_e2e"], t["gradexp_pass"]
    print(f"gradexp, end to end (draws included): {t_g:7.3f} s   pass alone: {t_gp:7.3f} s "
          f"({threads} threads; philox)")
    print(f"numpy loop, end to end: {t['numpy_e2e']:7.3f} s -> gradexp {t['numpy_e2e'] / t_g:.1f}x "
          f"faster;  pass alone: {t['numpy_pass']:7.3f} s -> gradexp {t['numpy_pass'] / t_gp:.1f}x faster")
    res = {"speedup_vs_numpy_e2e": t["numpy_e2e"] / t_g, "speedup_vs_numpy_pass": t["numpy_pass"] / t_gp}
    for k in sorted(t):
        if k.startswith("torch") and k.endswith("_e2e"):
            nt = k[5:-4]
            te, tp = t[k], t[f"torch{nt}_pass"]
            print(f"torch loop ({nt} thread(s)), end to end: {te:7.3f} s -> gradexp {te / t_g:.1f}x "
                  f"faster;  pass alone: {tp:7.3f} s -> gradexp {tp / t_gp:.1f}x faster")
            res[f"speedup_vs_torch{nt}_e2e"] = te / t_g
            res[f"speedup_vs_torch{nt}_pass"] = tp / t_gp
    print("  " + spread("gradexp_e2e", "gradexp_pass", "numpy_e2e",
                        *[k for k in sorted(t) if k.startswith("torch")]))
    return res


# ----------------------------------------------------------------------------- BLAS guard
def blas_guard_overhead(n=2000):
    """Per-call cost of the one BLAS-thread mechanism against the smallest chains it guards."""
    import time

    from threadpoolctl import threadpool_limits

    print("\n== BLAS-thread guard (gradexp._threads.blas_threads, threadpoolctl)")
    net = C.sample_chain(4, 16, 12, rng=0)
    net.run()

    def per_call(fn, k):
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        return (time.perf_counter() - t0) / k

    def cached():
        with blas_threads(1):
            pass

    def uncached():
        with threadpool_limits(1, user_api="blas"):
            pass

    lay = net._lay
    t_cached = min(per_call(cached, n) for _ in range(3))
    t_uncached = min(per_call(uncached, n // 10) for _ in range(3))
    t_kernel = min(per_call(lambda: L._run(net.spec, lay, net._buf, 1), n) for _ in range(3))
    t_run = min(per_call(net.run, n) for _ in range(3))
    print(f"blas_threads(1) enter+exit (cached controller): {t_cached * 1e6:7.1f} us")
    print(f"threadpool_limits(1) enter+exit (rescans libs): {t_uncached * 1e6:7.1f} us")
    print(f"kernel of a depth-4, width-16, batch-12 chain:  {t_kernel * 1e6:7.1f} us")
    print(f"SampledChain.run (guard + kernel + copies):     {t_run * 1e6:7.1f} us "
          f"-> guard = {t_cached / t_run:.2f} of a run (uncached would be {t_uncached / t_run:.1f}x a run)")
    return {"guard_us": t_cached * 1e6, "uncached_us": t_uncached * 1e6,
            "guard_fraction_of_small_run": t_cached / t_run}


# ----------------------------------------------------------------------------- normalisers
NORM_ARMS = {"batch": {}, "layer": {"norm": "layer"}, "group16": {"norm": "group", "group_size": 16},
             "rms16": {"norm": "rms", "group_size": 16}, "rms": {"norm": "rms"},
             "group16+shift+eps": {"norm": "group", "group_size": 16, "shift": 0.5, "eps": 1e-5}}


def norms(depth=50, d=256, B=64, reps=16):
    """Every normaliser on the same chain (forward + exact backward), timed in one best-of
    round each: the compiled pass alone on one drawn network (the normaliser's kernels plus
    the shared matmuls) and end to end over ``reps`` chains; ratios to BatchNorm."""
    print(f"\n== normalisers: depth {depth}, width {d}, batch {B}, float64 (pass: one chain; "
          f"end to end: {reps} chains)")
    nets = {k: C.sample_chain(depth, d, B, rng=1, corr_features=0, weight_grads=False, **kw)
            for k, kw in NORM_ARMS.items()}
    fns = {}
    for k, kw in NORM_ARMS.items():
        fns[f"{k}_pass"] = lambda net=nets[k]: L._run(net.spec, net._lay, net._buf, 1)
        fns[f"{k}_e2e"] = lambda kw=kw: C.simulate_chain(depth, d, B, reps=reps, rng=2,
                                                         corr_features=0, weight_grads=False, **kw)
    t = best_of(fns)
    res = {}
    for k in NORM_ARMS:
        rp, re = t[f"{k}_pass"] / t["batch_pass"], t[f"{k}_e2e"] / t["batch_e2e"]
        print(f"{k:>18}: pass {t[f'{k}_pass'] * 1e3:7.2f} ms ({rp:.2f}x batch)   end to end "
              f"{t[f'{k}_e2e']:6.3f} s ({re:.2f}x batch)")
        res[f"{k}_pass_over_batch"], res[f"{k}_e2e_over_batch"] = rp, re
    print("  " + spread(*fns))
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
    net = C.sample_chain(4, 16, 12, rng=0)
    net.inputs[:] = x
    for w, v in zip(net.weights, ws):
        w[:] = v
    net.upstream[:] = G
    net.run()
    gn, _ = numpy_chain(x, ws, G)
    assert np.allclose(net.result().grad_norms[0, ::-1], gn, rtol=1e-10)
    results = {"blas_guard": blas_guard_overhead()} if "guard" in SECTIONS else {}
    for dtype in DTYPES:
        if "wide" in SECTIONS:
            results[f"wide_{np.dtype(dtype).name}"] = wide(torch, dtype)
    for dtype in DTYPES:
        if "many" in SECTIONS:
            results[f"many_{np.dtype(dtype).name}"] = many(torch, dtype)
    if "norms" in SECTIONS:
        results["norms"] = norms()
    print("\nsummary (issue 15 targets: wide float64 roofline_fraction_e2e >= 0.8; small chains "
          "speedup_vs_torch1_e2e >= 5 and speedup_vs_numpy_e2e >= 3, float64 and float32):")
    for k, v in results.items():
        print(f"  {k}: " + ", ".join(f"{a} {b:.2f}" for a, b in v.items()))


if __name__ == "__main__":
    main()
