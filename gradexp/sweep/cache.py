"""The shared result store: one on-disk, content-addressed cache for verify, figures and sweeps.

``cached_call(func, /, *args, **kwargs)`` returns ``func(*args, **kwargs)``; while the store is
enabled (the default), the result is kept on disk under a key made of

* the computation's identity: ``module:qualname`` of ``func`` (and the bound arguments of a
  :func:`functools.partial`);
* a hash of the code it depends on (:func:`code_hash`): the source of ``func``'s module and of
  every gradexp module it imports, transitively (so a change to a numba kernel in
  ``mc/_chain_kernels.py`` invalidates the results of ``mc.chain.simulate_chain`` and of every
  claim or figure that imports it, while editing a plot's colours invalidates only that plot's
  module), plus the numpy version;
* its arguments, seeds included (a :class:`numpy.random.SeedSequence` by its entropy, spawn key
  and pool size, so the same stream gives the same key whatever was spawned from it since).

A claim and a figure that call the same experiment with the same arguments therefore compute it
once, and a rerun with unchanged code reads results back instead of recomputing them.

Why the transitive imports and not the whole package: a hash of every file would throw the whole
store away when a caption changes; the function's source alone (joblib's own rule) misses the
kernels and helpers it calls in other modules. Imports are read from the source (``ast``), both
module-level and inside functions, restricted to the ``gradexp`` package; code outside gradexp
(numpy, scipy, numba) is represented by numpy's version only.

Not cached (computed directly): calls with a :class:`numpy.random.Generator` argument (the call
advances the caller's generator, which a stored result cannot do), calls whose ``seed``/``rng``
parameter is None (fresh entropy), lambdas and functions defined inside other functions (no
stable identity).

Storage is :class:`joblib.Memory` (atomic writes by rename, so several processes may share the
store). A per-key advisory lock (``locks/<key>.lock``) makes a process that needs a result another
process is computing wait for it and read it back, so two claims running at once in two workers
compute a shared experiment once.
Location: ``$GRADEXP_CACHE_DIR`` if set, else the platform's user cache directory
(``$XDG_CACHE_HOME/gradexp`` or ``~/.cache/gradexp`` on Linux, ``~/Library/Caches/gradexp`` on
macOS, ``%LOCALAPPDATA%\\gradexp\\Cache`` on Windows). ``GRADEXP_NO_CACHE=1`` or
``configure(enabled=False)`` (``--no-cache`` on the command line) turns it off.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import inspect
import os
import shutil
import sys
from pathlib import Path

import numpy as np

__all__ = ["cached_call", "code_hash", "code_dependencies", "call_key", "cache_dir", "default_cache_dir", "configure", "settings", "cache_info",
           "clear_cache", "is_enabled", "using"]

ENV_DIR = "GRADEXP_CACHE_DIR"
ENV_OFF = "GRADEXP_NO_CACHE"

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../gradexp
_STATE: dict = {"enabled": None, "directory": None}  # None: read the environment


# =========================================================================== location and switches
def default_cache_dir() -> Path:
    """The platform's user cache directory for gradexp (not created)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "gradexp"
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "gradexp" / "Cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gradexp"


def cache_dir() -> Path:
    """Where the store lives: ``configure(directory=...)``, else ``$GRADEXP_CACHE_DIR``, else
    :func:`default_cache_dir`."""
    if _STATE["directory"] is not None:
        return Path(_STATE["directory"])
    env = os.environ.get(ENV_DIR)
    return Path(env).expanduser() if env else default_cache_dir()


def is_enabled() -> bool:
    if _STATE["enabled"] is not None:
        return bool(_STATE["enabled"])
    return os.environ.get(ENV_OFF, "").strip().lower() in ("", "0", "false", "no")


def configure(*, enabled: bool | None = None, directory=None) -> None:
    """Switch the store on or off and/or move it, for this process (None: back to the
    environment's setting). Worker processes receive the setting with each task
    (:func:`settings`)."""
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool or None, got {enabled!r}")
    _STATE["enabled"] = enabled
    _STATE["directory"] = None if directory is None else str(Path(directory).expanduser())


