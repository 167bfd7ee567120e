"""Sweeps: canonical cells, per-cell seeds, identical numbers on every executor, atomic
resumable files (killed, interrupted, crashed sweeps), progress bar, command line.

The cell functions live at module level here so that worker processes (process pools and
dask workers) can import them as ``test_sweep.<name>``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest

from gradexp import __version__
from gradexp import sweep as sw
from gradexp.mc._estimate import Estimate
from gradexp.sweep import SerialExecutor, cell_seed, expand_grid, load_sweep, run_sweep, sweep_map
from gradexp.sweep import executors as sw_executors

TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture(autouse=True)
def _store(tmp_path, monkeypatch):
    """The result store in tmp (chain cells go through it), never the user's cache directory."""
    monkeypatch.setenv("GRADEXP_CACHE_DIR", str(tmp_path / "store"))


# ------------------------------------------------------------------ module-level cells
def toy_cell(x, n=3, delay=0.0, log=None, seed=None):
    """A cell whose numbers depend on its seed: a random vector shifted by x, and a scalar."""
    if log is not None:
        with open(os.path.join(log, f"{x}"), "a") as f:
            f.write("1")
    if delay:
        time.sleep(delay)
    rng = np.random.default_rng(seed)
    return {"y": rng.standard_normal(n) + x, "u": float(rng.random())}


def failing_cell(x, flag, seed=None):
    """Raises at x == 3 while the file ``flag`` exists."""
    if x == 3 and os.path.exists(flag):
        raise RuntimeError("cell failed on purpose")
    return toy_cell(x, seed=seed)


def worker_killing_cell(x, flag, seed=None):
    """At x == 3, the first caller to claim ``flag`` SIGKILLs its own (worker) process."""
    if x == 3:
        try:
            os.rename(flag, flag + ".taken")
        except FileNotFoundError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return toy_cell(x, seed=seed)


def calls(log, x) -> int:
    p = Path(log) / f"{x}"
    return len(p.read_text()) if p.exists() else 0


def fresh(func, grid, root_seed):
    """An uninterrupted reference run (threads: the cells' sleeps overlap, numbers do not change)."""
    with cf.ThreadPoolExecutor(16) as ex:
        return run_sweep(func, grid, root_seed=root_seed, executor=ex)


def same(a, b) -> bool:
    """Bitwise equality of two sweep results (same outputs, same bytes)."""
    return (a.outputs.keys() == b.outputs.keys()
            and all(a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a.outputs))


# ------------------------------------------------------------------ cells and seeds
def test_expand_grid_canonical_order_and_values():
    cells = expand_grid({"w": [8, np.int64(16)], "act": "relu", "b": (np.float32(0.5), 2.0)})
    assert cells == [{"w": 8, "act": "relu", "b": 0.5}, {"w": 8, "act": "relu", "b": 2.0},
                     {"w": 16, "act": "relu", "b": 0.5}, {"w": 16, "act": "relu", "b": 2.0}]
    assert type(cells[2]["w"]) is int and type(cells[0]["b"]) is float
    assert expand_grid([{"a": 1}, {"a": 2, "b": [1, 2]}]) == [{"a": 1}, {"a": 2, "b": [1, 2]}]
    assert len(expand_grid({"x": np.arange(5)})) == 5


@pytest.mark.parametrize("grid, exc", [({"x": []}, ValueError), ([], ValueError), ({"seed": [1]}, ValueError),
                                       ({"not a name": [1]}, ValueError), ({"x": [object()]}, TypeError),
                                       ("x", TypeError), ([1, 2], TypeError)])
def test_expand_grid_rejects(grid, exc):
    with pytest.raises(exc):
        expand_grid(grid)


def test_cell_seed_is_spawned_child_not_seed_plus_i():
    children = np.random.SeedSequence(123).spawn(6)
    for i in range(6):
        assert (cell_seed(123, i).generate_state(4) == children[i].generate_state(4)).all()
    # never root + i: the cell-1 stream is not the stream of seed 124 (nor of cell 0 of seed 124)
    assert not (cell_seed(123, 1).generate_state(4) == np.random.SeedSequence(124).generate_state(4)).all()
    assert not (cell_seed(123, 1).generate_state(4) == cell_seed(124, 0).generate_state(4)).all()
    assert (cell_seed([1, 2], 0).generate_state(2) == np.random.SeedSequence([1, 2]).spawn(1)[0].generate_state(2)).all()
    for bad in (-1, 1.5, True, "1", [-1]):
        with pytest.raises((ValueError, TypeError)):
            cell_seed(bad, 0)
    with pytest.raises(ValueError):
        cell_seed(1, -1)


