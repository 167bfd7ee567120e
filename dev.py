"""One entry point for the chores of developing gradexp: ``python dev.py COMMAND``.

    python dev.py regen [ARTEFACT ...]   regenerate committed artefacts (all by default)
    python dev.py list                   the artefacts, their files and the test that keeps each fresh
    python dev.py test [--long] [PYTEST ARGS]
                                         the test suite (as CI runs it, without reinstalling;
                                         --long adds the fast-vs-full ledger comparison)
    python dev.py docs                   build the documentation with warnings as errors
    python dev.py lint                   ruff, as configured in pyproject.toml

Every generated file of the repository has exactly one regenerating artefact below, and a test
fails when the committed file is stale (the ``guard`` column of ``list``). Regenerating is
deterministic: same code, same files (figures and tours use fixed seeds).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Artefact:
    name: str
    files: str
    command: tuple[str, ...]
    guard: str  # the test that fails when the committed files are stale
    stdout: str = ""  # file the command's standard output is written to


PY = sys.executable
ARTEFACTS = (
    Artefact("ziggurat", "gradexp/mc/_ziggurat_tables.py", (PY, "-m", "gradexp.mc._philox"),
             "tests/test_philox.py (tables recomputed with mpmath)"),
    Artefact("accuracy", "docs/accuracy.md", (PY, "tests/accuracy_table.py"),
             "tests/test_artefacts.py (source hash in the table's header)", stdout="docs/accuracy.md"),
    Artefact("figure-reference", "tests/data/figures/*.npz", (PY, "tests/data/make_figure_reference.py"),
             "tests/test_figures_data.py (fast data recomputed)"),
    Artefact("figures", "figures/*.png, figures/*.npz", (PY, "-m", "gradexp.cli", "figures", "--out", "figures"),
             "tests/test_artefacts.py (code hash stored in each .npz)"),
    Artefact("normalizers-mc", "docs/theory/normalizers.md (Monte-Carlo agreement block)",
             (PY, "-m", "gradexp.experiments.normalizers"),
             "tests/test_claims_normalizers.py (the block against a recomputation)"),
    Artefact("tours", "notebooks/*.ipynb", (PY, "notebooks/_build.py"),
             "tests/test_notebooks.py (tours re-executed, key numbers compared)"),
    Artefact("readme", "README.md (generated blocks)", (PY, "-m", "gradexp.claims.readme", "--write"),
             "tests/test_ledger.py, tests/test_readme.py"),
)
BY_NAME = {a.name: a for a in ARTEFACTS}


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def regen(names: list[str]) -> int:
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        print(f"dev.py: unknown artefact(s) {unknown}; choose from {list(BY_NAME)}", file=sys.stderr)
        return 2
    for a in (BY_NAME[n] for n in names) if names else ARTEFACTS:
        t0 = time.perf_counter()
        print(f"[{a.name}] {' '.join(a.command[1:])}", flush=True)
        if a.stdout:
            out = subprocess.run(a.command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
            if out.returncode == 0:
                (ROOT / a.stdout).write_text(out.stdout, encoding="utf-8")
        else:
            out = subprocess.run(a.command, cwd=ROOT, env=_env())
        if out.returncode != 0:
            print(f"[{a.name}] failed (exit {out.returncode})", file=sys.stderr)
            return out.returncode
        print(f"[{a.name}] {a.files} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "regen":
        return regen(rest)
    if cmd == "list":
        for a in ARTEFACTS:
            print(f"{a.name:17} {a.files:40} kept fresh by {a.guard}")
        return 0
    if cmd == "test":
        env = dict(os.environ)
        if "--long" in rest:  # also tests/test_fast_full.py: the whole ledger in full mode
            rest = [a for a in rest if a != "--long"]
            env["GRADEXP_LONG_TESTS"] = "1"
        return subprocess.run([PY, "-m", "pytest", *rest], cwd=ROOT, env=env).returncode
    if cmd == "docs":
        return subprocess.run([PY, "-m", "sphinx", "-W", "-b", "html", "docs", "docs/_build/html"], cwd=ROOT).returncode
    if cmd == "lint":
        return subprocess.run([PY, "-m", "ruff", "check", "."], cwd=ROOT).returncode
    print(f"dev.py: unknown command {cmd!r} (regen, list, test, docs, lint)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
