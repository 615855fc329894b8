"""The avalanche figures draw what their results say."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from neurodyn.analysis import avalanche_statistics, criticality_curve, simulate_branching_process
from neurodyn.plot import plot_avalanches, plot_criticality

pytest.importorskip("powerlaw")


def test_distributions_draw_the_data_and_the_fitted_line():
    counts = simulate_branching_process(1.0, n_avalanches=1500, seed=0)
    stats = avalanche_statistics(counts, bin_steps=1)
    fig, axes = plt.subplots(1, 2)
    assert plot_avalanches(stats, axes=axes) is fig
    data, fit = axes[0].get_lines()[:2]
    sizes = np.flatnonzero(np.bincount(stats.avalanches.sizes))
    np.testing.assert_array_equal(data.get_xdata(), sizes)
    x, y = fit.get_xdata(), fit.get_ydata()
    slope = np.polyfit(np.log(x), np.log(y), 1)[0]
    assert slope == pytest.approx(-stats.sizes.exponent)
    assert axes[0].get_xscale() == "log" and "κ" in axes[0].get_title()
    plt.close(fig)


def test_criticality_curve_marks_the_optimum_and_the_minimum():
    curve = criticality_curve(
        [0.1, 0.2, 0.4, 0.8],
        [[1.4, 1.05, 0.9, 0.7], [1.3, 1.01, 0.85, 0.7]],
        coding_error=[[4, 2, 1, 3], [4, 2, 1.2, 3]],
    )
    fig = plot_criticality(curve)
    kappa_ax, error_ax = fig.axes
    mean = kappa_ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(mean, [1.35, 1.03, 0.875, 0.7])
    marks = {round(line.get_xdata()[0], 3) for line in error_ax.get_lines()[1:]}
    assert marks == {0.2, 0.4}  # kappa closest to 1 at 0.2, lowest error at 0.4
    plt.close(fig)
