"""Sphinx extension generating gradexp's API pages, ledger, gallery and tour pages.

Everything is written into ``docs/_gen/`` when the configuration is read (a file is rewritten only when
its content changes, so incremental builds stay incremental):

``_gen/api/<module>.rst``
    one page per public module of gradexp: its docstring and an autosummary of its public names
    (``__all__`` where the module has one, else the functions and classes it defines). A public
    name that no page documents is reported as a warning (so ``-W`` fails).
``_gen/ledger.md``
    the claims ledger per paper: statement, source, verdict, evidence and note of every claim,
    from a fast run of the checks (``run_ledger(fast=True)``) cached in ``_gen/cache/`` under a
    key made of the source code of ``gradexp/`` (a stale result cannot be served).
``_gen/gallery.md``
    every figure of the registry (``gradexp.plots.all_figures()``) with its committed PNG.
``_gen/notebooks/*.ipynb``
    copies of the executed tours of ``notebooks/`` (myst-nb renders them without executing).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import pkgutil
import re
import shutil
import time
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GEN = DOCS / "_gen"

_PAPER_FILE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


# ----------------------------------------------------------------------------- helpers
def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it already holds exactly that."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)


def _bibliography():
    return importlib.import_module("gradexp.claims.bibliography")


def paper_title(key: str) -> str:
    """Short reference of a paper (``short: title`` from gradexp.claims.bibliography)."""
    paper = _bibliography().PAPERS[key]
    return paper.short if key == "gradexp" else f"{paper.short}: {paper.title}"


def _paper_intro(key: str) -> list[str]:
    """Authors, what gradexp takes from the paper, and its coverage table, when the
    bibliography provides them."""
    bib = _bibliography()
    paper = bib.PAPERS[key]
    out = [f"Citation key `{key}`."]
    if key != "gradexp":
        out[0] += " " + ", ".join(paper.authors) + "."
    if getattr(paper, "takes", ""):
        out += ["", f"What gradexp takes from it: {_scrub(paper.takes)}."]
    out.append("")
    stmts = bib.statements_for_paper(key) if hasattr(bib, "statements_for_paper") else []
    if stmts:
        n_checked = sum(bool(st.claims) for st in stmts)
        out += [f"**Coverage**: {len(stmts)} statements, {n_checked} checked by claims below, "
                f"{len(stmts) - n_checked} not checkable (with the reason).", "",
                "| section | statement | checked by, or why not |", "| --- | --- | --- |"]
        for st in stmts:
            how = ", ".join(f"{{ref}}`{c} <claim-{c}>`" for c in st.claims) if st.claims \
                else _md_escape(_scrub(st.reason))
            out.append(f"| {_md_escape(_scrub(st.section))} | {_md_escape(_scrub(st.text))} | {how} |")
        out.append("")
    return out


def _scrub(text: str) -> str:
    """The papers' text-file names never appear in the docs."""
    return _PAPER_FILE.sub("the paper", text)


# ----------------------------------------------------------------------------- API pages
#: private modules documented for contributors: the one way to make random streams, to
#: limit BLAS threads and to validate arguments, which the public docstrings refer to
INTERNAL_MODULES = ("gradexp._random", "gradexp._threads", "gradexp._validate")


