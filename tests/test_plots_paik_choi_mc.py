"""The chain-based figures of Paik & Choi render in fast mode from their data."""

from __future__ import annotations

import numpy as np
import pytest

from gradexp.plots import paik_choi_mc  # noqa: F401  (registers the figures)
from gradexp.plots._registry import _FIGURES

NAMES = ("pc-fig1-chain-growth", "pc-correlation-ratio", "pc-fig4-second-derivatives")


@pytest.mark.parametrize("name", NAMES)
def test_figure_renders_from_data(name, tmp_path):
    spec = _FIGURES[name]
    assert spec.paper == "paik-choi-v2"
    data = spec.compute(True, 3)
    for v in data.values():  # arrays and scalars only (saved as .npz)
        assert isinstance(v, (np.ndarray, int, float, str, list, np.floating))
    fig = spec.plot(data)
    out = tmp_path / f"{name}.png"
    fig.savefig(out)
    assert out.stat().st_size > 10_000
    again = spec.compute(True, 3)  # same seed, same data
    for k in data:
        np.testing.assert_array_equal(np.asarray(data[k]), np.asarray(again[k]))
