import subprocess
import sys


def test_import_is_fast_and_compiles_nothing():
    code = ("import time, sys; t = time.perf_counter(); import gradexp; dt = time.perf_counter() - t; "
            "print(dt); print('numba' in sys.modules, 'matplotlib' in sys.modules)")
    best = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout.split()[0]) for _ in range(3))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert best < 1.0, best
    assert out[1:] == ["False", "False"], "import gradexp must not load numba or matplotlib"


def test_public_api():
    import gradexp

    for name in ("explosion_factor", "relu_moments", "activation_factor", "correlated_explosion_factor",
                 "perfectly_correlated_bound", "YANG_RATE", "get_activation"):
        assert hasattr(gradexp, name)
    assert gradexp.claims.run_ledger is not None  # lazy subpackages resolve