def public_modules() -> list[str]:
    """Every importable gradexp module none of whose path components is private, and the
    documented internal modules."""
    import gradexp

    names = ["gradexp"]
    for info in pkgutil.walk_packages(gradexp.__path__, "gradexp."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name.endswith(".conftest"):
            continue
        if info.name.startswith("gradexp.torch") and importlib.util.find_spec("torch") is None:
            continue  # the optional extra is not installed: no API pages for it
        names.append(info.name)
    names += [m for m in INTERNAL_MODULES if importlib.util.find_spec(m) is not None]
    return sorted(names)


def _is_private_module(modname: str) -> bool:
    return modname not in INTERNAL_MODULES and any(p.startswith("_") for p in modname.split("."))


def _defines_data(mod, name: str) -> bool:
    try:
        src = inspect.getsource(mod)
    except (OSError, TypeError):
        return False
    return re.search(rf"^{re.escape(name)}\s*(:[^=]*)?=", src, re.M) is not None


def _candidates(modname: str) -> list[tuple[str, str | None]]:
    """(name, home module or None for data) of every public name of a module."""
    mod = importlib.import_module(modname)
    if hasattr(mod, "__all__"):
        names = list(mod.__all__)
    elif hasattr(mod, "_EXPORTS"):  # lazy re-exports (gradexp.mc)
        names = list(mod._EXPORTS)
    else:
        names = [n for n, o in vars(mod).items() if not n.startswith("_")
                 and (inspect.isfunction(o) or inspect.isclass(o))
                 and getattr(o, "__module__", None) == modname]
    names += [n for n in documented_constants(mod) if n not in names]
    out = []
    for name in names:
        obj = getattr(mod, name)
        if inspect.ismodule(obj):
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            out.append((name, obj.__module__))
        else:  # data: its home is the module that assigns it
            out.append((name, modname if _defines_data(mod, name) else _data_home(name)))
    return out


def documented_constants(mod) -> list[str]:
    """Top-level UPPERCASE constants documented with a ``#:`` comment (Sphinx's convention for
    documenting data), and the constants assigned right after one (a documented group)."""
    try:
        lines = inspect.getsource(mod).splitlines()
    except (OSError, TypeError):
        return []
    out, documented = [], False
    for line in lines:
        if line.startswith("#:"):
            documented = True
            continue
        m = re.match(r"([A-Z][A-Z0-9_]*)\s*(?::[^=]*)?=", line)
        if m and documented:
            out.append(m.group(1))
            continue
        documented = False
    return out


def _all_modules() -> list[str]:
    import gradexp

    return ["gradexp"] + [i.name for i in pkgutil.walk_packages(gradexp.__path__, "gradexp.")]


def _data_home(name: str) -> str | None:
    """The gradexp module (public or private) whose source assigns ``name`` at top level."""
    for m in _all_modules():
        if _defines_data(importlib.import_module(m), name):
            return m
    return None


def assign_pages(modules: list[str]) -> dict[str, tuple[list[str], list[tuple[str, str | None]]]]:
    """For each module: (names documented on its page, [(name, documenting module)] re-exported).

    A name is documented on the page of the public module that defines it; a name defined in a
    private module (``gradexp.mc._estimate.Estimate``) on the first public module exporting it.
    """
    cands = {m: _candidates(m) for m in modules}
    owner: dict[tuple[str, str], str] = {}  # (home, name) -> documenting module
    for m in sorted(modules, key=lambda m: (m.count("."), m)):
        for name, home in cands[m]:
            listed_at_home = home in cands and any(n == name for n, _ in cands[home])
            if home == m or not listed_at_home:
                owner.setdefault((home, name), m)
    pages = {}
    for m in modules:
        own, rex = [], []
        for name, home in cands[m]:
            doc = owner.get((home, name))
            if doc == m:
                own.append(name)
            else:
                rex.append((name, doc))
        pages[m] = (own, rex)
    return pages


def _api_page(modname: str, own: list[str], reexported: list[tuple[str, str | None]]) -> str:
    title = f"``{modname}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {modname}", "   :no-members:", ""]
    if own:
        lines += [".. currentmodule:: " + modname, "", ".. autosummary::", "   :toctree: stubs",
                  "   :nosignatures:", ""]
        lines += [f"   {n}" for n in own]
        lines.append("")
    if reexported:
        lines += ["Re-exported here", "----------------", ""]
        for n, doc in reexported:
            lines.append(f"* :obj:`{n} <{doc}.{n}>`" if doc else f"* ``{n}``")
        lines.append("")
    return "\n".join(lines)


