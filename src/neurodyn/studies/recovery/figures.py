"""Figures of the recovery study: each fit's data score against its recovery of the truth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.studies.recovery.measure import FitScore

__all__ = ["plot_fit_against_recovery"]

_MARKERS = "os^Dv<>p"


def plot_fit_against_recovery(results: list[FitScore]) -> Figure:
    """One panel per truth: every scored member's co-smoothing (bits/spike, as a share of the
    true rates') against its DSA distance to the truth (left) and its state R^2 (right);
    colour: the model, marker: the recorded fraction."""
    truths = list(dict.fromkeys(s.truth for s in results))
    models = list(dict.fromkeys(s.model for s in results))
    fractions = list(dict.fromkeys(s.fraction for s in results))
    fig, axes = plt.subplots(len(truths), 2, figsize=(10, 3.6 * len(truths)), squeeze=False)
    for row, truth in enumerate(truths):
        for col, (name, value) in enumerate(
            (
                ("DSA distance to the truth", lambda s: s.score.dsa_distance),
                ("state R^2", lambda s: s.score.state_r2),
            )
        ):
            ax = axes[row, col]
            for s in (s for s in results if s.truth == truth):
                ceiling = s.score.true_bits_per_spike
                share = s.score.bits_per_spike / ceiling if ceiling > 0 else np.nan
                ax.scatter(
                    share,
                    value(s),
                    color=f"C{models.index(s.model)}",
                    marker=_MARKERS[fractions.index(s.fraction) % len(_MARKERS)],
                    s=28,
                    alpha=0.8,
                )
            ax.set_xlabel("bits/spike over the true rates'")
            ax.set_ylabel(name)
            ax.set_title(truth, fontsize=9)
            ax.axvline(0, color="0.7", lw=0.5)
    handles = [
        plt.Line2D([], [], color=f"C{i}", marker="o", ls="", label=m) for i, m in enumerate(models)
    ] + [
        plt.Line2D([], [], color="0.4", marker=_MARKERS[i], ls="", label=f"{100 * f:g}% recorded")
        for i, f in enumerate(fractions)
    ]
    axes[0, 1].legend(handles=handles, fontsize=7, loc="best")
    fig.tight_layout()
    return fig
