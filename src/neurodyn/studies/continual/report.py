"""The report of the continual-learning study (Yang et al. 2019, Fig. 7)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.continual.figures import plot_continual
from neurodyn.studies.continual.measure import ContinualConfig, ContinualResult


def report(
    results: list[ContinualResult], config: ContinualConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body under the summary (which holds each task's performance after its own
    stage and at the end, and the forgetting): the order of the groups and the figure of every
    task's performance after every stage."""
    groups = results[0].groups
    parts = [
        f'<p class="meta">Groups in order: {html.escape(" -> ".join("+".join(g) for g in groups))}; '
        f"networks per run: {len(results[0].seeds)}. Performance on fresh trials after each "
        "stage.</p>",
        figure_html(
            plot_continual(results),
            "Each task's performance after every stage from the one that trained it on; left "
            "without the penalty, right with intelligent synapses.",
        ),
    ]
    return "\n".join(parts)
