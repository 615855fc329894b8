"""Figures of a population's Fisher information against its stimulus prior
(`neurodyn.analysis.fisher`): the Fisher information and Ganguli & Simoncelli's predictions
over the stimulus, and the powers of the prior that networks follow.

Functions that compare several networks take a mapping of label -> result and draw one colour
per label.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis.fisher import EfficientCode, LinearFisher, PriorPowers
from neurodyn.plot.figures import _axes

__all__ = ["plot_fisher_information", "plot_prior_powers"]

# the two ends of Ganguli & Simoncelli's family, by the power of the prior in I(s)
REFERENCE_POWERS = {"infomax (p²)": 2.0, "discrimax (p^½)": 0.5}


def plot_fisher_information(
    fisher: Mapping[str, LinearFisher],
    *,
    predictions: Mapping[str, EfficientCode] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Each network's linear Fisher information over the stimulus (log scale, each curve over
    its own mean so that shapes compare), points at or below 0 left out; in grey, the
    predictions' Fisher information on the same scale, one line style each (e.g. infomax and
    discrimax for the network's prior).

    Parameters
    ----------
    fisher : mapping of label -> LinearFisher (one network each: `fisher [P]`)
    predictions : mapping of label -> EfficientCode, optional
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    fig, (axis,) = _axes(ax, width=5.0)
    for label, result in fisher.items():
        values = np.where(result.fisher > 0, result.fisher, np.nan)
        axis.plot(result.stimuli, values / np.nanmean(values), "-o", markersize=3, label=label)
    styles = ("--", ":", "-.")
    for i, (label, code) in enumerate((predictions or {}).items()):
        style = styles[i % len(styles)]
        axis.plot(code.stimuli, code.fisher / code.fisher.mean(), style, color="0.4", label=label)
    axis.set_yscale("log")
    axis.set_xlabel("stimulus")
    axis.set_ylabel("Fisher information / its mean")
    axis.legend(fontsize=7, frameon=False)
    return fig


def plot_prior_powers(powers: Mapping[str, PriorPowers], *, ax: Axes | None = None) -> Figure:
    """The power of the prior each network's Fisher information follows (the slope of log I on
    log p, with its standard error), and its density's; the family's ends dotted (infomax 2,
    discrimax 1/2; a density follows p under infomax, p^½ under discrimax).

    Parameters
    ----------
    powers : mapping of label -> PriorPowers
    ax : Axes, optional

    Returns
    -------
    Figure
    """
    fig, (axis,) = _axes(ax, width=max(4.0, 0.6 * len(powers) + 2))
    positions = np.arange(len(powers))
    fisher = [p.fisher_power for p in powers.values()]
    fisher_se = [p.fisher_power_se for p in powers.values()]
    density = [p.density_power for p in powers.values()]
    density_se = [p.density_power_se for p in powers.values()]
    axis.errorbar(positions - 0.1, fisher, yerr=fisher_se, fmt="o", label="Fisher information")
    axis.errorbar(positions + 0.1, density, yerr=density_se, fmt="s", label="density")
    for label, value in REFERENCE_POWERS.items():
        axis.axhline(value, color="0.6", linestyle=":", linewidth=1)
        axis.annotate(
            label, (len(powers) - 1, value), fontsize=7, color="0.4", va="bottom", ha="right"
        )
    axis.axhline(0, color="0.8", linewidth=0.8)
    axis.set_xticks(positions, list(powers), rotation=30, ha="right", fontsize=8)
    axis.set_ylabel("power of the prior")
    axis.legend(fontsize=7, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig
