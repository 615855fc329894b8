"""The report of the engrams study (Ramsaran et al. 2023): the settings and the
density-precision figure, under the runner's title and summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.engrams.figures import plot_density_precision
from neurodyn.studies.engrams.measure import ConditionResult, EngramsConfig

__all__ = ["report"]


def report(
    results: list[ConditionResult], config: EngramsConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the settings, then the figure."""
    return "\n".join(
        [
            f'<p class="meta">{len(config.seeds)} networks of {config.n_units} units, contexts '
            f"of {config.n_inputs} features with similarity {config.similarity:g}, Hebbian "
            f"rate {config.learning_rate:g}; ages as PV strengths "
            f"{', '.join(f'{k} {v:g}' for k, v in config.ages.items())}.</p>",
            figure_html(
                plot_density_precision(results),
                "Left: the discrimination index of each condition against its engram density "
                "(grey: one network; blue: the PV strength sweep; squares: the ages; diamonds: "
                "the manipulations at encoding; triangles: k-winners-take-all). Right: freezing "
                "(the covariance fear readout) in the trained context A and the similar "
                "context B along the sweep.",
            ),
        ]
    )