@contextlib.contextmanager
def using(*, enabled: bool | None = None, directory=None):
    """:func:`configure` inside a ``with`` block only (the previous setting is restored)."""
    old = dict(_STATE)
    configure(enabled=enabled, directory=directory)
    try:
        yield
    finally:
        _STATE.update(old)


def settings() -> dict:
    """The effective setting, as keyword arguments of :func:`configure` (shipped to workers)."""
    return {"enabled": is_enabled(), "directory": str(cache_dir())}


@functools.lru_cache(maxsize=4)
def _memory_at(location: str):
    import joblib

    return joblib.Memory(location=location, verbose=0)


# =========================================================================== code hash
def _module_file(name: str) -> Path | None:
    """Source file of gradexp module ``name`` (package -> its __init__.py), or None."""
    if name != "gradexp" and not name.startswith("gradexp."):
        return None
    parts = name.split(".")[1:]
    if not parts:
        return _PACKAGE_ROOT / "__init__.py"
    rel = Path(*parts)
    for cand in (_PACKAGE_ROOT / rel.with_suffix(".py"), _PACKAGE_ROOT / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(name: str, path: Path) -> set[str]:
    """gradexp modules imported anywhere in ``path`` (module ``name``), as absolute names."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # submodules imported by name
    return {m for m in out if _module_file(m) is not None}


def _closure(name: str) -> dict[str, Path]:
    """gradexp module ``name`` and every gradexp module it imports, transitively: {name: file}."""
    seen: dict[str, Path] = {}
    todo = [name]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        path = _module_file(mod)
        if path is None:
            continue
        seen[mod] = path
        todo.extend(_imports(mod, path) - set(seen))
    return seen


@functools.lru_cache(maxsize=None)
def _module_closure_hash(name: str) -> str:
    seen = _closure(name)
    h = hashlib.sha256()
    for mod in sorted(seen):
        h.update(mod.encode())
        h.update(b"\0")
        h.update(seen[mod].read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def code_dependencies(func) -> list[str]:
    """The gradexp modules whose source enters :func:`code_hash` of ``func``."""
    while isinstance(func, functools.partial):
        func = func.func
    mod = func.__module__
    if _module_file(mod) is not None:
        return sorted(_closure(mod))
    src = Path(sys.modules[mod].__file__)
    return sorted(set().union(*(_closure(d) for d in _imports(mod, src))) if _imports(mod, src) else set())


def code_hash(func) -> str:
    """Hash of the code ``func`` depends on: its module's source and that of every gradexp
    module imported from it, transitively (for a function outside gradexp: its module's source
    file and the gradexp modules it imports)."""
    while isinstance(func, functools.partial):
        func = func.func
    mod = getattr(func, "__module__", None)
    if not mod:
        raise TypeError(f"cannot hash the code of {func!r}: it has no module")
    if _module_file(mod) is not None:
        return _module_closure_hash(mod)
    module = sys.modules.get(mod)
    src = getattr(module, "__file__", None)
    if src is None:
        raise TypeError(f"cannot hash the code of {func!r}: module {mod!r} has no source file")
    h = hashlib.sha256(Path(src).read_bytes())
    for dep in sorted(_imports(mod, Path(src))):
        h.update(_module_closure_hash(dep).encode())
    return h.hexdigest()


# =========================================================================== keys and calls
class _Uncacheable(Exception):
    pass


#: parameters that name a random stream; None there means fresh entropy: never cached
_SEED_NAMES = ("seed", "rng", "random_state")


def _canonical(value):
    """A hashable stand-in for an argument: SeedSequences by their state, Generators refused."""
    if isinstance(value, np.random.Generator) or isinstance(value, np.random.BitGenerator):
        raise _Uncacheable("a Generator argument")
    if isinstance(value, np.random.RandomState):
        raise _Uncacheable("a RandomState argument")
    if isinstance(value, np.random.SeedSequence):
        return ("SeedSequence", value.entropy, tuple(value.spawn_key), value.pool_size)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _canonical(v)) for k, v in value.items()))
    return value


def _identity(func) -> tuple:
    if isinstance(func, functools.partial):
        return ("partial", _identity(func.func), _canonical(func.args),
                _canonical(dict(sorted(func.keywords.items()))))
    mod, qual = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
    if not mod or not qual or "<lambda>" in qual or "<locals>" in qual:
        raise _Uncacheable("no stable identity (lambda or nested function)")
    return (mod, qual)


def call_key(func, args=(), kwargs=None) -> str:
    """The store key of ``func(*args, **kwargs)`` (raises if the call is not cacheable)."""
    import joblib

    ident = _identity(func)
    kwargs = dict(kwargs or {})
    try:  # f(1, b=2) and f(a=1, b=2) and f(1) with default b=2 are one computation
        bound = inspect.signature(func).bind(*args, **kwargs)
        bound.apply_defaults()
        args, kwargs = (), dict(bound.arguments)
    except (TypeError, ValueError):  # no signature, or a call that will raise anyway: key as given
        pass
    for name in _SEED_NAMES:
        if name in kwargs and kwargs[name] is None:
            raise _Uncacheable(f"{name}=None draws fresh entropy")
    return joblib.hash((ident, code_hash(func), np.__version__, _canonical(tuple(args)),
                        _canonical(dict(sorted(kwargs.items())))))


def _run(key, func, args, kwargs):
    """The memoised call: joblib keys it by ``key`` only (func and arguments are in the key)."""
    return func(*args, **kwargs)


@functools.lru_cache(maxsize=4)
def _memoised(location: str):
    return _memory_at(location).cache(_run, ignore=["func", "args", "kwargs"])


def cached_call(func, /, *args, **kwargs):
    """``func(*args, **kwargs)``, memoised in the result store when it is enabled.

    See the module docstring for the key. Calls that cannot be keyed safely (a Generator
    argument, a lambda) are computed directly.

    Examples
    --------
    >>> import math
    >>> cached_call(math.hypot, 3.0, 4.0) == math.hypot(3.0, 4.0)
    True
    """
    if not is_enabled():
        return func(*args, **kwargs)
    try:
        key = call_key(func, args, kwargs)
    except _Uncacheable:
        return func(*args, **kwargs)
    location = str(cache_dir())
    try:
        memo = _memoised(location)
    except OSError:  # the store cannot be created (read-only location): compute without it
        return func(*args, **kwargs)
    with _key_lock(location, key):  # a second process wanting the same result waits, then reads it
        return memo(key, func, args, kwargs)


@contextlib.contextmanager
def _key_lock(location: str, key: str):
    """Advisory per-key lock (POSIX flock, released by the OS if the holder dies), so that
    processes needing the same result at the same time compute it once. Different keys do
    not wait for each other; nested calls take different keys (a computation cannot need
    itself), so they cannot deadlock. Without fcntl (Windows) or a writable store: no lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        d = Path(location) / "locks"
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(d / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# =========================================================================== maintenance
def _store_root() -> Path:
    return cache_dir() / "joblib"


def cache_info() -> dict:
    """``{"directory", "enabled", "entries", "bytes"}`` of the store (entries: stored results)."""
    root = _store_root()
    entries = size = 0
    if root.is_dir():
        for dirpath, _, files in os.walk(root):
            if "output.pkl" in files:
                entries += 1
            for f in files:
                try:
                    size += os.path.getsize(os.path.join(dirpath, f))
                except OSError:  # removed meanwhile by another process
                    pass
    return {"directory": str(cache_dir()), "enabled": is_enabled(), "entries": entries, "bytes": size}


def clear_cache() -> int:
    """Delete every stored result; returns how many there were."""
    n = cache_info()["entries"]
    root = _store_root()
    if root.exists():
        shutil.rmtree(root)
    _memoised.cache_clear()
    _memory_at.cache_clear()
    return n
