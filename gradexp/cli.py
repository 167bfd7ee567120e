"""Command line: argument parsing only; the work is done by gradexp.claims and gradexp.plots.

    gradexp verify [--fast] [--json] [--markdown] [--id ID ...]
    gradexp figures [NAME ...] [--list] [--out DIR] [--format png,pdf,svg] [--fast] [--seed N]
    gradexp sweep GRID [--list] [--set NAME=V1,V2] [--seed N] [--out FILE] [--workers N | --dask ADDR | --serial]
"""

from __future__ import annotations

import argparse
import sys


def _cmd_verify(args) -> int:
    from .claims import ERROR, run_ledger
    from .claims.report import ledger_json, ledger_markdown, ledger_table

    def progress(res):
        if not args.json and not args.markdown:
            print(f"  {res.status:<14} {res.claim.id}  ({res.seconds:.1f} s)", file=sys.stderr, flush=True)

    try:
        results = run_ledger(fast=args.fast, ids=args.id or None, progress=progress)
    except ValueError as exc:
        print(f"gradexp verify: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(ledger_json(results))
    elif args.markdown:
        print(ledger_markdown(results))
    else:
        print(ledger_table(results))
    return 1 if any(r.status == ERROR for r in results) else 0


def _cmd_figures(args) -> int:
    from .plots.render import render_figures
    from .plots import all_figures

    figures = all_figures()
    if args.list:
        for name, spec in figures.items():
            print(f"{name:<40} [{spec.paper}] {spec.description}")
        return 0
    unknown = [n for n in args.names if n not in figures]
    if unknown:
        print(f"gradexp figures: unknown figure(s): {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad or not formats:
        print(f"gradexp figures: --format takes png, pdf, svg; got {args.format!r}", file=sys.stderr)
        return 2
    names = args.names or list(figures)
    for path in render_figures(names, out=args.out, formats=formats, fast=args.fast, seed=args.seed):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradexp", description="Gradient explosion under batch normalization: "
                                "verify the papers' claims and regenerate their figures.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="run the claims ledger and print verdicts with their evidence")
    v.add_argument("--fast", action="store_true", help="fewer samples (whole ledger in under a minute)")
    v.add_argument("--json", action="store_true", help='print {"claims": [...]} as JSON')
    v.add_argument("--markdown", action="store_true", help="print the ledger summary as a Markdown table")
    v.add_argument("--id", action="append", metavar="ID", help="run only this claim (repeatable)")
    v.set_defaults(func=_cmd_verify)
    f = sub.add_parser("figures", help="regenerate the figures (default: all, into figures/)")
    f.add_argument("names", nargs="*", metavar="NAME", help="figures to render (default: all)")
    f.add_argument("--list", action="store_true", help="list the registered figures and exit")
    f.add_argument("--out", default="figures", help="output directory (default: figures)")
    f.add_argument("--format", default="png", help="comma-separated: png,pdf,svg (default: png)")
    f.add_argument("--fast", action="store_true", help="fewer samples (all figures in about two minutes)")
    f.add_argument("--seed", type=int, default=0, help="root seed (same seed, same figure)")
    f.set_defaults(func=_cmd_figures)
    from .sweep import add_sweep_parser

    add_sweep_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
