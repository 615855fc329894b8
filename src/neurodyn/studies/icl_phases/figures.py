"""Figures of the icl-phases study (Park et al. 2025): the phase diagram over training and N,
and the KL to each algorithm over training. They draw the measures; they compute nothing but
the closest algorithm at each measured step."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from neurodyn.analysis.icl import ALGORITHMS
from neurodyn.studies.icl_phases.measure import MODELS, PHASE_NAMES, NetworkResult

__all__ = ["plot_kl_over_training", "plot_phase_diagram"]

# the paper's colours: Uni-Ret orange, Bi-Ret red, Uni-Inf green, Bi-Inf blue
COLOURS = ("#f0a04b", "#e34a42", "#6ccf4f", "#6495ed")
LABELS = [PHASE_NAMES[a] for a in ALGORITHMS]


def plot_phase_diagram(results: Sequence[NetworkResult], split: str = "id") -> Figure:
    """One panel per model: the closest algorithm (colour) at each measured step (columns)
    for each number of chains N (rows), at the longest context, on held-out sequences of the
    training chains (`split="id"`) or of fresh chains (`"ood"`); the first seed."""
    models = [m for m in MODELS if any(r.model == m for r in results)]
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        first_seed = min(r.seed for r in results if r.model == model)
        group = sorted(
            (r for r in results if r.model == model and r.seed == first_seed),
            key=lambda r: r.n_chains,
        )
        kl = [r.kl_id if split == "id" else r.kl_ood for r in group]
        grid = np.stack([k.argmin(1) for k in kl])  # [N, steps]
        ax.imshow(
            grid,
            cmap=ListedColormap(COLOURS),
            vmin=-0.5,
            vmax=3.5,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
        )
        steps = group[0].steps
        ticks = np.unique(np.linspace(0, len(steps) - 1, min(6, len(steps))).astype(int))
        ax.set_xticks(ticks, [str(int(steps[t])) for t in ticks])
        ax.set_yticks(range(len(group)), [str(r.n_chains) for r in group])
        ax.set_xlabel("training step")
        ax.set_ylabel("N training chains")
        ax.set_title(model, fontsize=10)
    handles = [Patch(color=c, label=label) for c, label in zip(COLOURS, LABELS, strict=True)]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_kl_over_training(results: Sequence[NetworkResult], model: str = "transformer") -> Figure:
    """For one model, a panel per N: the KL of its predictions to each algorithm (solid, in
    distribution) and to the true chain (black: dashed in distribution, solid out of it)
    against the training step; the first seed."""
    first_seed = min(r.seed for r in results if r.model == model)
    group = sorted(
        (r for r in results if r.model == model and r.seed == first_seed),
        key=lambda r: r.n_chains,
    )
    fig, axes = plt.subplots(1, len(group), figsize=(3.4 * len(group), 3.2), squeeze=False)
    for ax, r in zip(axes[0], group, strict=True):
        for a, (colour, label) in enumerate(zip(COLOURS, LABELS, strict=True)):
            ax.plot(r.steps, r.kl_id[:, a], color=colour, label=label)
        ax.plot(r.steps, r.truth_id, "k--", label="true chain (id)")
        ax.plot(r.steps, r.truth_ood, "k-", label="true chain (ood)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(f"{model}, N = {r.n_chains}", fontsize=10)
    axes[0][0].set_ylabel("KL(model || algorithm), nats")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig
