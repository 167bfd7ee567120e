"""The shared result store (gradexp.sweep.cache): keys, invalidation, switches, processes, CLI."""

from __future__ import annotations

import functools
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradexp.sweep import cache

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    """Every test gets its own store under tmp_path (never the user's home cache)."""
    d = tmp_path / "store"
    monkeypatch.setenv(cache.ENV_DIR, str(d))
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    cache.configure()
    yield d
    cache.configure()


def counted(log, x, scale=1.0, seed=None, delay=0.0):
    """Appends one byte to ``log`` per call; returns numbers that depend on x, scale and seed."""
    with open(log, "a") as f:
        f.write("1")
    if delay:
        import time

        time.sleep(delay)  # long enough for concurrent callers to overlap
    return scale * (np.random.default_rng(seed).random(3) + x)


def ncalls(log) -> int:
    return len(Path(log).read_text()) if Path(log).exists() else 0


def test_store_is_where_the_environment_says(store):
    assert cache.cache_dir() == store
    assert cache.default_cache_dir() != store  # the tests never write to the user's cache directory
    cache.cached_call(counted, str(store.parent / "log"), 1.0, seed=0)
    assert cache.cache_info()["entries"] == 1 and store.is_dir()


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="XDG layout is Linux's")
def test_default_directory_is_the_user_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.ENV_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "gradexp"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == Path.home() / ".cache" / "gradexp"


def test_hit_returns_the_same_result_without_recomputing(tmp_path):
    log = str(tmp_path / "log")
    a = cache.cached_call(counted, log, 2.0, seed=np.random.SeedSequence(5))
    b = cache.cached_call(counted, log, 2.0, seed=np.random.SeedSequence(5))
    assert ncalls(log) == 1 and a.tobytes() == b.tobytes()
    assert a.tobytes() == counted(log, 2.0, seed=np.random.SeedSequence(5)).tobytes()


@pytest.mark.parametrize("change", [dict(x=3.0), dict(scale=2.0), dict(seed=np.random.SeedSequence(6)),
                                    dict(seed=np.random.SeedSequence(5, spawn_key=(1,)))])
def test_key_changes_with_arguments_and_seed(tmp_path, change):
    log = str(tmp_path / "log")
    base = dict(x=2.0, scale=1.0, seed=np.random.SeedSequence(5))
    cache.cached_call(counted, log, **base)
    cache.cached_call(counted, log, **{**base, **change})
    assert ncalls(log) == 2


def test_positional_keyword_and_default_are_one_key(tmp_path):
    log = str(tmp_path / "log")
    a = cache.cached_call(counted, log, 2.0, seed=3)
    b = cache.cached_call(counted, log=log, x=2.0, scale=1.0, seed=3)
    assert ncalls(log) == 1 and a.tobytes() == b.tobytes()


def test_seed_none_is_fresh_entropy_and_not_cached(tmp_path):
    log = str(tmp_path / "log")
    cache.cached_call(counted, log, 2.0)
    cache.cached_call(counted, log, 2.0, seed=None)
    assert ncalls(log) == 2 and cache.cache_info()["entries"] == 0


def counted_alias(log, x, *, rng=None, seed=None):
    """A simulator with gradexp's signature: ``rng`` and its alias ``seed``."""
    return counted(log, x, seed=rng if rng is not None else seed)


@pytest.mark.parametrize("given", [{"seed": 3}, {"rng": 3}])
def test_a_seed_given_through_either_alias_is_cached(tmp_path, given):
    """``seed=3`` with the default ``rng=None`` is a seeded call: cached (simulate_chain's case)."""
    log = tmp_path / "log"
    a = cache.cached_call(counted_alias, log, 1.0, **given)
    b = cache.cached_call(counted_alias, log, 1.0, **given)
    np.testing.assert_array_equal(a, b)
    assert ncalls(log) == 1
    cache.cached_call(counted_alias, log, 1.0)  # both None: fresh entropy, computed every time
    cache.cached_call(counted_alias, log, 1.0)
    assert ncalls(log) == 3


def test_seed_sequence_keyed_by_state_not_by_children_spawned(tmp_path):
    log = str(tmp_path / "log")
    ss = np.random.SeedSequence(11)
    k1 = cache.call_key(counted, (log, 1.0), {"seed": ss})
    ss.spawn(3)  # changes n_children_spawned, not the stream ss names
    assert cache.call_key(counted, (log, 1.0), {"seed": ss}) == k1


def test_generator_arguments_and_lambdas_are_not_cached(tmp_path):
    log = str(tmp_path / "log")
    for _ in range(2):
        cache.cached_call(counted, log, 1.0, seed=np.random.default_rng(0))
    assert ncalls(log) == 2
    assert cache.cached_call(lambda: 3) == 3 and cache.cache_info()["entries"] == 0


def test_partial_is_keyed_by_its_bound_arguments(tmp_path):
    log = str(tmp_path / "log")
    f2, f3 = functools.partial(counted, scale=2.0), functools.partial(counted, scale=3.0)
    a, b = cache.cached_call(f2, log, 1.0, seed=0), cache.cached_call(f3, log, 1.0, seed=0)
    assert ncalls(log) == 2 and not np.array_equal(a, b)


def test_disabled_store_computes_and_writes_nothing(tmp_path, monkeypatch, store):
    log = str(tmp_path / "log")
    monkeypatch.setenv(cache.ENV_OFF, "1")
    cache.cached_call(counted, log, 1.0, seed=0)
    cache.cached_call(counted, log, 1.0, seed=0)
    assert ncalls(log) == 2 and not store.exists()
    monkeypatch.delenv(cache.ENV_OFF)
    with cache.using(enabled=False):
        cache.cached_call(counted, log, 1.0, seed=0)
    assert ncalls(log) == 3 and not store.exists() and cache.is_enabled()


def test_code_change_invalidates(tmp_path, monkeypatch):
    """Editing the source of the function's module (here a comment) gives a new key."""
    mod = tmp_path / "gx_cache_probe.py"
    body = textwrap.dedent('''
        import numpy as np
        def f(log, x):
            with open(log, "a") as fh:
                fh.write("1")
            return np.array([x])
    ''')
    mod.write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = importlib.import_module("gx_cache_probe")
    log = str(tmp_path / "log")
    cache.cached_call(probe.f, log, 1.0)
    cache.cached_call(probe.f, log, 1.0)
    assert ncalls(log) == 1
    mod.write_text(body + "# an edit\n")
    cache.cached_call(probe.f, log, 1.0)
    assert ncalls(log) == 2


def test_code_hash_follows_imports_into_other_modules():
    from gradexp.mc.chain import simulate_chain
    from gradexp.plots.bjorck import _depth_compute

    deps = cache.code_dependencies(simulate_chain)
    assert "gradexp.mc._chain_kernels" in deps and "gradexp.activations" in deps  # numba kernels, registry
    assert not any(d.startswith(("gradexp.plots", "gradexp.claims")) for d in deps)
    deps = cache.code_dependencies(_depth_compute)
    assert "gradexp.mc.matrices" in deps and "gradexp.theory.rmt" in deps and "gradexp.plots.paik_choi" not in deps
    assert cache.code_hash(simulate_chain) != cache.code_hash(_depth_compute)


WRITER = """
import sys, numpy as np
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from gradexp.sweep import cache
from test_cache import counted
r = cache.cached_call(counted, {log!r}, 7.0, seed=np.random.SeedSequence(1), delay=3.0)
print(r.tobytes().hex())
"""


def test_several_processes_share_the_store(tmp_path, store):
    script = tmp_path / "w.py"
    script.write_text(WRITER.format(root=str(ROOT), tests=str(ROOT / "tests"), log=str(tmp_path / "log")))
    env = {**__import__("os").environ, cache.ENV_DIR: str(store)}
    procs = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert len({o for o, _ in outs}) == 1  # same bytes from every process
    assert ncalls(tmp_path / "log") == 1  # computed once: the others waited on the key's lock, then read it
    assert cache.cache_info()["entries"] == 1
    assert not list(store.rglob("*.tmp*"))  # no partial file left behind
    before = ncalls(tmp_path / "log")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert r.stdout == outs[0][0] and ncalls(tmp_path / "log") == before  # read back, not recomputed


