"""Figures of dynamics beyond fixed points: limit cycles and their Floquet multipliers,
Poincaré sections and return maps, Lyapunov spectra and their convergence, Koopman
eigenvalues."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.cycles import LimitCycles, PoincareSection
from neurodyn.analysis.fixed_points import STABILITY, FixedPoints
from neurodyn.analysis.koopman import KoopmanModes
from neurodyn.analysis.lyapunov import LyapunovSpectrum
from neurodyn.analysis.projection import Projection
from neurodyn.plot.figures import _axes
from neurodyn.plot.fixed_points import STYLE

_CYCLE_COLOURS = {
    "stable": "black",
    "saddle": "tab:red",
    "unstable": "tab:red",
    "marginal": "tab:blue",
}


def _unit_circle(ax: Axes) -> None:
    angle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(angle), np.sin(angle), color="0.6", lw=1, ls="--", zorder=0)
    ax.set_aspect("equal", adjustable="datalim")


def plot_limit_cycles(
    cycles: LimitCycles,
    projection: Projection,
    *,
    fixed_points: FixedPoints | None = None,
    member: int = 0,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Left: one member's cycles (one period each) on the first two axes of `projection`,
    each cycle's point on its section marked, with the fixed points found under the same
    input beside them; right: the cycles' non-trivial Floquet multipliers and the unit circle.

    Parameters
    ----------
    cycles : LimitCycles
    projection : the plane to draw in, e.g. `principal_axes(cycles.orbit(0))`
    fixed_points : FixedPoints, optional
        Drawn with the fixed-point figures' markers.
    member : int
    axes : two Axes, optional

    Returns
    -------
    Figure
    """
    fig, (left, right) = _axes(axes, 2, 4.8, 4.2)
    mine = np.flatnonzero(cycles.member == member)
    for index in mine.tolist():
        colour = _CYCLE_COLOURS[str(cycles.stability[index])]
        orbit = projection.project(np.vstack([cycles.orbit(index), cycles.points[index]]))
        left.plot(orbit[:, 0], orbit[:, 1], color=colour, lw=1.2)
        point = projection.project(cycles.points[index][None])[0]
        left.plot(*point, marker="|", markersize=12, color=colour)
        mults = cycles.multipliers[index]
        right.scatter(mults.real, mults.imag, s=14, color=colour, alpha=0.7)
    if fixed_points is not None:
        keep = np.flatnonzero((fixed_points.member == member) & fixed_points.is_fixed)
        for cls in STABILITY:
            sel = keep[fixed_points.stability[keep] == cls]
            if len(sel):
                at = projection.project(fixed_points.states[sel])
                left.scatter(
                    at[:, 0],
                    at[:, 1],
                    marker=STYLE[cls]["marker"],
                    edgecolors=STYLE[cls]["color"],
                    facecolors=STYLE[cls]["facecolor"],
                    s=36,
                    zorder=3,
                    label=f"{cls} point",
                )
        if len(keep):
            left.legend(fontsize=8)
    unit = "ms" if cycles.continuous_time else "steps"
    periods = ", ".join(f"{p:.4g}" for p in cycles.period[mine][:4])
    xlabel, ylabel = [*projection.axis_names, "", ""][:2]
    left.set(
        xlabel=xlabel,
        ylabel=ylabel,
        title=f"{len(mine)} cycles (period {periods} {unit})" if len(mine) else cycles.reason,
    )
    _unit_circle(right)
    right.set(xlabel="Re", ylabel="Im", title="Floquet multipliers (unit circle dashed)")
    fig.tight_layout()
    return fig


