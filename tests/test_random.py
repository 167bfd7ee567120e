"""gradexp._random: the one way to make random streams (SPEC 7)."""

from __future__ import annotations

import numpy as np
import pytest

from gradexp._random import as_generator, as_seed_sequence, spawn_generators, spawn_seeds


def test_same_int_or_seed_sequence_gives_the_same_streams():
    ss = np.random.SeedSequence(11)
    a = [g.standard_normal(3) for g in spawn_generators(ss, 3)]
    b = [g.standard_normal(3) for g in spawn_generators(ss, 3)]
    c = [g.standard_normal(3) for g in spawn_generators(11, 3)]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert ss.n_children_spawned == 0


def test_streams_equal_numpys_default_rng_spawn():
    """For an int the children are numpy's own: default_rng(s).spawn(n) (the streams that
    gradexp.mc.matrices used before, so its numbers did not move)."""
    ours = [g.random(4) for g in spawn_generators(5, 3)]
    numpys = [g.random(4) for g in np.random.default_rng(5).spawn(3)]
    np.testing.assert_array_equal(ours, numpys)
    sfc = spawn_generators(5, 2, bit_generator=np.random.SFC64)
    ref = [np.random.Generator(np.random.SFC64(s)) for s in np.random.SeedSequence(5).spawn(2)]
    np.testing.assert_array_equal([g.random(3) for g in sfc], [g.random(3) for g in ref])


def test_child_r_does_not_depend_on_how_many_are_spawned():
    np.testing.assert_array_equal(spawn_seeds(3, 1)[0].generate_state(4), spawn_seeds(3, 5)[0].generate_state(4))


def test_generator_is_a_stream():
    g = np.random.default_rng(0)
    assert as_generator(g) is g
    assert as_seed_sequence(g).entropy != as_seed_sequence(g).entropy
    h1, h2 = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal(as_generator(3).random(2), as_generator(3).random(2))
    assert as_seed_sequence(h1).entropy == as_seed_sequence(h2).entropy


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (1.5, TypeError), ("x", TypeError), (True, TypeError),
                                     (np.bool_(True), TypeError), ([1], TypeError)])
def test_bad_rng_names_the_argument(bad, exc):
    with pytest.raises(exc, match="seed"):
        as_seed_sequence(bad, name="seed")


def test_one_seed_validator():
    """``as_seed_sequence`` is the one validator: the alias helper ``rng_argument`` is gone."""
    import gradexp._random as R

    assert not hasattr(R, "rng_argument") and "rng_argument" not in R.__all__
