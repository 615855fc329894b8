"""Figures of a population code for a circular stimulus (`neurodyn.analysis.population_code`),
as in Bredenberg, Simoncelli & Savin (NeurIPS 2020).

Angles are drawn in degrees on [-180, 180). Functions that compare several results take a
mapping of label -> result (e.g. `{"estimation": ..., "classification": ...}` or
`{"before learning": ..., "after learning": ...}`) and draw one colour per label; a single
result may be given without a label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeVar, cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.stats import vonmises

from neurodyn.analysis.population_code import DecodingBiasVariance, Engagement, TuningSummary
from neurodyn.plot.figures import _axes

_Result = TypeVar("_Result")


def _labelled(results: _Result | Mapping[str, _Result]) -> dict[str | None, _Result]:
    """A single result as `{None: result}`, so that it is drawn without a legend entry."""
    if isinstance(results, Mapping):
        return {label: result for label, result in results.items()}
    return {None: results}


def _angle_axis(ax: Axes) -> None:
    ax.set_xlim(-185, 185)
    ax.set_xticks([-180, -90, 0, 90, 180])
    ax.set_xlabel("stimulus angle θ (degrees)")


def _sorted_by_angle(angles: np.ndarray, *values: np.ndarray) -> list[np.ndarray]:
    """Degrees and the values in increasing angle, so that lines do not zigzag."""
    order = np.argsort(angles)
    return [np.degrees(angles[order]), *(v[order] for v in values)]


def _legend(ax: Axes, labels: Mapping[str | None, object]) -> None:
    if any(label is not None for label in labels):
        ax.legend(fontsize=8, frameon=False)


def plot_preferred_stimuli(
    summary: TuningSummary,
    *,
    prior: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Histogram of the units' preferred angles: the share of units preferring each test angle.

    `prior = (mu, kappa)` overlays the stimulus prior, von Mises(mu, kappa), as the share a
    bin of width `360 / A` degrees would get under it (density times bin width), which assumes
    the test angles tile the circle evenly. A code that matches the prior has bars that follow
    the curve.
    """
    fig, (ax,) = _axes(ax, 1, 4.5, 3.4)
    degrees, share = _sorted_by_angle(summary.angles, summary.preferred_share)
    bin_width_rad = 2 * math.pi / len(degrees)
    ax.bar(degrees, share, width=0.8 * math.degrees(bin_width_rad), color="C0", label="units")
    if prior is not None:
        mu, kappa = prior
        theta = np.linspace(-math.pi, math.pi, 361)
        ax.plot(
            np.degrees(theta),
            vonmises.pdf(theta, kappa, loc=mu) * bin_width_rad,
            color="k",
            label=f"prior (μ = {math.degrees(mu):.0f}°, κ = {kappa:g})",
        )
        ax.legend(fontsize=8, frameon=False)
    _angle_axis(ax)
    ax.set_ylabel("fraction of units preferring θ")
    ax.set_ylim(bottom=0)
    ax.set_title("preferred stimuli", fontsize=10)
    return fig


def plot_population_tuning(
    summaries: TuningSummary | Mapping[str, TuningSummary], *, ax: Axes | None = None
) -> Figure:
    """Mean rate over units at each angle, ± its SEM across units shaded, one line per label
    (e.g. estimation against classification)."""
    fig, (ax,) = _axes(ax, 1, 4.5, 3.4)
    labelled = _labelled(summaries)
    for k, (label, summary) in enumerate(labelled.items()):
        colour = f"C{k % 10}"
        degrees, mean, sem = _sorted_by_angle(
            summary.angles, summary.population_mean, summary.population_sem
        )
        ax.plot(degrees, mean, color=colour, label=label)
        ax.fill_between(degrees, mean - sem, mean + sem, color=colour, alpha=0.25, lw=0)
    _angle_axis(ax)
    ax.set_ylabel("population mean rate (± SEM over units)")
    ax.set_title("population tuning", fontsize=10)
    _legend(ax, labelled)
    return fig


