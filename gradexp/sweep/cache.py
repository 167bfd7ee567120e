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

Storage: one pickle file per result, ``v2/<key[:2]>/<key>.pkl``, written atomically (temporary
file, ``os.replace``), so several processes may share the store. Each entry records its full key,
the function's identity and the code hash; an entry is checked on read and one that does not
belong to its key (copied or renamed from another key, written by other code) or cannot be read
(truncated, damaged) is discarded and recomputed, with one :class:`StoreWarning` line per run (all
processes of a run together: workers inherit the run's token). A store directory that cannot be
used (a file, read-only, not creatable) gives one warning line too; results are then computed
without the store and :func:`cache_info` (``gradexp cache info``) says why.
A per-key advisory lock (``locks/<key>.lock``) makes a process that needs a result another
process is computing wait for it and read it back, so two claims running at once in two workers
compute a shared experiment once.
Functions outside gradexp with Python source are keyed by that source (and the gradexp modules it
imports); functions without Python source (built-ins and compiled extension modules such as
``math.hypot``) by their qualified name and the version of the package that provides them (the
Python version for the standard library).
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
import pickle
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["cached_call", "code_hash", "code_dependencies", "call_key", "cache_dir", "default_cache_dir",
           "configure", "settings", "cache_info", "clear_cache", "is_enabled", "using", "unusable_reason",
           "StoreWarning"]

ENV_DIR = "GRADEXP_CACHE_DIR"
ENV_OFF = "GRADEXP_NO_CACHE"
#: names one run (a command and its worker processes, which inherit the environment): the
#: warnings of a run are shown once whichever process meets the problem first
ENV_RUN = "GRADEXP_STORE_RUN"
os.environ.setdefault(ENV_RUN, f"{os.getpid()}-{time.time_ns()}")

#: the format written into every entry (entries of another format are discarded)
ENTRY_FORMAT = "gradexp-store/2"
_ENTRIES = "v2"


class StoreWarning(UserWarning):
    """The result store met a problem it worked around (an unusable directory, an entry that
    did not belong to its key or could not be read); results are correct (recomputed)."""

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
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path or None, got {type(directory).__name__}")
    if directory is not None and not str(directory):
        raise ValueError("directory must not be empty")
    _STATE["enabled"] = enabled
    _STATE["directory"] = None if directory is None else str(Path(directory).expanduser())
    _USABLE.clear()


# =========================================================================== usability and warnings
_USABLE: dict[str, str | None] = {}  # location -> None (usable) or the reason it is not


def _probe(location: str) -> str | None:
    """None if a result can be written under ``location`` (created if needed), else why not."""
    p = Path(location)
    if p.exists() and not p.is_dir():
        return f"{location} is not a directory"
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p, prefix=".probe-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return f"{location} cannot be written ({exc.strerror or exc})"
    return None


def unusable_reason(location=None) -> str | None:
    """Why the store at ``location`` (default: :func:`cache_dir`) cannot be used, or None.

    Checked once per location and process (by creating the directory and a file in it)."""
    location = str(cache_dir() if location is None else location)
    if location not in _USABLE:
        _USABLE[location] = _probe(location)
    return _USABLE[location]


def _warn_once(kind: str, message: str) -> None:
    """Show ``message`` as one :class:`StoreWarning` line, once per run and ``kind`` (across the
    processes of the run: the first to create the run's marker file shows it)."""
    token = hashlib.sha256(f"{os.environ.get(ENV_RUN, '')}\0{kind}".encode()).hexdigest()[:24]
    marker = Path(tempfile.gettempdir()) / f"gradexp-store-warned-{token}"
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return
    except OSError:  # no writable temporary directory: warn in this process (at most once per kind)
        if kind in _WARNED:
            return
    _WARNED.add(kind)
    # an explicit location without source: the warning prints as one line, no source line under it
    warnings.warn_explicit(message, StoreWarning, filename="gradexp", lineno=0, module="gradexp.sweep.cache")


_WARNED: set = set()


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


_IMPORTS: dict[str, frozenset] = {}  # digest of (module name, source) -> its gradexp imports


def _imports(name: str, path: Path) -> frozenset[str]:
    """gradexp modules imported anywhere in ``path`` (module ``name``), as absolute names.

    Parsing every module of a closure costs about a second per process; the answer depends on
    the source only, so it is kept per source digest in this process and in the store
    (``code-index/<digest>``, one line per import), and a warm run parses nothing."""
    source = path.read_bytes()
    digest = hashlib.sha256(name.encode() + b"\0" + source).hexdigest()
    hit = _IMPORTS.get(digest)
    if hit is not None:
        return hit
    index = None
    if is_enabled() and unusable_reason() is None:
        index = cache_dir() / "code-index" / digest
        with contextlib.suppress(OSError, UnicodeDecodeError):
            got = frozenset(index.read_text(encoding="utf-8").split())
            _IMPORTS[digest] = got
            return got
    got = frozenset(_parse_imports(name, path, source))
    _IMPORTS[digest] = got
    if index is not None:
        with contextlib.suppress(OSError):
            index.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=index.parent, prefix=".idx-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("\n".join(sorted(got)) + "\n")
            os.replace(tmp, index)
    return got


def _parse_imports(name: str, path: Path, source: bytes) -> set[str]:
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
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


@functools.cache
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
    src = _python_source(mod)
    if src is None:
        return []
    deps = _imports(mod, src)
    return sorted(set().union(*(_closure(d) for d in deps))) if deps else []


def _python_source(mod: str) -> Path | None:
    """The ``.py`` file of module ``mod``, or None (built-in, compiled extension, no file)."""
    src = getattr(sys.modules.get(mod), "__file__", None)
    if src is None or not str(src).endswith(".py") or not Path(src).is_file():
        return None
    return Path(src)


@functools.cache
def _package_version(mod: str) -> str:
    """Version of what provides module ``mod``: the Python version for the standard library
    (built-in modules included), else the installed distribution's version, else the
    package's ``__version__``; "unknown" if none is found."""
    top = mod.split(".")[0]
    if top in sys.stdlib_module_names or top == "builtins":
        return f"python-{sys.version}"
    from importlib import metadata

    try:
        dists = metadata.packages_distributions().get(top, [])
        if dists:
            return f"{dists[0]}-{metadata.version(dists[0])}"
    except Exception:  # pragma: no cover - broken metadata: fall back to __version__
        pass
    version = getattr(sys.modules.get(top), "__version__", None)
    return f"{top}-{version}" if version else f"{top}-unknown"


def code_hash(func) -> str:
    """Hash of the code ``func`` depends on: its module's source and that of every gradexp
    module imported from it, transitively (for a function outside gradexp: its module's source
    file and the gradexp modules it imports; for a built-in or a function of a compiled
    extension module: its qualified name and the version of the package providing it).

    >>> import math
    >>> code_hash(math.hypot) == code_hash(math.hypot) != code_hash(math.atan2)
    True
    """
    while isinstance(func, functools.partial):
        func = func.func
    mod = getattr(func, "__module__", None)
    if not mod:
        raise TypeError(f"cannot hash the code of {func!r}: it has no module")
    if _module_file(mod) is not None:
        return _module_closure_hash(mod)
    src = _python_source(mod)
    if src is None:  # built-in or compiled extension (math.hypot): name + providing package's version
        qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
        return hashlib.sha256(f"{mod}:{qual}\0{_package_version(mod)}".encode()).hexdigest()
    h = hashlib.sha256(src.read_bytes())
    for dep in sorted(_imports(mod, src)):
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
    # ``rng`` and its alias ``seed``: uncacheable only when every one given is None (fresh entropy)
    given = [name for name in _SEED_NAMES if name in kwargs]
    if given and all(kwargs[name] is None for name in given):
        raise _Uncacheable(f"{'/'.join(given)}=None draws fresh entropy")
    return joblib.hash((ident, code_hash(func), np.__version__, _canonical(tuple(args)),
                        _canonical(dict(sorted(kwargs.items())))))


def _entry_path(location: str, key: str) -> Path:
    return Path(location) / _ENTRIES / key[:2] / f"{key}.pkl"


_MISSING = object()


def _read_entry(location: str, key: str, code: str):
    """The stored value of ``key``, or ``_MISSING``. An entry that cannot be read or does not
    belong to ``key`` (another key, other code, another format) is removed, with one warning."""
    path = _entry_path(location, key)
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)
    except FileNotFoundError:
        return _MISSING
    except Exception as exc:  # truncated or damaged: unpickling can raise almost anything
        _discard(location, path, f"an entry that cannot be read ({type(exc).__name__})")
        return _MISSING
    if not (isinstance(entry, dict) and entry.get("format") == ENTRY_FORMAT and entry.get("key") == key
            and entry.get("code_hash") == code and "value" in entry):
        _discard(location, path, "an entry that does not belong to its key")
        return _MISSING
    return entry["value"]


