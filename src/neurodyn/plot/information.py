"""Figures of recurrence resonance: entropy, information flux and D against the noise amplitude.

The noise axis is logarithmic (as the paper's) with a short linear stretch below the smallest
positive r, so that r = 0 shows too (matplotlib's "symlog" scale).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.information import ResonanceCurve
from neurodyn.errors import ArgumentError
from neurodyn.plot.figures import _axes

_MEASURES = {
    "entropy": ("H", "--"),
    "mutual_information": ("I", "-"),
    "divergence": ("D", ":"),
}


def _noise_axis(ax: Axes, curves: Sequence[ResonanceCurve]) -> None:
    positive = np.concatenate([c.noise_levels[c.noise_levels > 0] for c in curves])
    if len(positive) and any(c.noise_levels[0] == 0 for c in curves):
        ax.set_xscale("symlog", linthresh=float(positive.min()), linscale=0.5)
    elif len(positive):
        ax.set_xscale("log")
    ax.set_xlabel("noise amplitude r")


def plot_resonance(curve: ResonanceCurve, *, ax: Axes | None = None) -> Figure:
    """H (dashed), I (solid, with its spread over runs shaded) and D (dotted) of one curve
    against r; a vertical line and a dot mark r_opt, the r of the largest I.

    Parameters
    ----------
    curve : ResonanceCurve
        H, I and D at R noise levels.
    ax : Axes, optional
        The axes to draw into; a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    fig, (ax,) = _axes(ax, 1, 4.5, 3.4)
    r = curve.noise_levels
    for field, (symbol, style) in _MEASURES.items():
        ax.plot(
            r, getattr(curve, field), style, color="k" if symbol == "I" else "0.45", label=symbol
        )
    spread = curve.mutual_information_sd
    if np.any(spread > 0):
        ax.fill_between(
            r,
            curve.mutual_information - spread,
            curve.mutual_information + spread,
            color="C0",
            alpha=0.2,
            lw=0,
        )
    ax.axvline(curve.r_opt, color="C3", lw=0.8)
    ax.plot([curve.r_opt], [curve.i_max], "o", color="C3", ms=5)
    _noise_axis(ax, [curve])
    ax.set_ylabel("bits")
    title = curve.label or "resonance curve"
    ax.set_title(f"{title}\nr_opt = {curve.r_opt:.3g}, I_max = {curve.i_max:.2f} bits", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def plot_resonance_grid(
    curves: Sequence[ResonanceCurve], *, columns: int = 3, fig: Figure | None = None
) -> Figure:
    """`plot_resonance` of each curve in its own panel, sharing the y axis; the panels are
    drawn into `fig` (an empty figure) if given, else into a new one."""
    rows = -(-len(curves) // columns)
    if fig is None:
        fig = plt.figure(figsize=(4.2 * columns, 3.4 * rows))
    axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
    for ax, curve in zip(axes.flat, curves, strict=False):
        plot_resonance(curve, ax=ax)
    for ax in axes.flat[len(curves) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_resonance_comparison(
    curves: Sequence[ResonanceCurve],
    *,
    measure: str = "mutual_information",
    ax: Axes | None = None,
    styles: Sequence[str] | None = None,
) -> Figure:
    """One measure (`"mutual_information"`, `"entropy"` or `"divergence"`) of several curves
    against r, one colour per curve, each curve's r_opt marked by a dot on its I curve.

    Parameters
    ----------
    curves : sequence of ResonanceCurve
        The curves to compare.
    measure : str
        "mutual_information", "entropy" or "divergence".
    ax : Axes, optional
        The axes to draw into; a new figure if None.
    styles : sequence of str, optional
        A matplotlib line style per curve.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    if measure not in _MEASURES:
        raise ArgumentError(f"measure must be one of {sorted(_MEASURES)}, got {measure!r}")
    fig, (ax,) = _axes(ax, 1, 5.5, 3.8)
    for k, curve in enumerate(curves):
        colour = f"C{k % 10}"
        style = styles[k] if styles else "-"
        ax.plot(curve.noise_levels, getattr(curve, measure), style, color=colour, label=curve.label)
        if measure == "mutual_information":
            ax.plot([curve.r_opt], [curve.i_max], "o", color=colour, ms=5)
    _noise_axis(ax, curves)
    ax.set_ylabel(f"{_MEASURES[measure][0]} (bits)")
    ax.legend(fontsize=7, frameon=False)
    return fig
