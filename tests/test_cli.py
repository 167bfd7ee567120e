import json
import subprocess
import sys

import pytest

from gradexp.cli import main


def test_verify_json_one_claim(capsys):
    assert main(["verify", "--fast", "--json", "--id", "pc-yang-rate"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in out["claims"]] == ["pc-yang-rate"]
    assert out["claims"][0]["status"] == "holds"


def test_verify_unknown_id(capsys):
    assert main(["verify", "--id", "no-such-claim"]) == 2
    assert "unknown claim" in capsys.readouterr().err


def test_verify_exit_code_on_error(monkeypatch, capsys):
    from gradexp.claims import _ledger

    def broken(fast):
        raise RuntimeError("boom")

    monkeypatch.setitem(_ledger._REGISTRY, "pc-broken",
                        _ledger.Claim("pc-broken", "000", "test", "a check that raises", broken))
    assert main(["verify", "--id", "pc-broken"]) == 1
    assert "ERROR" in capsys.readouterr().out


def test_figures_list_and_unknown(capsys):
    assert main(["figures", "--list"]) == 0
    assert "pc-cor23-explosion-factor" in capsys.readouterr().out
    assert main(["figures", "nope"]) == 2
    assert "unknown figure" in capsys.readouterr().err
    assert main(["figures", "pc-cor23-explosion-factor", "--format", "gif"]) == 2


def test_help_on_every_command():
    for args in (["--help"], ["verify", "--help"], ["figures", "--help"], ["sweep", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 0


def test_console_script_entry_point():
    r = subprocess.run([sys.executable, "-m", "gradexp.cli", "verify", "--fast", "--id", "pc-yang-rate"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "HOLDS" in r.stdout
