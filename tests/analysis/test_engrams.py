"""Engram measures on planted engrams, where every answer is exact."""

import numpy as np
import pytest

from neurodyn.analysis import (
    EngramOverlap,
    MemoryPrecision,
    discrimination_index,
    engram_density,
    engram_overlap,
    freezing,
    memory_precision,
)
from neurodyn.errors import ShapeError


def planted(n: int, units) -> np.ndarray:
    """A pattern of n units with rate 0.7 on `units`, 0 elsewhere."""
    pattern = np.zeros(n)
    pattern[list(units)] = 0.7
    return pattern


def test_density_counts_the_units_above_threshold_along_the_last_axis():
    activity = np.stack([planted(100, range(40)), planted(100, range(20))])[None]  # [1, 2, 100]
    assert engram_density(activity).tolist() == [[0.4, 0.2]]
    # a threshold above the planted rate leaves nothing
    assert engram_density(activity, threshold=0.8).tolist() == [[0.0, 0.0]]


def test_overlap_of_planted_engrams():
    a, b = planted(100, range(40)), planted(100, range(30, 80))
    overlap = engram_overlap(a, b)
    assert isinstance(overlap, EngramOverlap)
    assert overlap.shared_of_a == pytest.approx(10 / 40)
    assert overlap.jaccard == pytest.approx(10 / 80)
    assert overlap.chance == pytest.approx(0.5)
    empty = engram_overlap(np.zeros(10), planted(10, [1]))
    assert empty.shared_of_a == 0 and empty.jaccard == 0


def test_freezing_is_one_for_the_engram_and_zero_at_chance():
    engram = planted(100, range(40))
    assert freezing(engram, engram) == pytest.approx(1.0)
    # half the engram and 30 other units: exactly what independent allocation of 50 units gives
    chance = planted(100, [*range(20), *range(40, 70)])
    assert freezing(engram, chance) == pytest.approx(0.0)
    # 30 of the engram and 10 others: (30/40 - 0.4 * 40/40) / 0.6
    partial = planted(100, [*range(30), *range(50, 60)])
    assert freezing(engram, partial) == pytest.approx((0.75 - 0.4) / 0.6)
    # below chance is no freezing, not negative freezing; an engram of every unit learns nothing
    assert freezing(engram, planted(100, range(40, 100))) == 0.0
    assert freezing(np.ones(10), np.ones(10)) == 0.0


def test_discrimination_index_of_the_papers_freezing():
    # the paper's P24 mice: about 60% freezing in A, 20% in B
    assert discrimination_index(0.6, 0.2) == pytest.approx(0.5)
    assert discrimination_index([0.0, 0.4], [0.0, 0.4]).tolist() == [0.0, 0.0]


def test_memory_precision_batched_over_networks():
    engram = np.stack([planted(100, range(40)), planted(100, range(20))])
    test_a = engram
    test_b = np.stack([planted(100, range(40)), planted(100, range(20, 40))])
    result = memory_precision(engram, test_a, test_b)
    assert isinstance(result, MemoryPrecision)
    assert result.density.tolist() == [0.4, 0.2]
    assert result.freezing_a.tolist() == [1.0, 1.0]
    assert result.freezing_b[0] == pytest.approx(1.0)  # B reactivates A's engram: imprecise
    assert result.discrimination[0] == pytest.approx(0.0)
    assert result.freezing_b[1] == 0.0  # B's units lie outside A's engram: precise
    assert result.discrimination[1] == pytest.approx(1.0)
    assert "density=[2] float64" in repr(result)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ShapeError, match="shape"):
        engram_overlap(np.zeros(5), np.zeros(6))
    with pytest.raises(ShapeError, match="shape"):
        freezing(np.zeros(5), np.zeros((2, 5)))


def test_precision_saves_and_loads(tmp_path):
    result = memory_precision(planted(10, [0, 1]), planted(10, [0, 1]), planted(10, [2]))
    loaded = MemoryPrecision.load(result.save(tmp_path / "precision.npz"))
    assert loaded.discrimination == pytest.approx(result.discrimination)