def test_none_root_seed_is_recorded_and_reproduces():
    a = run_sweep(toy_cell, {"x": [1, 2]}, root_seed=None, executor="serial")
    assert isinstance(a.root_seed, int)
    b = run_sweep(toy_cell, {"x": [1, 2]}, root_seed=a.root_seed, executor="serial")
    assert same(a, b)


# ------------------------------------------------------------------ identical numbers everywhere
GRID = {"x": [0, 1, 2, 3, 4, 5, 6, 7], "delay": [0.0, 0.02]}


@pytest.fixture(scope="module")
def reference():
    """The serial run; every other executor must reproduce it bit for bit."""
    return run_sweep(toy_cell, GRID, root_seed=2024, executor="serial")


def test_serial_matches_direct_calls(reference):
    for i, c in enumerate(expand_grid(GRID)):
        direct = toy_cell(**c, seed=np.random.SeedSequence(2024).spawn(i + 1)[i])
        assert direct["y"].tobytes() == reference["y"][i].tobytes() and direct["u"] == reference["u"][i]
    assert reference.complete and reference["y"].shape == (16, 3)
    assert reference.as_grid("y").shape == (8, 2, 3)
    assert (reference.as_grid("y")[3, 1] == reference["y"][7]).all()
    # different cells get different streams
    assert len(set(reference["u"].tolist())) == 16


@pytest.mark.parametrize("how", ["pool2", "pool1-chunk3", "threads", "serial-instance", "reversed-completion"])
def test_executors_give_identical_numbers(reference, how):
    if how == "serial-instance":
        res = run_sweep(toy_cell, GRID, root_seed=2024, executor=SerialExecutor(), chunksize=5)
    elif how == "pool2":
        res = run_sweep(toy_cell, GRID, root_seed=2024, workers=2)
    elif how == "pool1-chunk3":
        res = run_sweep(toy_cell, GRID, root_seed=2024, executor=1, chunksize=3)
    elif how == "threads":
        with cf.ThreadPoolExecutor(3) as ex:
            res = run_sweep(toy_cell, GRID, root_seed=2024, executor=ex)
    else:  # early cells sleep longest, so cells complete roughly in reverse order
        grid = [{"x": c["x"], "delay": c["delay"]} for c in expand_grid(GRID)]
        slow = [{"x": c["x"], "delay": c["delay"]} for c in grid]
        with cf.ThreadPoolExecutor(16) as ex:
            res = sweep_map(_reverse_delay_cell, slow, 2024, ex)
        ref = [toy_cell(**c, seed=cell_seed(2024, i)) for i, c in enumerate(grid)]
        assert all(r["y"].tobytes() == q["y"].tobytes() for r, q in zip(res, ref))
        return
    assert same(res, reference)


def _reverse_delay_cell(x, delay, seed=None):
    time.sleep(0.01 * (8 - x))
    return toy_cell(x, delay=delay, seed=seed)


def test_sweep_map_order_and_streaming(reference):
    cells = expand_grid(GRID)
    out = sweep_map(toy_cell, cells, 2024, "serial")
    assert np.array_equal(np.stack([o["y"] for o in out]), reference["y"])

    class Counting(cf.ThreadPoolExecutor):
        submitted = 0

        def submit(self, fn, /, *args, **kwargs):
            Counting.submitted += 1
            return super().submit(fn, *args, **kwargs)

    seen = []
    with Counting(2) as ex:
        out2 = sweep_map(_reverse_delay_cell, [{**c, "delay": 0.0} for c in cells], 2024, ex, chunksize=4,
                         on_result=lambda i, r: seen.append(i))
    assert Counting.submitted == 4  # 16 cells in chunks of 4 went to the given executor
    assert sorted(seen) == list(range(16))  # every result streamed once
    assert all(a["y"].tobytes() == b["y"].tobytes() for a, b in zip(out, out2))  # cell order, same numbers


def test_sweep_map_on_result_error_stops_the_run():
    def stop(i, r):
        raise BrokenPipeError

    with pytest.raises(BrokenPipeError):
        sweep_map(toy_cell, {"x": list(range(8))}, 0, "serial", on_result=stop)


