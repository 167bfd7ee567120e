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
