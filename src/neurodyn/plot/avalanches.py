"""Figures of neuronal avalanches: the size and duration distributions on log-log axes with
their power-law fits, and kappa (with the coding error) against a control parameter."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.avalanches import AvalancheStatistics, CriticalityCurve, PowerLawFit
from neurodyn.plot.figures import _axes


def _distribution(ax: Axes, fit: PowerLawFit, label: str, symbol: str) -> None:
    values = fit.values
    counts = np.bincount(values.astype(np.int64))
    support = np.flatnonzero(counts)
    probability = counts[support] / counts.sum()
    ax.loglog(support, probability, ".", color="0.3", markersize=4, label="data")
    tail = support[(support >= fit.xmin) & (support <= fit.xmax)]
    if len(tail):
        # the fitted law, scaled to the data's probability mass in its range
        shape = tail.astype(float) ** -fit.exponent
        mass = probability[np.isin(support, tail)].sum()
        ax.loglog(
            tail,
            shape / shape.sum() * mass,
            "-",
            color="C3",
            label=f"{symbol} = {fit.exponent:.2f} ± {fit.exponent_stderr:.2f}",
        )
    ax.set_xlabel(label)
    ax.set_ylabel("probability")
    ax.legend(frameon=False, fontsize=8)


def plot_avalanches(stats: AvalancheStatistics, *, axes: Sequence[Axes] | None = None) -> Figure:
    """The size and the duration distributions on log-log axes, each with its power-law fit
    from x_min, and kappa and sigma in the title.

    Parameters
    ----------
    stats : AvalancheStatistics
        The avalanches and their fits.
    axes : two Axes, optional
        Where to draw the sizes and the durations; a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    fig, (ax_size, ax_duration) = _axes(axes, 2, 4.0, 3.2)
    _distribution(ax_size, stats.sizes, "avalanche size (spikes)", "τ")
    _distribution(ax_duration, stats.durations, "duration (bins)", "α")
    ax_size.set_title(f"κ = {stats.kappa:.2f}, σ = {stats.branching_ratio:.2f}", fontsize=9)
    if stats.crackling is not None:
        ax_duration.set_title(
            f"γ fitted {stats.crackling.fitted:.2f}, predicted {stats.crackling.predicted:.2f}",
            fontsize=9,
        )
    return fig


def plot_criticality(curve: CriticalityCurve, *, axes: Sequence[Axes] | None = None) -> Figure:
    """kappa against the control parameter (mean and spread over repeats, a line at 1) and,
    when the curve has one, the coding error beside it; dashed lines mark the kappa optimum
    and the error minimum.

    Parameters
    ----------
    curve : CriticalityCurve
        kappa and coding error against the control parameter.
    axes : one or two Axes, optional
        Where to draw (two when the curve has a coding error); a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    has_error = curve.coding_error.size > 0
    fig, chosen = _axes(axes, 2 if has_error else 1, 4.0, 3.2)
    panels = [(chosen[0], curve.kappa, "κ")]
    if has_error:
        panels.append((chosen[1], curve.coding_error, "coding error (MSE)"))
    for ax, values, name in panels:
        mean, spread = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        ax.plot(curve.control, mean, "o-", color="k", markersize=3)
        ax.fill_between(curve.control, mean - spread, mean + spread, color="0.8")
        if np.all(curve.control > 0):
            ax.set_xscale("log")
        ax.set_xlabel(curve.control_name)
        ax.set_ylabel(name)
        ax.axvline(curve.kappa_optimum, color="C0", ls="--", lw=1, label="κ closest to 1")
        if has_error:
            ax.axvline(curve.error_minimum, color="C3", ls=":", lw=1, label="lowest error")
    chosen[0].axhline(1.0, color="0.5", lw=0.8)
    chosen[0].legend(frameon=False, fontsize=8)
    return fig
