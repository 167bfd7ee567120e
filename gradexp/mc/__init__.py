"""Monte-Carlo simulators (numba kernels, compiled lazily with cache=True)."""
