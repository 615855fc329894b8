"""Figures of spatial codes (`neurodyn.analysis.spatial`): rate maps with their masked bins,
autocorrelograms with grid scores, the gridness distribution against its shuffle threshold,
the arm-by-arm correlation matrix of a hairpin maze and the correlation along the maze's path.

Masked bins (visited fewer than `min_visits` times) are drawn grey and their share is written
in the figure, so a map never looks complete where it is not.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.maze import ArmCorrelations, Resets
from neurodyn.analysis.spatial import GridScores, RateMaps, ShuffleThreshold
from neurodyn.errors import ArgumentError
from neurodyn.plot.figures import _axes

__all__ = [
    "plot_arm_correlations",
    "plot_autocorrelograms",
    "plot_gridness",
    "plot_rate_maps",
    "plot_resets",
]

_MASKED = "0.8"


def _grid(
    n: int, columns: int, size: float, given: Sequence[Axes] | None
) -> tuple[Figure, list[Axes]]:
    """The caller's `n` axes, or a new figure of `n` panels in rows of `columns`."""
    if given is not None:
        return _axes(given, n)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _units(units: Sequence[int] | None, available: int, default: int = 16) -> list[int]:
    chosen = list(range(min(default, available))) if units is None else [int(u) for u in units]
    bad = [u for u in chosen if not 0 <= u < available]
    if bad or not chosen:
        raise ArgumentError(f"units must be indices 0..{available - 1}, got {chosen}")
    return chosen


def plot_rate_maps(
    maps: RateMaps,
    *,
    units: Sequence[int] | None = None,
    scores: GridScores | None = None,
    columns: int = 8,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """One panel per unit: its rate map (x right, y up), masked bins grey, the gridness score
    in the title where `scores` are given.

    Parameters
    ----------
    maps : RateMaps
    units : sequence of int, optional
        Units to draw (default: the first 16).
    scores : GridScores, optional
    columns : int
    axes : sequence of Axes, optional
        One per unit to draw into (default: a new figure).

    Returns
    -------
    Figure
    """
    chosen = _units(units, maps.maps.shape[0])
    fig, panels = _grid(len(chosen), min(columns, len(chosen)), 1.6, axes)
    cmap = plt.get_cmap("jet").with_extremes(bad=_MASKED)
    for ax, unit in zip(panels, chosen, strict=True):
        ax.imshow(
            np.ma.masked_invalid(maps.maps[unit].T), origin="lower", cmap=cmap, extent=maps.extent
        )
        title = f"unit {unit}"
        if scores is not None:
            title += f"  g={scores.gridness_60[unit]:.2f}"
        ax.set_title(title, fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"rate maps ({maps.masked_fraction:.0%} of bins masked: fewer than {maps.min_visits} visits, grey)",
        fontsize=9,
    )
    return fig


def plot_autocorrelograms(
    scores: GridScores,
    *,
    units: Sequence[int] | None = None,
    columns: int = 8,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """One panel per unit: its spatial autocorrelogram, with gridness, spacing and orientation.

    Parameters
    ----------
    scores : GridScores
    units : sequence of int, optional
        Units to draw (default: the first 16).
    columns : int
    axes : sequence of Axes, optional
        One per unit to draw into (default: a new figure).

    Returns
    -------
    Figure
    """
    chosen = _units(units, scores.autocorrelograms.shape[0])
    fig, panels = _grid(len(chosen), min(columns, len(chosen)), 1.6, axes)
    cmap = plt.get_cmap("jet").with_extremes(bad=_MASKED)
    for ax, unit in zip(panels, chosen, strict=True):
        ax.imshow(
            np.ma.masked_invalid(scores.autocorrelograms[unit].T),
            origin="lower",
            cmap=cmap,
            vmin=-1,
            vmax=1,
        )
        ax.set_title(
            f"g60={scores.gridness_60[unit]:.2f} g90={scores.gridness_90[unit]:.2f}\n"
            f"spacing {scores.spacing[unit]:.2f}, {scores.orientation_deg[unit]:.0f}°",
            fontsize=6,
        )
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_gridness(
    scores: GridScores, *, threshold: ShuffleThreshold | None = None, ax: Axes | None = None
) -> Figure:
    """Histogram of the units' gridness (60 degrees), with the shuffled scores and their
    threshold where given.

    Parameters
    ----------
    scores : GridScores
    threshold : ShuffleThreshold, optional
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    fig, (axis,) = _axes(ax)
    values = scores.gridness_60[np.isfinite(scores.gridness_60)]
    edges = [float(e) for e in np.linspace(-1.5, 2.0, 36)]
    axis.hist(values, bins=edges, color="C0", alpha=0.8, density=True, label="units")
    if threshold is not None:
        null = threshold.null_scores[np.isfinite(threshold.null_scores)]
        axis.hist(null, bins=edges, histtype="step", color="k", density=True, label="shuffled")
        above = float(np.mean(values > threshold.threshold)) if values.size else float("nan")
        axis.axvline(threshold.threshold, color="C3", ls="--")
        axis.set_title(
            f"{above:.0%} of units above the {threshold.percentile:.0f}th percentile "
            f"({threshold.threshold:.2f})",
            fontsize=9,
        )
        axis.legend(fontsize=8, frameon=False)
    axis.set_xlabel("gridness (60°)")
    axis.set_ylabel("density")
    return fig


def plot_arm_correlations(
    correlations: ArmCorrelations, *, run: int = 0, ax: Axes | None = None
) -> Figure:
    """The arm-by-arm correlation matrix of one run (the paper's checkerboard when arms
    travelled in the same direction share their map).

    Parameters
    ----------
    correlations : ArmCorrelations
    run : int
        Which run label's matrix.
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    fig, (axis,) = _axes(ax, width=4.0, height=3.5)
    matrix = correlations.matrices[run]
    image = axis.imshow(matrix, cmap="jet", vmin=-0.2, vmax=1.0)
    ticks = np.arange(matrix.shape[0])
    axis.set_xticks(ticks, [str(t + 1) for t in ticks])
    axis.set_yticks(ticks, [str(t + 1) for t in ticks])
    axis.set_xlabel("arm")
    axis.set_ylabel("arm")
    axis.set_title(
        f"same direction {correlations.same_direction:.2f}, "
        f"opposite {correlations.opposite_direction:.2f}",
        fontsize=9,
    )
    fig.colorbar(image, ax=axis, label="PV correlation")
    return fig


def plot_resets(resets: Resets, *, run: int = 0, ax: Axes | None = None) -> Figure:
    """Correlation between successive positions along the maze's path, turns marked.

    Parameters
    ----------
    resets : Resets
    run : int
        Which run label.
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    fig, (axis,) = _axes(ax, width=6.0, height=2.8)
    axis.plot(resets.adjacent[run], color="C0", lw=1)
    for k, step in enumerate(resets.turn_steps):
        colour = "C3" if resets.detected[run, k] else "0.6"
        axis.axvline(step + 0.5, color=colour, ls="--", lw=0.8)
    axis.axhline(resets.along_arms, color="k", lw=0.8, ls=":")
    axis.set_xlabel("position along the path (bins; dashed: turns, red: detected resets)")
    axis.set_ylabel("PV correlation with next bin")
    return fig
