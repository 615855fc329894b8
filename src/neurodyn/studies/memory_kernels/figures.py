"""Figures of the memory-kernels study (Li, Han, E & Li 2022): error against width, training
curves with their plateaus, learned time constants. They draw the measures; they compute
nothing but means over the networks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.studies.memory_kernels.measure import KernelsResults

__all__ = ["plot_errors", "plot_plateaus", "plot_timescales"]


def _colours(labels: list[str]) -> dict[str, tuple[float, ...]]:
    """Exponential kernels in blues, the others in reds, darker for longer memory (the order
    of the config)."""
    exp = [k for k in labels if k.startswith("exp")]
    other = [k for k in labels if k not in exp]
    out: dict[str, tuple[float, ...]] = {}
    for group, cmap in ((exp, plt.get_cmap("Blues")), (other, plt.get_cmap("Reds"))):
        for i, k in enumerate(group):
            out[k] = cmap(0.4 + 0.6 * (i + 1) / max(len(group), 1))
    return out


def plot_errors(results: KernelsResults) -> Figure:
    """The final error of the learned kernel against the width m, per kernel (mean over the
    seeds, each network a faint dot), log-log."""
    nets = [r for r in results.networks if r.experiment == "exact"]
    labels = list(dict.fromkeys(r.kernel for r in nets))
    colours = _colours(labels)
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for label in labels:
        group = [r for r in nets if r.kernel == label]
        widths = sorted({r.width for r in group})
        for r in group:
            ax.plot(r.width, max(r.error, 1e-12), ".", color=colours[label], alpha=0.3)
        means = [np.mean([max(r.error, 1e-12) for r in group if r.width == m]) for m in widths]
        ax.plot(widths, means, "-o", color=colours[label], label=label, markersize=4)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width m")
    ax.set_ylabel("error (share of variance missed)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_plateaus(results: KernelsResults) -> Figure:
    """The exact error over training of each kernel's first network: Adam at the largest
    width (left), gradient descent from a small start (right), log scale."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    labels = list(dict.fromkeys(r.kernel for r in results.networks))
    colours = _colours(labels)
    for ax, experiment, title in (
        (axes[0], "exact", "Adam on the exact loss"),
        (axes[1], "descent", "gradient descent on the exact loss"),
    ):
        keys = [k for k in results.curves if k[0] == experiment]
        top = max((k[2] for k in keys), default=0)
        for _, label, width in keys:
            if width != top:
                continue
            steps, curves = results.curves[(experiment, label, width)]
            ax.plot(steps, np.fmax(curves[0], 1e-12), color=colours[label], label=label)
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(f"{title} (m = {top})", fontsize=10)
    axes[0].set_ylabel("error")
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_timescales(results: KernelsResults) -> Figure:
    """Left: every learned exponential's time constant (networks of the largest width, stable
    and non-negligible ones), by kernel; the exponential kernels' own time constant as a
    cross. Right: the first network's learned kernel against its target, per kernel."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    rows = [r for r in results.eigenvalues if r["experiment"] == "exact"]
    labels = list(dict.fromkeys(r["kernel"] for r in rows))
    colours = _colours(labels)
    top = max((r["width"] for r in rows), default=0)
    for i, label in enumerate(labels):
        group = [r for r in rows if r["kernel"] == label and r["width"] == top]
        biggest = max((r["amplitude"] for r in group), default=0.0)
        scales = [
            r["timescale_ms"]
            for r in group
            if 0 < r["timescale_ms"] < np.inf and r["amplitude"] > 1e-3 * biggest
        ]
        left.plot([i] * len(scales), scales, ".", color=colours[label], alpha=0.6)
        memory = [n.memory_ms for n in results.networks if n.kernel == label]
        family = [n.family for n in results.networks if n.kernel == label]
        if family and family[0] == "exponential":
            left.plot(i, memory[0], "kx", markersize=8)
    left.set_xticks(range(len(labels)), labels, rotation=45, fontsize=7)
    left.set_yscale("log")
    left.set_ylabel("learned time constant (ms)")
    for label, (target, learned) in results.learned.items():
        lags = np.arange(len(target)) * results.dt_ms
        right.plot(lags, target, color=colours[label], linewidth=2, alpha=0.4)
        right.plot(lags, learned, "--", color=colours[label], linewidth=1, label=label)
    right.set_xscale("symlog", linthresh=results.dt_ms)
    right.set_xlabel("lag s (ms)")
    right.set_ylabel("kernel (thick: target, dashed: learned)")
    right.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
