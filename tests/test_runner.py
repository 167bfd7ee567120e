"""The parallel ledger runner (gradexp.claims.runner): same results whatever the workers, streaming."""

from __future__ import annotations

import pytest

from gradexp.claims import ERROR, _ledger, all_claims
from gradexp.claims.runner import run_claims


@pytest.fixture(autouse=True)
def _store(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADEXP_CACHE_DIR", str(tmp_path / "store"))


def cheap_claims():
    return [c for c in all_claims() if c.paper == "do-tvlars"]


def test_workers_do_not_change_results():
    claims = cheap_claims()
    assert len(claims) >= 3
    serial = run_claims(claims, fast=True, workers=1)
    streamed = []
    parallel = run_claims(claims, fast=True, workers=2, on_result=lambda r: streamed.append(r.claim.id))
    assert [r.claim.id for r in parallel] == [c.id for c in claims]  # ledger order, not completion order
    assert sorted(streamed) == sorted(c.id for c in claims)  # each streamed once
    for a, b in zip(serial, parallel):
        assert (a.status, a.evidence, a.note) == (b.status, b.evidence, b.note)
        assert b.seconds >= 0


def test_error_in_a_check_is_a_result_not_a_crash(monkeypatch):
    def broken(fast):
        raise RuntimeError("boom")

    c = _ledger.Claim("pc-broken", "000", "test", "a check that raises", broken)
    ok = cheap_claims()[0]
    res = run_claims([ok, c], fast=True, workers=1)
    assert res[0].status != ERROR and res[1].status == ERROR and "boom" in res[1].note


def test_paper_keys_never_file_names():
    keys = {c.paper for c in all_claims()}
    assert keys <= {"paik-choi-v2", "paik-choi-v1", "mehmeti-gopel-wand", "do-tvlars", "bjorck-gomes-selman",
                    "gradexp"}


def test_bad_worker_counts():
    with pytest.raises(ValueError, match="workers"):
        run_claims(cheap_claims(), workers=0)
    with pytest.raises(TypeError, match="workers"):
        run_claims(cheap_claims(), workers=1.5)


def test_dask_client_gives_the_same_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    claims = cheap_claims()[:3]
    serial = run_claims(claims, fast=True, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = run_claims(claims, fast=True, executor=client)
    assert [(r.status, r.evidence, r.note) for r in remote] == [(r.status, r.evidence, r.note) for r in serial]
