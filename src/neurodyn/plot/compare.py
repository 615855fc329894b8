"""Figures of network comparisons: clustered heat map and MDS embedding."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from neurodyn.analysis.similarity import SimilarityMatrix, as_distance, classical_mds, run_of


def plot_comparison(result: SimilarityMatrix) -> Figure:
    """Heat map ordered by average-linkage clustering, and the networks in 2-D MDS coloured
    by run."""
    distance = as_distance(result)
    order = (
        leaves_list(linkage(squareform(distance, checks=False), "average"))
        if len(distance) > 2
        else np.arange(len(distance))
    )
    fig, (ax_map, ax_mds) = plt.subplots(1, 2, figsize=(11, 4.8))
    image = ax_map.imshow(result.values[np.ix_(order, order)], cmap="viridis")
    fig.colorbar(image, ax=ax_map, shrink=0.8, label=f"{result.metric} ({result.kind})")
    groups = [run_of(label) for label in result.labels]
    if len(order) <= 40:
        ticks = [result.labels[i] for i in order]
        ax_map.set_xticks(range(len(order)), ticks, rotation=90, fontsize=6)
        ax_map.set_yticks(range(len(order)), ticks, fontsize=6)
    ax_map.set_title("networks, clustered")
    coords = classical_mds(distance)
    names = list(dict.fromkeys(groups))
    for j, name in enumerate(names):
        sel = [i for i, g in enumerate(groups) if g == name]
        ax_mds.scatter(coords[sel, 0], coords[sel, 1], s=25, color=f"C{j % 10}", label=name)
    if len(names) <= 12:
        ax_mds.legend(fontsize=7)
    ax_mds.set(title="MDS embedding", xlabel="MDS 1", ylabel="MDS 2")
    fig.tight_layout()
    return fig
