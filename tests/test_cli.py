"""The command line: verify, figures, cache; fail-fast checks; streaming; closed pipes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradexp.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _store(tmp_path, monkeypatch):
    """The result store in tmp (tests never write to the user's cache directory)."""
    monkeypatch.setenv("GRADEXP_CACHE_DIR", str(tmp_path / "store"))


def _run(argv):
    try:
        return main(argv)
    except SystemExit as e:  # argparse: --help and bad arguments
        return e.code


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_verify_json_one_claim(capsys):
    assert main(["verify", "--fast", "--json", "--id", "pc-yang-rate"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert [c["id"] for c in out["claims"]] == ["pc-yang-rate"]
    assert out["claims"][0]["status"] == "holds" and out["claims"][0]["paper"] == "paik-choi-v2"
    assert "paik-choi-v2" in captured.err  # the counts table goes to stderr in machine formats


def test_verify_jsonl_streams_one_object_per_claim(capsys):
    assert main(["verify", "--fast", "--jsonl", "--paper", "do-tvlars", "--workers", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    objs = [json.loads(line) for line in lines]
    assert len(objs) >= 3 and {o["paper"] for o in objs} == {"do-tvlars"}
    assert len({o["id"] for o in objs}) == len(objs)
    assert not any(".txt" in line for line in lines)  # paper text file names appear in no output


def test_verify_table_ends_with_counts_per_paper_and_verdict(capsys):
    assert main(["verify", "--fast", "--paper", "do-tvlars", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    table = out[out.rindex("\npaper"):].strip().splitlines()
    head, rows = table[0].split(), [r.split() for r in table[1:]]
    assert head[0] == "paper" and head[-1] == "total" and rows[-1][0] == "total"
    assert rows[0][0] == "do-tvlars" and int(rows[0][-1]) == int(rows[-1][-1])
    n_blocks = out.count("\n[")  + out.startswith("[")
    assert int(rows[-1][-1]) == n_blocks


def test_verify_unknown_id_and_paper(capsys):
    assert main(["verify", "--id", "no-such-claim"]) == 2
    assert "unknown claim" in capsys.readouterr().err
    assert main(["verify", "--paper", "000"]) == 2
    err = capsys.readouterr().err
    assert "unknown paper" in err and err.count("\n") == 1


def test_verify_exit_code_on_error(monkeypatch, capsys):
    from gradexp.claims import _ledger

    def broken(fast):
        raise RuntimeError("boom")

    monkeypatch.setitem(_ledger._REGISTRY, "pc-broken",
                        _ledger.Claim("pc-broken", "000", "test", "a check that raises", broken))
    assert main(["verify", "--id", "pc-broken"]) == 1
    assert "ERROR" in capsys.readouterr().out


def test_closed_pipe_ends_quietly():
    p = subprocess.Popen([sys.executable, "-m", "gradexp.cli", "verify", "--fast", "--jsonl", "--paper", "do-tvlars",
                          "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    first = p.stdout.readline()
    p.stdout.close()  # as `| head -1` does
    err = p.stderr.read().decode()
    p.stderr.close()
    p.wait(timeout=120)
    assert json.loads(first)["paper"] == "do-tvlars"
    assert p.returncode == 0 and "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("argv, words", [
    (["figures", "--seed", "-1"], "--seed"),
    (["figures", "--seed", "x"], "--seed"),
    (["figures", "nope"], "unknown figure"),
    (["figures", "pc-cor23-explosion-factor", "--format", "gif"], "--format"),
    (["figures", "--workers", "0"], "--workers"),
    (["verify", "--workers", "-2"], "--workers"),
    (["verify", "--json", "--jsonl"], "not allowed"),
    (["verify", "--dask", "tcp://h:1", "--workers", "2"], "--workers"),
])
def test_bad_input_is_one_line_exit_2(argv, words, capsys):
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err, err


def test_unwritable_out_fails_before_computing(tmp_path, capsys, monkeypatch):
    import gradexp.plots.render as render

    def never(*a, **k):
        raise AssertionError("computed before checking --out")

    monkeypatch.setattr(render, "render_figures", never)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        assert main(["figures", "pc-cor23-explosion-factor", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--out" in err


def test_figures_parallel_equals_serial(tmp_path, capsys):
    names = ["pc-cor23-explosion-factor", "tvlars-fig5-phi", "pc-fig2-relu-vs-dropout"]
    assert main(["figures", *names, "--fast", "--out", str(tmp_path / "a"), "--workers", "1", "--no-cache"]) == 0
    assert main(["figures", *names, "--fast", "--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 6 and all(p.endswith(".png") for p in printed)
    for n in names:
        with np.load(tmp_path / "a" / f"{n}.npz") as a, np.load(tmp_path / "b" / f"{n}.npz") as b:
            assert a.files == b.files
            for k in a.files:
                np.testing.assert_array_equal(a[k], b[k])
        assert (tmp_path / "a" / f"{n}.png").read_bytes() == (tmp_path / "b" / f"{n}.png").read_bytes()


def test_figures_list_and_paper_keys(capsys):
    assert main(["figures", "--list"]) == 0
    out = capsys.readouterr().out
    assert "pc-cor23-explosion-factor" in out and "[paik-choi-v2]" in out and "[000]" not in out


def test_help_on_every_command(capsys):
    for args in (["--help"], ["verify", "--help"], ["figures", "--help"], ["sweep", "--help"], ["cache", "--help"]):
        assert _run(args) == 0
    out = capsys.readouterr().out
    assert "Exit code 0 when every check ran" in out and "rewrites the committed figures" in out


def test_console_script_entry_point():
    r = subprocess.run([sys.executable, "-m", "gradexp.cli", "verify", "--fast", "--id", "pc-yang-rate"],
                       capture_output=True, text=True, timeout=120, env=_env(), cwd=ROOT)
    assert r.returncode == 0 and "HOLDS" in r.stdout


def test_figures_sharing_data_are_computed_once(tmp_path, monkeypatch):
    import gradexp.plots.render as render

    calls = []
    real = render.compute_figure_data
    monkeypatch.setattr(render, "compute_figure_data", lambda spec, *a: calls.append(spec.name) or real(spec, *a))
    out = render.render_figures(["bjorck-fig11-condition", "bjorck-fig12-sigma-max"], out=tmp_path, fast=True,
                                workers=1)
    assert calls == ["bjorck-fig11-condition"] and set(out) == {"bjorck-fig11-condition", "bjorck-fig12-sigma-max"}
    with np.load(tmp_path / "bjorck-fig11-condition.npz") as a, np.load(tmp_path / "bjorck-fig12-sigma-max.npz") as b:
        np.testing.assert_array_equal(a["stable_sigma_max_mean"], b["stable_sigma_max_mean"])
