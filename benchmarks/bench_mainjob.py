"""Main-job benchmark: ``gradexp verify && gradexp figures``, cold and warm.

Run by hand (not by the tests):  python benchmarks/bench_mainjob.py [--fast] [--workers N]

Runs the main job twice in fresh subprocesses against one new, empty result store
(``GRADEXP_CACHE_DIR`` in a temporary directory; figures go to a temporary ``--out``): first
*cold* (empty store), then *warm* (unchanged code, the store filled by the cold run). Prints
the wall time of each command, the totals, the load average before and after (the machine may be
shared), and ratios to two references measured in the same run:

* ``import``: ``python -c "import gradexp"`` in a fresh process (best of 3);
* ``pool``: the start-up of a local process pool of ``--workers`` processes running one empty
  task each (best of 3), the fixed cost every command pays before its first claim or figure.

Goal (issue 20, item 7): warm main job <= 20 s on 2 idle cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(store: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "GRADEXP_STORE_RUN"}
    env["GRADEXP_CACHE_DIR"] = str(store)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run(argv, env) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "gradexp.cli", *argv], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"gradexp {' '.join(argv)} exited with {r.returncode}:\n{r.stderr[-2000:]}")
    return dt


POOL = """
import time
t = time.perf_counter()
from gradexp.sweep.executors import local_executor
with local_executor({n}) as ex:
    list(ex.map(abs, range({n})))
print(time.perf_counter() - t)
"""


def _best(n, fn) -> float:
    return min(fn() for _ in range(n))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="verify --fast and figures --fast")
    ap.add_argument("--workers", type=int, default=None, help="--workers for both commands (default: all CPUs)")
    args = ap.parse_args(argv)
    extra = (["--fast"] if args.fast else []) + ([] if args.workers is None else ["--workers", str(args.workers)])
    with tempfile.TemporaryDirectory(prefix="gradexp-bench-mainjob-") as tmp:
        tmp = Path(tmp)
        env = _env(tmp / "store")
        print(f"load average before: {os.getloadavg()}")
        t_import = _best(3, lambda: _run_py(["-c", "import gradexp"], env))
        from gradexp.sweep.executors import available_cpus

        n = args.workers or available_cpus()
        t_pool = _best(3, lambda: float(subprocess.run([sys.executable, "-c", POOL.format(n=n)], env=env,
                                                       capture_output=True, text=True, check=True).stdout))
        times = {}
        for phase in ("cold", "warm"):
            times[phase, "verify"] = _run(["verify", *extra], env)
            times[phase, "figures"] = _run(["figures", "--out", str(tmp / "figures"), *extra], env)
            print(f"{phase}: verify {times[phase, 'verify']:.1f} s, figures {times[phase, 'figures']:.1f} s, "
                  f"main job {times[phase, 'verify'] + times[phase, 'figures']:.1f} s", flush=True)
        print(f"load average after:  {os.getloadavg()}")
        warm = times["warm", "verify"] + times["warm", "figures"]
        cold = times["cold", "verify"] + times["cold", "figures"]
        print(f"reference: import gradexp {t_import:.2f} s, pool of {n} started {t_pool:.2f} s")
        print(f"warm / cold = {warm / cold:.2f}; warm / import = {warm / t_import:.0f}; "
              f"warm / pool start = {warm / t_pool:.0f}; goal: warm <= 20 s on 2 idle cores "
              f"({'met' if warm <= 20 else 'not met'} here: {warm:.1f} s)")


def _run_py(argv, env) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, *argv], env=env, check=True)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
