"""Without torch (an optional extra) the claims whose transformer arm needs it degrade honestly:
pc-mc-layernorm-none and pc-mc-no-bn report that the arm needs the torch extra, fail if the chain
arm they did measure fails, and are otherwise not checkable; they never raise."""

from __future__ import annotations

import sys

import pytest

from gradexp.claims import FAILS, HOLDS, NOT_CHECKABLE, Hypothesis, Verdict
from gradexp.claims import paik_choi_mc as pcm
from gradexp.experiments import _memo
from gradexp.sweep.cache import using


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    for name in [m for m in sys.modules if m.startswith("gradexp.torch")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(_memo, "_MEMO", {})  # a result stored or memoised must not stand in for torch
    with using(enabled=False):
        yield


def test_transformer_arm_needs_torch(no_torch):
    with pytest.raises(ImportError):
        pcm._transformer_arm(True)


@pytest.mark.parametrize("chain_status, expected", [(HOLDS, NOT_CHECKABLE), (FAILS, FAILS)])
def test_without_torch_grades_only_the_chain_arm(no_torch, chain_status, expected):
    hyp = (Hypothesis("paper: factor 1", 0.0, 0.3), Hypothesis("competitor", 0.1, -9.0))
    chain = Verdict(chain_status, {"intercept": 0.001}, "Chain arm.", hyp)
    v = pcm._with_transformers(chain, True, "1")
    assert v.status == expected
    assert v.hypotheses == hyp  # only what was measured
    assert v.evidence["intercept"] == 0.001 and v.evidence["chain_arm_verdict"] == chain_status
    assert "torch extra" in v.evidence["transformer_arm"] and "torch extra" in v.note
