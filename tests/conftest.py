import os

os.environ.setdefault("MPLBACKEND", "Agg")
# Small matrices dominate the suite; multi-threaded OpenBLAS spin-waits on a loaded 2-core
# machine and makes them 10-50x slower. Users' code is unaffected (the library limits BLAS
# threads itself where it matters, via threadpoolctl).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The suite never writes to the user's result store: one temporary store per test session.
import tempfile  # noqa: E402

os.environ.setdefault("GRADEXP_CACHE_DIR", tempfile.mkdtemp(prefix="gradexp-test-store-"))
