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
    assert out["claims"][0]["status"] == "holds-loosely" and out["claims"][0]["paper"] == "paik-choi-v2"
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
    (["figures", "pc-cor23-explosion-factor", "--out", ""], "--out"),
    (["figures", "pc-cor23-explosion-factor", "--out", "  "], "--out"),
    (["sweep", "rate-vs-width", "--fast", "--out", ""], "--out"),
    (["sweep", "rate-vs-width", "--fast", "--set", "depth=1e9"], "depth=1000000000"),
    (["sweep", "rate-vs-width", "--fast", "--set", "depth=1e300"], "available"),
    (["sweep", "rate-vs-width", "--fast", "--set", "width=10,100000000"], "width=100000000"),
    (["sweep", "rate-vs-width", "--fast", "--set", "reps=10000000000000"], "reps="),
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


def test_version(capsys):
    from gradexp import __version__

    assert _run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"gradexp {__version__}"


def test_sweep_memory_check_allocates_nothing(tmp_path):
    """depth=1e9 is refused by the estimate before anything is built: under a 2 GB address-space
    limit (the chain specification alone would need ~8 GB) the command still exits 2 in one line."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
            "from gradexp.cli import main; sys.exit(main(['sweep', 'rate-vs-width', '--fast', '--set', 'depth=1e9']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**_env(), "GRADEXP_CACHE_DIR": str(tmp_path / "store")}, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "depth=1000000000" in r.stderr, r.stderr
    assert not (tmp_path / "sweeps").exists()


def test_verify_help_states_no_unmeasured_timing(capsys):
    assert _run(["verify", "--help"]) == 0
    assert "minute" not in capsys.readouterr().out


def test_huge_seed_is_stored_without_pickle(tmp_path, capsys):
    seed = 2**70
    assert main(["figures", "pc-cor23-explosion-factor", "--fast", "--out", str(tmp_path), "--workers", "1",
                 "--seed", str(seed)]) == 0
    with np.load(tmp_path / "pc-cor23-explosion-factor.npz", allow_pickle=False) as z:
        assert str(z["_root_seed"]) == str(seed) and z["_seed"].dtype == np.int64
    assert main(["figures", "pc-cor23-explosion-factor", "--fast", "--out", str(tmp_path), "--workers", "1",
                 "--seed", "5"]) == 0
    with np.load(tmp_path / "pc-cor23-explosion-factor.npz", allow_pickle=False) as z:
        assert z["_root_seed"].dtype == np.int64 and int(z["_root_seed"]) == 5


def test_figure_files_are_written_atomically_images_first(tmp_path, monkeypatch):
    """A failure while writing leaves no partial file and no .npz without its image."""
    import gradexp.plots.render as render
    from gradexp.plots import all_figures

    spec = all_figures()["pc-cor23-explosion-factor"]
    data = render.compute_figure_data(spec, True, 0)
    order = []
    real_replace = os.replace

    def spy(src, dst):
        order.append(Path(dst).suffix)
        return real_replace(src, dst)

    monkeypatch.setattr(render.os, "replace", spy)
    out1 = tmp_path / "figs"
    render.save_figure(spec, data, out1, formats=("png", "svg"), fast=True)
    assert order == [".png", ".svg", ".npz"]  # every file by os.replace, the data last
    assert sorted(p.name for p in out1.iterdir()) == [f"{spec.name}.{x}" for x in ("npz", "png", "svg")]

    def broken(self, *a, **k):
        raise OSError("disk full")

    out2 = tmp_path / "again"
    monkeypatch.setattr(type(spec.plot(data)), "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        render.save_figure(spec, data, out2, fast=True)
    assert list(out2.iterdir()) == []  # no temporary file, no data without its image


def test_atomic_savez_refuses_object_arrays(tmp_path):
    from gradexp.sweep.store import atomic_savez

    with pytest.raises(TypeError, match="'big'"):
        atomic_savez(tmp_path / "x.npz", {"ok": 1, "big": 2**70})
    assert not list(tmp_path.iterdir())
