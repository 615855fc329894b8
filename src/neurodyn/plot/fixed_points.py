"""Figures of fixed points: state space, eigenvalue spectra, interpolation, training."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from neurodyn.analysis.fixed_point_tracking import FixedPointContinuation, FixedPointsAcrossTraining
from neurodyn.analysis.fixed_points import STABILITY, FixedPoints
from neurodyn.analysis.projection import Projection
from neurodyn.plot.figures import _axes

STYLE = {
    "stable": dict(marker="o", color="black", facecolor="black"),
    "saddle": dict(marker="o", color="tab:red", facecolor="white"),
    "unstable": dict(marker="X", color="tab:red", facecolor="tab:red"),
    "marginal": dict(marker="D", color="tab:blue", facecolor="tab:blue"),
    "slow": dict(marker=".", color="tab:gray", facecolor="tab:gray"),
}


def _legend(ax: Axes, classes: list[str]) -> None:
    handles = [
        Line2D(
            [],
            [],
            linestyle="",
            marker=STYLE[c]["marker"],
            markeredgecolor=STYLE[c]["color"],
            markerfacecolor=STYLE[c]["facecolor"],
            label=c,
        )
        for c in classes
    ]
    ax.legend(handles=handles, fontsize=8)


def _classes(points: FixedPoints, keep: np.ndarray) -> np.ndarray:
    return np.where(points.is_fixed[keep], points.stability[keep], "slow")


def plot_fixed_points(
    points: FixedPoints,
    projection: Projection,
    *,
    trajectories: np.ndarray | None = None,
    member: int = 0,
    mode_length: float = 1.0,
    ax: Axes | None = None,
) -> Figure:
    """Fixed and slow points of one member on the first two axes of `projection`, with a
    short line along each unstable mode (`mode_length` state-space units each way).

    Parameters
    ----------
    points : the fixed points
    projection : the plane to draw in, e.g. `pca_axes(pca)` (the trajectories' principal
        components) or `principal_axes(points.states[points.member == member])`
    trajectories : [C, T, D]   lines drawn behind the points, already in the projection's
        coordinates (e.g. `PCATrajectories.condition_means` with `pca_axes`)

    Returns
    -------
    Figure
        The figure holding `ax` (a new one if `ax` is None).
    """
    fig, (ax,) = _axes(ax, 1, 5.0, 4.2)
    keep = np.flatnonzero(points.member == member)
    if trajectories is not None:
        for line in trajectories:
            ax.plot(line[:, 0], line[:, 1], color="0.8", lw=1, zorder=1)
    projected = projection.project(points.states[keep])
    classes = _classes(points, keep)
    for index in keep[points.is_fixed[keep]].tolist():
        for mode in points.unstable_modes(index).T:
            ends = np.stack(
                [
                    points.states[index] - mode_length * mode,
                    points.states[index] + mode_length * mode,
                ]
            )
            seg = projection.project(ends)
            ax.plot(seg[:, 0], seg[:, 1], color="tab:red", lw=1, alpha=0.7, zorder=2)
    for cls in [c for c in (*STABILITY, "slow") if c in set(classes)]:
        sel = classes == cls
        style = STYLE[cls]
        ax.scatter(
            projected[sel, 0],
            projected[sel, 1],
            marker=style["marker"],
            edgecolors=style["color"],
            facecolors=style["facecolor"],
            s=36,
            zorder=3,
        )
    _legend(ax, [c for c in (*STABILITY, "slow") if c in set(classes)])
    counts = points.count(member)
    xlabel, ylabel = [*projection.axis_names, "", ""][:2]
    ax.set(
        xlabel=xlabel,
        ylabel=ylabel,
        title=", ".join(f"{v} {k}" for k, v in counts.items() if v),
    )
    fig.tight_layout()
    return fig


def plot_eigenvalues(points: FixedPoints, *, member: int = 0, ax: Axes | None = None) -> Figure:
    """Eigenvalues of the linearisation at every point of one member, zoomed to where they lie.

    A continuous-time network's points are shown on the flow, `(lambda - 1) / dt` in 1/s, with
    the stability boundary Re = 0 dashed (right of it: unstable). A map's are its Jacobian's
    eigenvalues `lambda` with the unit circle (outside it: unstable).

    Parameters
    ----------
    points : FixedPoints
        The points, with their Jacobians' eigenvalues.
    member : int
        Which ensemble member's points.
    ax : Axes, optional
        The axes to draw into; a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    fig, (ax,) = _axes(ax, 1, 5.2, 4.2)
    keep = np.flatnonzero(points.member == member)
    classes = _classes(points, keep)
    flow = points.continuous_time
    values_of = (
        (lambda rows: 1e3 * points.flow_eigenvalues[rows].ravel())
        if flow
        else (lambda rows: points.eigenvalues[rows].ravel())
    )
    shown = [c for c in (*STABILITY, "slow") if c in set(classes)]
    every = values_of(keep) if len(keep) else np.zeros(1, complex)
    for cls in shown:
        values = values_of(keep[classes == cls])
        ax.scatter(values.real, values.imag, s=10, color=STYLE[cls]["color"], alpha=0.6, label=cls)
    lo_re, hi_re = float(every.real.min()), float(every.real.max())
    lo_im, hi_im = float(every.imag.min()), float(every.imag.max())
    if flow:
        hi_re = max(hi_re, 0.0)  # the boundary stays in view
        ax.axvline(0.0, color="0.4", lw=1, ls="--")
        ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
        xlabel, ylabel = "Re (1/s)", "Im (1/s)"
        title = "flow eigenvalues (λ - 1) / dt; unstable right of 0"
    else:
        hi_re = max(hi_re, 1.0)
        theta = np.linspace(0, 2 * np.pi, 720)
        ax.plot(np.cos(theta), np.sin(theta), color="0.4", lw=1, ls="--")
        xlabel, ylabel = "Re λ", "Im λ"
        title = "map eigenvalues λ; unstable outside the circle"
    pad_re = 0.08 * max(hi_re - lo_re, 1e-3)
    pad_im = 0.08 * max(hi_im - lo_im, 0.1 * max(hi_re - lo_re, 1e-3))
    ax.set_xlim(lo_re - pad_re, hi_re + pad_re)
    ax.set_ylim(lo_im - pad_im, hi_im + pad_im)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def plot_continuation(
    result: FixedPointContinuation, axis: Projection, *, ax: Axes | None = None
) -> Figure:
    """Fixed points against alpha and their position on the first axis of `axis` (e.g.
    `principal_axes(result.states, dims=1)`, the points' first principal axis), with lines
    joining each point to the one it continues, and orange lines where a continued point
    changed stability.

    Parameters
    ----------
    result : FixedPointContinuation
        The fixed points along the parameter alpha.
    axis : Projection
        Its first axis gives each point's position.
    ax : Axes, optional
        The axes to draw into; a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    fig, (ax,) = _axes(ax, 1, 6.0, 4.0)
    if len(result.states):
        position = axis.project(result.states)[:, 0]
        alpha = result.alphas[result.alpha_index]
        for i, p in enumerate(result.parent):
            if p >= 0:
                ax.plot(
                    [alpha[p], alpha[i]], [position[p], position[i]], color="0.7", lw=1, zorder=1
                )
        for cls in [c for c in STABILITY if c in set(result.stability)]:
            sel = result.stability == cls
            style = STYLE[cls]
            ax.scatter(
                alpha[sel],
                position[sel],
                marker=style["marker"],
                edgecolors=style["color"],
                facecolors=style["facecolor"],
                s=24,
                zorder=2,
            )
        _legend(ax, [c for c in STABILITY if c in set(result.stability)])
    for alpha_change in sorted({e["alpha"] for e in result.events if e["kind"] == "stability"}):
        ax.axvline(alpha_change, color="tab:orange", lw=0.8, alpha=0.5, zorder=0)
    ax.set(
        xlabel="alpha (input A → B)",
        ylabel=f"position on {axis.axis_names[0] if axis.axis_names else 'the first axis'}",
        title="fixed points along the interpolation",
    )
    fig.tight_layout()
    return fig


def plot_across_training(result: FixedPointsAcrossTraining, *, ax: Axes | None = None) -> Figure:
    """Number of fixed points per stability class, and of W_rec eigenvalues outside the unit
    circle, against training step."""
    fig, (ax,) = _axes(ax, 1, 6.0, 3.8)
    for cls in (*STABILITY, "slow"):
        values = result.counts[cls]
        if values.any():
            ax.plot(result.steps, values, marker="o", ms=3, color=STYLE[cls]["color"], label=cls)
    ax.plot(
        result.steps,
        result.n_outside_unit_circle,
        ls="--",
        color="tab:purple",
        label="W_rec eigenvalues |λ| > 1",
    )
    ax.legend(fontsize=8)
    ax.set(xlabel="training step", ylabel="count", title="fixed points during training")
    fig.tight_layout()
    return fig
