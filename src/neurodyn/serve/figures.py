"""Plotly figures (as plain dicts, serialised to JSON by the app) of saved results.

Each function arranges a result for display; none computes an analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from plotly.colors import sample_colorscale

from neurodyn.analysis.fixed_points import FixedPoints
from neurodyn.analysis.similarity import SimilarityMatrix, similarity_layout
from neurodyn.analysis.trajectories import PCATrajectories
from neurodyn.runs.analyze import SavedTaskVariance

Figure = dict[str, Any]

STABILITY_COLOURS = {
    "stable": "#1f77b4",
    "saddle": "#ff7f0e",
    "unstable": "#d62728",
    "marginal": "#9467bd",
    "slow": "#7f7f7f",
}
_MAX_TRIALS = 24  # single trials drawn when a task has no conditions to average over
# legends at the right (plotly's default): below the plot they cover the x-axis title
_LAYOUT: dict[str, Any] = {"margin": {"l": 50, "r": 20, "t": 40, "b": 50}}


def _three(points: np.ndarray) -> np.ndarray:
    """Points `[..., K]` with K < 3 padded with zeros to 3 components."""
    if points.shape[-1] >= 3:
        return points[..., :3]
    pad = np.zeros((*points.shape[:-1], 3 - points.shape[-1]))
    return np.concatenate([points, pad], axis=-1)


def trajectory_figure(
    pca: PCATrajectories,
    fixed_points: FixedPoints | None,
    *,
    member: int,
    condition: int | None = None,
    title: str = "",
) -> Figure:
    """Trajectories `[T, K]` in the first three principal components (one line per condition,
    or per trial when the task has none) with the fixed points of `member` coloured by
    stability; `condition` picks one condition (its index in `pca.condition_values`)."""
    traces: list[dict[str, Any]] = []
    axes = [f"PC{i + 1} ({100 * v:.0f}%)" for i, v in enumerate(pca.explained_variance_ratio[:3])]
    if len(pca.condition_values):
        # ordered colours, so neighbouring conditions (coherences, directions) look alike
        colours = sample_colorscale("Viridis", max(len(pca.condition_values), 2))
        chosen = range(len(pca.condition_values)) if condition is None else [condition]
        for c in chosen:
            line = _three(pca.condition_means[c])
            traces.append(
                {
                    "type": "scatter3d",
                    "mode": "lines",
                    "name": f"{pca.condition_values[c]:g}",
                    "x": line[:, 0],
                    "y": line[:, 1],
                    "z": line[:, 2],
                    "line": {"width": 4, "color": colours[c]},
                    "hovertemplate": f"{pca.condition_name} {pca.condition_values[c]:g}"
                    "<extra></extra>",
                }
            )
    else:
        for b in range(min(_MAX_TRIALS, pca.projections.shape[1])):
            line = _three(pca.projections[:, b])
            traces.append(
                {
                    "type": "scatter3d",
                    "mode": "lines",
                    "name": f"trial {b}",
                    "showlegend": b == 0,
                    "legendgroup": "trials",
                    "x": line[:, 0],
                    "y": line[:, 1],
                    "z": line[:, 2],
                    "line": {"width": 2, "color": "rgba(80,80,80,0.45)"},
                    "hoverinfo": "name",
                }
            )
    if fixed_points is not None:
        keep = fixed_points.member == member
        kinds = np.where(fixed_points.is_fixed, fixed_points.stability, "slow")
        at = _three(pca.project(fixed_points.states))
        for kind, colour in STABILITY_COLOURS.items():
            index = np.flatnonzero(keep & (kinds == kind))
            if not len(index):
                continue
            traces.append(
                {
                    "type": "scatter3d",
                    "mode": "markers",
                    "name": f"{kind} ({len(index)})",
                    "x": at[index, 0],
                    "y": at[index, 1],
                    "z": at[index, 2],
                    "marker": {"size": 6, "color": colour, "line": {"width": 1, "color": "#222"}},
                    "text": [
                        f"{kind} point {i}<br>q = {fixed_points.q[i]:.2e}<br>"
                        f"unstable modes: {fixed_points.n_unstable[i]}<br>"
                        f"max |λ| = {np.abs(fixed_points.eigenvalues[i]).max():.3f}"
                        for i in index
                    ],
                    "hoverinfo": "text",
                }
            )
    scene: dict[str, Any] = {
        f"{a}axis": {"title": {"text": t}} for a, t in zip("xyz", axes, strict=False)
    }
    # the default camera is close enough to cut the axis titles off at the corners
    scene["camera"] = {"eye": {"x": 1.7, "y": 1.7, "z": 1.1}}
    # a 3-D scene has no axis below it, and the condition values read well in a row
    legend = {"orientation": "h", "title": {"text": pca.condition_name or "trials"}}
    return {
        "data": traces,
        "layout": {
            **_LAYOUT,
            "title": {"text": title},
            "scene": scene,
            "legend": legend,
            "height": 620,
        },
    }


def learning_curves_figure(
    curves: Mapping[str, Sequence[Mapping[str, float]]], metric: str, *, title: str = ""
) -> Figure:
    """`metric` (a column of `metrics.csv`: `loss`, `perf.<task>`) against the step, one line
    per run and member; `curves` maps a run's name to its metric rows."""
    traces = []
    for name, rows in curves.items():
        members = sorted({int(r["member"]) for r in rows if "member" in r})
        for member in members:
            # evaluations after a curriculum's stages are logged apart, with `after_stage`
            points = [
                r
                for r in rows
                if int(r.get("member", 0)) == member and metric in r and "after_stage" not in r
            ]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{name} member {member}",
                    "x": [r["step"] for r in points],
                    "y": [r[metric] for r in points],
                }
            )
    return {
        "data": traces,
        "layout": {
            **_LAYOUT,
            "title": {"text": title},
            "xaxis": {"title": {"text": "training step"}},
            "yaxis": {"title": {"text": metric}, "type": "log" if metric == "loss" else "linear"},
            "height": 420,
        },
    }


