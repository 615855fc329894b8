"""Figures of the abstraction study (Vafidis, Bhargava & Rangel 2025): generalisation and the
abstraction measures against the number of tasks. They draw the measures; they compute nothing
but means over the networks."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.studies.abstraction.measure import NetworkResult

__all__ = ["plot_generalisation"]


def _line(ax: Axes, results: Sequence[NetworkResult], key: str, label: str, colour: str) -> None:
    """Mean over networks against N, each network a faint dot."""
    ns = sorted({r.n_tasks for r in results})
    for r in results:
        ax.plot(r.n_tasks, getattr(r, key), ".", color=colour, alpha=0.3)
    means = [np.mean([getattr(r, key) for r in results if r.n_tasks == n]) for n in ns]
    ax.plot(ns, means, "-o", color=colour, label=label, markersize=4)


def plot_generalisation(results: Sequence[NetworkResult]) -> Figure:
    """Left: r2 of a linear read-out of the latent x*, on held-out trials (in distribution) and
    on a quadrant the read-out never saw (out of distribution), against the number of tasks N;
    the dotted line marks N = D = 2. Right: the abstraction measures of the latent's signs
    (CCGP and parallelism, mean of the two coordinates; shattering dimensionality), chance
    dotted. A dot per network, the line through the means."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.6))
    _line(left, results, "id_r2", "in distribution", "tab:blue")
    _line(left, results, "ood_r2", "held-out quadrant", "tab:red")
    left.set_ylabel("r$^2$ of the read-out of x*")
    left.set_title("Generalisation of a linear read-out", fontsize=10)
    left.axvline(2, color="0.6", linestyle=":", linewidth=1)
    _line(right, results, "ccgp", "CCGP", "tab:green")
    _line(right, results, "parallelism", "parallelism", "tab:purple")
    _line(right, results, "shattering", "shattering", "tab:gray")
    right.axhline(0.5, color="0.6", linestyle=":", linewidth=1)
    right.set_title("Abstraction of the latent's signs", fontsize=10)
    ticks = sorted({r.n_tasks for r in results})
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xlabel("number of tasks N (lines)")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
