"""Figures of how well fitted networks recovered the dynamics behind a recording."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.recovery import Recovery
from neurodyn.plot.figures import _axes


def plot_recovery(rows: Sequence[Recovery], *, axes: Sequence[Axes] | None = None) -> Figure:
    """Left: each fitted model's co-smoothing bits per spike on held-out neurons, the true
    rates' beside it (the ceiling). Right: how much of the dynamics it recovered: state R^2,
    the share of matched fixed points of the same stability, and the DSA distance to the
    truth (0: the same dynamics).

    Parameters
    ----------
    rows : sequence of Recovery
        One per fitted model or member (`neurodyn.analysis.recovery`).
    axes : two Axes, optional
        Where to draw; a new figure if None.

    Returns
    -------
    Figure
    """
    if axes is None:
        fig, (ax_data, ax_dyn) = plt.subplots(
            1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 1.6]}
        )
    else:
        fig, (ax_data, ax_dyn) = _axes(axes, 2)
    labels = [f"{r.model}\nmember {r.member}" if len(rows) > 1 else r.model for r in rows]
    x = np.arange(len(rows))
    ax_data.bar(x - 0.2, [r.bits_per_spike for r in rows], 0.4, label="fitted", color="C0")
    ax_data.bar(
        x + 0.2, [r.true_bits_per_spike for r in rows], 0.4, label="true rates", color="0.6"
    )
    ax_data.set_xticks(x, labels, fontsize=7)
    ax_data.set_ylabel("co-smoothing (bits/spike)")
    ax_data.axhline(0, color="k", lw=0.5)
    ax_data.legend(fontsize=8)
    scores = {
        "state R^2": [r.state_r2 for r in rows],
        "same stability": [r.stability_agreement for r in rows],
        "DSA distance": [r.dsa_distance for r in rows],
    }
    width = 0.8 / len(scores)
    for k, (name, values) in enumerate(scores.items()):
        ax_dyn.bar(x + (k - 1) * width, values, width, label=name, color=f"C{k + 1}")
    for i, r in enumerate(rows):
        ax_dyn.annotate(
            f"{r.n_fixed_fitted}/{r.n_fixed_true} fp",
            (i, 1.02),
            ha="center",
            fontsize=7,
            annotation_clip=False,
        )
    ax_dyn.set_xticks(x, labels, fontsize=7)
    ax_dyn.set_ylim(0, 1.1)
    ax_dyn.legend(fontsize=8, loc="lower right")
    ax_dyn.set_title("fixed points fitted / true at zero input", fontsize=8)
    fig.tight_layout()
    return fig
