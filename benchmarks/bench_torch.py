"""Cost of gradexp.torch.gradient_profile against the bare work it wraps, measured in one run:
``reps`` re-initialisations and forward/backward passes of the same model on the same batch
(input gradients only, as the profile computes them). Best of N.

    python benchmarks/bench_torch.py [N]
"""

from __future__ import annotations

import sys
import time

import torch

from gradexp.torch import gradient_profile
from gradexp.torch.models import bn_mlp, resnet_like
from gradexp.torch.profile import reinitialise


def bare(model, x, reps):
    for p in model.parameters():
        p.requires_grad_(False)
    for _ in range(reps):
        reinitialise(model)
        xi = x.detach().clone().requires_grad_(True)
        out = model(xi)
        (out * torch.randn_like(out)).sum().backward()
    for p in model.parameters():
        p.requires_grad_(True)


def best(f, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n: int = 3) -> None:
    torch.set_num_threads(1)
    cases = [("BN-MLP depth 30 width 1024, B = 16", bn_mlp(depth=30, width=1024), torch.randn(16, 64)),
             ("ResNet-18 layout width 16, B = 32, 32x32", resnet_like(), torch.randn(32, 3, 32, 32))]
    for name, model, x in cases:
        model.train()
        t_bare = best(lambda: bare(model, x, 8), n)
        t_prof = best(lambda: gradient_profile(model, x, reps=8, rng=0), n)
        print(f"{name}: gradient_profile(reps=8) {t_prof:.2f} s, bare passes {t_bare:.2f} s, "
              f"ratio {t_prof / t_bare:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
