"""A run as a notebook shows it: a few lines about what it is and what it holds."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neurodyn.runs.run import Run


def run_summary_html(run: Run) -> str:
    """A small HTML table: tasks, members, status, steps, final performance and the number of
    saved analysis files (never arrays or weights)."""
    record = run.record()
    performance = (
        ", ".join(f"{task} {value:.3f}" for task, value in record.performance.items())
        if record.performance
        else "not evaluated yet"
    )
    folder = run.path / "analysis"
    analyses = len(list(folder.glob("*.npz"))) if folder.is_dir() else 0
    rows = {
        "tasks": ", ".join(record.tasks),
        "members (seeds)": f"{len(record.seeds)} {list(record.seeds)}",
        "status": f"{record.status}, {record.steps_done} / {record.steps_total} steps",
        "performance": performance,
        "analysis files": str(analyses),
        "path": str(run.path),
    }
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows.items()
    )
    return f"<b>Run {html.escape(run.id)}</b><table>{body}</table>"