def generate_api() -> list[str]:
    modules = public_modules()
    pages = assign_pages(modules)
    for m, (own, rex) in pages.items():
        for n, doc in rex:
            if doc is None:
                logger.warning("gradexp_docs: public name %s.%s is documented on no API page", m, n)
        _write(GEN / "api" / f"{m}.rst", _api_page(m, own, rex))
    for p in (GEN / "api").glob("*.rst"):
        if p.stem not in modules and p.stem != "index":
            p.unlink()
    # stubs of names that are gone (autosummary only ever adds stubs)
    expected = {f"{m}.{n}" for m, (own, _) in pages.items() for n in own}
    for p in (GEN / "api" / "stubs").glob("*.rst"):
        if p.stem not in expected:
            p.unlink()
    index = ["API reference", "=============", "",
             "Every public module of gradexp, with each public function and class on its own page",
             "(formula, domain, paper and equation in its docstring).", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {m}" for m in modules if m not in INTERNAL_MODULES]
    index += ["", "Internals", "---------", "",
              "Private modules the public docstrings refer to: one way to make random streams",
              "(SPEC 7 ``rng``), to limit BLAS threads and to validate arguments.", "",
              ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {m}" for m in modules if m in INTERNAL_MODULES]
    _write(GEN / "api" / "index.rst", "\n".join(index) + "\n")
    return modules


# ----------------------------------------------------------------------------- ledger
def source_key() -> str:
    """Hash of the source code of gradexp/ (the ledger cache's key)."""
    h = hashlib.sha256()
    for p in sorted((ROOT / "gradexp").rglob("*.py")):
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:20]


def ledger_records() -> list[dict]:
    """Fast ledger results as plain dicts, cached by the source key."""
    cache = GEN / "cache" / f"ledger-fast-{source_key()}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    from gradexp.claims import run_ledger

    logger.info("gradexp_docs: running the fast ledger (cached afterwards in %s)", cache.name)
    t0 = time.perf_counter()
    records = []
    for r in run_ledger(fast=True):
        records.append(r.as_dict())
    logger.info("gradexp_docs: ledger ran in %.1f s", time.perf_counter() - t0)
    for old in cache.parent.glob("ledger-fast-*.json") if cache.parent.exists() else ():
        old.unlink()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(records, indent=1, default=str), encoding="utf-8")
    return records


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.6g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_BADGE = {"holds": "✅ holds", "holds-loosely": "🟡 holds loosely", "fails": "❌ fails",
          "inconclusive": "🔵 inconclusive", "not-checkable": "⚪ not checkable", "error": "⚠️ check raised"}