def _discard(location: str, path: Path, what: str) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
    _warn_once(f"entry:{location}", f"result store {location}: discarded {what} and recomputed it "
                                    f"(shown once per run; `gradexp cache clear` empties the store)")


def _write_entry(location: str, key: str, entry: dict) -> None:
    """Write one entry atomically (temporary file in the same directory, ``os.replace``)."""
    path = _entry_path(location, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp")
    except OSError as exc:
        _warn_once(f"unusable:{location}", f"result store {location} cannot be written "
                                           f"({exc.strerror or exc}); results are computed without it")
        return
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # disk full, read-only: the result is still returned
            _warn_once(f"unusable:{location}", f"result store {location} cannot be written "
                                               f"({exc.strerror or exc}); results are computed without it")
            return
        raise  # an unpicklable result is the caller's bug: say so


def cached_call(func, /, *args, **kwargs):
    """``func(*args, **kwargs)``, memoised in the result store when it is enabled.

    See the module docstring for the key and the checks on read. Calls that cannot be keyed
    safely (a Generator argument, a lambda) are computed directly, and so is every call while
    the store directory cannot be used (one :class:`StoreWarning` says why).

    Examples
    --------
    >>> import math
    >>> cached_call(math.hypot, 3.0, 4.0) == math.hypot(3.0, 4.0)
    True
    """
    if not is_enabled():
        return func(*args, **kwargs)
    try:
        ident = _identity(func)
        key = call_key(func, args, kwargs)
    except _Uncacheable:
        return func(*args, **kwargs)
    location = str(cache_dir())
    problem = unusable_reason(location)
    if problem is not None:
        _warn_once(f"unusable:{location}", f"result store unusable: {problem}; results are computed "
                                           f"without it (see gradexp cache info)")
        return func(*args, **kwargs)
    code = code_hash(func)
    with _key_lock(location, key):  # a second process wanting the same result waits, then reads it
        value = _read_entry(location, key, code)
        if value is not _MISSING:
            return value
        value = func(*args, **kwargs)
        _write_entry(location, key, {"format": ENTRY_FORMAT, "key": key, "code_hash": code,
                                     "func": f"{ident!r}", "numpy": np.__version__,
                                     "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                     "value": value})
        return value


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
def _roots() -> list[Path]:
    """Entry directories: this format's, and the joblib layout of earlier versions."""
    return [cache_dir() / _ENTRIES, cache_dir() / "joblib"]


def cache_info() -> dict:
    """``{"directory", "enabled", "reason", "entries", "bytes"}`` of the store.

    ``enabled`` is True only when the store is switched on *and* its directory can be used;
    ``reason`` says why not (None when enabled). ``entries`` counts stored results."""
    entries = size = 0
    for root in _roots():
        if not root.is_dir():
            continue
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f.endswith(".pkl") and (root.name == _ENTRIES or f == "output.pkl"):
                    entries += 1
                try:
                    size += os.path.getsize(os.path.join(dirpath, f))
                except OSError:  # removed meanwhile by another process
                    pass
    if not is_enabled():
        reason = f"switched off ({ENV_OFF}=1, --no-cache or configure(enabled=False))"
    else:
        reason = unusable_reason()
    return {"directory": str(cache_dir()), "enabled": reason is None, "reason": reason,
            "entries": entries, "bytes": size}


def clear_cache() -> int:
    """Delete every stored result; returns how many there were."""
    n = cache_info()["entries"]
    for root in [*_roots(), cache_dir() / "code-index"]:
        if root.exists():
            shutil.rmtree(root)
    _IMPORTS.clear()
    return n