def test_bad_arguments():
    with pytest.raises(ValueError, match="chunksize"):
        sweep_map(toy_cell, {"x": [1, 2]}, 0, "serial", chunksize=0)
    with pytest.raises(ValueError, match="executor"):
        sweep_map(toy_cell, {"x": [1, 2]}, 0, "threads")
    with pytest.raises(TypeError, match="executor"):
        sweep_map(toy_cell, {"x": [1, 2]}, 0, object())
    with pytest.raises(ValueError, match="either executor or workers"):
        sweep_map(toy_cell, {"x": [1, 2]}, 0, "serial", workers=2)
    with pytest.raises(ValueError, match="workers"):
        sw.local_executor(0)
    with pytest.raises(ValueError, match="checkpoint_interval"):
        run_sweep(toy_cell, {"x": [1]}, root_seed=0, checkpoint_interval=-1)


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (True, TypeError), ("7", TypeError), (3.0, TypeError),
                                      ([], ValueError), ([1, -2], ValueError), ([None], TypeError),
                                      (np.random.SeedSequence(1), TypeError)])
def test_root_seed_is_checked_by_the_one_seed_validator(bad, exc):
    with pytest.raises(exc, match="root_seed"):
        sweep_map(toy_cell, {"x": [1]}, bad, "serial")


def test_root_seed_of_any_size():
    big = 2**70
    a = sweep_map(toy_cell, {"x": [1]}, big, "serial")
    assert same_value(a[0], toy_cell(1, seed=cell_seed(big, 0)))


