"""Spatial analyses on planted answers: hexagonal maps score high with their spacing and
orientation recovered, square and random maps low; masking of rarely visited bins; arm
correlations and resets on planted hairpin codes."""

import numpy as np
import pytest

from neurodyn.analysis import (
    RateMaps,
    arm_correlations,
    arm_rate_maps,
    detect_resets,
    grid_scores,
    gridness_threshold,
    population_vector_correlation,
    rate_maps,
    spatial_autocorrelogram,
)
from neurodyn.errors import ArgumentError, ShapeError

SIDE = 1.0


def hexagonal(x, y, spacing, orientation_deg, phase=(0.0, 0.0)):
    """A grid cell's map: three plane waves 60 degrees apart, rectified. Its firing fields sit
    on a triangular lattice of side `spacing`, one lattice axis at `orientation_deg`."""
    k = 4 * np.pi / (np.sqrt(3) * spacing)
    rate = 0.0
    for a in np.radians(orientation_deg + np.array([30.0, 90.0, 150.0])):
        rate = rate + np.cos(k * (np.cos(a) * (x - phase[0]) + np.sin(a) * (y - phase[1])))
    return np.maximum(rate, 0.0)


def bin_centres(n=40):
    c = (np.arange(n) + 0.5) / n * SIDE
    return np.meshgrid(c, c, indexing="ij")


def as_maps(values):
    n = values.shape[-1]
    return RateMaps(
        maps=values, occupancy=np.full((n, n), 10.0), extent=(0, SIDE, 0, SIDE), min_visits=1
    )


@pytest.mark.parametrize(
    ("spacing", "orientation"), [(0.3, 0.0), (0.3, 17.0), (0.4, 40.0), (0.25, 8.0)]
)
def test_hexagonal_maps_score_high_with_their_spacing_and_orientation(spacing, orientation):
    x, y = bin_centres()
    planted = hexagonal(x, y, spacing, orientation, phase=(0.13, 0.41))
    scores = grid_scores(as_maps(planted[None]))
    assert scores.gridness_60[0] > 1.0
    assert scores.gridness_90[0] < 0.5
    assert scores.spacing[0] == pytest.approx(spacing, rel=0.08)
    difference = (scores.orientation_deg[0] - orientation + 30) % 60 - 30
    assert abs(difference) < 4.0


def test_square_and_random_maps_score_low():
    x, y = bin_centres()
    square = np.cos(2 * np.pi * x / 0.25) * np.cos(2 * np.pi * y / 0.25)
    rng = np.random.default_rng(0)
    noise = rng.random((3, 40, 40))
    scores = grid_scores(as_maps(np.concatenate([square[None], noise])))
    assert scores.gridness_60[0] < 0 < 0.8 < scores.gridness_90[0]
    assert np.all(np.abs(scores.gridness_60[1:]) < 0.3)


def test_autocorrelogram_of_a_shifted_copy_peaks_at_the_shift():
    rng = np.random.default_rng(1)
    field = rng.random((30, 30))
    ac = spatial_autocorrelogram(field)
    assert ac.shape == (59, 59)
    assert ac[29, 29] == pytest.approx(1.0)
    # symmetric in the lag: r(d) = r(-d)
    np.testing.assert_allclose(ac, ac[::-1, ::-1], atol=1e-9, equal_nan=True)
    # a masked bin is left out, not read as zero: a constant map with holes stays undefined
    # (no variance), while the field with holes keeps its centre at 1
    holes = field.copy()
    holes[::4, ::3] = np.nan
    assert spatial_autocorrelogram(holes)[29, 29] == pytest.approx(1.0)


