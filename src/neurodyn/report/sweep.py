"""The report of a sweep: its table of trials and its metrics against each varied field."""

from __future__ import annotations

import html
from pathlib import Path

from neurodyn._io import atomic_write_text
from neurodyn.plot.sweep import plot_parameter_effect
from neurodyn.report.blocks import figure_html, page
from neurodyn.runs.sweep import SweepTable, sweep_effect, sweep_table


def table_html(table: SweepTable) -> str:
    head = "".join(f"<th>{html.escape(c.removeprefix('perf.'))}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
        for row in table.cells()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_sweep_report(root: str | Path, name: str) -> Path:
    """Write `ROOT/sweep-NAME.html` (atomically) and return its path."""
    table = sweep_table(root, name)
    trials = [r for r in table.rows if r.get("member") is not None]
    parts = [
        f"<h1>Sweep {html.escape(name)}</h1>",
        f'<p class="meta">{len(trials)} trials in {len({r["run"] for r in table.rows})} runs '
        f"(seeds of one grid point train as one ensemble); fields varied: "
        f"{html.escape(', '.join(table.fields) or 'none')}. Metrics are the last logged ones "
        "(training batches).</p>",
    ]
    for field in table.fields:
        parts.append(
            figure_html(
                plot_parameter_effect(
                    sweep_effect(table, field), title=f"sweep {table.name}: {field}"
                ),
                f"Final performance and loss against {field}: a dot per trial, the line "
                "through the means per value.",
            )
        )
    parts.append(table_html(table))
    path = Path(root) / f"sweep-{name}.html"
    atomic_write_text(path, page(f"sweep {name}", "\n".join(parts)))
    return path