def test_cli_cache_info_and_clear(tmp_path, capsys, store):
    from gradexp.cli import main

    cache.cached_call(counted, str(tmp_path / "log"), 1.0, seed=0)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(store) in out and "entries:   1" in out
    assert main(["cache", "clear"]) == 0
    assert "removed 1" in capsys.readouterr().out and cache.cache_info()["entries"] == 0
    with pytest.raises(SystemExit) as e:
        main(["cache", "purge"])
    assert e.value.code == 2


def test_unwritable_store_location_computes_without_it(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(cache.ENV_DIR, str(blocker / "store"))  # under a file: cannot be created
    log = str(tmp_path / "log")
    with pytest.warns(cache.StoreWarning, match="cannot be written"):
        a = cache.cached_call(counted, log, 1.0, seed=0)
    assert ncalls(log) == 1 and a.tobytes() == counted(log, 1.0, seed=0).tobytes()


# --------------------------------------------------------------------------- a store that verifies
def _entry_file(store, key) -> Path:
    (path,) = store.rglob(f"{key}.pkl")
    return path


def test_an_entry_under_another_key_is_discarded_and_recomputed(tmp_path, store):
    """A valid entry copied to another key's name is not served: recomputed, one warning."""
    log = str(tmp_path / "log")
    a = cache.cached_call(counted, log, 1.0, seed=0)
    b = cache.cached_call(counted, log, 2.0, seed=0)
    ka, kb = cache.call_key(counted, (log, 1.0), {"seed": 0}), cache.call_key(counted, (log, 2.0), {"seed": 0})
    _entry_file(store, kb).write_bytes(_entry_file(store, ka).read_bytes())  # a's result under b's key
    with pytest.warns(cache.StoreWarning, match="does not belong to its key") as rec:
        again = cache.cached_call(counted, log, 2.0, seed=0)
    assert len(rec) == 1 and again.tobytes() == b.tobytes() and not np.array_equal(again, a)
    assert ncalls(log) == 3  # recomputed once, then stored again
    assert cache.cached_call(counted, log, 2.0, seed=0).tobytes() == b.tobytes() and ncalls(log) == 3


def test_damaged_entries_are_recomputed_with_one_warning_per_run(tmp_path, store):
    log = str(tmp_path / "log")
    xs = [1.0, 2.0, 3.0]
    want = [cache.cached_call(counted, log, x, seed=0) for x in xs]
    for x in xs:  # truncate every entry to half its size
        f = _entry_file(store, cache.call_key(counted, (log, x), {"seed": 0}))
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.warns(cache.StoreWarning, match="cannot be read") as rec:
        got = [cache.cached_call(counted, log, x, seed=0) for x in xs]
    assert len(rec) == 1  # one line for the run, not one per entry
    assert all(g.tobytes() == w.tobytes() for g, w in zip(got, want)) and ncalls(log) == 6


def test_entry_records_its_key_and_code_hash(tmp_path, store):
    import pickle

    log = str(tmp_path / "log")
    cache.cached_call(counted, log, 1.0, seed=0)
    key = cache.call_key(counted, (log, 1.0), {"seed": 0})
    entry = pickle.loads(_entry_file(store, key).read_bytes())
    assert entry["key"] == key and entry["code_hash"] == cache.code_hash(counted)
    assert entry["format"] == cache.ENTRY_FORMAT and "counted" in entry["func"]


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only directories")
def test_read_only_store_directory_warns_and_info_says_why(tmp_path, store):
    import os

    store.mkdir()
    os.chmod(store, 0o500)
    try:
        log = str(tmp_path / "log")
        with pytest.warns(cache.StoreWarning, match="cannot be written"):
            cache.cached_call(counted, log, 1.0, seed=0)
        info = cache.cache_info()
        assert info["enabled"] is False and "cannot be written" in info["reason"]
    finally:
        os.chmod(store, 0o700)


def test_unwritable_store_directory_warns_and_info_says_why(tmp_path, store, monkeypatch):
    """The read-only case where chmod does not bind (root): the write probe fails as it would."""
    import tempfile as tf

    store.mkdir()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    assert tf.mkstemp is refuse  # (the module's own reference)
    log = str(tmp_path / "log")
    with pytest.warns(cache.StoreWarning, match="Permission denied") as rec:
        cache.cached_call(counted, log, 1.0, seed=0)
        cache.cached_call(counted, log, 1.0, seed=0)
    assert len(rec) == 1 and ncalls(log) == 2
    info = cache.cache_info()
    assert info["enabled"] is False and "Permission denied" in info["reason"]


def test_a_file_as_store_directory(tmp_path, monkeypatch, capsys):
    from gradexp.cli import main

    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv(cache.ENV_DIR, str(f))
    cache.configure()
    log = str(tmp_path / "log")
    with pytest.warns(cache.StoreWarning, match="is not a directory"):
        cache.cached_call(counted, log, 1.0, seed=0)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "enabled:   False" in out and "is not a directory" in out
    assert f.read_text() == "x"


def test_extension_module_functions_are_keyed_by_name_and_version(tmp_path, store):
    import math

    from gradexp.sweep.cache import _package_version

    assert cache.cached_call(math.hypot, 3.0, 4.0) == 5.0
    assert cache.cached_call(math.hypot, 3.0, 4.0) == 5.0
    assert cache.cache_info()["entries"] == 1
    assert cache.code_hash(math.hypot) != cache.code_hash(math.atan2)
    assert _package_version("math") == f"python-{sys.version}"
    assert _package_version("numpy").endswith(np.__version__)
    assert cache.code_dependencies(math.hypot) == []


DAMAGER = """
import sys, numpy as np
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from gradexp.sweep import cache
from gradexp.sweep.executors import sweep_map
from test_cache import counted_cell
if __name__ == "__main__":
    for f in cache.cache_dir().rglob("*.pkl"):
        f.write_bytes(b"not a pickle")
    sweep_map(counted_cell, [{{"x": float(x)}} for x in range(8)], 0, executor={workers})
    print("ok")
"""


def counted_cell(x, seed):
    """Sweep cell reading a stored result (module level: picklable)."""
    from gradexp.sweep import cache as c

    return c.cached_call(np.add, x, 1.0)


@pytest.mark.parametrize("workers", [1, 2])
def test_one_warning_line_per_run_across_workers(tmp_path, store, workers):
    import os

    env = {k: v for k, v in os.environ.items() if k != cache.ENV_RUN}
    env[cache.ENV_DIR] = str(store)
    script = tmp_path / "d.py"
    script.write_text(DAMAGER.format(root=str(ROOT), tests=str(ROOT / "tests"), workers=workers))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert r.stderr.count("StoreWarning") == 0  # first run: nothing stored, nothing to discard
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 0 and len(lines) == 1 and "StoreWarning" in lines[0] and "cannot be read" in lines[0], \
        r.stderr


def test_import_index_makes_a_warm_code_hash_parse_nothing(monkeypatch, store):
    """The gradexp imports of each source are kept by content digest in the store: a new
    process (here: the in-process memo emptied) hashes code without parsing any file, and gets
    the same hash."""
    from gradexp.mc.chain import simulate_chain

    cache._module_closure_hash.cache_clear()
    cache._IMPORTS.clear()
    first = cache.code_hash(simulate_chain)
    assert any((store / "code-index").iterdir())
    cache._module_closure_hash.cache_clear()
    cache._IMPORTS.clear()

    def no_parse(*a, **k):
        raise AssertionError("parsed a source on a warm run")

    monkeypatch.setattr(cache, "_parse_imports", no_parse)
    assert cache.code_hash(simulate_chain) == first
    cache._module_closure_hash.cache_clear()
