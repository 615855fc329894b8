"""The spatial figures draw what the results hold: the map's values, masked bins as masked,
the scores in the titles, the detected resets in red."""

import matplotlib
import numpy as np

from neurodyn.analysis import (
    ArmCorrelations,
    RateMaps,
    Resets,
    ShuffleThreshold,
    grid_scores,
)
from neurodyn.plot import (
    plot_arm_correlations,
    plot_autocorrelograms,
    plot_gridness,
    plot_rate_maps,
    plot_resets,
)

matplotlib.use("Agg")


def maps_with_a_hole():
    rng = np.random.default_rng(0)
    values = rng.random((3, 12, 12))
    values[:, 0, 0] = np.nan
    occupancy = np.full((12, 12), 9.0)
    occupancy[0, 0] = 1
    return RateMaps(maps=values, occupancy=occupancy, extent=(0, 1, 0, 1), min_visits=5)


def test_rate_maps_draw_the_values_with_the_masked_bins_masked():
    maps = maps_with_a_hole()
    scores = grid_scores(maps)
    fig = plot_rate_maps(maps, units=[1, 2], scores=scores)
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(image.data[1:, 1:], maps.maps[1].T[1:, 1:])
    assert image.mask[0, 0] and not image.mask[1, 1]
    assert f"g={scores.gridness_60[1]:.2f}" in fig.axes[0].get_title()
    assert "1% of bins masked" in fig._suptitle.get_text()
    fig = plot_autocorrelograms(scores, units=[0])
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(shown.filled(np.nan), scores.autocorrelograms[0].T)


def test_gridness_threshold_and_share_above_in_the_title():
    maps = maps_with_a_hole()
    scores = grid_scores(maps)
    scores = type(scores)(**{**scores.__dict__, "gridness_60": np.array([0.1, 0.5, 0.9])})
    null = ShuffleThreshold(threshold=0.4, percentile=95.0, null_scores=np.zeros((2, 3)))
    fig = plot_gridness(scores, threshold=null)
    assert fig.axes[0].get_title().startswith("67% of units above the 95th percentile (0.40)")
    assert fig.axes[0].lines[0].get_xdata()[0] == 0.4


def test_arm_matrix_and_resets_drawn_at_their_values():
    matrix = np.array([[[1.0, 0.1], [0.1, 1.0]]])
    fig = plot_arm_correlations(
        ArmCorrelations(matrices=matrix, same_direction=float("nan"), opposite_direction=0.1)
    )
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), matrix[0])
    resets = Resets(
        adjacent=np.array([[0.9, 0.95, 0.1, 0.9, 0.92]]),
        turn_steps=np.array([2]),
        at_turns=0.1,
        along_arms=0.9,
        detected=np.array([[True]]),
        z=2.0,
    )
    fig = plot_resets(resets)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), resets.adjacent[0])
    assert ax.lines[1].get_xdata()[0] == 2.5 and ax.lines[1].get_color() == "C3"


def test_rate_maps_draw_into_the_given_axes():
    import matplotlib.pyplot as plt

    maps = maps_with_a_hole()
    fig, axes = plt.subplots(1, 2)
    assert plot_rate_maps(maps, units=[0, 2], axes=axes) is fig
    np.testing.assert_array_equal(axes[1].images[0].get_array().data, maps.maps[2].T)
    plt.close(fig)
