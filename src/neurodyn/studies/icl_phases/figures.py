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
    training chains (`split="id"`) or of fresh chains (`"ood"`); where there are several
    seeds, the algorithm most of them are closest to (ties go to the first in `ALGORITHMS`)."""
    models = [m for m in MODELS if any(r.model == m for r in results)]
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        n_values = sorted({r.n_chains for r in results if r.model == model})
        rows = []
        for n_chains in n_values:
            members = [r for r in results if r.model == model and r.n_chains == n_chains]
            closest = np.stack(
                [(r.kl_id if split == "id" else r.kl_ood).argmin(1) for r in members]
            )
            votes = np.stack([(closest == a).sum(0) for a in range(len(ALGORITHMS))])  # [4, C]
            rows.append(votes.argmax(0))
        grid = np.stack(rows)  # [N, steps]
        steps = next(r.steps for r in results if r.model == model)
        ax.imshow(
            grid,
            cmap=ListedColormap(COLOURS),
            vmin=-0.5,
            vmax=3.5,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
        )
        ticks = np.unique(np.linspace(0, len(steps) - 1, min(6, len(steps))).astype(int))
        ax.set_xticks(ticks, [str(int(steps[t])) for t in ticks])
        ax.set_yticks(range(len(n_values)), [str(n) for n in n_values])
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
    against the training step; every seed, the first one drawn boldest."""
    group = sorted((r for r in results if r.model == model), key=lambda r: (r.n_chains, r.seed))
    n_values = sorted({r.n_chains for r in group})
    first_seed = min(r.seed for r in group)
    fig, axes = plt.subplots(1, len(n_values), figsize=(3.4 * len(n_values), 3.2), squeeze=False)
    for r in group:
        ax = axes[0][n_values.index(r.n_chains)]
        first = r.seed == first_seed
        width, alpha = (1.5, 1.0) if first else (0.8, 0.5)
        for a, (colour, label) in enumerate(zip(COLOURS, LABELS, strict=True)):
            ax.plot(
                r.steps,
                r.kl_id[:, a],
                color=colour,
                label=label if first else None,
                linewidth=width,
                alpha=alpha,
            )
        ax.plot(
            r.steps,
            r.truth_id,
            "k--",
            label="true chain (id)" if first else None,
            linewidth=width,
            alpha=alpha,
        )
        ax.plot(
            r.steps,
            r.truth_ood,
            "k-",
            label="true chain (ood)" if first else None,
            linewidth=width,
            alpha=alpha,
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(f"{model}, N = {r.n_chains}", fontsize=10)
    axes[0][0].set_ylabel("KL(model || algorithm), nats")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig
