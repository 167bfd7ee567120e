"""``import gradexp`` never imports torch; gradexp.torch and its CLI module import it lazily."""

import subprocess
import sys


def _loaded(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_gradexp_does_not_import_torch():
    assert _loaded("import sys, gradexp; print('torch' in sys.modules)") == ["False"]


def test_gradexp_torch_package_and_cli_are_lazy():
    code = ("import sys, gradexp.torch, gradexp.torch.cli; "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    assert _loaded(code) == ["False", "False"]


def test_without_torch_the_errors_are_clear():
    """With torch unimportable: the probe exits 2 with one line, the API raises ImportError."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import argparse, gradexp.torch as gt\n"
        "from gradexp.torch.cli import add_probe_parser, run_probe\n"
        "p = argparse.ArgumentParser(); sub = p.add_subparsers()\n"
        "add_probe_parser(sub)\n"
        "print(run_probe(p.parse_args(['probe', 'bn_mlp'])))\n"
        "try:\n"
        "    gt.gradient_profile\n"
        "except ImportError as e:\n"
        "    print('ImportError', 'gradexp[torch]' in str(e))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "ImportError", "True"]
    assert out.stderr.strip() == 'gradexp probe: error: gradexp probe needs PyTorch: pip install "gradexp[torch]"'