def generate_ledger() -> None:
    records = ledger_records()
    by_paper: dict[str, list[dict]] = {}
    for r in records:
        by_paper.setdefault(r["paper"], []).append(r)
    counts: dict[str, int] = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    out = ["# The claims ledger", "",
           "Every checkable sentence of the papers, quoted, with the evidence gradexp computes and the",
           "verdict it draws on that sentence (`holds`, `holds-loosely`, `fails` with the corrected",
           "statement, `inconclusive` when the evidence cannot separate the paper from its best",
           "competitor, `not-checkable`). This page is generated when the documentation is built, from a",
           "fast run of the checks (`gradexp verify --fast`); the full run uses more samples and may",
           "decide where the fast one is inconclusive, never the opposite.", "",
           "Totals: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f" ({len(records)} claims).", ""]
    out += ["| paper | claims | holds | holds loosely | fails | inconclusive |",
            "| --- | --- | --- | --- | --- | --- |"]
    for key, rs in by_paper.items():
        c = {s: sum(r["status"] == s for r in rs) for s in ("holds", "holds-loosely", "fails", "inconclusive")}
        out.append(f"| {{ref}}`{_md_escape(paper_title(key))} <ledger-{key}>` | {len(rs)} | {c['holds']} | "
                   f"{c['holds-loosely']} | {c['fails']} | {c['inconclusive']} |")
    out.append("")
    for key, rs in by_paper.items():
        out += [f"({'ledger-' + key})=", f"## {paper_title(key)}", ""] + _paper_intro(key)
        for r in rs:
            out += [f"(claim-{r['id']})=", f"### `{r['id']}`", "",
                    f"**{_BADGE.get(r['status'], r['status'])}** · {_scrub(r['where'])}", "",
                    f"> {_scrub(r['quote'])}", ""]
            if r.get("formalisation"):
                out += [f"**Tested as.** {_scrub(r['formalisation'])}", ""]
            if r.get("hypotheses"):
                out.append("**Hypotheses.**")
                out.append("")
                for h in r["hypotheses"]:
                    out.append(f"- {_scrub(h['name'])}: `{_scrub(_fmt(h['value']))}` (z = {h['z']:+.2f})")
                out.append("")
            if r["evidence"]:
                out.append("**Evidence.**")
                out.append("")
                for k, v in r["evidence"].items():
                    out.append(f"- `{k}` = `{_scrub(_fmt(v))}`")
                out.append("")
            if r["note"]:
                note = _scrub(r["note"])
                if r["status"] == "error":
                    out += ["```text", note, "```", ""]
                else:
                    out += [f"**Note.** {note}", ""]
    _write(GEN / "ledger.md", "\n".join(out) + "\n")


# ----------------------------------------------------------------------------- gallery
def generate_gallery() -> None:
    from gradexp.plots import all_figures

    specs = all_figures()
    by_paper: dict[str, list] = {}
    for spec in specs.values():
        by_paper.setdefault(spec.paper, []).append(spec)
    out = ["# Figure gallery", "",
           "Every figure of the registry (`gradexp figures --list`), as committed in `figures/`.",
           "Each is regenerated by `gradexp figures NAME`; its data (arrays, parameters, seed) is saved",
           "beside the image as `NAME.npz`. Theory is drawn as lines, Monte Carlo as markers with",
           "standard errors.", ""]
    missing = []
    for key, group in by_paper.items():
        out += [f"## {paper_title(key)}", ""]
        for spec in group:
            png = ROOT / "figures" / f"{spec.name}.png"
            out += [f"### `{spec.name}`", "", _scrub(spec.description), ""]
            if png.exists():
                out += [f"```{{image}} ../../figures/{spec.name}.png", f":alt: {spec.name}",
                        ":width: 90%", "```", ""]
            else:
                missing.append(spec.name)
                out += [f"*Not rendered yet: run `gradexp figures {spec.name}`.*", ""]
    if missing:
        logger.info("gradexp_docs: figures without a committed PNG: %s", ", ".join(missing))
    _write(GEN / "gallery.md", "\n".join(out) + "\n")


# ----------------------------------------------------------------------------- notebooks
def copy_notebooks() -> list[str]:
    src = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    dst_dir = GEN / "notebooks"
    for p in src:
        _copy(p, dst_dir / p.name)
    keep = {p.name for p in src}
    if dst_dir.exists():
        for p in dst_dir.glob("*.ipynb"):
            if p.name not in keep:
                p.unlink()
    return [p.stem for p in src]


# ----------------------------------------------------------------------------- aliases
def canonical_name(target: str, modname: str | None = None, classname: str | None = None) -> str | None:
    """The documented (defining-module) path of a public gradexp name referred to by an alias.

    ``gradexp.activation_factor`` -> ``gradexp.theory.explosion.activation_factor``,
    ``gradexp.elr`` -> ``gradexp.theory.elr``, ``gradexp.mc.ChainResult.rate`` ->
    ``gradexp.mc.chain.ChainResult.rate``; a bare name is looked up in the current class and
    module first (a name a module imports, e.g. ``activation_factor`` in
    ``gradexp.theory.finite_size``). None when the target is not a public gradexp object.
    """
    target = target.lstrip("~.")
    candidates = [target]
    if modname:
        if classname:
            candidates.insert(0, f"{modname}.{classname}.{target}")
        candidates.append(f"{modname}.{target}")
        parts = modname.split(".")
        candidates += [".".join(parts[:i] + [target]) for i in range(len(parts) - 1, 0, -1)]
    # ``ChainResult.rate`` written in a module that does not import ChainResult: a public
    # class of that name defined in exactly one gradexp module
    head = target.split(".")[0]
    if head[:1].isupper():
        homes = _class_homes().get(head, [])
        if len(homes) == 1:
            candidates.append(f"{homes[0]}.{target}")
    for cand in candidates:
        parts = cand.split(".")
        if parts[0] != "gradexp" or (any(p.startswith("_") for p in parts)
                                     and ".".join(parts[:2]) not in INTERNAL_MODULES):
            continue
        obj, attrs = None, []
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            attrs = parts[i:]
            break
        if obj is None:
            continue
        try:
            for a in attrs:
                obj = getattr(obj, a)
        except AttributeError:
            continue
        if inspect.ismodule(obj):
            return obj.__name__
        if not attrs:
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj) or callable(getattr(obj, "fget", None))
                or inspect.isroutine(obj)):
            # data: the page that documents this very object under this name
            for m, (own, _) in assign_pages(public_modules()).items():
                if attrs[-1] in own and getattr(importlib.import_module(m), attrs[-1], None) is obj:
                    return f"{m}.{attrs[-1]}"
        # the defining object: a class or function, then the attribute path below it
        head, tail = obj, []
        for k in range(len(attrs), -1, -1):
            base = importlib.import_module(".".join(parts[:len(parts) - len(attrs)]))
            for a in attrs[:k]:
                base = getattr(base, a)
            if inspect.isclass(base) or inspect.isfunction(base):
                head, tail = base, attrs[k:]
                break
        else:
            continue
        home = getattr(head, "__module__", None)
        if home is None:
            continue
        if _is_private_module(home):  # made public by the package that re-exports it
            pages = assign_pages(public_modules())
            home = next((m for m, (own, _) in pages.items() if head.__name__ in own), None)
            if home is None:
                continue
        return ".".join([home, head.__qualname__, *tail])
    return None


