"""Figure of the engrams study (Ramsaran et al. 2023): the density-precision curve. It draws
the measures; it computes nothing but means over the networks."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from neurodyn.studies.engrams.measure import ConditionResult

__all__ = ["plot_density_precision"]

_MARKERS = {"age": ("s", "black"), "manipulation": ("D", "tab:red"), "kwta": ("^", "tab:green")}


def plot_density_precision(results: Sequence[ConditionResult]) -> Figure:
    """Left: discrimination against engram density, the maturation sweep as a line (PV
    strength rising right to left), the ages, manipulations and k-WTA limits as labelled
    markers; a dot per network. Right: freezing in A and in B against density along the
    sweep."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    sweep = [r for r in results if r.condition.group == "maturation"]
    for r in results:
        left.plot(r.density, r.discrimination, ".", color="0.7", markersize=3)
    left.plot(
        [r.density.mean() for r in sweep],
        [r.discrimination.mean() for r in sweep],
        "-o",
        color="tab:blue",
        markersize=4,
        label="PV strength sweep (maturation)",
    )
    for r in results:
        if r.condition.group in _MARKERS:
            marker, colour = _MARKERS[r.condition.group]
            x, y = r.density.mean(), r.discrimination.mean()
            left.plot(x, y, marker, color=colour, markersize=6)
            # k-WTA points sit on the sweep beside the ages: their labels go below
            offset = (4, -12) if r.condition.group == "kwta" else (4, 4)
            left.annotate(r.condition.name, (x, y), textcoords="offset points", xytext=offset)
    left.set_xlabel("engram density (fraction of units active at encoding)")
    left.set_ylabel("discrimination (F_A - F_B) / (F_A + F_B)")
    left.set_title("Density and precision", fontsize=10)
    left.legend(fontsize=8)
    x = [r.density.mean() for r in sweep]
    right.plot(x, [r.freezing_a.mean() for r in sweep], "-o", markersize=4, label="context A")
    right.plot(x, [r.freezing_b.mean() for r in sweep], "-o", markersize=4, label="context B")
    right.set_xlabel("engram density")
    right.set_ylabel("freezing (fear readout)")
    right.set_title("Recall in the trained and the similar context", fontsize=10)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
