"""Figures of the grid-fragmentation study: they arrange the library's spatial figures
(`neurodyn.plot.spatial`) for one network and compute nothing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.plot import plot_arm_correlations, plot_gridness, plot_resets
from neurodyn.studies.grid_fragmentation.measure import NetworkResult

__all__ = ["plot_mazes", "top_grid_units"]


def top_grid_units(result: NetworkResult, n: int = 16) -> list[int]:
    """The `n` units of highest gridness (the ones the report draws)."""
    order = np.argsort(-np.nan_to_num(result.scores.gridness_60, nan=-np.inf))
    return [int(u) for u in order[:n]]


def plot_mazes(result: NetworkResult) -> Figure:
    """Top: the gridness histogram against its shuffle, and the arm-by-arm correlation matrices
    of the eastward runs in the hairpin and the virtual hairpin. Bottom: the correlation along
    the path of the eastward runs, turns marked, in both."""
    fig = plt.figure(figsize=(13.5, 7.0))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.2, 1.0])
    plot_gridness(result.scores, threshold=result.threshold, ax=fig.add_subplot(grid[0, 0]))
    hairpin_ax = fig.add_subplot(grid[0, 1])
    plot_arm_correlations(result.hairpin.correlations, ax=hairpin_ax)
    hairpin_ax.set_title("hairpin: " + hairpin_ax.get_title(), fontsize=9)
    virtual_ax = fig.add_subplot(grid[0, 2])
    plot_arm_correlations(result.virtual.correlations, ax=virtual_ax)
    virtual_ax.set_title("virtual hairpin: " + virtual_ax.get_title(), fontsize=9)
    bottom = grid[1, :].subgridspec(1, 2)
    for k, (label, maze) in enumerate(
        (("hairpin", result.hairpin), ("virtual hairpin", result.virtual))
    ):
        ax = fig.add_subplot(bottom[0, k])
        plot_resets(maze.resets, ax=ax)
        ax.set_title(
            f"{label}: {maze.resets.reset_fraction:.0%} of turns detected as resets", fontsize=9
        )
    fig.tight_layout()
    return fig
