"""The report of the abstraction study (Vafidis, Bhargava & Rangel 2025): generalisation and
abstraction against the number of tasks, under the runner's title and summary."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.abstraction.figures import plot_generalisation
from neurodyn.studies.abstraction.measure import AbstractionConfig, NetworkResult

__all__ = ["report"]


def report(
    results: list[NetworkResult], config: AbstractionConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the settings, then the generalisation figure."""
    steps = config.train.get("steps")
    task = ", ".join(f"{k}: {v}" for k, v in config.task.items())
    return "\n".join(
        [
            f'<p class="meta">One ensemble of {len(config.model.get("seeds", []))} networks per '
            f"number of tasks ({', '.join(map(str, config.n_tasks))}), {steps} training steps "
            f"each; task {html.escape(task)}; measures on {config.eval_trials} fresh trials, "
            "states at the decision step.</p>",
            figure_html(
                plot_generalisation(results),
                "Left: a linear read-out of the latent x* from the final state, scored on "
                "held-out trials (blue) and on the quadrant it never saw (red; the paper's "
                "Fig. 3a measure). Right: CCGP, parallelism and shattering dimensionality of "
                "the signs of x*'s two coordinates.",
            ),
        ]
    )