def plot_bias_variance(
    results: DecodingBiasVariance | Mapping[str, DecodingBiasVariance], *, ax: Axes | None = None
) -> Figure:
    """Squared bias (solid) and variance (dashed) of the readout at each angle, one colour per
    label; the two add up to the mean squared error."""
    fig, (ax,) = _axes(ax, 1, 4.5, 3.4)
    labelled = _labelled(results)
    for k, (label, result) in enumerate(labelled.items()):
        colour = f"C{k % 10}"
        degrees, squared_bias, variance = _sorted_by_angle(
            result.angles, result.squared_bias, result.total_variance
        )
        prefix = f"{label}: " if label is not None else ""
        ax.plot(degrees, squared_bias, "-", color=colour, label=f"{prefix}bias²")
        ax.plot(degrees, variance, "--", color=colour, label=f"{prefix}variance")
    _angle_axis(ax)
    ax.set_ylabel("squared bias, variance (output units²)")
    ax.set_ylim(bottom=0)
    ax.set_title("decoding error", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return fig


def plot_noise_volume_fraction(
    angles: np.ndarray,
    fractions: np.ndarray | Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
) -> Figure:
    """`noise_volume_fraction` at each angle (`angles [A]`, `fractions [A]` or label -> `[A]`,
    e.g. before and after learning); 1 means the readout looks along the largest noise."""
    fig, (ax,) = _axes(ax, 1, 4.5, 3.4)
    labelled = _labelled(fractions)
    for k, (label, fraction) in enumerate(labelled.items()):
        degrees, values = _sorted_by_angle(np.asarray(angles), np.asarray(fraction))
        ax.plot(degrees, values, "o-", color=f"C{k % 10}", ms=3, label=label)
    _angle_axis(ax)
    ax.set_ylabel("noise volume in readout subspace\n(fraction of the largest)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("noise and the readout", fontsize=10)
    _legend(ax, labelled)
    return fig


def plot_discriminability(
    d_primes: Mapping[str, float] | Mapping[str, Mapping[str, float]],
    *,
    ax: Axes | None = None,
) -> Figure:
    """d' per named boundary pair (`boundary_discriminability`), as bars.

    `d_primes` is pair name -> d', or label -> (pair name -> d') to set several results (e.g.
    estimation against classification) side by side within each pair's group.
    """
    fig, (ax,) = _axes(ax, 1, 4.5, 3.4)
    labelled: dict[str | None, Mapping[str, float]]
    if d_primes and all(isinstance(v, Mapping) for v in d_primes.values()):
        labelled = {label: cast(Mapping[str, float], v) for label, v in d_primes.items()}
    else:
        labelled = {None: cast(Mapping[str, float], d_primes)}
    pair_names = list(dict.fromkeys(name for by_pair in labelled.values() for name in by_pair))
    width = 0.8 / len(labelled)
    for k, (label, by_pair) in enumerate(labelled.items()):
        offset = (k - (len(labelled) - 1) / 2) * width
        positions = [j + offset for j, name in enumerate(pair_names) if name in by_pair]
        heights = [by_pair[name] for name in pair_names if name in by_pair]
        ax.bar(positions, heights, width=width, color=f"C{k % 10}", label=label)
    ax.set_xticks(range(len(pair_names)), pair_names)
    ax.set_xlabel("angle pair")
    ax.set_ylabel("d′ of the readout drive")
    ax.set_title("discriminability", fontsize=10)
    _legend(ax, labelled)
    return fig


def plot_engagement(engagements: Mapping[str, Engagement], *, ax: Axes | None = None) -> Figure:
    """Recurrent-to-input current ratio, one bar per label (e.g. per noise level); the dotted
    line at 1 is where recurrence and input drive the units equally."""
    fig, (ax,) = _axes(ax, 1, 4.5, 3.4)
    labels = list(engagements)
    ax.bar(range(len(labels)), [engagements[label].ratio for label in labels], color="C0")
    ax.axhline(1.0, color="0.4", ls=":", lw=1)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("mean |W r| / mean |C s(θ)|")
    ax.set_ylim(bottom=0)
    ax.set_title("recurrent engagement", fontsize=10)
    return fig


def plot_reward_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    smoothing_window: int | None = None,
    time_label: str = "training time",
    ax: Axes | None = None,
) -> Figure:
    """Objective against training time, one colour per label (e.g. `"sigma = 0.2"` ->
    `(time [T], objective [T])`): the raw curve faint, its running mean over
    `smoothing_window` points on top (default: a twentieth of the curve, at least 1).
    `time_label` names the x axis with its unit (e.g. "training time (s)")."""
    fig, (ax,) = _axes(ax, 1, 5.5, 3.6)
    for k, (label, (time, objective)) in enumerate(curves.items()):
        colour = f"C{k % 10}"
        time, objective = np.asarray(time, dtype=float), np.asarray(objective, dtype=float)
        ax.plot(time, objective, color=colour, alpha=0.25, lw=0.8)
        window = max(1, min(smoothing_window or len(objective) // 20, len(objective)))
        running_mean = np.convolve(objective, np.ones(window) / window, mode="valid")
        start = (window - 1) // 2  # centre each mean on its window
        ax.plot(time[start : start + len(running_mean)], running_mean, color=colour, label=label)
    ax.set_xlabel(time_label)
    ax.set_ylabel("objective (mean reward)")
    ax.set_title("learning curves", fontsize=10)
    if curves:
        ax.legend(fontsize=8, frameon=False)
    return fig
