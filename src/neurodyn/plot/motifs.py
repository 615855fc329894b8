"""Figures of the motif analyses (Driscoll, Shenoy & Sussillo 2024): the clustered task-period
variance with its motif blocks (Fig. 3) and the cluster lesions per task period (Fig. 6)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from neurodyn.analysis.motif_lesions import PeriodLesions
from neurodyn.analysis.motifs import MotifClusters, PeriodVariance
from neurodyn.plot.figures import _axes


def _names(labels: list[str], task_names: Mapping[str, str] | None) -> list[str]:
    names = task_names or {}
    out = []
    for label in labels:
        task, epoch = label.rsplit(" ", 1)
        out.append(f"{names.get(task, task)} {epoch}")
    return out


def plot_motifs(
    pv: PeriodVariance,
    clusters: MotifClusters,
    *,
    ax: Axes | None = None,
    task_names: Mapping[str, str] | None = None,
) -> Figure:
    """Normalised variance of the active units (columns, in dendrogram order) in each task
    period (rows, in dendrogram order), with each unit cluster's motif block outlined (Fig. 3).

    Parameters
    ----------
    pv : PeriodVariance of one network
    clusters : MotifClusters
        Its clusters (`cluster_motifs(pv)`), which set the row and column order.
    ax : Axes, optional
        The axes to draw into; a new figure if None.
    task_names : mapping of task name to label, optional
        E.g. each task's `paper_name`.

    Returns
    -------
    Figure
    """
    n_rows = len(clusters.period_order)
    fig, (axis,) = _axes(ax, width=9.0, height=max(3.5, 0.22 * n_rows))
    matrix = pv.normalised[clusters.unit_order][:, clusters.period_order].T  # [P, M]
    image = axis.imshow(matrix, aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="none")
    fig.colorbar(image, ax=axis, label="normalised variance")
    labels = _names([clusters.labels[p] for p in clusters.period_order], task_names)
    axis.set_yticks(range(n_rows), labels, fontsize=7)
    unit_clusters = clusters.unit_labels[clusters.unit_order]
    row_of = np.empty(n_rows, dtype=int)
    row_of[clusters.period_order] = np.arange(n_rows)
    colours = plt.get_cmap("tab10")(np.arange(clusters.n_unit_clusters) % 10)
    centres, names = [], []
    for c in range(clusters.n_unit_clusters):
        columns = np.flatnonzero(unit_clusters == c)
        if len(columns) == 0:
            continue
        centres.append(float(columns.mean()))
        names.append(str(c))
        if columns.min() > 0:
            axis.axvline(columns.min() - 0.5, color="w", linewidth=0.4)
        for p in np.flatnonzero(clusters.blocks[c]):
            axis.add_patch(
                Rectangle(
                    (columns.min() - 0.5, row_of[p] - 0.5),
                    columns.max() - columns.min() + 1,
                    1,
                    fill=False,
                    edgecolor=colours[c],
                    linewidth=1.2,
                )
            )
    # the units' own indices say nothing here: the ticks name the unit clusters instead
    axis.set_xticks(centres, names, fontsize=7)
    axis.set_xlabel(f"unit cluster (active units in dendrogram order, {len(centres)} clusters)")
    axis.set_title("task-period variance and motif blocks")
    if ax is None:  # room for the long task-period names
        fig.tight_layout()
    return fig


def plot_period_lesions(
    lesions: PeriodLesions,
    *,
    ax: Axes | None = None,
    task_names: Mapping[str, str] | None = None,
) -> Figure:
    """The cost of each task period (rows) with each unit cluster lesioned (columns), as log2
    of lesioned over intact (red: the period fails), and the change of performance per task
    (Fig. 6).

    Parameters
    ----------
    lesions : PeriodLesions
    ax : sequence of two Axes, optional
        The axes to draw into; a new figure if None.
    task_names : mapping of task name to label, optional

    Returns
    -------
    Figure
    """
    n_rows = len(lesions.labels)
    fig, (cost_ax, perf_ax) = _axes(ax, n=2, width=5.0, height=max(3.5, 0.2 * n_rows))
    ratio = np.log2(np.clip(lesions.cost_ratio.T, 1 / 64, 64))  # [P, C]
    image = cost_ax.imshow(ratio, aspect="auto", cmap="RdBu_r", vmin=-6, vmax=6)
    fig.colorbar(image, ax=cost_ax, label="log2 cost ratio")
    cost_ax.set_yticks(range(n_rows), _names(lesions.labels, task_names), fontsize=6)
    cost_ax.set_xlabel("unit cluster lesioned")
    cost_ax.set_title("output cost per task period")
    change = lesions.performance_change.T  # [K, C]
    image = perf_ax.imshow(change, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    fig.colorbar(image, ax=perf_ax, label="performance change")
    perf_ax.set_yticks(
        range(len(lesions.tasks)),
        [(task_names or {}).get(t, t) for t in lesions.tasks],
        fontsize=7,
    )
    perf_ax.set_xlabel("unit cluster lesioned")
    perf_ax.set_title("performance per task")
    if ax is None:  # room for the task names between the panels
        fig.tight_layout()
    return fig


__all__ = ["plot_motifs", "plot_period_lesions"]
