"""Figures of network comparisons: clustered heat map and MDS embedding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.similarity import SimilarityLayout, SimilarityMatrix
from neurodyn.plot.figures import _axes


def plot_comparison(
    result: SimilarityMatrix,
    layout: SimilarityLayout,
    *,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Heat map of `result` in the clustering order of `layout` (left), and the networks at
    their MDS coordinates, coloured by run (right).

    Parameters
    ----------
    result : the K x K matrix
    layout : its `similarity_layout` (order `[K]`, coordinates `[K, 2]`, run of each network)
    axes : two axes to draw into (heat map, embedding); a new figure if None

    Returns
    -------
    Figure
        The figure holding `axes` (a new one if `axes` is None).
    """
    fig, (ax_map, ax_mds) = _axes(axes, 2, 6.0, 4.8)
    order = layout.order
    image = ax_map.imshow(result.values[np.ix_(order, order)], cmap="viridis")
    fig.colorbar(image, ax=ax_map, shrink=0.8, label=f"{result.metric} ({result.kind})")
    if len(order) <= 40:
        ticks = [result.labels[i] for i in order]
        ax_map.set_xticks(range(len(order)), ticks, rotation=90, fontsize=7)
        ax_map.set_yticks(range(len(order)), ticks, fontsize=7)
    ax_map.set_title("networks, clustered")
    coords = layout.coordinates
    names = list(dict.fromkeys(layout.groups))
    for j, name in enumerate(names):
        sel = [i for i, g in enumerate(layout.groups) if g == name]
        ax_mds.scatter(coords[sel, 0], coords[sel, 1], s=25, color=f"C{j % 10}", label=name)
    if len(names) <= 12:
        # beside the axes, not over the points
        ax_mds.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    ax_mds.set(title="MDS embedding", xlabel="MDS 1", ylabel="MDS 2")
    # one unit of distance is as long on both axes, so the picture does not distort distances
    ax_mds.set_aspect("equal", adjustable="datalim")
    if axes is None:
        # room between the colour bar's label and the embedding's axis label
        fig.tight_layout(w_pad=4.0)
    return fig
