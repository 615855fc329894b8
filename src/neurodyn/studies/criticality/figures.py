"""Figures of the criticality study (Safavi et al. 2024): coding error and kappa against the
noise, one line per network size, and the avalanche exponents. They draw the measures; they
compute nothing but means over the seeds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from neurodyn.studies.criticality.measure import SizeResult

__all__ = ["plot_exponents", "plot_noise_curves"]


def _colours(results: list[SizeResult]) -> list[tuple[float, ...]]:
    cmap = plt.get_cmap("viridis")
    return [cmap(0.85 * i / max(len(results) - 1, 1)) for i in range(len(results))]


def _noise_axis(ax, levels: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    # symlog shows the noise-free level at 0 beside the log-spaced ones
    positive = levels[levels > 0]
    ax.set_xscale("symlog", linthresh=float(positive.min()) if len(positive) else 1.0)
    ax.set_xlim(0.0, float(levels.max()) * 1.3)
    ax.set_xlabel("voltage noise (mean thresholds per sqrt(ms))")


def plot_noise_curves(results: list[SizeResult]) -> Figure:
    """Coding error (log scale) and kappa against the noise, per network size: mean over the
    seeds, each seed a faint dot; circles mark each size's lowest error and its kappa closest
    to 1, the dotted line kappa = 1."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    for result, colour in zip(results, _colours(results), strict=True):
        levels = result.noise_levels
        for ax, name in ((left, "coding_error"), (right, "kappa")):
            values = getattr(result, name)
            for row in values:
                ax.plot(levels, row, ".", color=colour, alpha=0.3, markersize=4)
            ax.plot(levels, result.mean(name), "-", color=colour, label=f"N = {result.size}")
        best = int(np.flatnonzero(levels == result.error_minimum)[0])
        left.plot(levels[best], result.mean("coding_error")[best], "o", color=colour, mfc="none")
        crit = int(np.flatnonzero(levels == result.kappa_optimum)[0])
        right.plot(levels[crit], result.mean("kappa")[crit], "o", color=colour, mfc="none")
    left.set_yscale("log")
    left.set_ylabel("coding error (MSE)")
    right.axhline(1.0, color="0.5", linestyle=":")
    right.set_ylabel("kappa")
    for ax in (left, right):
        _noise_axis(ax, results[0].noise_levels)
    left.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_exponents(results: list[SizeResult]) -> Figure:
    """The fitted size exponent tau and duration exponent alpha against the noise, per size
    (mean over seeds), with the critical branching process's 3/2 and 2 dotted."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.4))
    for result, colour in zip(results, _colours(results), strict=True):
        for ax, name in zip(axes, ("size_exponent", "duration_exponent"), strict=True):
            ax.plot(
                result.noise_levels,
                result.mean(name),
                ".-",
                color=colour,
                label=f"N = {result.size}",
            )
    for ax, value, label in zip(
        axes, (1.5, 2.0), ("size exponent tau", "duration exponent alpha"), strict=True
    ):
        ax.axhline(value, color="0.5", linestyle=":")
        ax.set_ylabel(label)
        _noise_axis(ax, results[0].noise_levels)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
