"""Command line: argument parsing and validation only; the work is done by gradexp.claims,
gradexp.plots and gradexp.sweep.

    gradexp verify  [--fast] [--json | --jsonl | --markdown] [--id ID ...] [--paper KEY ...]
    gradexp figures [NAME ...] [--list] [--out DIR] [--format png,pdf,svg] [--fast] [--seed N]
    gradexp sweep   GRID [--list] [--set NAME=V1,V2] [--seed N] [--out FILE] [--fresh] [--fast]
    gradexp cache   info | clear
    gradexp probe   MODEL [--batch N] [--input SHAPE] [--reps N] [--seed N] [--arg NAME=VALUE] [--json] [--plot PATH]

``verify``, ``figures`` and ``sweep`` also take ``--workers N``, ``--dask ADDRESS`` and
``--no-cache``. Every input is checked before anything is computed; a bad one is reported in
one line on stderr with exit code 2 (never a traceback). A closed output pipe
(``gradexp verify --jsonl | head``) ends the run quietly; Ctrl-C ends it with exit code 130.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from ._validate import nonneg_int_arg as _nonneg_int
from ._validate import pos_int_arg as _pos_int

FORMATS = ("png", "pdf", "svg")


class UsageError(Exception):
    """A bad command-line input: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage too)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# =========================================================================== value checks
def check_writable_dir(path) -> Path:
    """Create ``path`` (and parents) if needed and check a file can be written in it. An empty
    path is refused (it would silently mean the current directory)."""
    if not str(path).strip():
        raise UsageError("--out must name a directory (got an empty path)")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {path}: exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".gradexp-write-test-"):
            pass
    except OSError as exc:
        raise UsageError(f"--out {path}: not writable ({exc.strerror or exc})") from None
    return p


def check_writable_file(path) -> Path:
    """Check that ``path`` (a file) can be created or replaced (its directory is created)."""
    if not str(path).strip():
        raise UsageError("--out must name a file (got an empty path)")
    p = Path(path)
    if p.exists() and p.is_dir():
        raise UsageError(f"--out {path}: is a directory, expected a file")
    check_writable_dir(p.parent if str(p.parent) else ".")
    return p


def _parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"--format takes a comma-separated list of {', '.join(FORMATS)}; got {text!r}")
    return list(dict.fromkeys(formats))


def _check_run_options(args) -> None:
    if args.workers is not None and args.dask not in (None, "local"):
        raise UsageError("--workers applies to local processes and to --dask local only")
    if args.workers is not None and getattr(args, "serial", False):
        raise UsageError("--workers and --serial exclude each other")


