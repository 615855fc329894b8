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
    """The report's body: each task's performance right after its own stage and at the end,
    the forgetting, and every task's performance after every stage."""
    groups = results[0].groups
    last = len(groups) - 1
    head = "".join(
        f"<th>{html.escape(r.run)}: after own stage</th><th>{html.escape(r.run)}: at the end</th>"
        for r in results
    )
    rows = ""
    for s, group in enumerate(groups):
        for task in group:
            cells = ""
            for r in results:
                cells += f"<td>{r.mean(s, task):.2f}</td><td>{r.mean(last, task):.2f}</td>"
            rows += f"<tr><td>{html.escape(task)}</td><td>{s + 1}</td>{cells}</tr>"
    forgetting = "; ".join(f"{html.escape(r.run)}: {r.forgetting().mean():.3f}" for r in results)
    parts = [
        f'<p class="meta">Groups in order: {html.escape(" -> ".join("+".join(g) for g in groups))}; '
        f"networks per run: {len(results[0].seeds)}. Performance on fresh trials after each "
        "stage.</p>",
        f"<table><tr><th>task</th><th>stage</th>{head}</tr>{rows}</table>",
        f"<p>Forgetting (mean drop of the earlier groups' tasks from right after their own "
        f"stage to the end): {forgetting}.</p>",
        figure_html(
            plot_continual(results),
            "Each task's performance after every stage from the one that trained it on; left "
            "without the penalty, right with intelligent synapses.",
        ),
    ]
    return "\n".join(parts)
