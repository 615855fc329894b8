"""Figures of the motifs study that only it draws: the transfer learning curves. They draw the
measures; they compute nothing."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from neurodyn.studies.motifs.measure import CRITERION, PAPER_NAMES, PREFIX, TransferCurve

__all__ = ["plot_transfer"]

_COLOUR = {"related": "tab:blue", "unrelated": "tab:orange", "scratch": "tab:grey"}


def plot_transfer(curves: Sequence[TransferCurve]) -> Figure:
    """One panel per held-out task: performance on its training batches against steps, one
    line per network, coloured by where it started (pre-trained on every other task, on a set
    lacking its relatives, or from scratch); only the input weights learn."""
    held = list(dict.fromkeys(c.held_out for c in curves))
    fig, axes = plt.subplots(1, len(held), figsize=(4.5 * len(held), 3.4), squeeze=False)
    for ax, name in zip(axes[0], held, strict=True):
        for curve in (c for c in curves if c.held_out == name):
            ax.plot(curve.steps, curve.performance, color=_COLOUR[curve.start], alpha=0.7)
        for start, colour in _COLOUR.items():
            ax.plot([], [], color=colour, label=start)
        ax.axhline(CRITERION, color="k", lw=0.6, ls=":")
        ax.set_xlabel("step (input weights only)")
        ax.set_ylabel("performance")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(PAPER_NAMES.get(PREFIX + name, name))
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
