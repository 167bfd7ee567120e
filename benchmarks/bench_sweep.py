"""Sweep benchmark: parallel speed-up on local workers and per-cell overhead of dask.

Run by hand (not by the tests):  python benchmarks/bench_sweep.py [--repeat 3] [--cells 64]

Prints, from one run (every figure is the best of ``--repeat`` timings on warm executors):

* the speed-up of a 64-cell sweep of BN + ReLU chains (:func:`gradexp.sweep.chain_rate_cell`,
  one thread per worker) on 2 local worker processes against 1;
* the wall time per cell of a sweep of empty cells on the local process pool, on a dask
  ``LocalCluster`` (2 worker processes, 1 thread each) and in-process (serial), and the ratio
  dask / process pool: the overhead that the dask path adds per cell;
* the start-up cost of a local pool and of a LocalCluster;
* the result store (:func:`gradexp.sweep.cache.cached_call`): time of a stored chain cell read
  back against computing it, and the cost of forming a key (hashing code and arguments).

Ratios, not absolute times, are the result: the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np

from gradexp.sweep import chain_rate_cell, local_executor, run_sweep

CHAIN = {"depth": 20, "width": 64, "batch": 64, "reps": 8, "activation": "relu", "norm": "batch"}


def empty_cell(i, seed=None):
    """No work: measures the per-cell cost of submitting, running and collecting a cell."""
    return i


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cells", type=int, default=64)
    ap.add_argument("--empty-cells", type=int, default=256)
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args(argv)
    n, m = args.cells, args.empty_cells
    grid = [{**CHAIN, "width": w} for w in np.resize([48, 64, 80, 96], n).tolist()]
    empty = {"i": list(range(m))}

    client, use_dask = None, not args.no_dask
    if use_dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("dask.distributed not installed: skipping the dask comparison (pip install 'gradexp[dask]')")
            use_dask = False
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    with contextlib.ExitStack() as stack:
        execs = {"1 worker": stack.enter_context(local_executor(1, threads_per_worker=1)),
                 "2 workers": stack.enter_context(local_executor(2, threads_per_worker=1))}
        if use_dask:
            t = time.perf_counter()
            cluster = stack.enter_context(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                       dashboard_address=None))
            client = stack.enter_context(Client(cluster))
            dstart = time.perf_counter() - t
            execs["dask 2x1"] = client
        # first sweep on each fresh executor: worker start, imports, numba cache loads
        first = {k: timed(lambda ex=ex: run_sweep(chain_rate_cell, grid[:4], root_seed=0, executor=ex))[0]
                 for k, ex in execs.items()}
        chain = {k: [] for k in execs}
        empt = {k: [] for k in [*execs, "serial"] + (["dask chunk16"] if client else [])}
        results = {}
        for _ in range(args.repeat):  # interleaved, so that changing load hits every executor alike
            for k, ex in execs.items():
                t, results[k] = timed(lambda ex=ex: run_sweep(chain_rate_cell, grid, root_seed=0, executor=ex))
                chain[k].append(t)
                empt[k].append(timed(lambda ex=ex: run_sweep(empty_cell, empty, root_seed=0, executor=ex))[0])
            empt["serial"].append(timed(lambda: run_sweep(empty_cell, empty, root_seed=0, executor="serial"))[0])
            if client:
                empt["dask chunk16"].append(
                    timed(lambda: run_sweep(empty_cell, empty, root_seed=0, executor=client, chunksize=16))[0])
    ref = results["1 worker"]["rate"]
    assert all(np.array_equal(r["rate"], ref) for r in results.values()), "numbers differ between executors"

    c = {k: min(v) for k, v in chain.items()}
    e = {k: min(v) for k, v in empt.items()}
    print(f"{n} chain cells {CHAIN} (widths 48..96), best of {args.repeat}, one thread per worker:")
    for k, t in c.items():
        print(f"  {k:<10}: {t:7.3f} s  ({1e3 * t / n:6.1f} ms/cell)   first 4-cell sweep on the fresh executor "
              f"{first[k]:.2f} s")
    print(f"  SPEED-UP 2 workers / 1 worker: {c['1 worker'] / c['2 workers']:.2f}x (ideal 2.00x)")
    if client:
        print(f"  dask 2x1 / 1 local worker: {c['1 worker'] / c['dask 2x1']:.2f}x; "
              f"dask 2x1 time / local 2 workers time: {c['dask 2x1'] / c['2 workers']:.2f}x; "
              f"LocalCluster start {dstart:.2f} s")
    print(f"{m} empty cells (per-cell overhead), best of {args.repeat}:")
    for k, t in e.items():
        print(f"  {k:<12}: {1e6 * t / m:8.1f} us/cell")
    if client:
        print(f"  OVERHEAD PER CELL dask / process pool (2 workers each): {e['dask 2x1'] / e['2 workers']:.1f}x; "
              f"with chunksize=16: {e['dask chunk16'] / e['2 workers']:.2f}x")
    print("numbers identical on every executor: yes")
    bench_cache(args.repeat)


def bench_cache(repeat: int) -> None:
    """Hit against compute for one chain (simulate_chain), in a temporary store."""
    import tempfile

    from gradexp.mc.chain import simulate_chain
    from gradexp.sweep import cache

    params = {**CHAIN, "width": 64}
    with tempfile.TemporaryDirectory() as d, cache.using(enabled=True, directory=d):
        seed = np.random.SeedSequence(7)
        compute = min(timed(lambda: simulate_chain(**params, rng=seed))[0] for _ in range(repeat))
        cache.cached_call(simulate_chain, **params, rng=seed)  # store it
        hit = min(timed(lambda: cache.cached_call(simulate_chain, **params, rng=seed))[0] for _ in range(repeat))
        key = min(timed(lambda: cache.call_key(simulate_chain, (), {**params, "seed": seed}))[0]
                  for _ in range(repeat))
        same = cache.cached_call(simulate_chain, **params, rng=seed).rate == simulate_chain(**params, rng=seed).rate
    print(f"result store, one simulate_chain call {params}, best of {repeat}:")
    print(f"  compute {1e3 * compute:8.2f} ms; read back {1e3 * hit:6.2f} ms; key {1e3 * key:6.2f} ms")
    print(f"  SPEED-UP read back / compute: {compute / hit:.0f}x; stored result identical: {same}")
