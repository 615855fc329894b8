"""Figures of the memory study (Haviv et al. 2019): accuracy against delay, speed against
memory beyond the trained delays. They draw the measures; they compute nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.studies.memory.measure import T_MAX, NetworkMeasures

__all__ = ["plot_accuracy_by_delay", "plot_speed_against_memory"]

_COLOUR = {"classes": "tab:orange", "tmax": "tab:blue"}
_LINE = {"curriculum": ":", "fine-tune": "-", "fine-tune + speed": "--"}


def plot_accuracy_by_delay(measures: Sequence[NetworkMeasures]) -> Figure:
    """One panel per cell: accuracy against the image-to-query delay, a line per curriculum
    (colour) and training (dotted: after the curriculum, solid: fine-tuned, dashed: fine-tuned
    with the speed penalty), mean over seeds with each seed faint; the grey line marks the
    longest trained trial."""
    cells = list(dict.fromkeys(m.cell for m in measures))
    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 3.4), squeeze=False)
    for ax, cell in zip(axes[0], cells, strict=True):
        groups: dict[tuple[str, str], list[NetworkMeasures]] = {}
        for m in measures:
            if m.cell == cell:
                groups.setdefault((m.curriculum, m.phase), []).append(m)
        for (curriculum, phase), group in groups.items():
            colour, line = _COLOUR.get(curriculum, "black"), _LINE.get(phase, "-.")
            delays = sorted(group[0].accuracy)
            values = np.array([[m.accuracy[d] for d in delays] for m in group])
            for row in values:
                ax.plot(delays, row, color=colour, ls=line, alpha=0.2, lw=0.8)
            label = f"{curriculum}, {phase}"
            ax.plot(delays, values.mean(0), color=colour, ls=line, lw=2, label=label)
        ax.axvline(T_MAX, color="grey", lw=1)
        ax.set_xscale("log")  # delays from a few steps to many times the trained ones
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("delay (steps from image to query)")
        ax.set_title(cell)
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def plot_speed_against_memory(
    measures: Sequence[NetworkMeasures], rho: float, p_value: float, *, ax: Axes | None = None
) -> Figure:
    """Every network: accuracy beyond the trained delays against its speed at the class
    centres (log axis); colour per curriculum, marker per cell, filled when penalised. `rho`
    and `p_value` (`speed_predicts_memory`) go in the title. Draws on `ax` when given."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4))
    else:
        fig = cast(Figure, ax.get_figure(root=True))  # an Axes to draw on lies in a figure
    markers = {"gru": "o", "lstm": "s", "ctrnn": "^"}
    for m in measures:
        colour = _COLOUR.get(m.curriculum, "black")
        ax.scatter(
            max(m.speed, 1e-12),
            m.beyond,
            marker=markers.get(m.cell, "x"),
            facecolors=colour if m.phase == "fine-tune + speed" else "none",
            edgecolors=colour,
        )
    ax.set_xscale("log")
    ax.set_xlabel("speed |F(c) - c|^2 at the class centres")
    ax.set_ylabel(f"accuracy, delays > {T_MAX}")
    ax.set_title(f"Spearman rho = {rho:.2f} (p = {p_value:.1e})")
    fig.tight_layout()
    return fig
