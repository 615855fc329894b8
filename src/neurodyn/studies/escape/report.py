"""The report of the escape study: the Arrhenius plots per task, the barriers, the table of
networks, under the runner's title and summary."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.escape.figures import plot_arrhenius, plot_barriers
from neurodyn.studies.escape.measure import EscapeConfig, StudyResults

__all__ = ["report"]


def _cell(value: float) -> str:
    return "" if not np.isfinite(value) else f"{value:.3g}"


def report(
    results: StudyResults, config: EscapeConfig, trained_runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body (`Study.report`)."""
    nets = results.networks
    parts = [
        f'<p class="meta">{len(nets)} networks ({config.model.get("n_hidden")} units, seeds '
        f"{html.escape(str(config.model.get('seeds')))}); test noise "
        f"{', '.join(f'{s:g}' for s in config.test_noise)}; "
        f"{config.escape.get('n_per_attractor')} trajectories of "
        f"{config.escape.get('n_steps')} steps from every memory. The study's README "
        "(neurodyn/studies/escape/README.md) states what it found.</p>",
    ]
    for task in config.tasks:
        parts.append(
            figure_html(
                plot_arrhenius(nets, task),
                f"{task}: memory lifetime (time held over switches, pooled over memories) "
                "against 1/sigma²; a straight line is Arrhenius' law, its slope twice the "
                "barrier. Hollow: levels left out of the fit.",
            )
        )
    parts.append(
        figure_html(
            plot_barriers(nets),
            "Each network's Arrhenius barrier against the median over its memories of the "
            "lowest path barrier over a saddle (circles flip-flop, squares ring task; colour: "
            "training noise).",
        )
    )
    head = (
        "<tr><th>task</th><th>training noise</th><th>seed</th><th>performance</th>"
        "<th>memories</th><th>barrier</th><th>interval</th><th>levels</th>"
        "<th>path barrier</th><th>saddles</th></tr>"
    )
    body = "".join(
        f"<tr><td>{html.escape(n.task)}</td><td>{n.train_noise:g}</td><td>{n.seed}</td>"
        f"<td>{n.performance:.3f}</td><td>{n.n_memories}</td><td>{_cell(n.barrier)}</td>"
        f"<td>{_cell(n.barrier_low)} – {_cell(n.barrier_high)}</td><td>{n.n_levels}</td>"
        f"<td>{_cell(n.path_barrier)}</td><td>{n.n_saddles}</td></tr>"
        for n in nets
    )
    parts.append(f"<h2>Networks</h2><table>{head}{body}</table>")
    return "\n".join(parts)
