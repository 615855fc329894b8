"""The report of the continual-learning study (Yang et al. 2019, Fig. 7)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from neurodyn._io import atomic_write_text
from neurodyn.plot.continual import plot_continual
from neurodyn.report.blocks import figure_html, page
from neurodyn.studies.continual import ContinualResult


def write_continual_report(path: Path, results: Sequence[ContinualResult]) -> Path:
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
        "<h1>Continual learning (Yang et al. 2019, Fig. 7)</h1>",
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
    atomic_write_text(path, page("continual learning study", "\n".join(parts)))
    return path