def plot_poincare_section(
    section: PoincareSection, *, axes: Sequence[Axes] | None = None
) -> Figure:
    """Left: where trajectories cross the section, on the crossings' two principal axes within
    it (one colour per trial); right: the return map of the first axis, each crossing against
    the next, with the diagonal (a cycle is where the map meets it).

    Parameters
    ----------
    section : PoincareSection
    axes : two Axes, optional

    Returns
    -------
    Figure
    """
    fig, (left, right) = _axes(axes, 2, 4.4, 4.0)
    coords = section.coordinates
    left.scatter(coords[:, 0], coords[:, 1], c=section.trial, cmap="viridis", s=10)
    left.set(xlabel="section axis 1", ylabel="section axis 2", title="crossings")
    has_next = section.next_crossing >= 0
    now, then = coords[has_next, 0], coords[section.next_crossing[has_next], 0]
    right.scatter(now, then, c=section.trial[has_next], cmap="viridis", s=10)
    if len(now):
        low, high = float(min(now.min(), then.min())), float(max(now.max(), then.max()))
        right.plot([low, high], [low, high], color="0.6", lw=1, ls="--")
    right.set(xlabel="crossing n (axis 1)", ylabel="crossing n + 1 (axis 1)", title="return map")
    fig.tight_layout()
    return fig


def plot_lyapunov(
    spectrum: LyapunovSpectrum, *, n_shown: int = 3, axes: Sequence[Axes] | None = None
) -> Figure:
    """Left: the exponents of each member (mean over its trajectories, bars their standard
    deviation) with zero dashed; right: the running estimates of the `n_shown` largest
    (mean over all trajectories) against steps, which flatten as the estimate converges.

    Exponents of a continuous-time network (dt in ms) are shown per second.

    Parameters
    ----------
    spectrum : LyapunovSpectrum
    n_shown : int
    axes : two Axes, optional

    Returns
    -------
    Figure
    """
    fig, (left, right) = _axes(axes, 2, 4.6, 3.8)
    scale, unit = (1e3, "1/s") if spectrum.continuous_time else (1.0, "per step")
    index = np.arange(1, spectrum.exponents.shape[1] + 1)
    for member in np.unique(spectrum.member).tolist():
        left.errorbar(
            index,
            scale * spectrum.mean(member),
            yerr=scale * spectrum.spread(member),
            marker="o",
            ms=3,
            lw=1,
            capsize=2,
            label=f"member {member}",
        )
    left.axhline(0.0, color="0.5", lw=1, ls="--")
    left.set(xlabel="exponent", ylabel=f"Lyapunov exponent ({unit})", title="spectrum")
    if len(np.unique(spectrum.member)) > 1:
        left.legend(fontsize=8)
    history = scale * np.sort(spectrum.history, axis=-1)[..., ::-1].mean(1)  # [S, k]
    for i in range(min(n_shown, history.shape[1])):
        right.plot(spectrum.history_steps, history[:, i], lw=1.2, label=f"λ{i + 1}")
    right.axhline(0.0, color="0.5", lw=1, ls="--")
    right.set(xlabel="steps averaged", ylabel=unit, title="convergence")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_koopman(
    koopman: KoopmanModes,
    *,
    fixed_points: FixedPoints | None = None,
    member: int = 0,
    ax: Axes | None = None,
) -> Figure:
    """Koopman eigenvalues (per step) with the unit circle; with `fixed_points`, the Jacobian
    eigenvalues of one member's stable points beside them (near a stable point the leading
    Koopman eigenvalues are the linearisation's).

    Parameters
    ----------
    koopman : KoopmanModes
    fixed_points : FixedPoints, optional
    member : int
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    fig, (ax,) = _axes(ax, 1, 4.8, 4.4)
    values = koopman.eigenvalues
    ax.scatter(values.real, values.imag, s=18, color="tab:purple", label="Koopman (EDMD)")
    if fixed_points is not None:
        keep = (
            (fixed_points.member == member)
            & fixed_points.is_fixed
            & (fixed_points.stability == "stable")
        )
        jac = fixed_points.eigenvalues[keep].ravel()
        if len(jac):
            ax.scatter(jac.real, jac.imag, s=22, marker="x", color="black", label="Jacobian")
    _unit_circle(ax)
    ax.legend(fontsize=8)
    ax.set(xlabel="Re", ylabel="Im", title=f"{len(values)} Koopman eigenvalues (per step)")
    fig.tight_layout()
    return fig
