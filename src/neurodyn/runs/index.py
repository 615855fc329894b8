"""The run index: one SQLite database at the root of a runs folder.

One row per run (id, tasks, seeds, steps, status, final performance, dates), so every run of a
sweep can be queried with plain SQL::

    sqlite3 runs/index.sqlite "select id, performance from runs where status = 'finished'"

The run directories are the truth; the index is a cache of their `run.json`, rebuilt from them
by `runs.reindex` when it is missing or stale. This module only stores rows: it knows nothing
of run directories (`runs.run` writes a row whenever a run's `run.json` changes).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from neurodyn.errors import CorruptFile

INDEX = "index.sqlite"

_SCHEMA = """
create table if not exists runs (
    id text primary key,
    path text not null,
    tasks text not null,
    seeds text not null,
    steps_done integer not null,
    steps_total integer not null,
    status text not null,
    performance text,
    created text not null,
    updated text not null
)
"""


@dataclass(frozen=True)
class RunRecord:
    """One row of the index. `performance` is the mean over members per task (or None)."""

    id: str
    path: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    steps_done: int
    steps_total: int
    status: str
    performance: dict[str, float] | None
    created: str
    updated: str


def _connect(root: Path) -> sqlite3.Connection:
    root.mkdir(parents=True, exist_ok=True)
    # Several processes of a sweep may write at once; SQLite serialises them with this wait.
    conn = sqlite3.connect(root / INDEX, timeout=60)
    try:
        conn.execute(_SCHEMA)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise CorruptFile(
            f"the run index {root / INDEX} cannot be read ({err}): delete it and run "
            "`neurodyn runs` to rebuild it from the run folders"
        ) from None
    return conn


def upsert(root: str | Path, record: RunRecord) -> None:
    """Insert or update the row of `record.id`."""
    with closing(_connect(Path(root))) as conn, conn:
        conn.execute(
            "insert or replace into runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.path,
                json.dumps(list(record.tasks)),
                json.dumps(list(record.seeds)),
                record.steps_done,
                record.steps_total,
                record.status,
                None if record.performance is None else json.dumps(record.performance),
                record.created,
                record.updated,
            ),
        )


def remove_from_index(root: str | Path, run_id: str) -> None:
    """Drop the row of `run_id` (a run folder that no longer exists)."""
    if (Path(root) / INDEX).exists():
        with closing(_connect(Path(root))) as conn, conn:
            conn.execute("delete from runs where id = ?", (run_id,))


def read_index(root: str | Path) -> list[RunRecord]:
    """Every row of the index under `root` whose run folder still exists, oldest first
    (`runs.list_runs` rebuilds a missing index first)."""
    root = Path(root)
    with closing(_connect(root)) as conn:
        rows = conn.execute("select * from runs order by created, id").fetchall()
    # a run folder deleted (or moved) by hand leaves its row: drop it rather than list it
    gone = [r[0] for r in rows if not (root / r[0] / "run.json").is_file()]
    for run_id in gone:
        remove_from_index(root, run_id)
    rows = [r for r in rows if r[0] not in gone]
    return [
        RunRecord(
            id=r[0],
            path=r[1],
            tasks=tuple(json.loads(r[2])),
            seeds=tuple(json.loads(r[3])),
            steps_done=r[4],
            steps_total=r[5],
            status=r[6],
            performance=None if r[7] is None else json.loads(r[7]),
            created=r[8],
            updated=r[9],
        )
        for r in rows
    ]


def clear_index(root: str | Path) -> None:
    """Empty the index under `root` (before `runs.reindex` fills it from the directories)."""
    with closing(_connect(Path(root))) as conn, conn:
        conn.execute("delete from runs")
