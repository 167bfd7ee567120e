"""The README's Python examples run as written, each on its own (so the front page never lies),
its Monte-Carlo example prints what the README says it prints, and it points nowhere outside
the repository."""

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


@pytest.mark.parametrize("k", range(len(BLOCKS)))
def test_each_block_runs_alone(k):
    ns: dict = {}
    exec(compile(BLOCKS[k], f"README.md block {k}", "exec"), ns)  # noqa: S102 - a fresh namespace per block
    if "res" in ns:
        _check_expected_rate(ns["res"])
    if k == 0:
        assert abs(ns["gradexp"].explosion_factor(0.0) - 1.4669422069242) < 1e-12


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
