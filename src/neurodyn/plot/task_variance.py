"""Figures of task variance, unit clusters, lesions and task vectors (Yang et al. 2019)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.task_variance import (
    FractionalVariance,
    LesionEffects,
    TaskVariance,
    UnitClusters,
)
from neurodyn.analysis.task_vectors import (
    Analogy,
    TaskVectors,
)
from neurodyn.plot.figures import _axes


def _labels(tasks: Sequence[str], names: Mapping[str, str] | None) -> list[str]:
    return [(names or {}).get(t, t) for t in tasks]


def _point(row: np.ndarray) -> tuple[float, float]:
    return float(row[0]), float(row[1])


def _cluster_colours(n: int) -> np.ndarray:
    return plt.get_cmap("tab20")(np.arange(n) % 20)


def plot_task_variance_matrix(
    tv: TaskVariance,
    clusters: UnitClusters,
    *,
    ax: Axes | None = None,
    task_names: Mapping[str, str] | None = None,
) -> Figure:
    """Normalised task variance of the active units (columns) in each task (rows), units
    sorted by cluster, clusters numbered below with their boundaries marked (Fig. 2b).

    `task_names` maps task names to labels (e.g. each task's `paper_name`).

    Parameters
    ----------
    tv : TaskVariance
        One network's task variance (`normalised: [N, K]`; `tv.member(e)` of an ensemble).
    clusters : UnitClusters
        Its clusters (`cluster_units(tv)`), which set the column order.
    ax : Axes, optional
        The axes to draw into; a new figure if None.
    task_names : mapping of str to str, optional
        Labels for the K tasks.

    Returns
    -------
    Figure
        The figure holding `ax`.
    """
    fig, (ax,) = _axes(ax, 1, 7.0, 0.25 * len(tv.tasks) + 1.5)
    matrix = tv.normalised[clusters.order].T  # [K, M]
    image = ax.imshow(matrix, aspect="auto", cmap="hot", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(np.arange(len(tv.tasks)), _labels(tv.tasks, task_names), fontsize=7)
    ax.set_xticks([])
    sorted_labels = clusters.labels[clusters.order]
    colours = _cluster_colours(clusters.n_clusters)
    for c in range(clusters.n_clusters):
        where = np.flatnonzero(sorted_labels == c)
        if not len(where):
            continue
        first, last = where[0] - 0.5, where[-1] + 0.5
        if first > -0.5:
            ax.axvline(first, color="white", lw=0.8)
        ax.plot(
            [first, last],
            [1.02, 1.02],
            color=colours[c],
            lw=5,
            solid_capstyle="butt",
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )
        ax.text(
            (first + last) / 2,
            1.04,
            str(c + 1),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xlabel(f"units sorted by cluster ({len(clusters.order)} active)")
    norm = "max" if tv.normalisation == "max" else "sum"
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label=f"task variance / {norm}")
    fig.tight_layout()
    return fig


def plot_silhouette(clusters: UnitClusters, *, ax: Axes | None = None) -> Figure:
    """Silhouette score against the number of clusters, the chosen k marked.

    Parameters
    ----------
    clusters : UnitClusters
        Its silhouette score for each k tried.
    ax : Axes, optional
        The axes to draw into; a new figure if None.

    Returns
    -------
    Figure
        The figure holding `ax`.
    """
    fig, (ax,) = _axes(ax, 1, 4.0, 3.0)
    ok = ~np.isnan(clusters.silhouette)
    ax.plot(clusters.k_values[ok], clusters.silhouette[ok], "o-", ms=3, color="k")
    best = np.flatnonzero(clusters.k_values == clusters.n_clusters)
    ax.plot(clusters.k_values[best], clusters.silhouette[best], "o", ms=7, color="tab:red")
    ax.set(
        xlabel="number of clusters",
        ylabel="silhouette score",
        title=f"chosen: {clusters.n_clusters} clusters",
    )
    fig.tight_layout()
    return fig


def plot_fractional_variance(
    results: Sequence[FractionalVariance],
    *,
    task_names: Mapping[str, str] | None = None,
    n_cols: int = 4,
    fig: Figure | None = None,
) -> Figure:
    """Histogram of the fractional task variance of each pair, one panel per pair (Fig. 3),
    as fractions of the units kept; the panels are drawn into `fig` (an empty figure) if
    given, else into a new one.

    Parameters
    ----------
    results : sequence of FractionalVariance
        One per task pair (`values: [M]` over the units kept).
    task_names : mapping of str to str, optional
        Labels for the tasks.
    n_cols : int
        Panels per row.
    fig : Figure, optional
        An empty figure to draw the panels into.

    Returns
    -------
    Figure
        The figure of the panels.
    """
    n = max(len(results), 1)
    cols = min(n_cols, n)
    rows = -(-n // cols)
    if fig is None:
        fig = plt.figure(figsize=(2.6 * cols, 2.1 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, fv in zip(axes.flat, results, strict=False):
        total = max(int(fv.histogram.sum()), 1)
        width = np.diff(fv.bin_edges)
        ax.bar(fv.bin_edges[:-1], fv.histogram / total, width=width, align="edge", color="C0")
        a, b = _labels([fv.task_a, fv.task_b], task_names)
        ax.set(xlim=(-1.05, 1.05), xlabel=f"FTV({a}, {b})", ylabel="fraction of units")
        ax.set_xticks([-1, 0, 1])
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_lesion_effects(
    effects: LesionEffects,
    *,
    ax: Axes | None = None,
    task_names: Mapping[str, str] | None = None,
    vmax: float | None = None,
) -> Figure:
    """Change of performance per task (rows) when each cluster (columns) is lesioned (Fig. 2d).

    The colour scale is symmetric, `vmax` by default the larger of 0.5 (the paper's) and the
    largest change.

    Parameters
    ----------
    effects : LesionEffects
        Change of performance `change: [C, K]`, C lesioned clusters by K tasks.
    ax : Axes, optional
        The axes to draw into; a new figure if None.
    task_names : mapping of str to str, optional
        Labels for the tasks.
    vmax : float, optional
        Half the range of the colour scale.

    Returns
    -------
    Figure
        The figure holding `ax`.
    """
    width = max(3.5, 2.0 + 0.3 * len(effects.cluster_sizes))
    fig, (ax,) = _axes(ax, 1, width, 0.25 * len(effects.tasks) + 1.5)
    change = effects.change
    if vmax is None:
        vmax = max(0.5, float(np.abs(change).max()) if change.size else 0.5)
    image = ax.imshow(
        change.T, aspect="auto", cmap="coolwarm", vmin=-vmax, vmax=vmax, interpolation="nearest"
    )
    ax.set_yticks(np.arange(len(effects.tasks)), _labels(effects.tasks, task_names), fontsize=7)
    ax.set_xticks(
        np.arange(len(effects.cluster_sizes)),
        [str(c + 1) for c in range(len(effects.cluster_sizes))],
        fontsize=7,
    )
    ax.set_xlabel("lesioned cluster")
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03, label="performance change")
    fig.tight_layout()
    return fig


def plot_task_vectors(
    vectors: TaskVectors,
    analogies: Sequence[Analogy] = (),
    *,
    ax: Axes | None = None,
    task_names: Mapping[str, str] | None = None,
) -> Figure:
    """Task vectors in their first two principal components (Fig. 6), with an arrow a -> b
    and c -> d for each analogy (parallel arrows: composition) and the composed vector
    `c + b - a` as a cross.

    Parameters
    ----------
    vectors : TaskVectors
        The K task vectors and their principal components (`projections: [K, 2+]`).
    analogies : sequence of Analogy
        Analogies to draw as arrows.
    ax : Axes, optional
        The axes to draw into; a new figure if None.
    task_names : mapping of str to str, optional
        Labels for the tasks.

    Returns
    -------
    Figure
        The figure holding `ax`.
    """
    fig, (ax,) = _axes(ax, 1, 4.2, 4.0)
    xy = vectors.projections
    if xy.shape[1] < 2:
        xy = np.concatenate([xy, np.zeros((len(xy), 2 - xy.shape[1]))], 1)
    for i, label in enumerate(_labels(vectors.tasks, task_names)):
        ax.plot(xy[i, 0], xy[i, 1], "o", color=f"C{i % 10}", ms=6)
        ax.annotate(label, _point(xy[i]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    index = {t: i for i, t in enumerate(vectors.tasks)}
    for k, an in enumerate(analogies):
        for start, end in ((an.a, an.b), (an.c, an.d)):
            ax.annotate(
                "",
                xy=_point(xy[index[end]]),
                xytext=_point(xy[index[start]]),
                arrowprops=dict(arrowstyle="->", color="gray", lw=1.2),
            )
        composed = np.zeros(2)
        composed[: min(2, len(an.composed_projection))] = an.composed_projection[:2]
        ax.plot(
            *composed,
            "x",
            color="k",
            ms=8,
            label="c + b - a" if k == 0 else None,
        )
    evr = vectors.explained_variance_ratio
    xlabel = f"PC1 ({100 * evr[0]:.0f}% var)" if len(evr) > 0 else "PC1"
    ylabel = f"PC2 ({100 * evr[1]:.0f}% var)" if len(evr) > 1 else "PC2"
    ax.axhline(0, color="lightgray", ls="--", lw=0.8, zorder=0)
    ax.axvline(0, color="lightgray", ls="--", lw=0.8, zorder=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, title="task vectors")
    ax.margins(0.2)
    if analogies:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
