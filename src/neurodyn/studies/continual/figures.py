"""Figure of the continual-learning study: every task's performance after each stage."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.studies.continual.measure import ContinualResult


def plot_continual(results: Sequence[ContinualResult]) -> Figure:
    """One panel per run: each task's performance (mean over networks) after every stage
    from the one that trained it on; the stage axis names the groups."""
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.6), squeeze=False)
    groups = results[0].groups
    colours = plt.get_cmap("tab10")
    for ax, result in zip(axes[0], results, strict=True):
        k = 0
        for s, group in enumerate(groups):
            for task in group:
                stages = list(range(s, len(groups)))
                values = np.array([[m[t][task] for t in stages] for m in result.performance])
                ax.plot(stages, values.mean(0), marker="o", color=colours(k % 10), label=task)
                k += 1
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(["+".join(g) for g in groups], rotation=30, ha="right", fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(result.run)
        ax.set_xlabel("after training on")
    axes[0][0].set_ylabel("performance")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
