"""Time of ``import gradexp`` in a fresh interpreter, against ``import numpy, scipy.special``
(the floor: gradexp needs both) measured in the same run. Best of N fresh processes.

    python benchmarks/bench_import.py [N]
"""

from __future__ import annotations

import subprocess
import sys


def best_import_seconds(stmt: str, n: int) -> float:
    code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(n))


def main(n: int = 7) -> None:
    floor = best_import_seconds("import numpy, scipy.special, scipy.integrate", n)
    ours = best_import_seconds("import gradexp", n)
    print(f"import numpy+scipy: {floor:.3f} s   import gradexp: {ours:.3f} s   ratio {ours / floor:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