@functools.lru_cache(maxsize=1)
def _class_homes() -> dict[str, list[str]]:
    """Public class name -> the public modules that define a class of that name."""
    out: dict[str, list[str]] = {}
    for m in public_modules():
        for name, obj in vars(importlib.import_module(m)).items():
            if inspect.isclass(obj) and not name.startswith("_") and obj.__module__ == m:
                out.setdefault(name, []).append(m)
    return out


def _resolve_alias(app, env, node, contnode):
    """missing-reference: resolve public aliases of gradexp objects to their documented path."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    name = canonical_name(target, node.get("py:module"), node.get("py:class"))
    if name is None or name == target:
        return None
    domain = env.get_domain("py")
    new = node.deepcopy()
    new["reftarget"] = name
    new["refspecific"] = False
    for typ in (node.get("reftype"), "obj"):
        res = domain.resolve_xref(env, node["refdoc"], app.builder, typ, name, new, contnode)
        if res is not None:
            return res
    return None


# ----------------------------------------------------------------------------- setup
def _generate(app, config=None) -> None:
    t0 = time.perf_counter()
    generate_api()
    copy_notebooks()
    generate_gallery()
    generate_ledger()
    logger.info("gradexp_docs: generated pages in %.1f s", time.perf_counter() - t0)


def setup(app):
    # config-inited: before Sphinx lists the source files, so the generated pages are found
    # (and before autosummary writes the stubs of the API pages)
    app.connect("config-inited", _generate)
    app.connect("missing-reference", _resolve_alias)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