def same_value(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


def test_unpicklable_function_is_shipped_by_value_or_rejected():
    pytest.importorskip("cloudpickle")
    offset = 10.0
    out = sweep_map(lambda x, seed: x + offset + np.random.default_rng(seed).random(), {"x": [1, 2]}, 5,
                    workers=2)
    ref = [x + offset + np.random.default_rng(cell_seed(5, i)).random() for i, x in enumerate([1, 2])]
    assert out == ref
    with cf.ThreadPoolExecutor(2) as ex:  # in-process executors call the function in place
        assert sweep_map(lambda x, seed: x + offset, {"x": [1, 2]}, 5, ex) == [11.0, 12.0]


def test_unpicklable_function_without_cloudpickle_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cloudpickle", None)  # import cloudpickle -> ImportError
    with pytest.raises(TypeError, match="module level"):
        sweep_map(lambda x, seed: x, {"x": [1, 2]}, 5, workers=2)
    assert sweep_map(lambda x, seed: x, {"x": [1, 2]}, 5, "serial") == [1, 2]


# ------------------------------------------------------------------ outputs
@pytest.mark.parametrize("ret, names", [(1.5, {"value"}), (np.arange(3), {"value"}),
                                        ({"a": 1, "b": {"c": np.ones(2)}}, {"a", "b.c"}),
                                        (Estimate(1.0, 0.1, 10), {"mean", "stderr", "n"}),
                                        ({"a": 1.0, "skip": None}, {"a"}), (None, set())])
def test_output_kinds(ret, names):
    st = sw._Store([{}, {}], None, 0, "f", None)
    st.add(0, ret)
    st.add(1, ret)
    assert set(st.outputs) == names and st.done.all()


def _const_cell(ret, seed=None):
    return ret


def test_output_errors():
    st = sw._Store([{}, {}], None, 0, "f", None)
    st.add(0, {"a": np.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        st.add(1, {"a": np.ones(3)})
    with pytest.raises(ValueError, match="outputs"):
        st.add(1, {"b": 1.0})
    with pytest.raises(TypeError):
        sw._Store([{}], None, 0, "f", None).add(0, object())
    # int outputs promote to float when a later cell returns a float
    st = sw._Store([{}, {}], None, 0, "f", None)
    st.add(0, 1)
    st.add(1, 2.5)
    assert st.outputs["value"].dtype == float and st.outputs["value"].tolist() == [1.0, 2.5]


# ------------------------------------------------------------------ result files
def test_file_contents_and_reload(tmp_path, reference):
    path = tmp_path / "sub" / "s.npz"
    res = run_sweep(toy_cell, GRID, root_seed=2024, executor="serial", path=path)
    assert same(res, reference) and res.path == path
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        assert z["done"].all() and z["result.y"].shape == (16, 3)
        assert z["param.x"].tolist() == [c["x"] for c in expand_grid(GRID)]
        assert z["param.delay"].dtype == float
    assert meta["gradexp_version"] == __version__ and meta["root_seed"] == 2024
    assert meta["func"] == "test_sweep:toy_cell" and meta["format"] == sw.FORMAT
    assert meta["axes"] == {"x": GRID["x"], "delay": GRID["delay"]} and meta["cells"] == expand_grid(GRID)
    back = load_sweep(path)
    assert same(back, reference) and back.as_grid("u").shape == (8, 2)
    assert back.seed(3).spawn_key == (3,)
    assert sorted(p.name for p in path.parent.iterdir()) == ["s.npz"]  # no temporary or lock file left


def test_complete_file_is_not_recomputed(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    path = tmp_path / "s.npz"
    a = run_sweep(toy_cell, {"x": [1, 2, 3], "log": str(log)}, root_seed=1, executor="serial", path=path)
    b = run_sweep(toy_cell, {"x": [1, 2, 3], "log": str(log)}, root_seed=1, executor="serial", path=path)
    assert same(a, b) and [calls(log, x) for x in (1, 2, 3)] == [1, 1, 1]
    run_sweep(toy_cell, {"x": [1, 2, 3], "log": str(log)}, root_seed=1, executor="serial", path=path,
              resume=False)
    assert [calls(log, x) for x in (1, 2, 3)] == [2, 2, 2]


@pytest.mark.parametrize("change, match", [({"root_seed": 2}, "root seed"), ({"grid": {"x": [1, 2, 4]}}, "cell 2"),
                                           ({"grid": {"x": [1, 2]}}, "number of cells"),
                                           ({"func": _const_cell}, "function")])
def test_resume_refuses_a_different_sweep(tmp_path, change, match):
    path = tmp_path / "s.npz"
    run_sweep(toy_cell, {"x": [1, 2, 3]}, root_seed=1, executor="serial", path=path)
    kw = {"func": toy_cell, "grid": {"x": [1, 2, 3]}, "root_seed": 1, **change}
    if kw["func"] is _const_cell:
        kw["grid"] = {"ret": [1, 2, 3]}
    with pytest.raises(ValueError, match=match):
        run_sweep(kw["func"], kw["grid"], root_seed=kw["root_seed"], executor="serial", path=path)
    run_sweep(kw["func"], kw["grid"], root_seed=kw["root_seed"], executor="serial", path=path, resume=False)


def test_resume_refuses_other_gradexp_version(tmp_path, monkeypatch):
    path = tmp_path / "s.npz"
    run_sweep(toy_cell, {"x": [1]}, root_seed=1, executor="serial", path=path)
    import gradexp

    monkeypatch.setattr(gradexp, "__version__", "99.0")
    with pytest.raises(ValueError, match="gradexp version"):
        run_sweep(toy_cell, {"x": [1]}, root_seed=1, executor="serial", path=path)


def test_failed_cell_keeps_finished_cells_and_resumes(tmp_path):
    path, flag = tmp_path / "s.npz", tmp_path / "flag"
    flag.touch()
    grid = {"x": list(range(8)), "flag": str(flag)}
    with pytest.raises(RuntimeError, match="on purpose") as info:
        run_sweep(failing_cell, grid, root_seed=3, executor="serial", path=path)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "in sweep cell 3" in notes and "3/8 cells saved" in notes
    partial = load_sweep(path)
    assert partial.done.tolist() == [True] * 3 + [False] * 5 and np.isnan(partial["u"][3:]).all()
    flag.unlink()
    res = run_sweep(failing_cell, grid, root_seed=3, workers=2, path=path)
    assert same(res, run_sweep(failing_cell, grid, root_seed=3, executor="serial"))


def test_killed_worker_then_resume(tmp_path):
    path, flag = tmp_path / "s.npz", tmp_path / "flag"
    flag.touch()
    grid = {"x": list(range(10)), "flag": str(flag)}
    with pytest.raises(BrokenProcessPool):
        run_sweep(worker_killing_cell, grid, root_seed=4, workers=2, path=path)
    assert not load_sweep(path).complete
    res = run_sweep(worker_killing_cell, grid, root_seed=4, workers=2, path=path)
    assert res.complete and same(res, run_sweep(worker_killing_cell, grid, root_seed=4, executor="serial"))


def test_atomic_write_failure_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "s.npz"
    run_sweep(toy_cell, {"x": [1, 2]}, root_seed=1, executor="serial", path=path)
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        run_sweep(toy_cell, {"x": [1, 2]}, root_seed=1, executor="serial", path=path, resume=False)
    monkeypatch.undo()
    assert path.read_bytes() == before and load_sweep(path).complete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]


def test_lock_refuses_concurrent_writer(tmp_path):
    path = tmp_path / "s.npz"
    with sw._lock(path):
        with pytest.raises(RuntimeError, match="another running sweep"):
            run_sweep(toy_cell, {"x": [1]}, root_seed=1, executor="serial", path=path)
    run_sweep(toy_cell, {"x": [1]}, root_seed=1, executor="serial", path=path)


# ------------------------------------------------------------------ kill and interrupt a real process
SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from gradexp.sweep import run_sweep
from test_sweep import toy_cell

if __name__ == "__main__":
    run_sweep(toy_cell, {grid!r}, root_seed=11, executor={executor!r}, path={path!r},
              checkpoint_interval=0, progress=False)
"""


def _start(tmp_path, grid, executor, path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=TESTS, grid=grid, executor=executor, path=str(path)))
    return subprocess.Popen([sys.executable, str(script)], start_new_session=True, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_cells(proc, path, n, timeout=60):
    """Poll the result file (it must be readable at every moment) until n cells are done."""
    deadline = time.monotonic() + timeout
    reads = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            reads += 1
            if load_sweep(path).n_done >= n:
                return reads
        time.sleep(0.01)
    raise AssertionError(f"sweep did not reach {n} cells: rc={proc.poll()} {proc.stderr.read() if proc.poll() else ''}")


@pytest.mark.parametrize("executor", ["serial", 2])
def test_sigkill_mid_sweep_then_resume(tmp_path, executor):
    log = tmp_path / "log"
    log.mkdir()
    path = tmp_path / "s.npz"
    grid = {"x": list(range(24)), "delay": 0.05, "log": str(log)}
    proc = _start(tmp_path, grid, executor, path)
    try:
        reads = _wait_for_cells(proc, path, 5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the process and its workers, no chance to clean up
        proc.wait()
        proc.stderr.close()
    assert reads > 0
    killed = load_sweep(path)
    assert 5 <= killed.n_done < 24
    done_before = [x for x, d in zip(grid["x"], killed.done) if d]
    res = run_sweep(toy_cell, grid, root_seed=11, executor="serial", path=path)
    # finished cells were not recomputed; every other cell ran (again, if it was running at the kill)
    assert all(calls(log, x) == 1 for x in done_before)
    assert all(calls(log, x) >= 1 for x in grid["x"])
    assert same(res, fresh(toy_cell, grid, 11))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "run.py", "s.npz"]  # stale tmp/lock cleaned


def sleeping_cell(x, started, seed=None):
    """Announces itself (a file per cell in ``started``), then sleeps far longer than the test."""
    Path(started, str(x)).write_text(str(os.getpid()))
    time.sleep(120)
    return x


ORPHAN_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from gradexp.sweep import sweep_map
from test_sweep import sleeping_cell

if __name__ == "__main__":
    sweep_map(sleeping_cell, [{{"x": x, "started": {started!r}}} for x in range(4)], 0, executor=2)
"""


def _marked_processes(marker: str) -> list[int]:
    """Processes whose environment carries ``marker`` (the script and everything it started)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if marker.encode() in f.read():
                        with open(f"/proc/{d}/stat", "rb") as st:
                            if st.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X"):
                                out.append(int(d))
            except (OSError, IndexError):
                pass
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_parent_leaves_no_orphans(tmp_path):
    """kill -9 of a process running a pool: its workers, the fork server and the resource
    tracker end within seconds (they ran on for minutes before)."""
    import uuid

    marker = f"GRADEXP_ORPHAN_TEST={uuid.uuid4().hex}"
    started = tmp_path / "started"
    started.mkdir()
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT.format(tests=TESTS, started=str(started)))
    name, value = marker.split("=")
    proc = subprocess.Popen([sys.executable, str(script)], env={**os.environ, name: value},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2:  # both workers are inside a cell
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not start"
            time.sleep(0.05)
        helpers = set(_marked_processes(marker)) - {proc.pid}
        worker_pids = {int(f.read_text()) for f in started.iterdir()}
        assert worker_pids <= helpers and len(helpers) >= 3  # 2 workers, fork server (and tracker)
    finally:
        proc.kill()  # SIGKILL: no handler, no cleanup in the parent
        proc.wait()
    deadline = time.monotonic() + 15
    while (left := _marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # do not leave them running if the test fails
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the parent's SIGKILL: {left}"


def test_ctrl_c_saves_and_resumes(tmp_path):
    path = tmp_path / "s.npz"
    grid = {"x": list(range(24)), "delay": 0.1}
    proc = _start(tmp_path, grid, 2, path)
    try:
        _wait_for_cells(proc, path, 4)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: main and workers
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err and "cells saved in" in err
    saved = load_sweep(path)
    assert 4 <= saved.n_done < 24
    res = run_sweep(toy_cell, grid, root_seed=11, workers=2, path=path)
    assert same(res, fresh(toy_cell, grid, 11))


# ------------------------------------------------------------------ progress bar
def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    run_sweep(toy_cell, {"x": [1, 2, 3]}, root_seed=0, executor="serial")  # stderr is not a terminal
    assert capsys.readouterr().err == ""
    run_sweep(toy_cell, {"x": [1, 2, 3]}, root_seed=0, executor="serial", progress=True)
    assert "3/3" in capsys.readouterr().err
    run_sweep(toy_cell, {"x": [1, 2, 3]}, root_seed=0, executor="serial", progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ dask
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_client_gives_identical_numbers(dask_client, reference):
    assert same(run_sweep(toy_cell, GRID, root_seed=2024, executor=dask_client), reference)
    ex = dask_client.get_executor(pure=False)  # a plain concurrent.futures.Executor
    assert same(run_sweep(toy_cell, GRID, root_seed=2024, executor=ex, chunksize=5), reference)


def test_dask_resumes_a_partial_local_sweep(dask_client, tmp_path):
    path, flag = tmp_path / "s.npz", tmp_path / "flag"
    flag.touch()
    grid = {"x": list(range(8)), "flag": str(flag)}
    with pytest.raises(RuntimeError):
        run_sweep(failing_cell, grid, root_seed=3, executor="serial", path=path)
    flag.unlink()
    res = run_sweep(failing_cell, grid, root_seed=3, executor=dask_client, path=path)
    assert same(res, run_sweep(failing_cell, grid, root_seed=3, executor="serial"))


def test_dask_cell_error_propagates_with_cell(dask_client, tmp_path):
    flag = tmp_path / "flag"
    flag.touch()
    with pytest.raises(RuntimeError, match="on purpose") as info:
        sweep_map(failing_cell, {"x": list(range(6)), "flag": str(flag)}, 3, dask_client)
    assert "in sweep cell 3" in " ".join(getattr(info.value, "__notes__", []))


def test_cli_on_a_dask_scheduler(dask_client, tmp_path, monkeypatch, capsys, reference):
    monkeypatch.setitem(sw.GRIDS, "toy", sw.SweepGrid("toy", "toy cells", toy_cell, GRID, GRID))
    out = tmp_path / "toy.npz"
    assert _cli(["sweep", "toy", "--dask", dask_client.scheduler.address, "--seed", "2024", "--out", str(out)]) == 0
    assert same(load_sweep(out), reference) and str(out) in capsys.readouterr().out
    assert _cli(["sweep", "toy", "--dask", dask_client.scheduler.address, "--workers", "2"]) == 2


# ------------------------------------------------------------------ the chain cell and the CLI
def test_chain_rate_cell_matches_simulate_chain():
    from gradexp.mc.chain import simulate_chain

    cells = [{"depth": 4, "width": 8, "batch": 8, "reps": 3, "activation": a} for a in ("relu", "tanh")]
    out = sweep_map(sw.chain_rate_cell, cells, 9, "serial")
    for i, (c, o) in enumerate(zip(cells, out)):
        r = simulate_chain(**c, rng=cell_seed(9, i))
        assert o == {"rate": r.rate, "rate_stderr": r.rate_stderr}
    assert out[0]["rate"] != out[1]["rate"]


def _cli(argv):
    from gradexp.cli import main

    try:
        return main(argv)
    except SystemExit as e:  # argparse: --help (0) and bad arguments (2)
        return e.code


def test_cli_list_help_and_errors(capsys):
    assert _cli(["sweep", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("rate-vs-width", "rate-vs-batch", "rate-vs-activation"))
    assert _cli(["sweep", "--help"]) == 0
    assert _cli(["sweep", "no-such-grid"]) == 2
    assert "unknown sweep 'no-such-grid'" in capsys.readouterr().err
    assert _cli(["sweep"]) == 2
    assert _cli(["sweep", "rate-vs-width", "--set", "width"]) == 2
    assert "--set takes NAME=V1,V2" in capsys.readouterr().err
    assert _cli(["sweep", "rate-vs-width", "--workers", "0"]) == 2
    assert _cli(["sweep", "rate-vs-width", "--seed", "-1"]) == 2


@pytest.mark.parametrize("setting, words", [("foo=1", "unknown parameter 'foo'"), ("width=-4", "width"),
                                            ("activation=nope", "activation"), ("reps=0", "reps")])
def test_cli_bad_set_is_one_line_and_leaves_no_file(tmp_path, capsys, monkeypatch, setting, words):
    monkeypatch.chdir(tmp_path)
    assert _cli(["sweep", "rate-vs-width", "--fast", "--set", setting]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err, err
    assert not (tmp_path / "sweeps").exists() or not any((tmp_path / "sweeps").iterdir())


def test_default_output_path_depends_on_set():
    from gradexp.cli import sweep_default_path

    a = sweep_default_path("rate-vs-width", 0, True, [])
    b = sweep_default_path("rate-vs-width", 0, True, ["width=8,16"])
    c = sweep_default_path("rate-vs-width", 0, True, ["width=8,32"])
    assert len({a, b, c}) == 3 and a.name == "rate-vs-width-seed0-fast.npz"
    assert sweep_default_path("rate-vs-width", 0, True, ["width=8, 16"]) == b


def test_failed_first_cell_leaves_no_file(tmp_path):
    flag = tmp_path / "flag"
    flag.touch()
    path = tmp_path / "s.npz"
    with pytest.raises(RuntimeError, match="on purpose"):
        run_sweep(failing_cell, {"x": [3, 4], "flag": str(flag)}, root_seed=0, executor="serial", path=path)
    assert not path.exists()


def test_cli_runs_and_resumes_a_fast_grid(tmp_path, capsys):
    out = tmp_path / "w.npz"
    argv = ["sweep", "rate-vs-width", "--fast", "--serial", "--set", "depth=3", "--set", "width=8,16",
            "--set", "reps=2", "--out", str(out), "--seed", "5"]
    assert _cli(argv) == 0
    text = capsys.readouterr().out
    assert str(out) in text and "width" in text and "rate" in text
    res = load_sweep(out)
    assert res.complete and res.param("width").tolist() == [8, 16] and res.root_seed == 5
    assert np.all(res["rate"] > 0) and np.all(res["rate_stderr"] > 0)
    assert _cli(argv) == 0  # resumes a complete file: nothing to do, same numbers
    assert same(load_sweep(out), res)
    assert _cli(argv[:-4] + ["--out", str(out), "--seed", "6"]) == 1  # different sweep in that file
    assert "--fresh" in capsys.readouterr().err


CLI_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from gradexp import sweep as sw
from test_sweep import toy_cell, _cli

sw.GRIDS["toy"] = sw.SweepGrid("toy", "toy cells", toy_cell, {{"x": list(range(20)), "delay": 0.2}},
                               {{"x": [1, 2]}})
if __name__ == "__main__":
    sys.exit(_cli(["sweep", "toy", "--workers", "2", "--out", {path!r}]))
"""


def test_cli_sigterm_saves_and_rerun_resumes(tmp_path):
    path = tmp_path / "toy.npz"
    script = tmp_path / "cli.py"
    script.write_text(CLI_SCRIPT.format(tests=TESTS, path=str(path)))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        _wait_for_cells(proc, path, 2)
        os.kill(proc.pid, signal.SIGTERM)  # only the main process, as a batch system does
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and "rerun the same command to resume" in err, err
    n_saved = load_sweep(path).n_done
    assert 2 <= n_saved < 20
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert same(load_sweep(path), fresh(toy_cell, {"x": list(range(20)), "delay": 0.2}, 0))


def thread_settings(seed=None):
    import numba
    from threadpoolctl import threadpool_info

    return numba.get_num_threads(), max(p["num_threads"] for p in threadpool_info()) if threadpool_info() else 1


def test_local_workers_do_not_oversubscribe(monkeypatch):
    pytest.importorskip("threadpoolctl")
    for var in sw_executors._THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    with sw.local_executor(2, threads_per_worker=1) as ex:
        assert ex.submit(thread_settings).result() == (1, 1)
