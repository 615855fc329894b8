"""Figures of the simplicity-bias study: each measure by setting, outliers over training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.studies.simplicity_bias.measure import OutlierHistory

SETTING_COLOURS = {"gated": "tab:blue", "orthogonal": "tab:orange", "parallel": "tab:green"}


def plot_measure_by_setting(
    rows: Sequence[Mapping[str, object]], measure: str, *, label: str = ""
) -> Figure:
    """One panel per task set: box plots of `measure` over networks, one box per setting,
    every network drawn as a dot."""
    groups = list(dict.fromkeys(str(r["components"]) for r in rows))
    settings = list(dict.fromkeys(str(r["setting"]) for r in rows))
    fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 3.2), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, group in zip(axes[0], groups, strict=True):
        data = [
            np.array(
                [r[measure] for r in rows if r["components"] == group and r["setting"] == s],
                dtype=np.float64,
            )
            for s in settings
        ]
        data = [d[~np.isnan(d)] for d in data]
        ax.boxplot(data, showfliers=False, widths=0.6)
        for i, (s, d) in enumerate(zip(settings, data, strict=True)):
            jitter = rng.uniform(-0.15, 0.15, len(d))
            ax.scatter(i + 1 + jitter, d, s=10, color=SETTING_COLOURS.get(s, "k"), alpha=0.7)
        ax.set_xticks(range(1, len(settings) + 1), settings, rotation=20)
        ax.set_title(group.replace("+", " + "), fontsize=10)
    axes[0][0].set_ylabel(label or measure)
    fig.tight_layout()
    return fig


def plot_outlier_history(histories: Mapping[str, OutlierHistory]) -> Figure:
    """W_rec eigenvalues outside the unit circle against training step, one panel per run
    (those that kept weights): every seed as a thin line, the mean in bold."""
    names = [n for n, history in histories.items() if len(history.steps)]
    cols = min(3, max(1, len(names)))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names, strict=False):
        steps, counts = histories[name].steps, histories[name].counts
        setting = name.rsplit("-", 1)[-1]
        colour = SETTING_COLOURS.get(setting, "k")
        ax.plot(steps, counts, color=colour, alpha=0.2, lw=0.8)
        ax.plot(steps, counts.mean(1), color=colour, lw=2)
        ax.set_title(name.removeprefix("sb-"), fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("|λ| > 1")
    fig.tight_layout()
    return fig