def task_variance_figure(saved: SavedTaskVariance) -> Figure:
    """The normalised task variance of the active units `[M, K]`, units ordered by cluster;
    hovering a unit shows its cluster and what lesioning that cluster does to each task."""
    variance, clusters, lesions = saved.variance, saved.clusters, saved.lesions
    order = clusters.order if clusters is not None else np.flatnonzero(variance.active)
    tasks = list(variance.tasks)
    z = variance.normalised[order]  # [M, K]
    text = []
    for unit in order:
        label = int(clusters.labels[unit]) if clusters is not None else -1
        effect = ""
        if lesions is not None and label >= 0:
            change = ", ".join(
                f"{t} {lesions.change[label, k]:+.2f}" for k, t in enumerate(lesions.tasks)
            )
            effect = f"<br>lesioning cluster {label} changes performance: {change}"
        cluster = f"cluster {label}" if label >= 0 else "not clustered"
        text.append(
            [
                f"unit {unit} ({cluster})<br>{task}: {variance.normalised[unit, k]:.2f}{effect}"
                for k, task in enumerate(tasks)
            ]
        )
    return {
        "data": [
            {
                "type": "heatmap",
                "z": z.T,
                "x": list(range(len(order))),
                "y": tasks,
                "text": np.array(text, dtype=object).T,
                "hoverinfo": "text",
                "colorscale": "Hot",
                "reversescale": True,
                "colorbar": {"title": {"text": "normalised<br>task variance"}},
            }
        ],
        "layout": {
            **_LAYOUT,
            "title": {"text": f"Task variance, member {saved.member} (units by cluster)"},
            "xaxis": {"title": {"text": "active units, ordered by cluster"}},
            "yaxis": {"automargin": True},
            "height": max(320, 60 + 22 * len(tasks)),
        },
    }


def comparison_figures(result: SimilarityMatrix) -> tuple[Figure, Figure]:
    """The matrix ordered by average-linkage clustering, and the networks in 2-D classical
    MDS of its distances, one colour per run."""
    layout = similarity_layout(result)
    order = layout.order
    labels = [result.labels[i] for i in order]
    heat = {
        "data": [
            {
                "type": "heatmap",
                "z": result.values[np.ix_(order, order)],
                "x": labels,
                "y": labels,
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": result.kind}},
                "hovertemplate": "%{y} vs %{x}: %{z:.3f}<extra></extra>",
            }
        ],
        "layout": {
            **_LAYOUT,
            "title": {"text": f"{result.metric} between networks, clustered"},
            # long run names: the margins grow to fit them instead of cutting them off
            "xaxis": {"automargin": True},
            "yaxis": {"autorange": "reversed", "automargin": True},
            "height": 520,
        },
    }
    coords, groups = layout.coordinates, layout.groups
    traces = []
    for group in dict.fromkeys(groups):
        index = [i for i, g in enumerate(groups) if g == group]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": group,
                "x": coords[index, 0],
                "y": coords[index, 1] if coords.shape[1] > 1 else np.zeros(len(index)),
                "text": [result.labels[i] for i in index],
                "hoverinfo": "text",
                "marker": {"size": 11},
            }
        )
    mds = {
        "data": traces,
        "layout": {
            **_LAYOUT,
            "title": {"text": "MDS embedding of the distances"},
            "xaxis": {"title": {"text": "MDS 1"}},
            "yaxis": {"title": {"text": "MDS 2"}},
            "height": 520,
        },
    }
    return heat, mds
