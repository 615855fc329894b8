"""Figures of the escape study: the Arrhenius plot of every network's memory lifetime, and the
Arrhenius barrier against the saddles' path barrier. They draw the measures; they compute
nothing."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.studies.escape.measure import NetworkEscape

__all__ = ["plot_arrhenius", "plot_barriers"]


def _colours(noises: Sequence[float]) -> dict[float, tuple[float, float, float, float]]:
    levels = sorted(set(noises))
    cmap = plt.get_cmap("viridis")
    return {n: cmap(i / max(len(levels) - 1, 1)) for i, n in enumerate(levels)}


def plot_arrhenius(networks: Sequence[NetworkEscape], task: str) -> Figure:
    """log10 of the memory lifetime against 1 / sigma^2, one line per network of `task`,
    coloured by training noise; hollow markers: levels left out of the fit (too few switches
    or too much time outside the cores)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    picked = [n for n in networks if n.task == task]
    colour = _colours([n.train_noise for n in picked])
    shown: set[float] = set()
    for n in picked:
        sigma = np.array(sorted(n.lifetime_ms))
        life = np.array([n.lifetime_ms[s] for s in sigma])
        finite = np.isfinite(life)
        if not finite.any():
            continue
        label = f"trained at {n.train_noise:g}" if n.train_noise not in shown else None
        shown.add(n.train_noise)
        ax.plot(1 / sigma[finite] ** 2, np.log10(life[finite]), "-", color=colour[n.train_noise],
                label=label, alpha=0.8)  # fmt: skip
        outside = np.array([n.outside[s] for s in sigma])
        hollow = finite & (outside > 0.5)
        ax.plot(1 / sigma[finite & ~hollow] ** 2, np.log10(life[finite & ~hollow]), "o",
                color=colour[n.train_noise])  # fmt: skip
        ax.plot(1 / sigma[hollow] ** 2, np.log10(life[hollow]), "o", mfc="none",
                color=colour[n.train_noise])  # fmt: skip
    ax.set_xlabel("1 / sigma² (test noise)")
    ax.set_ylabel("log10 memory lifetime (ms)")
    ax.set_title(task)
    if shown:
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig


def plot_barriers(networks: Sequence[NetworkEscape]) -> Figure:
    """Each network's Arrhenius barrier (with its interval) against its saddles' path barrier;
    circles flip-flop, squares ring task, coloured by training noise."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    colour = _colours([n.train_noise for n in networks])
    marker = {"flipflop": "o", "dlygo": "s"}
    for n in networks:
        if not (np.isfinite(n.barrier) and np.isfinite(n.path_barrier)):
            continue
        if np.isfinite(n.barrier_low):
            ax.plot([n.path_barrier] * 2, [n.barrier_low, n.barrier_high], "-",
                    color=colour[n.train_noise], alpha=0.5)  # fmt: skip
        ax.plot(n.path_barrier, n.barrier, marker.get(n.task, "^"), color=colour[n.train_noise])
    ax.set_xscale("log")
    ax.set_xlabel("path barrier over the saddle (state² / ms)")
    ax.set_ylabel("Arrhenius barrier (sigma_rec²)")
    return fig
