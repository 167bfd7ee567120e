"""The README's Python examples run (so the front page never lies)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    ns: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), ns)  # noqa: S102
    assert abs(ns["gradexp"].explosion_factor(0.0) - 1.4669422069242) < 1e-12
    assert ns["res"].rate > 1.1 and ns["res"].rate_stderr > 0
