import subprocess
import sys


def test_import_compiles_nothing():
    """``import gradexp`` loads neither numba nor matplotlib (its time is measured by
    benchmarks/bench_import.py, not asserted here)."""
    code = "import sys, gradexp; print('numba' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"], "import gradexp must not load numba or matplotlib"


def test_public_api():
    import gradexp

    for name in ("explosion_factor", "relu_moments", "activation_factor", "correlated_explosion_factor",
                 "perfectly_correlated_bound", "YANG_RATE", "get_activation"):
        assert hasattr(gradexp, name)
    assert gradexp.claims.run_ledger is not None  # lazy subpackages resolve
