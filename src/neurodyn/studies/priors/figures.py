"""Figures of the priors study (Ganguli & Simoncelli 2010): each network group's Fisher
information over the angle against the infomax and discrimax predictions for its prior, and the
powers of the prior every network follows. They draw the measures with `neurodyn.plot`; the
predictions come from `neurodyn.analysis.efficient_code` in the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from neurodyn.analysis import EfficientCode
from neurodyn.plot import plot_fisher_information, plot_prior_powers
from neurodyn.studies.priors.measure import NetworkResult

__all__ = ["plot_fisher_by_prior", "plot_powers"]


def plot_fisher_by_prior(
    results: Sequence[NetworkResult], predictions: Mapping[str, Mapping[str, EfficientCode]]
) -> Figure:
    """One panel per prior: the first seed's network of each group (circuit with the local
    rule, circuit with BPTT, CTRNN with BPTT), Fisher information over its mean on a log scale,
    and the prior's infomax and discrimax predictions (dashed)."""
    priors = list(dict.fromkeys(r.prior for r in results))
    fig, axes = plt.subplots(1, len(priors), figsize=(4.8 * len(priors), 3.6), squeeze=False)
    for ax, prior in zip(axes[0], priors, strict=True):
        first: dict[str, NetworkResult] = {}
        for r in results:
            if r.prior == prior:
                first.setdefault(r.group, r)
        plot_fisher_information(
            {group: r.fisher for group, r in first.items()}, predictions=predictions[prior], ax=ax
        )
        ax.set_title(f"prior: {prior}", fontsize=10)
        ax.set_xlabel("angle (radians)")
    fig.tight_layout()
    return fig


def plot_powers(results: Sequence[NetworkResult]) -> Figure:
    """The power of the prior each network's Fisher information and density follow, one
    column per network, infomax (2) and discrimax (1/2) dotted."""
    fig = plot_prior_powers({r.label: r.powers for r in results})
    fig.set_size_inches(max(6.0, 0.35 * len(results) + 2), 3.8)
    fig.tight_layout()
    return fig