def test_rate_maps_mask_rarely_visited_bins_and_recover_a_planted_tuning():
    rng = np.random.default_rng(2)
    # most samples in the left half; the right half's far corner is rarely visited
    xy = np.concatenate([rng.uniform(0, [0.5, 1.0], (4000, 2)), rng.uniform([0.5, 0], 1, (300, 2))])
    # a tuning constant on each bin (its label i + 10 j): every visited bin's mean is exact
    label = np.floor(xy[:, 0] * 10) + 10 * np.floor(xy[:, 1] * 10)
    activity = np.stack([label, xy[:, 1] ** 2], axis=-1)
    maps = rate_maps(xy[:, None], activity[:, None], extent=(0, 1, 0, 1), bins=10, min_visits=5)
    assert maps.maps.shape == (2, 10, 10)
    visited = maps.occupancy >= 5
    assert np.isnan(maps.maps[:, ~visited]).all() and np.isfinite(maps.maps[:, visited]).all()
    assert 0 < maps.masked_fraction < 0.5
    assert maps.occupancy.sum() == 4300
    expected = np.arange(10)[:, None] + 10 * np.arange(10)[None]
    np.testing.assert_allclose(maps.maps[0][visited], expected[visited])


def test_rate_map_errors_name_the_problem():
    xy = np.array([[0.2, 0.3], [1.5, 0.3]])
    with pytest.raises(ArgumentError, match="outside the extent"):
        rate_maps(xy, np.ones((2, 1)), extent=(0, 1, 0, 1))
    with pytest.raises(ArgumentError, match="no bin was visited"):
        rate_maps(xy[:1], np.ones((1, 1)), extent=(0, 1, 0, 1), min_visits=3)
    with pytest.raises(ShapeError):
        rate_maps(xy, np.ones((3, 1)), extent=(0, 2, 0, 1))


def test_shuffle_threshold_separates_planted_grid_cells_from_shifted_ones():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1, (400, 50, 2))  # [T, B, 2]: 20,000 samples
    spacings = [0.3, 0.35, 0.4, 0.3]
    grid = np.stack(
        [hexagonal(xy[..., 0], xy[..., 1], s, 10.0 * i) for i, s in enumerate(spacings)], -1
    )
    noise = rng.random((*xy.shape[:2], 4))
    activity = np.concatenate([grid, noise], axis=-1)
    null = gridness_threshold(xy, activity, extent=(0, 1, 0, 1), bins=24, n_shuffles=5, seed=0)
    assert null.null_scores.shape == (5, 8)
    scores = grid_scores(rate_maps(xy, activity, extent=(0, 1, 0, 1), bins=24))
    above = scores.gridness_60 > null.threshold
    assert above.tolist() == [True] * 4 + [False] * 4
    assert 0.0 < null.threshold < 0.6


def test_population_vector_correlation_against_numpy():
    rng = np.random.default_rng(4)
    a, b = rng.random((30, 7)), rng.random((30, 5))
    expected = np.corrcoef(a.T, b.T)[:7, 7:]
    np.testing.assert_allclose(population_vector_correlation(a, b), expected, atol=1e-12)


def planted_hairpin(code_per_direction: bool, n_arms=6, bins=20, n_units=40, seed=5, one_map=False):
    """Runs through a hairpin maze: arm k is travelled up when k is even and down when odd
    (run 0), the reverse on run 1. With `code_per_direction` the units' activity depends only on
    the height in the arm and the direction of travel (the paper's repeating submaps, which
    reset at each turn); otherwise on a smooth map of the whole maze (a continuous code)."""
    rng = np.random.default_rng(seed)
    # smooth tuning along the arm (one slow cosine per unit), one per direction of travel
    centres = (np.arange(bins) + 0.5) / bins

    def smooth_profiles():
        freq, phase = rng.uniform(0.3, 1.0, (n_units, 1)), rng.uniform(0, 2 * np.pi, (n_units, 1))
        return 1 + np.cos(2 * np.pi * freq * centres + phase)

    up, down = smooth_profiles(), smooth_profiles()
    if one_map:  # the same tuning to height whichever way the arm is run
        down = up
    whole = rng.random((n_units, 4, 4))  # a smooth field over the maze, bilinear
    steps = 4 * bins
    heights, arms, runs, activity = [], [], [], []
    for run in (0, 1):
        for _ in range(3):
            h_traj, a_traj, act = [], [], []
            for arm in range(n_arms):
                going_up = (arm + run) % 2 == 0
                h = np.linspace(0, 1, steps, endpoint=False) + 0.5 / steps
                h = h if going_up else h[::-1]
                lin = np.minimum((h * bins).astype(int), bins - 1)
                if code_per_direction:
                    rates = (up if going_up else down)[:, lin].T
                else:
                    gx = arm / (n_arms - 1) * 3
                    gy = h * 3
                    ix, iy = min(int(gx), 2), np.minimum(gy.astype(int), 2)
                    fx, fy = gx - ix, gy - iy
                    rates = (
                        whole[:, ix, iy] * (1 - fx) * (1 - fy)
                        + whole[:, ix + 1, iy] * fx * (1 - fy)
                        + whole[:, ix, iy + 1] * (1 - fx) * fy
                        + whole[:, ix + 1, iy + 1] * fx * fy
                    ).T
                h_traj.append(h)
                a_traj.append(np.full(steps, arm))
                act.append(rates + 0.01 * rng.standard_normal(rates.shape))
            heights.append(np.concatenate(h_traj))
            arms.append(np.concatenate(a_traj))
            activity.append(np.concatenate(act))
            runs.append(run)
    return (
        np.stack(heights, 1),
        np.stack(arms, 1),
        np.array(runs),
        np.stack(activity, 1),
    )


