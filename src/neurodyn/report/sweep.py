"""The report of a sweep: its table of trials and its metrics against each varied field."""

from __future__ import annotations

import html
import math
from pathlib import Path

from neurodyn._io import atomic_write_text
from neurodyn.plot.sweep import plot_sweep_field
from neurodyn.report.html import _figure_html, page
from neurodyn.runs.sweep import SweepTable, sweep_table


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return html.escape("-" if value is None else str(value))


def table_html(table: SweepTable) -> str:
    columns = ["run", "seed", *table.fields, "status", "step", "loss"] + [
        f"perf.{t}" for t in table.tasks
    ]
    head = "".join(f"<th>{html.escape(c.removeprefix('perf.'))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>"
        for r in table.rows
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
            _figure_html(
                plot_sweep_field(table, field),
                f"Final performance and loss against {field}: a dot per trial, the line "
                "through the means per value.",
            )
        )
    parts.append(table_html(table))
    path = Path(root) / f"sweep-{name}.html"
    atomic_write_text(path, page(f"sweep {name}", "\n".join(parts)))
    return path
