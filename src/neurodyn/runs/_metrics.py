"""A run's `metrics.csv`, read without torch: what `neurodyn runs` needs to list runs fast."""

from __future__ import annotations

import csv
from pathlib import Path

from neurodyn.errors import CorruptFile, excerpt

METRICS = "metrics.csv"


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of a `metrics.csv` (step, member, seed, loss, perf.<task>), as numbers; none when
    the file does not exist.

    Raises
    ------
    CorruptFile
        When a cell is not a number or a row is short.
    """
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(fh)]
    except (ValueError, TypeError, csv.Error) as err:
        # a short row gives None (TypeError), a garbled cell ValueError
        raise CorruptFile(
            f"{path} cannot be read as numbers ({excerpt(str(err), 60)}): the next "
            "checkpoint rewrites it (`neurodyn train --resume RUN`), or restore a copy"
        ) from None


def logged_performance(rows: list[dict[str, float]]) -> tuple[int, dict[str, float]] | None:
    """The performance last logged in `rows` (of `read_metrics`): its step and, per task, the
    mean over members; None before the first log."""
    rows = [row for row in rows if any(k.startswith("perf.") for k in row)]
    if not rows:
        return None
    step = max(row["step"] for row in rows)
    last = [row for row in rows if row["step"] == step]
    tasks = [k for k in last[0] if k.startswith("perf.")]
    return int(step), {
        k.removeprefix("perf."): sum(row[k] for row in last) / len(last) for k in tasks
    }