@contextlib.contextmanager
def _executor(args):
    """The executor chosen by --workers / --dask (connected before any computation)."""
    if getattr(args, "dask", None) is None:
        yield None if getattr(args, "workers", None) is None else args.workers
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--dask needs dask.distributed (pip install 'gradexp[dask]')") from None
    cluster = client = None
    try:
        if args.dask == "local":
            from .sweep.executors import available_cpus

            cluster = LocalCluster(n_workers=args.workers or available_cpus(), threads_per_worker=1,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(args.dask, timeout=10)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(f"--dask {args.dask}: cannot connect ({exc})") from None
        yield client
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _apply_cache_flag(args) -> None:
    if getattr(args, "no_cache", False):
        from .sweep import cache

        cache.configure(enabled=False)


# =========================================================================== verify
def _select_claims(args):
    from .bibliography import PAPER_KEYS
    from .claims import all_claims

    claims = all_claims()
    if args.id:
        known = {c.id for c in claims}
        unknown = [i for i in args.id if i not in known]
        if unknown:
            raise UsageError(f"unknown claim id(s): {', '.join(unknown)} (gradexp verify --json lists them)")
        claims = [c for c in claims if c.id in set(args.id)]
    if args.paper:
        keys = list(PAPER_KEYS)
        unknown = [p for p in args.paper if p not in keys]
        if unknown:
            raise UsageError(f"unknown paper key(s): {', '.join(unknown)}; known: {', '.join(keys)}")
        claims = [c for c in claims if c.paper in set(args.paper)]
    if not claims:
        raise UsageError("no claim matches the given --id and --paper")
    return claims


def _cmd_verify(args) -> int:
    from .claims import ERROR
    from .claims.report import ledger_json, ledger_markdown, ledger_table, result_jsonl, summary_table
    from .claims.runner import run_claims

    claims = _select_claims(args)
    _check_run_options(args)
    _apply_cache_flag(args)

    def stream(res):
        if args.jsonl:
            print(result_jsonl(res), flush=True)

    # a progress bar on a terminal, unless the JSON lines stream to that same terminal
    progress = False if (args.jsonl and sys.stdout.isatty()) else None
    with _executor(args) as ex:
        results = run_claims(claims, fast=args.fast, executor=None if isinstance(ex, int) else ex,
                             workers=ex if isinstance(ex, int) else None, on_result=stream, progress=progress)
    summary = summary_table(results)
    if args.json:
        print(ledger_json(results), flush=True)
    elif args.markdown:
        print(ledger_markdown(results), flush=True)
    elif not args.jsonl:
        print(ledger_table(results))
    machine = args.json or args.jsonl or args.markdown
    print(("\n" if not machine else "") + summary, file=sys.stderr if machine else sys.stdout, flush=True)
    return 1 if any(r.status == ERROR for r in results) else 0


# =========================================================================== figures
def _cmd_figures(args) -> int:
    from .plots import all_figures
    from .plots.render import render_figures

    figures = all_figures()
    if args.list:
        for name, spec in figures.items():
            print(f"{name:<36} [{spec.paper}] {spec.description}")
        return 0
    unknown = [n for n in args.names if n not in figures]
    if unknown:
        raise UsageError(f"unknown figure(s): {', '.join(unknown)} (see gradexp figures --list)")
    formats = _parse_formats(args.format)
    _check_run_options(args)
    out = check_writable_dir(args.out)
    _apply_cache_flag(args)
    names = list(dict.fromkeys(args.names)) or list(figures)
    with _executor(args) as ex:
        render_figures(names, out=out, formats=formats, fast=args.fast, seed=args.seed,
                       executor=None if isinstance(ex, int) else ex, workers=ex if isinstance(ex, int) else None,
                       on_written=lambda name, paths: [print(p, flush=True) for p in paths])
    return 0


# =========================================================================== sweep
def _parse_value(text):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _apply_sets(grid: dict, sets) -> dict:
    grid = dict(grid)
    for s in sets:
        name, eq, values = s.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or not values.strip():
            raise UsageError(f"--set takes NAME=V1,V2,...; got {s!r}")
        vals = [_parse_value(v.strip()) for v in values.split(",") if v.strip()]
        grid[name] = vals if len(vals) > 1 else vals[0]
    return grid


def _format_grid(grid):
    return ", ".join(f"{k}={v}" for k, v in grid.items())


def sweep_default_path(name: str, seed: int, fast: bool, sets) -> Path:
    """``sweeps/GRID-seedN[-fast][-set<hash>].npz``: different --set, different file."""
    tag = ""
    if sets:
        canon = json.dumps(sorted(s.replace(" ", "") for s in sets))
        tag = "-set" + hashlib.sha256(canon.encode()).hexdigest()[:8]
    return Path("sweeps") / f"{name}-seed{seed}{'-fast' if fast else ''}{tag}.npz"


def _cmd_sweep(args) -> int:
    import signal

    from .sweep import expand_grid, load_sweep, run_sweep
    from .sweep.grids import GRIDS

    if args.list:
        for name, g in GRIDS.items():
            print(f"{name:<22} {g.description}\n{'':<22} {_format_grid(g.grid)}")
        return 0
    if args.grid is None:
        raise UsageError("name a sweep (see gradexp sweep --list)")
    spec = GRIDS.get(args.grid)
    if spec is None:
        raise UsageError(f"unknown sweep {args.grid!r}; available: {', '.join(GRIDS)} (see --list)")
    _check_run_options(args)
    grid = _apply_sets(spec.fast_grid if args.fast else spec.grid, args.set)
    try:
        cells = expand_grid(grid)
        if spec.validate is not None:
            for c in cells:
                spec.validate(c)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    out = check_writable_file(args.out if args.out is not None else
                              sweep_default_path(spec.name, args.seed, args.fast, args.set))
    _apply_cache_flag(args)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        with _executor(args) as ex:
            executor = "serial" if args.serial else (None if isinstance(ex, int) else ex)
            res = run_sweep(spec.func, grid, root_seed=args.seed, executor=executor,
                            workers=ex if isinstance(ex, int) else None, path=out, resume=not args.fresh,
                            chunksize=args.chunksize)
    except KeyboardInterrupt:
        done = load_sweep(out).n_done if out.exists() else 0
        print(f"gradexp sweep: interrupted; {done} finished cells are saved in {out}; rerun the same "
              f"command to resume", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError) as exc:
        print(f"gradexp sweep: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, old)
    _print_table(res)
    print(out)
    return 0


def _print_table(res) -> None:
    import numpy as np

    names = list(dict.fromkeys(k for c in res.cells for k in c))
    varying = [k for k in names if len({json.dumps(c.get(k)) for c in res.cells}) > 1] or names[:1]
    outs = [k for k in res.outputs if not k.endswith("_stderr")]
    head = [*varying, *outs]
    rows = []
    for i, c in enumerate(res.cells):
        row = [str(c.get(k)) for k in varying]
        for k in outs:
            v, se = res.outputs[k][i], res.outputs.get(f"{k}_stderr")
            if np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.number):
                row.append(f"{v:.6g}" + (f" ± {se[i]:.2g}" if se is not None else ""))
            else:
                row.append(str(v))
        rows.append(row)
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    for r in [head, *rows]:
        print("  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())


# =========================================================================== cache
def _cmd_cache(args) -> int:
    from .sweep import cache

    if args.action == "info":
        info = cache.cache_info()
        why = "" if info["reason"] is None else f" ({info['reason']})"
        print(f"directory: {info['directory']}\nenabled:   {info['enabled']}{why}\n"
              f"entries:   {info['entries']}\nsize:      {info['bytes'] / 1e6:.1f} MB")
    else:
        n = cache.clear_cache()
        print(f"removed {n} stored result(s) from {cache.cache_dir()}")
    return 0


# =========================================================================== parser
def _add_run_options(p, *, serial=False):
    g = p.add_argument_group("execution")
    g.add_argument("--workers", type=_pos_int, default=None, metavar="N",
                   help="local worker processes (default: all usable CPUs; 1 runs in this process)")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on the dask.distributed scheduler at ADDRESS (tcp://host:8786), or 'local' "
                        "for a LocalCluster of --workers processes")
    if serial:
        x.add_argument("--serial", action="store_true", help="run in this process (debugging)")
    g.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the result store (see gradexp cache info)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gradexp", description="Gradient explosion under batch normalization: verify the papers' "
                "claims, regenerate their figures, run parameter sweeps. Results of the Monte-Carlo "
                "experiments are kept in a shared on-disk store (gradexp cache info).")
    from . import __version__

    p.add_argument("--version", action="version", version=f"gradexp {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser(
        "verify", help="run the claims ledger and print verdicts with their evidence",
        description="Run every checkable claim of the papers (or those chosen with --id/--paper) on "
                    "local worker processes and print each verdict (holds, holds-loosely, fails, "
                    "not-checkable) with the evidence computed for it, then a table of counts per paper "
                    "and verdict. Exit code 0 when every check ran, 1 when a check raised an error, "
                    "2 for a bad argument. Experiments are kept in the result store, so a rerun with "
                    "unchanged code reads them back instead of recomputing them (measured running "
                    "times: the README).")
    v.add_argument("--fast", action="store_true", help="fewer samples (the verdicts must not change)")
    fmt = v.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help='print one JSON document {"claims": [...]} at the end')
    fmt.add_argument("--jsonl", action="store_true",
                     help="print one JSON object per claim, as each check completes")
    fmt.add_argument("--markdown", action="store_true", help="print the ledger summary as a Markdown table")
    v.add_argument("--id", action="append", metavar="ID", help="run only this claim (repeatable)")
    v.add_argument("--paper", action="append", metavar="KEY",
                   help="run only the claims of this paper: paik-choi-v2, paik-choi-v1, mehmeti-gopel-wand, "
                        "do-tvlars, bjorck-gomes-selman, gradexp (repeatable)")
    _add_run_options(v)
    v.set_defaults(func=_cmd_verify)

    f = sub.add_parser(
        "figures", help="regenerate the figures (default: all, into ./figures)",
        description="Compute each figure's data (on worker processes, through the result store) and "
                    "draw it: NAME.png (and other formats) plus NAME.npz with the data, parameters and "
                    "seed. Writes into --out, by default figures/ of the current directory: run in a "
                    "clone of gradexp, it rewrites the committed figures.")
    f.add_argument("names", nargs="*", metavar="NAME", help="figures to render (default: all; see --list)")
    f.add_argument("--list", action="store_true", help="list the registered figures and exit")
    f.add_argument("--out", default="figures", metavar="DIR", help="output directory (default: ./figures)")
    f.add_argument("--format", default="png", metavar="FMT", help="comma-separated: png,pdf,svg (default: png)")
    f.add_argument("--fast", action="store_true", help="fewer samples (for a quick look)")
    f.add_argument("--seed", type=_nonneg_int, default=0, metavar="N", help="root seed >= 0 (same seed, same figure)")
    _add_run_options(f)
    f.set_defaults(func=_cmd_figures)

    s = sub.add_parser(
        "sweep", help="run a common Monte-Carlo parameter sweep (parallel, resumable)",
        description="Run a named parameter sweep of the Monte-Carlo simulators on local processes or a "
                    "dask cluster. Results go to one .npz file written atomically; rerunning the same "
                    "command resumes an interrupted sweep without recomputing finished cells.")
    s.add_argument("grid", nargs="?", metavar="GRID", help="name of the sweep (see --list)")
    s.add_argument("--list", action="store_true", help="list the available sweeps and their grids, then exit")
    s.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="override one axis or fixed parameter of the grid (repeatable)")
    s.add_argument("--seed", type=_nonneg_int, default=0, help="root seed >= 0 (same seed, same numbers; default 0)")
    s.add_argument("--out", default=None, metavar="PATH",
                   help="result file (default: sweeps/GRID-seedN[-fast][-set<hash of the --set options>].npz)")
    s.add_argument("--fresh", action="store_true", help="start over even if the result file exists")
    s.add_argument("--fast", action="store_true", help="a small, quick version of the grid")
    s.add_argument("--chunksize", type=_pos_int, default=1, help="cells per task (default 1)")
    _add_run_options(s, serial=True)
    s.set_defaults(func=_cmd_sweep)

    c = sub.add_parser("cache", help="show or clear the shared result store",
                       description="The result store keeps the outputs of Monte-Carlo experiments, keyed by "
                                   "the code they depend on, their parameters and seed. It lives in "
                                   "$GRADEXP_CACHE_DIR, else the user cache directory (~/.cache/gradexp on "
                                   "Linux); GRADEXP_NO_CACHE=1 or --no-cache turns it off.")
    c.add_argument("action", choices=("info", "clear"), help="info: where, how many results, how large; "
                                                             "clear: delete them")
    c.set_defaults(func=_cmd_cache)

    from .torch.cli import add_probe_parser  # imports neither torch nor matplotlib

    add_probe_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    prog = f"gradexp {args.command}"
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (| head): stop quietly; silence the interpreter's final flush
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
