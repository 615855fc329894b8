"""A fitted run's recovery against the network that made its recording, kept under
`RUN/analysis/` (one `recovery-member<e>.npz` per member, a `neurodyn.analysis.Recovery`) so
that `neurodyn report` renders it without recomputing: `neurodyn.fit` writes them when the
truth is known (`neurodyn fit DATA --truth RUN`)."""

from __future__ import annotations

import re

from neurodyn.analysis import Recovery
from neurodyn.runs.run import ANALYSIS, Run

_NAME = "recovery-member{member}.npz"
_PATTERN = re.compile(r"recovery-member(\d+)\.npz")


def save_recovery(run: Run, rows: list[Recovery]) -> None:
    """Keep each member's recovery row under `RUN/analysis/`, replacing earlier ones.

    Parameters
    ----------
    run : Run
        The fitted run.
    rows : list of Recovery
        One per member scored.
    """
    folder = run.writable(ANALYSIS)
    folder.mkdir(exist_ok=True)
    for old in folder.glob("recovery-member*.npz"):
        old.unlink()
    for row in rows:
        row.save(run.writable(f"{ANALYSIS}/{_NAME.format(member=row.member)}"))


def saved_recovery(run: Run) -> list[Recovery]:
    """The recovery rows kept under `RUN/analysis/`, by member (empty when none was scored).

    Parameters
    ----------
    run : Run

    Returns
    -------
    list of Recovery
    """
    folder = run.path / ANALYSIS
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("recovery-member*.npz"):
        match = _PATTERN.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), Recovery.load(path)))
    return [row for _, row in sorted(found, key=lambda pair: pair[0])]
