"""Products of random matrices: cost of the stable QR methods against direct multiplication.

Run by hand (not by the tests):
    python benchmarks/bench_matrices.py [--M 100] [--N 1000] [--repeat 3] [--threads 1]

Prints, from one run (each figure the best of ``--repeat`` timings, all with the same seed):

* the time of ``product_singular_values(M, N, method="direct")`` (M Gaussian factors drawn and
  multiplied in double precision, one SVD), the reference;
* ``method="qr"`` (Bartlett-sampled QR factors, triangular products kept row-scaled, one SVD of
  the row-graded triangular factor) and its ratio to the reference (target: at most ~2);
* ``method="qr-dense"`` (Householder QR of W_k Q_{k-1} for explicit factors) on ``--dense-M``
  factors, and its ratio to direct at the same M (informative: it pays a QR per factor);
* the number of BLAS threads, set with threadpoolctl (default 1: on a machine whose cores are
  busy with other work, OpenBLAS's spinning threads made a 1000 x 1000 SVD 20x slower, 6.1 s
  instead of 0.29 s, which swamps the comparison; ``--threads 0`` leaves the BLAS default).

Ratios, not absolute times, are the result: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import time

from gradexp.mc.matrices import product_singular_values


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--M", type=int, default=100)
    ap.add_argument("--N", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dense-M", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (0: leave the default)")
    args = ap.parse_args(argv)
    if args.threads > 0:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=args.threads, user_api="blas"):
            return run(args)
    return run(args)


def run(args):
    M, N, r = args.M, args.N, args.repeat
    threads = args.threads if args.threads > 0 else os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"M = {M}, N = {N}, best of {r}; BLAS threads: {threads}")
    product_singular_values(2, 8, rng=0)  # imports and first-call costs outside the timings
    t_direct = best(lambda: product_singular_values(M, N, rng=1, method="direct"), r)
    t_qr = best(lambda: product_singular_values(M, N, rng=1, method="qr"), r)
    print(f"direct     {t_direct:8.2f} s   (reference)")
    print(f"qr         {t_qr:8.2f} s   ratio qr / direct = {t_qr / t_direct:.2f}")
    if args.dense_M > 0:
        m = args.dense_M
        t_d = best(lambda: product_singular_values(m, N, rng=2, method="direct"), r)
        t_qd = best(lambda: product_singular_values(m, N, rng=2, method="qr-dense"), r)
        print(f"qr-dense   {t_qd:8.2f} s   ratio qr-dense / direct = {t_qd / t_d:.2f}   (M = {m})")


if __name__ == "__main__":
    main()
