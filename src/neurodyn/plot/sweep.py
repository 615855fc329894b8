"""Figures of a sweep: its trials' final metrics against each hyper-parameter it varies."""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.runs.sweep import SweepTable


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def plot_sweep_field(table: SweepTable, field: str) -> Figure:
    """Mean performance over tasks (left) and final loss (right) of every trial against
    `field`: one dot per trial (a seed of a run), the line through the means per value. A
    numeric field spanning more than a factor 10 is drawn on a log axis; others as categories.
    """
    rows = [r for r in table.rows if r.get("member") is not None and field in r]
    values = [r[field] for r in rows]
    numeric = _numeric(values)
    if numeric:
        x = np.array(values, dtype=float)
        levels = sorted(set(x.tolist()))
    else:
        labels = list(dict.fromkeys(map(str, values)))
        x = np.array([labels.index(str(v)) for v in values], dtype=float)
        levels = list(range(len(labels)))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    perf = np.array(
        [
            np.mean([r[f"perf.{t}"] for t in table.tasks if f"perf.{t}" in r] or [math.nan])
            for r in rows
        ]
    )
    loss = np.array([r["loss"] for r in rows], dtype=float)
    for ax, y, label in ((axes[0], perf, "performance (mean over tasks)"), (axes[1], loss, "loss")):
        ax.scatter(x, y, s=14, alpha=0.6, color="tab:blue")
        means = [np.nanmean(y[x == level]) if np.any(x == level) else math.nan for level in levels]
        ax.plot(levels, means, color="black", lw=1.5)
        ax.set_xlabel(field)
        ax.set_ylabel(label)
        if numeric and min(levels) > 0 and max(levels) / min(levels) > 10:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(levels)
            ax.set_xticklabels(labels, rotation=30, ha="right")
    finite = loss[np.isfinite(loss)]
    if finite.size and np.all(finite > 0):
        axes[1].set_yscale("log")
    fig.suptitle(f"sweep {table.name}: {field}")
    fig.tight_layout()
    return fig
