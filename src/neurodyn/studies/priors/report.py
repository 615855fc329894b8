"""The report of the priors study (Ganguli & Simoncelli 2010): the Fisher information of every
network group against its prior's efficient-coding predictions, and the fitted powers, under
the runner's title and summary."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from neurodyn.analysis import efficient_code
from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.priors.figures import plot_fisher_by_prior, plot_powers
from neurodyn.studies.priors.measure import NetworkResult, PriorsConfig, angle_grid
from neurodyn.tasks.bredenberg import StimulusTask

__all__ = ["report"]


def report(
    results: list[NetworkResult], config: PriorsConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the settings, the Fisher information per prior, the powers."""
    grid = angle_grid(config.n_angles)
    predictions = {
        name: {
            f"{label} prediction": efficient_code(
                StimulusTask("estimation", **prior).prior_density, grid, alpha=alpha
            )
            for label, alpha in (("infomax", 0.0), ("discrimax", 1.0))
        }
        for name, prior in config.priors.items()
    }
    priors = ", ".join(
        f"{name} (kappa {p['kappa']:g}, centre {p['mu']:g} rad)"
        for name, p in config.priors.items()
    )
    return "\n".join(
        [
            f'<p class="meta">Priors: {html.escape(priors)}. Circuits: {config.circuit["n_units"]} '
            f"units, noise {config.circuit['sigma']:g}, seeds {list(config.seeds)}; CTRNNs: "
            f"{config.rnn_model.get('n_hidden')} units, seeds {config.rnn_model.get('seeds')}, "
            f"{config.rnn_train.get('steps')} steps. Probe: {config.n_angles} angles.</p>",
            figure_html(
                plot_fisher_by_prior(results, predictions),
                "Linear Fisher information (bias-corrected) over the angle, each curve over its "
                "mean, for the first seed of each group; grey: Ganguli & Simoncelli's "
                "infomax (~ p^2) and discrimax (~ p^1/2) predictions for the prior.",
            ),
            figure_html(
                plot_powers(results),
                "The power of the prior each network's Fisher information (slope of log I on "
                "log p) and density of preferred angles (maximum likelihood) follow, with "
                "standard errors; dotted: infomax 2 and discrimax 1/2.",
            ),
        ]
    )
