"""Runs on disk: configs, run directories, the run index, and running analyses on a run."""

from neurodyn.runs.adopt import adopt
from neurodyn.runs.config import ModelConfig, RunConfig, TrainConfig, load_config, parse_config
from neurodyn.runs.index import RunRecord
from neurodyn.runs.run import Run, RunInfo, list_runs, reindex
from neurodyn.runs.training import resume_run, train_or_reuse, train_run

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
