"""Benchmarks of the ELR model engines and the ToyNet trainer (ratios measured in one run).

Run by hand: ``python benchmarks/bench_training.py [repeats]``. Prints best-of-N times and the
ratios against a reference measured in the same run.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from gradexp import elr
from gradexp.mc import training as T
from gradexp.optim import Optimizer


def best(fn, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main(n=5):
    C = np.tile(elr.plain_profile(56), (100, 1))
    lr = np.logspace(-4, 0, 100)[:, None]
    print("ELR model, 100 configs x 56 layers, momentum 0.9")
    for steps in (100, 400):
        lrs = lr * np.ones(steps)
        rot = best(lambda lrs=lrs, steps=steps: elr.simulate(C, lrs, steps, momentum=0.9), n)
        full = best(lambda lrs=lrs, steps=steps: elr.simulate(C, lrs, steps, momentum=0.9,
                                                              engine="full"), max(1, n // 2))
        print(f"  {steps:4d} steps: rotating {rot:.3f} s, full coordinates {full:.3f} s, "
              f"ratio full/rotating = {full / rot:.1f}")
    steps = 100
    eq4 = best(lambda: elr.discrete_weight_sq(C, 0.1, steps), n)
    auto = best(lambda: elr.simulate(C, 0.1, steps), n)
    rot = best(lambda: elr.simulate(C, 0.1, steps, engine="rotating"), n)
    print(f"  plain SGD {steps} steps: simulate (auto = eq. 4 path) {auto:.4f} s, rotating engine "
          f"{rot:.3f} s, bare eq. 4 loop {eq4:.4f} s; ratios rotating/auto = {rot / auto:.1f}, "
          f"auto/bare = {auto / eq4:.2f}")

    print("ToyNet, depth 50, width 64, batch 128, 10 SGD steps")
    one = best(lambda: T.train_toynet(50, 64, 0.01, 10, batch=128, rng=0), n)
    from threadpoolctl import threadpool_info

    blas = [d for d in threadpool_info() if d["user_api"] == "blas"]
    if blas:
        ss = np.random.SeedSequence(0)

        def default_threads():
            # the trainer without its single-thread guard (gradexp._threads.blas_threads(1))
            T._train_toynet(50, 64, 0.01, 10, batch=128, classes=10, n_data=None,
                            optimizer=Optimizer(), train_head=True, bn_eps=0.0, ss=ss)

        multi = best(default_threads, n)
        print(f"  single-thread BLAS {one:.3f} s, default threads ({blas[0]['num_threads']}) "
              f"{multi:.3f} s, ratio default/single = {multi / one:.2f}")
    else:
        print(f"  {one:.3f} s (no BLAS library reported by threadpoolctl: no thread comparison)")

    print("Saturation orbit (issue 12), 1e6 steps: Python floats vs numpy arrays")
    py = best(lambda: elr.saturation_orbit([1e-3], 10 ** 6), max(1, n // 2))
    npy = best(lambda: elr.saturation_orbit(np.full(5, 1e-3), 10 ** 6), max(1, n // 2))
    print(f"  1 start (floats) {py:.2f} s, 5 starts (numpy) {npy:.2f} s, "
          f"ratio numpy-per-start/floats = {npy / 5 / py:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
