"""The README's Python examples run as written, each on its own (so the front page never lies),
its Monte-Carlo example prints what the README says it prints, and it points nowhere outside
the repository."""

import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)


@pytest.fixture(autouse=True)
def _store(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADEXP_CACHE_DIR", str(tmp_path / "store"))


def test_there_are_python_examples():
    assert len(BLOCKS) >= 2
    assert len(_ARROW.findall(TEXT)) >= 10  # the stated values are checked


#: ``expression  # → 1.2345…: words``: the numbers after the arrow are what the expression gives
_ARROW = re.compile(r"^(?P<expr>[^#=\n][^#\n]*?)\s+# → (?P<value>\(?[-+\d.e]+(?:, [-+\d.e]+)*\)?)", re.M)
_NUMBER = re.compile(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?|[-+]?\d+(?:e[-+]?\d+)?")


def _flat(value):
    if isinstance(value, (tuple, list)):
        for v in value:
            yield from _flat(v)
    else:
        yield float(value)


@pytest.mark.parametrize("k", range(len(BLOCKS)))
def test_each_block_runs_alone(k):
    if re.search(r"^import torch", BLOCKS[k], re.M):
        pytest.importorskip("torch")
    ns: dict = {}
    exec(compile(BLOCKS[k], f"README.md block {k}", "exec"), ns)  # noqa: S102 - a fresh namespace per block
    for m in _ARROW.finditer(BLOCKS[k]):  # every stated value, to the digits shown
        got = list(_flat(eval(m.group("expr"), ns)))  # noqa: S307 - the README's own expression
        stated = _NUMBER.findall(m.group("value"))
        assert len(stated) == len(got), (m.group(0), got)
        for s, g in zip(stated, got):
            digits = len(s.split("e")[0].split(".")[1]) if "." in s else 0
            exp = int(s.split("e")[1]) if "e" in s else 0
            assert abs(g - float(s)) <= 0.5 * 10.0 ** (exp - digits) * (1 + 1e-12), (m.group(0), g)
    if "res" in ns:
        _check_expected_rate(ns["res"])
    if k == 0:
        assert abs(ns["gradexp"].explosion_factor(0.0) / (math.pi / (math.pi - 1)) - 1) < 1e-15
    if "finite_batch_rate(256)" in BLOCKS[k]:
        _check_finite_batch_rate(ns["gradexp"])


def _check_finite_batch_rate(gradexp):
    """Every value of finite_batch_rate(256) the README states is what the code computes."""
    stated = re.findall(r"finite_batch_rate\(256\)\s+# ([0-9.]+)", TEXT) + re.findall(r"to ([0-9.]+) at B = 256", TEXT)
    assert stated, "the README states no value of finite_batch_rate(256)"
    for v in stated:
        assert abs(gradexp.finite_batch_rate(256) - float(v)) <= 0.5 * 10.0 ** -len(v.split(".")[1]), v


def _check_expected_rate(res):
    """The README's 'expected: X ± Y (seed 0)' is what the code computes, to the digits shown."""
    m = re.search(r"expected: ([0-9.]+) ± ([0-9.]+) \(seed 0\)", TEXT)
    assert m, "the Monte-Carlo example states no expected value"
    rate, se = m.group(1), m.group(2)
    half_ulp = lambda s: 0.5 * 10.0 ** -len(s.split(".")[1])  # noqa: E731
    assert abs(res.rate - float(rate)) <= half_ulp(rate), (res.rate, rate)
    assert abs(res.rate_stderr - float(se)) <= half_ulp(se), (res.rate_stderr, se)


def test_nothing_points_outside_the_repository():
    assert "../shared" not in TEXT and "shared/papers" not in TEXT
    assert not re.search(r"\b00[0-4]_[0-9a-f]{16}\.txt\b", TEXT)  # paper text files never named


def test_modules_named_in_the_readme_import():
    import importlib

    for name in ("gradexp.elr", "gradexp.optim", "gradexp.mc", "gradexp.sweep.cache", "gradexp.claims.runner",
                 "gradexp.sweep.executors", "gradexp.sweep.store", "gradexp.sweep.grids"):
        importlib.import_module(name)


def test_local_links_exist():
    for target in re.findall(r"\]\(((?!https?://|#)[^)]+)\)", TEXT):
        assert (ROOT / target).exists(), target
