"""Figures of a sweep: its trials' final measures against a hyper-parameter it varies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.parameter_effect import ParameterEffect
from neurodyn.plot.figures import _axes


def plot_parameter_effect(
    effect: ParameterEffect, *, title: str = "", axes: Sequence[Axes] | None = None
) -> Figure:
    """One panel per measure of `effect`: a dot per network against the parameter, and the
    line through the means per value. A numeric parameter spanning more than a factor 10 is
    drawn on a log axis, and so is a measure named `loss` that is positive throughout;
    categories are labelled on the axis. `axes`: one axes per measure to draw into, a new figure if None.
    """
    fig, panels = _axes(axes, len(effect.measures), 4.5, 3.4)
    levels = effect.levels
    for ax, (name, values) in zip(panels, effect.measures.items(), strict=True):
        ax.scatter(effect.positions, values, s=14, alpha=0.6, color="tab:blue")
        ax.plot(levels, effect.means[name], color="black", lw=1.5)
        ax.set_xlabel(effect.parameter)
        ax.set_ylabel(name)
        if effect.numeric and len(levels) and levels.min() > 0 and levels.max() / levels.min() > 10:
            ax.set_xscale("log")
        if not effect.numeric:
            ax.set_xticks(levels)
            ax.set_xticklabels(effect.categories, rotation=30, ha="right")
        finite = values[np.isfinite(values)]
        if name == "loss" and finite.size and np.all(finite > 0):
            ax.set_yscale("log")
    if title:
        fig.suptitle(title)
    if axes is None:
        fig.tight_layout()
    return fig
