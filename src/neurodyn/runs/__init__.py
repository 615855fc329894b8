"""Runs on disk: configs, run directories, the run index, and running analyses on a run.

The names below are imported when first read (PEP 562), so that a module of this package
that needs no torch (the run index, `neurodyn runs`) does not wait for it.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neurodyn.runs.adopt import adopt
    from neurodyn.runs.config import (
        ModelConfig,
        RunConfig,
        TrainConfig,
        load_config,
        parse_config,
    )
    from neurodyn.runs.index import RunRecord
    from neurodyn.runs.run import Run, RunInfo, list_runs, reindex
    from neurodyn.runs.training import resume_run, train_or_reuse, train_run

_LAZY_NAMES = {
    "adopt": "neurodyn.runs.adopt",
    "ModelConfig": "neurodyn.runs.config",
    "RunConfig": "neurodyn.runs.config",
    "TrainConfig": "neurodyn.runs.config",
    "load_config": "neurodyn.runs.config",
    "parse_config": "neurodyn.runs.config",
    "RunRecord": "neurodyn.runs.index",
    "Run": "neurodyn.runs.run",
    "RunInfo": "neurodyn.runs.run",
    "list_runs": "neurodyn.runs.run",
    "reindex": "neurodyn.runs.run",
    "resume_run": "neurodyn.runs.training",
    "train_or_reuse": "neurodyn.runs.training",
    "train_run": "neurodyn.runs.training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value  # read once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_NAMES})


__all__ = [
    "ModelConfig",
    "Run",
    "RunConfig",
    "RunInfo",
    "RunRecord",
    "TrainConfig",
    "adopt",
    "list_runs",
    "load_config",
    "parse_config",
    "reindex",
    "resume_run",
    "train_or_reuse",
    "train_run",
]
