"""Gaussian draws per second: gradexp's Philox4x64-10 + ziggurat (gradexp.mc._philox) against
numpy's ``Generator.standard_normal`` with PCG64 and SFC64, measured in the same run.

Run by hand: ``python benchmarks/bench_rng.py [n] [repeats]`` (default 2e7 variates, best of 5;
the implementations are interleaved in every round so machine load hits them alike).

One thread: Philox serial kernel vs numpy. Both cores: Philox's ``prange`` kernel (chunks of
counters over numba's threads) vs numpy on a thread pool, one generator per thread (numpy
releases the GIL while filling). Prints draws/s, the ratios, and the spread over rounds.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from gradexp.mc import _philox as P

N = int(float(sys.argv[1])) if len(sys.argv) > 1 else 20_000_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def timings(fns, repeats=REPEATS):
    for fn in fns.values():
        fn()  # warm-up: compilation, page faults, thread pools
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return times


def main():
    threads = numba.get_num_threads()
    print(f"numpy {np.__version__}, numba {numba.__version__}, {threads} numba threads, "
          f"n = {N:.2g} variates, best of {REPEATS}")
    key = P.key_from_seed(0)
    pool = ThreadPoolExecutor(threads)
    summary = {}
    for dtype in (np.float64, np.float32):
        out = np.empty(N, dtype)
        parts = np.array_split(out, threads)
        gens = {name: [np.random.Generator(bg(s)) for s in np.random.SeedSequence(1).spawn(threads)]
                for name, bg in (("PCG64", np.random.PCG64), ("SFC64", np.random.SFC64))}

        def numpy_threads(gs):
            return lambda: list(pool.map(lambda a: a[0].standard_normal(out=a[1], dtype=dtype),
                                         zip(gs, parts)))

        fns = {
            "philox 1 thread": lambda: P.fill_normal(key, 0, out),
            f"philox {threads} threads": lambda: P.fill_normal(key, 0, out, parallel=True),
            "numpy PCG64 1 thread": lambda: gens["PCG64"][0].standard_normal(out=out, dtype=dtype),
            "numpy SFC64 1 thread": lambda: gens["SFC64"][0].standard_normal(out=out, dtype=dtype),
            f"numpy PCG64 {threads} threads": numpy_threads(gens["PCG64"]),
            f"numpy SFC64 {threads} threads": numpy_threads(gens["SFC64"]),
        }
        t = timings(fns)
        print(f"\n== {np.dtype(dtype).name}")
        for k, v in t.items():
            b = min(v)
            print(f"  {k:24s} {N / b / 1e6:8.1f} M draws/s  ({b * 1e9 / N:5.2f} ns/draw; "
                  f"rounds {min(v):.3f}-{max(v):.3f} s)")
        best = {k: min(v) for k, v in t.items()}
        r1 = {f"vs {b} 1 thread": best[f"numpy {b} 1 thread"] / best["philox 1 thread"]
              for b in ("PCG64", "SFC64")}
        rn = {f"vs {b} {threads} threads": best[f"numpy {b} {threads} threads"]
              / best[f"philox {threads} threads"] for b in ("PCG64", "SFC64")}
        rn["philox parallel speed-up"] = best["philox 1 thread"] / best[f"philox {threads} threads"]
        summary[np.dtype(dtype).name] = {**r1, **rn}
    pool.shutdown()
    print("\nphilox speed ratios (>1: philox faster):")
    for k, v in summary.items():
        print(f"  {k}: " + ", ".join(f"{a} {b:.2f}x" for a, b in v.items()))


if __name__ == "__main__":
    main()
