"""gradexp probe (gradexp.torch.cli): run_probe called directly."""

from __future__ import annotations

import argparse
import importlib.util
import json

import pytest

pytest.importorskip("torch")

from gradexp.torch.cli import add_probe_parser, parse_shape, run_probe  # noqa: E402


def _args(*argv):
    p = argparse.ArgumentParser(prog="gradexp")
    sub = p.add_subparsers(dest="command", required=True)
    add_probe_parser(sub)
    return p.parse_args(["probe", *argv])


def test_builtin_model_table(capsys):
    args = _args("bn_mlp", "--batch", "8", "--arg", "depth=5", "--arg", "width=32", "--reps", "3",
                 "--threads", "1")
    assert args.func is run_probe
    assert run_probe(args) == 0
    out = capsys.readouterr().out
    assert "bn_mlp: batch 8, input 64, 3 re-initialisations" in out
    assert "theory" in out and out.count(" relu ") == 5


def test_module_factory_json_and_plot(capsys, tmp_path):
    png = tmp_path / "p.png"
    args = _args("gradexp.torch.models:toynet", "--input", "3x8x8", "--batch", "4", "--arg", "depth=3",
                 "--arg", "width=8", "--reps", "2", "--json", "--plot", str(png), "--threads", "1")
    assert run_probe(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["size"] == [4 * 64] * 3 and d["input"] == [3, 8, 8] and d["factor"][-1] is None
    assert png.stat().st_size > 0
    # same seed, same numbers
    assert run_probe(_args("gradexp.torch.models:toynet", "--input", "3x8x8", "--batch", "4", "--arg",
                           "depth=3", "--arg", "width=8", "--reps", "2", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["factor"] == d["factor"]


@pytest.mark.parametrize("argv, message", [
    (["nosuchmodel"], "MODEL must be"),
    (["gradexp.torch.models:toynet"], "--input SHAPE is needed"),
    (["gradexp.torch.models:nothing", "--input", "3"], "no callable"),
    (["no_such_module_xyz:f", "--input", "3"], "cannot import"),
    (["gradexp.torch.models:bn_mlp", "--input", "64", "--arg", "depth=0"], "depth must be >= 1"),
    (["gradexp.torch.models:bn_mlp", "--input", "64", "--arg", "colour=1"], "unexpected keyword"),
    (["gradexp.torch.models:bn_mlp", "--input", "64", "--reps", "1"], "--reps must be >= 2"),
    (["gradexp.torch.models:MODELS", "--input", "64"], "no callable"),
])
def test_bad_inputs_exit_2(capsys, argv, message):
    assert run_probe(_args(*argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradexp probe: error:") and message in err and err.count("\n") == 1


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
def test_torchvision_missing_is_a_clear_error(capsys):
    assert run_probe(_args("torchvision:resnet18", "--batch", "4", "--input", "3x32x32")) == 2
    assert "torchvision is not installed" in capsys.readouterr().err


def test_parse_shape():
    assert parse_shape("3x32x32") == (3, 32, 32) and parse_shape("784") == (784,)
    for bad in ("3x", "0x4", "a"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_shape(bad)
