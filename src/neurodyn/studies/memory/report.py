"""The report of the memory study (Haviv, Rivkind & Barak 2019): accuracy against delay, speed
against memory and backtracking, under the runner's title and summary."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.memory.figures import plot_accuracy_by_delay, plot_speed_against_memory
from neurodyn.studies.memory.measure import (
    MemoryConfig,
    NetworkMeasures,
    group_means,
    speed_predicts_memory,
)

__all__ = ["report"]


def _backtracking_html(measures: Sequence[NetworkMeasures]) -> str:
    rows = [m for m in measures if m.backtracked]
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{html.escape(m.cell)}</td><td>{m.seed}</td>"
        + "".join(f"<td>{'own' if c < 0 else c}</td>" for c in m.backtracked)
        + "</tr>"
        for m in rows
    )
    n_new = len(rows[0].backtracked)
    head = "".join(f"<th>class {k + 3}</th>" for k in range(n_new))
    joined = sum(c >= 0 for m in rows for c in m.backtracked)
    total = sum(len(m.backtracked) for m in rows)
    return (
        "<h2>Backtracking new classes (classes curriculum)</h2>"
        f"<p>Right after a class is introduced (the first weights kept after its stage starts), "
        f"does its memory settle at the slow point of an existing class? {joined} of {total} "
        "new classes did (the class it joined is shown; 'own': a point of its own or none "
        "found).</p>"
        f"<table><tr><th>cell</th><th>seed</th>{head}</tr>{body}</table>"
    )


def report(
    measures: Sequence[NetworkMeasures],
    config: MemoryConfig,
    trained_runs: Mapping[str, Run],
    out: Path,
) -> str:
    """The report's body (`Study.report`): the setup, the means per group, the two figures and
    the backtracking table."""
    rho, p = speed_predicts_memory(list(measures))
    rows = "".join(
        f"<tr><td>{c}</td><td>{cell}</td><td>{phase}</td><td>{g['networks']}</td>"
        f"<td>{g['trained']:.3f}</td><td>{g['beyond']:.3f}</td><td>{g['speed']:.2e}</td></tr>"
        for (c, cell, phase), g in group_means(list(measures)).items()
    )
    parts = [
        f'<p class="meta">Delayed classification of the 8x8 digits; {config.stage_steps} steps '
        f"per curriculum stage (8 stages); {config.model.get('n_hidden')} units; seeds "
        f"{config.model.get('seeds')}. Accuracy on {config.eval_trials} noise-free trials per "
        "delay.</p>",
        "<table><tr><th>curriculum</th><th>cell</th><th>training</th><th>networks</th>"
        "<th>accuracy, delays &le; 16</th><th>accuracy, delays &gt; 20</th>"
        f"<th>speed at class centres</th></tr>{rows}</table>",
        figure_html(
            plot_accuracy_by_delay(measures),
            "Accuracy against the delay from image to query; grey: the longest trained trial. "
            "Orange: classes curriculum (VoCu), blue: T_max curriculum (DeCu); dotted: after "
            "the curriculum, solid: fine-tuned without, dashed: with the speed penalty.",
        ),
        figure_html(
            plot_speed_against_memory(measures, rho, p),
            "Each network's speed at its class centres against its accuracy beyond the trained "
            "delays (circles GRU, squares LSTM, triangles CTRNN; filled: penalised).",
        ),
        _backtracking_html(measures),
    ]
    return "\n".join(parts)
