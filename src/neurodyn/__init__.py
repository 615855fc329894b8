"""neurodyn: train recurrent networks on cognitive tasks and reverse-engineer their dynamics.

The loop, each step a plain Python object::

    task = neurodyn.tasks.get("pdm")               # trials
    model = neurodyn.CTRNN(neurodyn.NetworkSpec(...)) # E networks at once
    run = neurodyn.train_run(neurodyn.parse_config({...}))   # a run on disk
    results = neurodyn.analyze_run(run)            # PCA, step tuning, drive ratio
    neurodyn.write_report(run)                     # report.html

A network trained elsewhere (a `torch.nn.RNNCell`, your own cell) joins the loop as a run:
`neurodyn.adopt(cell, readout, task="pdm")`.
"""

import importlib
import warnings
from typing import Any

from neurodyn import analysis, errors, models, tasks, train
from neurodyn._version import __version__
from neurodyn.errors import (
    ConfigError,
    CorruptCheckpoint,
    NeurodynError,
    RunExists,
    RunNotFound,
    ShapeError,
    TaskNotFound,
    TrainingDiverged,
)
from neurodyn.models import CTRNN, NetworkSpec, Trajectory
from neurodyn.report import write_report
from neurodyn.runs import (
    Run,
    RunConfig,
    adopt,
    list_runs,
    load_config,
    parse_config,
    resume_run,
    train_run,
)
from neurodyn.runs.analyze import analyze_run

# subpackages imported when first read (`neurodyn.zoo.load(...)` after `import neurodyn`),
# so that `import neurodyn` does not pay for them up front
_LAZY_SUBPACKAGES = frozenset({"data", "fit", "plot", "serve", "studies", "zoo"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "CTRNNSpec":  # it specifies every cell, so it is named for what it is
        warnings.warn(
            "neurodyn.CTRNNSpec is renamed NetworkSpec; the old name will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return NetworkSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CTRNN",
    "ConfigError",
    "CorruptCheckpoint",
    "NetworkSpec",
    "NeurodynError",
    "Run",
    "RunConfig",
    "RunExists",
    "RunNotFound",
    "ShapeError",
    "TaskNotFound",
    "TrainingDiverged",
    "Trajectory",
    "__version__",
    "adopt",
    "analysis",
    "analyze_run",
    "errors",
    "list_runs",
    "load_config",
    "models",
    "parse_config",
    "resume_run",
    "tasks",
    "train",
    "train_run",
    "write_report",
]
