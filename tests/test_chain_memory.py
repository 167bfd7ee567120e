"""Bounded before it starts: every mc simulator estimates its memory from every argument
before allocating and refuses, with one ValueError naming the arguments and the estimate,
what the machine cannot hold (issue 25, item 2)."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest

import gradexp.mc as mc
from gradexp.mc import _memory
from gradexp.mc.chain import ChainSpec, sample_chain, simulate_chain, single_layer_ratio

HUGE = dict(depth=10 ** 9, width=16, batch=64)


def _refused(call, *names):
    """The call raises one ValueError naming every argument in ``names`` and an estimate, and
    allocates (almost) nothing on the way (tracemalloc peak below 50 MB)."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(info.value)
    for name in names:
        assert name in msg, (name, msg)
    assert re.search(r"need ~[\d.]+ [kMGTP]?B \(\d+ bytes\); [\d.]+ [kMGTP]?B available", msg), msg
    assert peak < 50e6, peak
    return msg


@pytest.mark.parametrize("call,names", [
    (lambda: simulate_chain(**HUGE), ("depth=1000000000", "width=16", "batch=64", "reps=1")),
    (lambda: simulate_chain(**HUGE, residual=2, norm="group", group_size=4), ("depth=1000000000",)),
    (lambda: simulate_chain(10, 10 ** 6, 64, reps=8), ("width=1000000", "reps=8")),
    (lambda: simulate_chain(100, 64, 10 ** 8), ("batch=100000000",)),
    (lambda: simulate_chain(2000, 512, 512, reps=10 ** 6, weight_grads=False), ("reps=1000000",)),
    (lambda: ChainSpec(**HUGE), ("depth=1000000000",)),
    (lambda: sample_chain(**HUGE), ("depth=1000000000",)),
    (lambda: single_layer_ratio(10 ** 6, 64, reps=8), ("width=1000000", "reps=8")),
    (lambda: mc.product_singular_values(10 ** 11, 4), ("M=100000000000",)),
    (lambda: mc.product_singular_values(2, 10 ** 7), ("N=10000000",)),
    (lambda: mc.depth_scan([1, 10 ** 11], 4), ("depth_scan", "100000000000")),
    (lambda: mc.training.train_toynet(4, 8, 0.1, 10 ** 11), ("steps=100000000000",)),
    (lambda: mc.training.simulate_vectors(np.ones(3), 0.1, 10 ** 11, dim=4), ("steps=100000000000",)),
    (lambda: mc.training.init_toynet(10 ** 6, 1000), ("depth=1000000", "width=1000")),
    (lambda: mc.training.gradient_growth_rate(10 ** 6, 1000, 8), ("depth=1000000",)),
    (lambda: mc.training.minibatch_noise_floor(10 ** 6, 1000, 8), ("depth=1000000",)),
    (lambda: mc.training.make_synthetic_data(10 ** 12, 8), ("n=1000000000000",)),
    (lambda: mc.training.train_toynet_arms(4, 8, {"a": 0.1}, 10 ** 11), ("steps=100000000000",)),
])
def test_impossible_sizes_are_refused_before_allocating(call, names):
    _refused(call, *names)


def test_public_estimate_matches_the_refusal_and_validates_arguments():
    """estimate_bytes/check_fits: the simulator's own estimate and error, without running."""
    n = mc.estimate_bytes(simulate_chain, **HUGE)
    assert n == mc.estimate_bytes("simulate_chain", **HUGE) > 10 ** 12
    msg = _refused(lambda: mc.check_fits("simulate_chain", **HUGE), "depth=1000000000")
    assert f"({n} bytes)" in msg
    assert mc.check_fits("simulate_chain", 10, 16, 16, reps=2) == mc.estimate_bytes(
        "simulate_chain", 10, 16, 16, reps=2)
    with pytest.raises(ValueError, match="width"):
        mc.estimate_bytes("simulate_chain", 10, 1, 16)
    with pytest.raises(ValueError, match="group_size"):
        mc.estimate_bytes("simulate_chain", 10, 16, 16, norm="group", group_size=5)
    with pytest.raises(TypeError, match="unknown chain options"):
        mc.estimate_bytes("simulate_chain", 10, 16, 16, widht=3)
    with pytest.raises(ValueError, match="func must be one of"):
        mc.estimate_bytes("train", 1)
    for name in _memory.MEMORY_ESTIMATORS:  # every registered estimator resolves
        assert callable(_memory._estimator(name))


def _peak(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("args,kw", [
    ((2000, 32, 16), dict(reps=2)),
    ((200, 128, 64), dict(reps=3)),
    ((100, [64] * 50 + [32] * 51, 32), dict(reps=4, norm="group", group_size=8)),
    ((500, 32, 16), dict(reps=1, activation="dropout", activation_params={"keep_prob": 0.5},
                         upstream="cross_entropy", stats="gram")),
])
def test_chain_estimate_is_close_to_the_measured_peak(args, kw):
    """The estimate is within [0.9, 1.3] of the peak that tracemalloc measures (numpy's
    allocations), for simulate_chain and for sample_chain + run."""
    simulate_chain(3, 8, 8, reps=2, rng=0)  # compile outside the measurement
    peak = _peak(lambda: simulate_chain(*args, rng=1, **kw))
    ratio = mc.estimate_bytes("simulate_chain", *args, **kw) / peak
    assert 0.9 < ratio < 1.3, ratio
    kw = {k: v for k, v in kw.items() if k != "reps"}
    peak = _peak(lambda: sample_chain(*args, rng=1, **kw).run())
    ratio = mc.estimate_bytes("sample_chain", *args, **kw) / peak
    assert 0.9 < ratio < 1.3, ratio


def test_available_memory_reads_meminfo_and_falls_back(monkeypatch):
    avail = _memory.available_memory()
    assert avail is None or avail > 0

    def no_meminfo(*a, **k):
        raise OSError("no /proc")

    monkeypatch.setattr("builtins.open", no_meminfo)
    fallback = _memory.available_memory()
    assert fallback is None or fallback > 0