def test_arm_correlations_find_the_same_direction_pattern():
    heights, arms, runs, activity = planted_hairpin(True)
    maps = arm_rate_maps(heights, arms, runs, activity, n_arms=6, bins=20)
    assert maps.maps.shape == (2, 6, 40, 20)
    assert maps.traversal.tolist() == [[1, -1, 1, -1, 1, -1], [-1, 1, -1, 1, -1, 1]]
    result = arm_correlations(maps)
    assert result.same_direction > 0.95
    assert abs(result.opposite_direction) < 0.2
    # the checkerboard of the paper's figure 2: arms i and j alike when i - j is even
    parity = (np.arange(6)[:, None] - np.arange(6)[None]) % 2 == 0
    assert (result.matrices[0][parity] > 0.9).all() and (result.matrices[0][~parity] < 0.3).all()


def test_resets_found_at_the_turns_of_a_fragmented_code_and_not_of_a_continuous_one():
    fragmented = detect_resets(arm_rate_maps(*planted_hairpin(True), n_arms=6, bins=20))
    # the continuous field moves 0.6 of its cells between arms, 0.15 per bin along an arm: a
    # turn spans 4 bins
    continuous = detect_resets(
        arm_rate_maps(*planted_hairpin(False), n_arms=6, bins=20), turn_gap_bins=4
    )
    assert fragmented.turn_steps.tolist() == [19, 39, 59, 79, 99]
    assert fragmented.reset_fraction == 1.0
    assert fragmented.at_turns < 0.3 < 0.9 < fragmented.along_arms
    assert continuous.reset_fraction == 0.0
    assert continuous.at_turns > 0.5


def test_results_save_and_load(tmp_path):
    x, y = bin_centres(20)
    scores = grid_scores(as_maps(hexagonal(x, y, 0.3, 0.0)[None]))
    loaded = type(scores).load(scores.save(tmp_path / "g.npz"))
    np.testing.assert_array_equal(loaded.gridness_60, scores.gridness_60)
    assert repr(scores).startswith("GridScores(gridness_60=[1] float64")


def test_by_direction_separates_a_direction_code_from_a_spatial_one():
    # one map of the height on every arm plus a strong offset per direction of travel: raw
    # arm correlations split by direction, the direction-centred ones see one map everywhere
    heights, arms, runs, activity = planted_hairpin(True, one_map=True)
    rng = np.random.default_rng(7)
    offset = {1: rng.random(activity.shape[-1]) * 3, -1: rng.random(activity.shape[-1]) * 3}
    going_up = np.diff(heights, axis=0, prepend=heights[:1] - 1e-3) > 0
    activity = activity + np.where(going_up[..., None], offset[1], offset[-1])
    maps = arm_rate_maps(heights, arms, runs, activity, n_arms=6, bins=20)
    raw = arm_correlations(maps)
    spatial = arm_correlations(maps, by_direction=True)
    assert raw.same_direction > 0.9 > 0.5 > raw.opposite_direction
    assert spatial.same_direction > 0.9 and spatial.opposite_direction > 0.9
    assert detect_resets(maps).reset_fraction == 1.0
    assert detect_resets(maps, by_direction=True).reset_fraction == 0.0
