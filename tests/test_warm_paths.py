"""The warm main job's fast paths: the fork server's preload and the figures' read-back in-process."""

from __future__ import annotations

import importlib.util

from gradexp.claims.runner import _preload
from gradexp.plots.render import _all_stored
from gradexp.sweep import cache
from gradexp.sweep.executors import local_executor


def test_claims_preload_names_modules_that_exist():
    names = _preload()
    assert "gradexp.claims.bjorck" in names and "gradexp.claims.gradexp_own.finite_size" in names
    assert all(importlib.util.find_spec(n) is not None for n in names)


def test_local_executor_with_preload_runs_tasks():
    with local_executor(1, preload=("json",)) as ex:
        assert list(ex.map(abs, [-1, 2])) == [1, 2]


def _compute(fast, seed):
    return {"x": seed}


class _Spec:
    compute = staticmethod(_compute)
    data_name = "warm-test"


def test_all_stored_only_after_the_compute_step_is_stored(tmp_path):
    from gradexp.plots.render import figure_seed

    with cache.using(enabled=True, directory=tmp_path):
        assert not _all_stored([_Spec], True, 0)
        cache.cached_call(_compute, True, figure_seed("warm-test", 0))
        assert _all_stored([_Spec], True, 0)
        assert not _all_stored([_Spec], False, 0)
    with cache.using(enabled=False, directory=tmp_path):
        assert not _all_stored([_Spec], True, 0)
