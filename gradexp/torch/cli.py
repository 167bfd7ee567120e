"""``gradexp probe MODEL``: the gradient profile of a model at random initialisation.

    gradexp probe torchvision:resnet18 --batch 32 --input 3x32x32
    gradexp probe mypackage.nets:make_net --input 784 --arg depth=20
    gradexp probe resnet_like            # a model of gradexp.torch.models

MODEL is ``torchvision:NAME`` (a torchvision model built with ``weights=None``: random
initialisation, nothing downloaded), ``module:factory`` (any importable callable returning a
``torch.nn.Module``) or the name of a model of :mod:`gradexp.torch.models`. The inputs are
standard Gaussian, ``(batch, *input)``; the loss is ⟨G, output⟩ with Gaussian G. Prints the
table of :func:`gradexp.torch.gradient_profile` (or JSON with ``--json``).

This module imports neither torch nor matplotlib at import time: ``add_probe_parser`` can
be wired into the main parser of :mod:`gradexp.cli` whether or not torch is installed.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys

from .._validate import nonneg_int_arg as _nonneg_int
from .._validate import pos_int_arg as _pos_int

__all__ = ["add_probe_parser", "run_probe", "load_model", "parse_shape", "ProbeError"]


class ProbeError(Exception):
    """A bad probe input: reported in one line, exit code 2."""


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3x32x32"`` -> ``(3, 32, 32)``; ``"784"`` -> ``(784,)``.

    >>> parse_shape("3x32x32")
    (3, 32, 32)
    """
    try:
        dims = tuple(int(t) for t in str(text).lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes joined by 'x' such as 3x32x32, got {text!r}") from None
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"sizes must be >= 1, got {text!r}")
    return dims


def _kwarg(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value  # a plain string


def add_probe_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``probe`` subcommand to ``subparsers`` (of ``argparse``); returns its parser.
    Its ``func`` default is :func:`run_probe`."""
    p = subparsers.add_parser(
        "probe", help="gradient profile of a PyTorch model at initialisation, beside the theory",
        description="Re-initialise a PyTorch model --reps times, feed it a Gaussian batch and print per "
                    "normalization layer the measured factor of the squared gradient norm "
                    "(||dL/dx^n||^2 / ||dL/dx^{n+1}||^2, mean over repetitions, with its standard error) "
                    "beside the finite-batch theory. Needs torch (pip install \"gradexp[torch]\"); "
                    "torchvision only for torchvision:NAME.")
    p.add_argument("model", metavar="MODEL",
                   help="torchvision:NAME (random init, no download), module:factory, or a model of "
                        "gradexp.torch.models (bn_mlp, toynet, resnet_like, vgg_like, small_vit)")
    p.add_argument("--batch", type=_pos_int, default=32, metavar="N", help="batch size (default 32)")
    p.add_argument("--input", type=parse_shape, default=None, metavar="SHAPE",
                   help="input shape without the batch axis, e.g. 3x32x32 (default: 3x224x224 for "
                        "torchvision, the built-in model's own shape; required for module:factory)")
    p.add_argument("--reps", type=_pos_int, default=8, metavar="N", help="re-initialisations (>= 2, default 8)")
    p.add_argument("--seed", type=_nonneg_int, default=0, metavar="N", help="root seed (default 0)")
    p.add_argument("--arg", action="append", type=_kwarg, default=[], metavar="NAME=VALUE",
                   help="keyword argument of the model factory (repeatable; values are Python literals)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--plot", default=None, metavar="PATH", help="also save the profile plot (PNG, PDF, SVG)")
    p.add_argument("--threads", type=_pos_int, default=None, metavar="N", help="torch CPU threads")
    p.set_defaults(func=run_probe)
    return p


def load_model(spec: str, kwargs: dict | None = None):
    """The model named by ``spec`` and its default input shape (or None).

    ``torchvision:NAME`` -> ``torchvision.models.get_model(NAME, weights=None)``;
    ``module:factory`` -> ``factory(**kwargs)``; a name of :data:`gradexp.torch.models.MODELS`.
    Raises :class:`ProbeError` with a one-line reason.
    """
    kwargs = dict(kwargs or {})
    from torch import nn

    from . import models as builtin

    if ":" not in spec:
        if spec in builtin.MODELS:
            factory, shape = builtin.MODELS[spec]
            return _call(factory, kwargs, spec), shape
        raise ProbeError(f"MODEL must be torchvision:NAME, module:factory or one of "
                         f"{', '.join(builtin.MODELS)}; got {spec!r}")
    module_name, _, attr = spec.partition(":")
    if module_name == "torchvision":
        try:
            tv_models = importlib.import_module("torchvision.models")
        except ModuleNotFoundError:
            raise ProbeError("torchvision is not installed (pip install torchvision), or pass "
                             "module:factory or a model of gradexp.torch.models") from None
        try:
            model = tv_models.get_model(attr, weights=None, **kwargs)
        except ValueError as exc:
            raise ProbeError(f"torchvision has no model {attr!r}: {exc}") from None
        return model, (3, 224, 224)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ProbeError(f"cannot import {module_name!r}: {exc}") from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ProbeError(f"{module_name!r} has no callable {attr!r}")
    model = _call(factory, kwargs, spec)
    if not isinstance(model, nn.Module):
        raise ProbeError(f"{spec} returned {type(model).__name__}, not a torch.nn.Module")
    return model, None


def _call(factory, kwargs, spec):
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ProbeError(f"{spec}: {exc}") from None


def run_probe(args) -> int:
    """Run ``gradexp probe`` with parsed ``args``; returns the exit code (0, or 2 with a one-line
    error on stderr for a bad input)."""
    try:
        return _run(args)
    except ProbeError as exc:
        print(f"gradexp probe: error: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    try:
        import torch
    except ModuleNotFoundError:
        raise ProbeError('gradexp probe needs PyTorch: pip install "gradexp[torch]"') from None
    import numpy as np

    from .profile import gradient_profile

    if args.reps < 2:
        raise ProbeError(f"--reps must be >= 2 for a standard error, got {args.reps}")
    if args.threads:
        torch.set_num_threads(args.threads)
    model, shape = load_model(args.model, dict(args.arg))
    shape = args.input or shape
    if shape is None:
        raise ProbeError("--input SHAPE is needed for module:factory (e.g. --input 3x32x32)")
    s_input, s_profile = np.random.SeedSequence(args.seed).spawn(2)
    gen = torch.Generator().manual_seed(int(s_input.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    x = torch.randn((args.batch, *shape), generator=gen)
    try:
        prof = gradient_profile(model, x, reps=args.reps, rng=s_profile)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ProbeError(f"{args.model}: {exc}".splitlines()[0]) from None
    if args.json:
        d = prof.to_dict()
        out = {k: [None if isinstance(v, float) and not np.isfinite(v) else v for v in arr.tolist()]
               for k, arr in d.items()}
        out["growth"] = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                         for k, v in prof.growth().items()} if len(prof.sites) > 1 else None
        out["notes"] = list(prof.notes)
        out["model"], out["batch"], out["input"] = args.model, args.batch, list(shape)
        print(json.dumps(out, indent=1))
    else:
        print(f"{args.model}: batch {args.batch}, input {'x'.join(map(str, shape))}, {args.reps} re-initialisations")
        print(prof)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        fig = prof.plot()
        fig.suptitle(args.model, fontsize=9)
        fig.savefig(args.plot)
    return 0
