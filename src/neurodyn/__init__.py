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

# Everything else is imported when first read (PEP 562), so that `import neurodyn` (and every
# `neurodyn` command, `--help` included) does not wait for torch, scipy and matplotlib before
# it has anything to do: the loop's names, by the module that defines them ...
_LAZY_NAMES = {
    "CTRNN": "neurodyn.models",
    "NetworkSpec": "neurodyn.models",
    "Trajectory": "neurodyn.models",
    "write_report": "neurodyn.report",
    "Run": "neurodyn.runs",
    "RunConfig": "neurodyn.runs",
    "adopt": "neurodyn.runs",
    "list_runs": "neurodyn.runs",
    "load_config": "neurodyn.runs",
    "parse_config": "neurodyn.runs",
    "resume_run": "neurodyn.runs",
    "train_run": "neurodyn.runs",
    "analyze_run": "neurodyn.runs.analyze",
}
# ... and the subpackages (`neurodyn.zoo.load(...)` after `import neurodyn`)
_LAZY_SUBPACKAGES = frozenset(
    {
        "analysis",
        "data",
        "fit",
        "models",
        "plot",
        "report",
        "runs",
        "serve",
        "studies",
        "tasks",
        "train",
        "zoo",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value  # read once
        return value
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "CTRNNSpec":  # it specifies every cell, so it is named for what it is
        warnings.warn(
            "neurodyn.CTRNNSpec is renamed NetworkSpec; the old name will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return __getattr__("NetworkSpec")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_NAMES, *_LAZY_SUBPACKAGES})


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
